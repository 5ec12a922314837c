/*
 * agents/bundle_html.c: the case bundle as one printable HTML page.
 *
 * Input is the bundle document exactly as written to bundle.json; output
 * is a self-contained page: inline CSS only, no scripts, no external
 * resources (no links, fonts or images to fetch), so it can be opened on
 * an offline machine and printed for the meeting.
 *
 * Threat assumptions: every string in the document except the fixed
 * section keys comes from another agency's message or the operator and
 * may be hostile; each is escaped by haven__hbuf_esc before it reaches
 * the page, including in attribute values. Nesting of content is capped
 * (a deep document renders as "..." rather than recursing without end).
 * The page holds personal data: its buffer is wiped as it grows and when
 * released.
 */
#include "bundle.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

#define DEPTH_MAX 12

/* ------------------------------------------------------------ buffer */

void
haven__hbuf_init(haven__hbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
haven__hbuf_release(haven__hbuf *b)
{
	if (b == NULL) {
		return;
	}
	haven__agt_free_wiped(b->p, b->cap);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Room for `n` more bytes plus a NUL; copies to a new block, wipes the
 * old one (realloc could leave personal data in a freed block). */
static bool
reserve(haven__hbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->err != HAVEN_OK) {
		return (false);
	}
	if (n >= b->max || b->len >= b->max - n) {
		b->err = HAVEN_EMSGSIZE;
		return (false);
	}
	if (b->len + n < b->cap) {
		return (true);
	}
	cap = b->cap == 0 ? 4096 : b->cap;
	while (cap <= b->len + n) {
		cap = cap > b->max / 2 ? b->max + 1 : cap * 2;
	}
	if ((p = malloc(cap)) == NULL) {
		b->err = HAVEN_ENOMEM;
		return (false);
	}
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
	}
	haven__agt_free_wiped(b->p, b->cap);
	b->p = p;
	b->cap = cap;
	b->p[b->len] = '\0';
	return (true);
}

static void
put(haven__hbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n)) {
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
haven__hbuf_puts(haven__hbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

void
haven__hbuf_printf(haven__hbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= sizeof(tmp)) {
		b->err = b->err != HAVEN_OK ? b->err : HAVEN_EINVAL;
		return;
	}
	put(b, tmp, (size_t) n);
	sodium_memzero(tmp, sizeof(tmp));
}

void
haven__hbuf_esc(haven__hbuf *b, const char *s)
{
	const char *run = s;

	if (s == NULL) {
		return;
	}
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char) *s;
		const char *ent = NULL;

		switch (c) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
				ent = "\xef\xbf\xbd"; /* U+FFFD */
			}
			break;
		}
		if (ent != NULL) {
			put(b, run, (size_t) (s - run));
			haven__hbuf_puts(b, ent);
			run = s + 1;
		}
	}
	put(b, run, (size_t) (s - run));
}

/* ---------------------------------------------------------- sections */

static const struct {
	const char *key;
	const char *title;
} secs[HAVEN__SEC_COUNT] = {
	{ "referral", "MARAC referral (M5) and information shared without "
	    "consent (M6)" },
	{ "case_list", "Case list entry (M7)" },
	{ "research", "Research returns (M8), by agency" },
	{ "action_plans", "Previous action plans (M9) and each action's "
	    "latest status" },
	{ "action_updates", "Action updates (M10)" },
	{ "repeat_flags", "Repeat incident flags (M11)" },
	{ "consent", "Consent decisions" },
	{ "panel_referral", "Perpetrator panel: referral (M12)" },
	{ "panel_bundle", "Perpetrator panel: bundle (M13)" },
	{ "panel_plans", "Perpetrator panel: action plans (M14) and each "
	    "action's latest status" },
	{ "panel_updates", "Perpetrator panel: action updates (M10)" },
	{ "other", "Other messages filed under this case" },
};

const char *
haven__bundle_sec_key(haven__bundle_sec s)
{
	return ((unsigned) s < HAVEN__SEC_COUNT ? secs[s].key : "other");
}

const char *
haven__bundle_sec_title(haven__bundle_sec s)
{
	return ((unsigned) s < HAVEN__SEC_COUNT ? secs[s].title : "Other");
}

/* ------------------------------------------------------------- pieces */

static const char css[] =
    "body{font:11pt/1.4 Georgia,'Times New Roman',serif;margin:2em auto;"
    "max-width:60em;color:#111;padding:0 1em}\n"
    ".marking{font:bold 12pt Arial,sans-serif;text-align:center;"
    "border:2px solid #111;padding:.2em;letter-spacing:.1em}\n"
    "h1,h2,h3,h4{font-family:Arial,sans-serif}\n"
    "h2{border-bottom:2px solid #333;padding-bottom:.2em;margin-top:2em}\n"
    "table{border-collapse:collapse;width:100%;margin:.4em 0}\n"
    "th,td{border:1px solid #999;padding:.25em .5em;text-align:left;"
    "vertical-align:top}\n"
    "th{background:#eee;width:14em}\n"
    ".item{border:1px solid #666;padding:.6em 1em;margin:1em 0;"
    "page-break-inside:avoid}\n"
    ".prov{font-size:9.5pt}\n"
    ".ok{color:#064;font-weight:bold}\n"
    ".bad{color:#a00;font-weight:bold}\n"
    ".text{white-space:pre-wrap}\n"
    "dl.kv{margin:.2em 0 .2em .5em}\n"
    "dl.kv dt{font-weight:bold;font-family:Arial,sans-serif;"
    "font-size:9.5pt;margin-top:.3em}\n"
    "dl.kv dd{margin-left:1.5em}\n"
    ".leftout{border:2px solid #a00;padding:.5em 1em}\n"
    "footer{margin-top:3em;border-top:1px solid #333;font-size:9pt}\n"
    "@page{margin:18mm}\n"
    "@media print{body{margin:0;max-width:none}"
    "section.sec{page-break-before:always}"
    "h2,h3{page-break-after:avoid}}\n";

static const char *
jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return (v != NULL ? v : "");
}

/* "case_ref" -> "Case ref": a key as a heading. */
static void
put_key(haven__hbuf *b, const char *key)
{
	char tmp[96];
	size_t i;

	for (i = 0; key[i] != '\0' && i + 1 < sizeof(tmp); i++) {
		tmp[i] = key[i] == '_' ? ' ' : key[i];
	}
	tmp[i] = '\0';
	if (tmp[0] >= 'a' && tmp[0] <= 'z') {
		tmp[0] = (char) (tmp[0] - 'a' + 'A');
	}
	haven__hbuf_esc(b, tmp);
}

static void put_value(haven__hbuf *b, const json_t *v, int depth);

static void
put_object(haven__hbuf *b, const json_t *o, int depth)
{
	const char *k;
	json_t *v;

	if (json_object_size(o) == 0) {
		haven__hbuf_puts(b, "&mdash;");
		return;
	}
	haven__hbuf_puts(b, "<dl class=\"kv\">");
	json_object_foreach((json_t *) o, k, v) {
		haven__hbuf_puts(b, "<dt>");
		put_key(b, k);
		haven__hbuf_puts(b, "</dt><dd>");
		put_value(b, v, depth + 1);
		haven__hbuf_puts(b, "</dd>");
	}
	haven__hbuf_puts(b, "</dl>");
}

static void
put_array(haven__hbuf *b, const json_t *a, int depth)
{
	size_t i;
	json_t *v;

	if (json_array_size(a) == 0) {
		haven__hbuf_puts(b, "&mdash;");
		return;
	}
	haven__hbuf_puts(b, "<ol>");
	json_array_foreach(a, i, v) {
		haven__hbuf_puts(b, "<li>");
		put_value(b, v, depth + 1);
		haven__hbuf_puts(b, "</li>");
	}
	haven__hbuf_puts(b, "</ol>");
}

static void
put_value(haven__hbuf *b, const json_t *v, int depth)
{
	if (depth > DEPTH_MAX) {
		haven__hbuf_puts(b, "&hellip;");
	} else if (json_is_object(v)) {
		put_object(b, v, depth);
	} else if (json_is_array(v)) {
		put_array(b, v, depth);
	} else if (json_is_string(v)) {
		haven__hbuf_puts(b, "<span class=\"text\">");
		haven__hbuf_esc(b, json_string_value(v));
		haven__hbuf_puts(b, "</span>");
	} else if (json_is_integer(v)) {
		haven__hbuf_printf(b, "%lld",
		    (long long) json_integer_value(v));
	} else if (json_is_real(v)) {
		haven__hbuf_printf(b, "%g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		haven__hbuf_puts(b, json_is_true(v) ? "Yes" : "No");
	} else {
		haven__hbuf_puts(b, "&mdash;");
	}
}

/* One row of a two-column table: fixed label, escaped value. */
static void
row(haven__hbuf *b, const char *label, const char *value)
{
	haven__hbuf_printf(b, "<tr><th>%s</th><td>", label);
	haven__hbuf_esc(b, value != NULL && value[0] != '\0' ? value : "-");
	haven__hbuf_puts(b, "</td></tr>\n");
}

static void
put_provenance(haven__hbuf *b, const json_t *it)
{
	const json_t *r = json_object_get(it, "receipt");
	bool sig = json_is_true(json_object_get(it, "signature_verified"));
	bool rv = json_is_true(json_object_get(r, "verified"));

	haven__hbuf_puts(b, "<table class=\"prov\">\n");
	row(b, "Message id", jstr(it, "msg_id"));
	haven__hbuf_puts(b, "<tr><th>From</th><td>");
	haven__hbuf_esc(b, jstr(it, "sender_name"));
	haven__hbuf_puts(b, " (");
	haven__hbuf_esc(b, jstr(it, "sender"));
	haven__hbuf_printf(b, ", key generation %lld)</td></tr>\n",
	    (long long) json_integer_value(json_object_get(it, "sender_gen")));
	haven__hbuf_printf(b, "<tr><th>Sender signature</th><td class=\"%s\">"
	    "%s</td></tr>\n", sig ? "ok" : "bad", sig ? "verified now against "
	    "the signed directory, and on receipt" : "NOT VERIFIED");
	haven__hbuf_printf(b, "<tr><th>Broker receipt</th><td><span "
	    "class=\"%s\">%s</span>, audit sequence %lld, accepted ", rv ?
	    "ok" : "bad", rv ? "signature verified" : "NOT VERIFIED",
	    (long long) json_integer_value(json_object_get(r, "audit_seq")));
	haven__hbuf_esc(b, jstr(r, "accepted_at"));
	haven__hbuf_puts(b, "</td></tr>\n");
	row(b, "Sent", jstr(it, "created_at"));
	row(b, "Received", jstr(it, "received_at"));
	row(b, "In reply to", jstr(it, "in_reply_to"));
	row(b, "View", jstr(it, "profile"));
	haven__hbuf_puts(b, "</table>\n");
}

static void
put_status(haven__hbuf *b, const json_t *st, bool full)
{
	size_t i;
	json_t *a;

	if (!json_is_array(st) || json_array_size(st) == 0) {
		return;
	}
	haven__hbuf_printf(b, "<h4>%s</h4>\n"
	    "<table><tr><th>Action</th><th>Owner</th><th>Due</th>"
	    "<th>Latest status</th><th>As of</th></tr>\n", full ?
	    "Every action of the plan and its latest status" :
	    "Actions and their latest status");
	json_array_foreach(st, i, a) {
		const char *s = jstr(a, "status");

		haven__hbuf_puts(b, "<tr><td>");
		haven__hbuf_esc(b, jstr(a, "action_id"));
		haven__hbuf_puts(b, " ");
		if (json_is_false(json_object_get(a, "in_our_view"))) {
			haven__hbuf_puts(b, "<em>(known from its updates; not "
			    "in this agency's view of the plan)</em> ");
		}
		haven__hbuf_esc(b, jstr(a, "action"));
		haven__hbuf_puts(b, "</td><td>");
		haven__hbuf_esc(b, jstr(a, "owner"));
		haven__hbuf_puts(b, "</td><td>");
		haven__hbuf_esc(b, jstr(a, "due"));
		haven__hbuf_puts(b, "</td><td>");
		haven__hbuf_esc(b, s[0] != '\0' ? s : "no update received");
		haven__hbuf_puts(b, "</td><td>");
		haven__hbuf_esc(b, jstr(a, "updated_at"));
		haven__hbuf_puts(b, "</td></tr>\n");
	}
	haven__hbuf_puts(b, "</table>\n");
}

/* A reader's name for an item's message type (and M6 view). */
static const char *
type_label(const json_t *it)
{
	static const struct {
		const char *type, *label;
	} labels[] = {
		{ "MARAC_REFERRAL", "MARAC referral (M5)" },
		{ "INFO_SHARED_WITHOUT_CONSENT", "Information shared without "
		    "consent (M6)" },
		{ "MARAC_CASE_LIST", "Case list entry (M7)" },
		{ "MARAC_RESEARCH_RETURN", "Research return (M8)" },
		{ "MARAC_ACTION_PLAN", "Action plan (M9)" },
		{ "ACTION_UPDATE", "Action update (M10)" },
		{ "REPEAT_INCIDENT_FLAG", "Repeat incident flag (M11)" },
		{ "DAPP_REFERRAL", "Panel referral (M12)" },
		{ "DAPP_BUNDLE", "Panel bundle (M13)" },
		{ "DAPP_ACTION_PLAN", "Panel action plan (M14)" },
		{ "CONSENT_DECISION", "Consent decision" },
	};
	const char *t = jstr(it, "type");

	if (strcmp(jstr(it, "profile"), "marac.m6") == 0) {
		return (labels[1].label);
	}
	if (strcmp(jstr(it, "profile"), "marac.plan.full") == 0) {
		return ("Action plan (M9): the full plan, every agency's "
		    "actions");
	}
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		if (strcmp(t, labels[i].type) == 0) {
			return (labels[i].label);
		}
	}
	return (NULL);
}

static void
put_item(haven__hbuf *b, const json_t *it)
{
	const char *label = type_label(it);

	haven__hbuf_puts(b, "<article class=\"item\" id=\"m-");
	haven__hbuf_esc(b, jstr(it, "msg_id"));
	haven__hbuf_puts(b, "-");
	haven__hbuf_esc(b, jstr(it, "profile"));
	haven__hbuf_puts(b, "\">\n<h3>");
	haven__hbuf_esc(b, label != NULL ? label : jstr(it, "type"));
	haven__hbuf_puts(b, " &mdash; ");
	haven__hbuf_esc(b, jstr(it, "sender_name"));
	haven__hbuf_puts(b, "</h3>\n");
	put_provenance(b, it);
	haven__hbuf_puts(b, "<h4>Content</h4>\n");
	put_value(b, json_object_get(it, "content"), 0);
	put_status(b, json_object_get(it, "action_status"),
	    strcmp(jstr(it, "profile"), "marac.plan.full") == 0);
	haven__hbuf_puts(b, "</article>\n");
}

/* ---------------------------------------------------------- sections */

static size_t
count_sec(const json_t *items, const char *key)
{
	size_t i, n = 0;
	json_t *it;

	json_array_foreach(items, i, it) {
		n += strcmp(jstr(it, "section"), key) == 0;
	}
	return (n);
}

static void
put_section(haven__hbuf *b, const json_t *items, haven__bundle_sec s)
{
	const char *key = haven__bundle_sec_key(s), *last = NULL;
	size_t i;
	json_t *it;

	if (count_sec(items, key) == 0) {
		return;
	}
	haven__hbuf_printf(b, "<section class=\"sec\" id=\"%s\">\n<h2>%s"
	    "</h2>\n", key, haven__bundle_sec_title(s));
	json_array_foreach(items, i, it) {
		if (strcmp(jstr(it, "section"), key) != 0) {
			continue;
		}
		if (s == HAVEN__SEC_RESEARCH && (last == NULL ||
		    strcmp(last, jstr(it, "sender")) != 0)) {
			last = jstr(it, "sender");
			haven__hbuf_puts(b, "<h3 class=\"agency\">Return "
			    "from ");
			haven__hbuf_esc(b, jstr(it, "sender_name"));
			haven__hbuf_puts(b, " (");
			haven__hbuf_esc(b, last);
			haven__hbuf_puts(b, ")</h3>\n");
		}
		put_item(b, it);
	}
	haven__hbuf_puts(b, "</section>\n");
}

static void
put_left_out(haven__hbuf *b, const json_t *lo)
{
	size_t i;
	json_t *e;

	if (json_array_size(lo) == 0) {
		return;
	}
	haven__hbuf_puts(b, "<section class=\"sec leftout\" id=\"left_out\">\n"
	    "<h2>Left out</h2>\n<p>These messages are about this case (or "
	    "could not be checked at all) but did <strong>not</strong> "
	    "verify, so their content is not in this bundle. Ask the sender "
	    "to resend; do not rely on any copy received another way.</p>\n"
	    "<table><tr><th>Message id</th><th>Type</th><th>Sender (as the "
	    "message claims)</th>"
	    "<th>Why it was left out</th></tr>\n");
	json_array_foreach(lo, i, e) {
		haven__hbuf_puts(b, "<tr><td>");
		haven__hbuf_esc(b, jstr(e, "msg_id"));
		haven__hbuf_puts(b, "</td><td>");
		haven__hbuf_esc(b, jstr(e, "type"));
		haven__hbuf_puts(b, "</td><td>");
		haven__hbuf_esc(b, jstr(e, "sender"));
		haven__hbuf_puts(b, "</td><td>");
		haven__hbuf_esc(b, jstr(e, "reason"));
		haven__hbuf_puts(b, "</td></tr>\n");
	}
	haven__hbuf_puts(b, "</table>\n</section>\n");
}

static void
put_contents(haven__hbuf *b, const json_t *items, const json_t *lo)
{
	haven__hbuf_puts(b, "<nav><h2>Contents</h2><ol>\n");
	for (int s = 0; s < HAVEN__SEC_COUNT; s++) {
		size_t n = count_sec(items, haven__bundle_sec_key(s));

		if (n > 0) {
			haven__hbuf_printf(b, "<li>%s (%zu)</li>\n",
			    haven__bundle_sec_title(s), n);
		}
	}
	if (json_array_size(lo) > 0) {
		haven__hbuf_printf(b, "<li>Left out (%zu)</li>\n",
		    json_array_size(lo));
	}
	haven__hbuf_puts(b, "</ol></nav>\n");
}

static void
put_head(haven__hbuf *b, const json_t *doc)
{
	haven__hbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"referrer\" "
	    "content=\"no-referrer\">\n<meta http-equiv=\"Content-Security-"
	    "Policy\" content=\"default-src 'none'; style-src "
	    "'unsafe-inline'\">\n<title>OFFICIAL-SENSITIVE: case bundle ");
	haven__hbuf_esc(b, jstr(doc, "case"));
	haven__hbuf_puts(b, "</title>\n<style>\n");
	haven__hbuf_puts(b, css);
	haven__hbuf_puts(b, "</style>\n</head>\n<body>\n"
	    "<div class=\"marking\">OFFICIAL-SENSITIVE</div>\n<header>\n"
	    "<h1>Case bundle</h1>\n<table>\n");
	row(b, "Case reference", jstr(doc, "case"));
	row(b, "Case pseudonym", jstr(doc, "case_pseudonym"));
	row(b, "Generated at", jstr(doc, "generated_at"));
	row(b, "By agency", jstr(doc, "agency"));
	haven__hbuf_printf(b, "<tr><th>Items</th><td>%zu verified, %zu left "
	    "out</td></tr>\n</table>\n</header>\n",
	    json_array_size(json_object_get(doc, "items")),
	    json_array_size(json_object_get(doc, "left_out")));
}

static void
put_foot(haven__hbuf *b)
{
	haven__hbuf_puts(b, "<footer>\n<div class=\"marking\">"
	    "OFFICIAL-SENSITIVE</div>\n<p>Handling: this bundle holds "
	    "personal and special-category data shared under the "
	    "partnership's information-sharing agreement for this meeting "
	    "only. Do not forward, copy or e-mail it; do not share it with "
	    "the perpetrator or contact the victim (the IDVA does). Keep "
	    "printed copies locked away and shred them after the meeting; "
	    "delete the electronic copy when it is no longer needed. Each "
	    "item was verified when the bundle was generated: sender "
	    "signature against the signed directory and the broker's signed "
	    "receipt (the audit sequence identifies the broker's audit "
	    "record).</p>\n</footer>\n</body>\n</html>\n");
}

haven_err
haven__bundle_html(const json_t *doc, char **out, size_t *len)
{
	const json_t *items = json_object_get(doc, "items");
	const json_t *lo = json_object_get(doc, "left_out");
	haven__hbuf b;

	*out = NULL;
	*len = 0;
	if (!json_is_object(doc) || !json_is_array(items) ||
	    !json_is_array(lo)) {
		return (HAVEN_EINVAL);
	}
	haven__hbuf_init(&b, HAVEN__BUNDLE_HTML_MAX);
	put_head(&b, doc);
	put_contents(&b, items, lo);
	for (int s = 0; s < HAVEN__SEC_COUNT; s++) {
		put_section(&b, items, (haven__bundle_sec) s);
	}
	put_left_out(&b, lo);
	put_foot(&b);
	if (b.err != HAVEN_OK) {
		haven_err rv = b.err;

		haven__hbuf_release(&b);
		return (rv);
	}
	*out = b.p;
	*len = b.len;
	return (HAVEN_OK);
}
