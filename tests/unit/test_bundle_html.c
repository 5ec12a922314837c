/*
 * tests/unit/test_bundle_html.c: the case bundle's HTML renderer
 * (agents/bundle_html.c).
 *
 * Every string in a bundle may come from another agency's message, so the
 * tests feed hostile text (markup, script, attribute breakers, control
 * characters, hostile keys, deep nesting) and check that nothing of it
 * reaches the page unescaped, that the page is self-contained (no script,
 * no external resource) and that sections keep the meeting's order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "out.h"

static char *
esc(const char *s)
{
	haven__hbuf b;
	char *out;

	haven__hbuf_init(&b, 1u << 20);
	haven__hbuf_esc(&b, s);
	assert_int_equal(b.err, HAVEN_OK);
	out = strdup(b.p != NULL ? b.p : "");
	haven__hbuf_release(&b);
	assert_non_null(out);
	return (out);
}

static void
test_escape(void **state)
{
	char *s;

	(void) state;
	s = esc("<script>alert('x')</script>&\"");
	assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script"
	    "&gt;&amp;&quot;");
	free(s);
	/* controls become U+FFFD; tab, newline and UTF-8 pass */
	s = esc("a\x01" "b\x1b[31m\x7f\tc\nd \xc3\xa9");
	assert_string_equal(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd[31m"
	    "\xef\xbf\xbd\tc\nd \xc3\xa9");
	free(s);
	s = esc("");
	assert_string_equal(s, "");
	free(s);
	s = esc("plain text, nothing to do");
	assert_string_equal(s, "plain text, nothing to do");
	free(s);
}

static void
test_buffer_cap(void **state)
{
	haven__hbuf b;
	char big[300];

	(void) state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	haven__hbuf_init(&b, 256);
	haven__hbuf_esc(&b, NULL); /* nothing */
	haven__hbuf_puts(&b, "ok");
	assert_int_equal(b.err, HAVEN_OK);
	assert_string_equal(b.p, "ok");
	haven__hbuf_puts(&b, big);
	assert_int_equal(b.err, HAVEN_EMSGSIZE);
	haven__hbuf_puts(&b, "more"); /* a failed buffer stays failed */
	assert_int_equal(b.err, HAVEN_EMSGSIZE);
	assert_int_equal(b.len, 2);
	haven__hbuf_release(&b);
	haven__hbuf_release(&b); /* twice is fine */
	haven__hbuf_release(NULL);
}

static json_t *
item(const char *section, const char *type, const char *sender,
    json_t *content)
{
	json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, "
	    "s:b, s:{s:i, s:s, s:b}, s:s, s:n, s:o}", "msg_id",
	    "00112233445566778899aabbccddeeff", "type", type, "profile",
	    "p\"><script>x</script>", "section", section, "sender", sender,
	    "sender_name", "Name <b>bold</b>", "sender_gen", 1, "created_at",
	    "2026-01-05T10:00:00Z", "signature_verified", 1, "receipt",
	    "audit_seq", 42, "accepted_at", "2026-01-05T10:00:01Z",
	    "verified", 1, "received_at", "2026-01-05T10:00:02Z",
	    "in_reply_to", "content", content);

	assert_non_null(it);
	return (it);
}

static json_t *
deep(int n)
{
	json_t *o = json_string("bottom-<i>");

	for (int i = 0; i < n; i++) {
		json_t *w = json_object();
		(void) json_object_set_new(w, "k", o);
		o = w;
	}
	return (o);
}

static json_t *
hostile_doc(bool with_left)
{
	json_t *items = json_array(), *left = json_array(), *doc;

	/* given out of section order: the page follows the document's
	 * order within each section and the meeting's order across them */
	(void) json_array_append_new(items, item("action_plans",
	    "MARAC_ACTION_PLAN", "marac.cambs", json_pack("{s:s}",
	    "risk_summary", "PLAN-MARKER")));
	(void) json_array_append_new(items, item("research",
	    "MARAC_RESEARCH_RETURN", "gp.riverside", json_pack("{s:[s], s:o}",
	    "facts", "RESEARCH-MARKER</td><script>alert(1)</script>",
	    "deep", deep(40))));
	(void) json_array_append_new(items, item("referral",
	    "MARAC_REFERRAL", "police.cambs", json_pack("{s:s, s:i, s:b, "
	    "s:n, s:[]}", "<img src=x onerror=alert(1)>",
	    "REFERRAL-MARKER \"quoted\" 'single'", "dash", 18, "consent", 0,
	    "none", "empty")));
	if (with_left) {
		(void) json_array_append_new(left, json_pack("{s:s, s:s, s:s, "
		    "s:s}", "msg_id", "ffeeddccbbaa99887766554433221100",
		    "type", "MARAC_RESEARCH_RETURN", "sender", "<evil>",
		    "reason", "the content disagrees: <tag>"));
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "case",
	    "CASE/<script>1</script>", "case_pseudonym", "ab", "generated_at",
	    "2026-01-06T09:00:00Z", "agency", "marac.cambs", "items", items,
	    "left_out", left);
	assert_non_null(doc);
	return (doc);
}

static void
test_render(void **state)
{
	json_t *doc = hostile_doc(true);
	char *html = NULL, *ref, *res, *plan;
	size_t len = 0;

	(void) state;
	assert_int_equal(haven__bundle_html(doc, &html, &len), HAVEN_OK);
	assert_int_equal(strlen(html), len);
	/* self-contained: no script, no external resource, no raw markup */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<b>"));
	assert_null(strstr(html, "<evil>"));
	assert_null(strstr(html, "<tag>"));
	assert_null(strstr(html, "http:"));
	assert_null(strstr(html, "https:"));
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, "url("));
	assert_null(strstr(html, "@import"));
	assert_non_null(strstr(html, "&lt;script&gt;"));
	assert_non_null(strstr(html, "&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(html, "p&quot;&gt;&lt;script&gt;"));
	assert_non_null(strstr(html, "&quot;quoted&quot; &#39;single&#39;"));
	/* header, marking, footer, provenance */
	assert_non_null(strstr(html, "OFFICIAL-SENSITIVE"));
	assert_non_null(strstr(html, "CASE/&lt;script&gt;1"));
	assert_non_null(strstr(html, "marac.cambs"));
	assert_non_null(strstr(html, "audit sequence 42"));
	assert_non_null(strstr(html, "signature verified"));
	assert_non_null(strstr(html, "<footer>"));
	assert_non_null(strstr(html, "@media print"));
	assert_non_null(strstr(html, "page-break-before"));
	/* the meeting's order: referral, research, then plans */
	ref = strstr(html, "REFERRAL-MARKER");
	res = strstr(html, "RESEARCH-MARKER");
	plan = strstr(html, "PLAN-MARKER");
	assert_true(ref != NULL && res != NULL && plan != NULL);
	assert_true(ref < res && res < plan);
	assert_non_null(strstr(html, "Return from Name &lt;b&gt;bold"));
	assert_non_null(strstr(html, "<h3>MARAC referral (M5) &mdash;"));
	assert_non_null(strstr(html, "<h3>Research return (M8) &mdash;"));
	/* deep content is cut off, not recursed without end */
	assert_null(strstr(html, "bottom-"));
	assert_non_null(strstr(html, "&hellip;"));
	/* left out, with its reason, escaped */
	assert_non_null(strstr(html, "id=\"left_out\""));
	assert_non_null(strstr(html, "ffeeddccbbaa99887766554433221100"));
	assert_non_null(strstr(html, "the content disagrees: &lt;tag&gt;"));
	haven__agt_free_wiped(html, len);
	json_decref(doc);
}

static void
test_render_nothing_left_out(void **state)
{
	json_t *doc = hostile_doc(false);
	char *html = NULL;
	size_t len = 0;

	(void) state;
	assert_int_equal(haven__bundle_html(doc, &html, &len), HAVEN_OK);
	assert_null(strstr(html, "id=\"left_out\""));
	assert_null(strstr(html, "<script"));
	haven__agt_free_wiped(html, len);
	json_decref(doc);
}

static void
test_render_refuses(void **state)
{
	json_t *bad = json_pack("{s:s}", "case", "x");
	json_t *arr = json_array();
	char *html = (char *) 1;
	size_t len = 7;

	(void) state;
	assert_int_equal(haven__bundle_html(bad, &html, &len), HAVEN_EINVAL);
	assert_null(html);
	assert_int_equal(len, 0);
	assert_int_equal(haven__bundle_html(arr, &html, &len), HAVEN_EINVAL);
	assert_int_equal(haven__bundle_html(NULL, &html, &len), HAVEN_EINVAL);
	json_decref(bad);
	json_decref(arr);
}

static void
test_sections(void **state)
{
	(void) state;
	assert_string_equal(haven__bundle_sec_key(HAVEN__SEC_REFERRAL),
	    "referral");
	assert_string_equal(haven__bundle_sec_key(HAVEN__SEC_PANEL_UPDATES),
	    "panel_updates");
	assert_string_equal(haven__bundle_sec_key(HAVEN__SEC_COUNT), "other");
	assert_non_null(strstr(haven__bundle_sec_title(HAVEN__SEC_RESEARCH),
	    "by agency"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_buffer_cap),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_nothing_left_out),
		cmocka_unit_test(test_render_refuses),
		cmocka_unit_test(test_sections),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
