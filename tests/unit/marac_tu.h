/*
 * tests/unit/marac_tu.h: shared set-up for the MARAC unit tests
 * (header-only: each tests/unit/test_*.c is its own executable).
 *
 * The directory is the demo partnership's (deploy/demo/partnership.sh),
 * with real libsodium keys and the same attributes (isp=signed,
 * panel_north/panel_south=member), plus a revoked agency and a police
 * MARAC chair. The clock is fixed at Monday 2026-11-23 09:00 UTC, three
 * days after the fixtures' incident. Include after <cmocka.h>.
 *
 * The helpers added for table-driven tests (tu_set, tu_run, tu_allow_is,
 * tu_deny_is, tu_header_of) are `static inline` so that a test file that
 * does not use them still builds with -Werror=unused-function.
 */
#ifndef HAVEN_TESTS_UNIT_MARAC_TU_H
#define HAVEN_TESTS_UNIT_MARAC_TU_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/envelope.h"
#include "haven/keys.h"
#include "haven/marac.h"

#include "dir_tu.h"

#define MFIX HAVEN_SOURCE_DIR "/tests/fixtures/marac/"

static haven_directory *tu_dir;
static int64_t tu_now;
static char tu_where[128]; /* the table row being run, for messages */

struct tu_ag {
	const char *id;
	const char *role;
	const char *attrs; /* "k=v k=v" */
	bool revoked;
};

static const struct tu_ag tu_agencies[] = {
	{ "police.cambs", "POL", "isp=signed panel_north=member "
	  "panel_south=member", false },
	{ "police.chair", "POL", "isp=signed marac_chair=yes", false },
	{ "school.urn.110123", "EDU", "local_authority=la.cambs", false },
	{ "school.urn.110456", "EDU", "local_authority=la.cambs "
	  "panel_north=member", false },
	{ "housing.cambs", "HSG", "isp=signed panel_north=member", false },
	{ "housing.peterborough", "HSG", "isp=signed panel_south=member",
	  false },
	{ "idva.cambs", "IDVA", "isp=signed panel_north=member "
	  "panel_south=member", false },
	{ "idva.old", "IDVA", "isp=signed", true },
	{ "marac.cambs", "MCO", "isp=signed", false },
	{ "gp.riverside", "HLT", "isp=signed", false },
	{ "probation.cambs", "PRB", "isp=signed panel_north=member "
	  "panel_south=member", false },
	{ "das.cambs", "DAS", "isp=signed panel_north=member", false },
	{ "refuge.cambs", "REF", "", false },
	{ "dapp.north", "DAPC", "panel_north=member", false },
	{ "dapp.south", "DAPC", "panel_south=member", false },
};

/* Call fn(ctx, k, v) for each "k=v" of the space-separated `spec`; a
 * bare "k" gives v NULL. */
static void
tu_kv_each(const char *spec, void (*fn)(void *, const char *, const char *),
    void *ctx)
{
	char buf[256], *save = NULL;

	(void) snprintf(buf, sizeof(buf), "%s", spec);
	for (char *kv = strtok_r(buf, " ", &save); kv != NULL;
	     kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');

		if (eq != NULL) {
			*eq = '\0';
		}
		fn(ctx, kv, eq != NULL ? eq + 1 : NULL);
	}
}

static void
tu_attr_set(void *o, const char *k, const char *v)
{
	assert_non_null(v);
	assert_int_equal(json_object_set_new(o, k, json_string(v)), 0);
}

static json_t *
tu_attrs(const char *spec)
{
	json_t *o = json_object();

	tu_kv_each(spec, tu_attr_set, o);
	return (o);
}

static int
tu_setup(void **state)
{
	json_t *list = json_array();

	(void) state;
	for (size_t i = 0; i < sizeof(tu_agencies) / sizeof(tu_agencies[0]);
	     i++) {
		const struct tu_ag *a = &tu_agencies[i];

		assert_int_equal(json_array_append_new(list, dir_tu_agency(
		    a->id, a->role, a->revoked, tu_attrs(a->attrs), NULL)), 0);
	}
	tu_dir = dir_tu_build(list);
	assert_int_equal(haven_time_parse("2026-11-23T09:00:00Z", &tu_now),
	    HAVEN_OK);
	return (0);
}

static int
tu_teardown(void **state)
{
	(void) state;
	haven_directory_destroy(&tu_dir);
	return (0);
}

static json_t *
tu_fixture(const char *name)
{
	return (dir_tu_fixture(MFIX, name));
}

/* Result of one from_json call, for assertions. */
struct tu_res {
	haven_err rv;
	char field[96];
	char why[192];
	haven_marac_msg *m;
};

static void
tu_build_json(struct tu_res *r, uint32_t type, const json_t *j,
    const char *sender, const haven_policy_marac *cfg)
{
	char *text = json_dumps(j, JSON_COMPACT);

	assert_non_null(text);
	memset(r, 0, sizeof(*r));
	r->rv = haven_marac_from_json(type, text, strlen(text), sender,
	    tu_dir, cfg, tu_now, &r->m, r->field, sizeof(r->field), r->why,
	    sizeof(r->why));
	if (r->rv != HAVEN_OK) {
		assert_null(r->m);
	}
	free(text);
}

/* Build from a fixture; `edit` (may be NULL) changes it first. */
static void
tu_build(struct tu_res *r, uint32_t type, const char *name,
    const char *sender, void (*edit)(json_t *))
{
	json_t *j = tu_fixture(name);

	tu_where[0] = '\0'; /* not a table row */
	if (edit != NULL) {
		edit(j);
	}
	tu_build_json(r, type, j, sender, NULL);
	json_decref(j);
}

/* Expect a refusal: code, field, reason prefix. */
static void
tu_expect(const struct tu_res *r, haven_err rv, const char *field,
    const char *why_prefix)
{
	if (r->rv != rv || strcmp(r->field, field) != 0 ||
	    strncmp(r->why, why_prefix, strlen(why_prefix)) != 0) {
		fail_msg("%sgot %s [%s] %s; want %s [%s] %s...", tu_where,
		    haven_err_name(r->rv), r->field, r->why, haven_err_name(rv),
		    field, why_prefix);
	}
}

static void
tu_ok(const struct tu_res *r)
{
	if (r->rv != HAVEN_OK) {
		fail_msg("%srefused: %s [%s] %s", tu_where,
		    haven_err_name(r->rv), r->field, r->why);
	}
	assert_non_null(r->m);
}

static const char *
tu_tag(const haven_marac_msg *m, const char *key)
{
	for (size_t i = 0; i < m->n_tags; i++) {
		if (strcmp(m->tags[i].key, key) == 0) {
			return (m->tags[i].value);
		}
	}
	return (NULL);
}

static void
tu_tag_is(const haven_marac_msg *m, const char *key, const char *want)
{
	const char *v = tu_tag(m, key);

	if (v == NULL || strcmp(v, want) != 0) {
		fail_msg("%stag %s = %s, want %s", tu_where, key,
		    v != NULL ? v : "(none)", want);
	}
}

/* The header an agent would sign for this message (no crypto needed:
 * the checks read type, case, basis, purpose, tags, time and profiles;
 * the first 8 views, as an agent splits at HAVEN_MAX_VIEWS). */
static void
tu_header(const haven_marac_msg *m, haven_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = HAVEN_PROTOCOL_VERSION;
	h->type = m->type;
	h->has_case = true;
	memset(h->case_pseud, 0xcc, sizeof(h->case_pseud));
	(void) snprintf(h->legal_basis, sizeof(h->legal_basis), "%s",
	    m->legal_basis);
	(void) snprintf(h->purpose, sizeof(h->purpose), "%s", m->purpose);
	h->n_tags = m->n_tags;
	memcpy(h->tags, m->tags, sizeof(m->tags[0]) * m->n_tags);
	h->created_ms = tu_now;
	h->occurred_ms = m->occurred_ms;
	h->n_views = m->n_views < HAVEN_MAX_VIEWS ? m->n_views :
	    HAVEN_MAX_VIEWS;
	for (size_t i = 0; i < h->n_views; i++) {
		(void) snprintf(h->views[i].profile,
		    sizeof(h->views[i].profile), "%s", m->views[i].profile);
	}
}

static void
tu_set_tag(haven_header *h, const char *key, const char *value)
{
	for (size_t i = 0; i < h->n_tags; i++) {
		if (strcmp(h->tags[i].key, key) == 0) {
			if (value == NULL) {
				h->tags[i] = h->tags[h->n_tags - 1];
				h->n_tags--;
			} else {
				(void) snprintf(h->tags[i].value,
				    sizeof(h->tags[i].value), "%s", value);
			}
			return;
		}
	}
	assert_non_null(value);
	(void) snprintf(h->tags[h->n_tags].key, sizeof(h->tags[0].key), "%s",
	    key);
	(void) snprintf(h->tags[h->n_tags].value, sizeof(h->tags[0].value),
	    "%s", value);
	h->n_tags++;
}

/* Every view renders, its header passes the broker and every view
 * verifies against it: the round trip the agents and broker make. */
static void
tu_roundtrip(const haven_marac_msg *m)
{
	haven_header h;
	haven_policy_decision d;
	char why[192];

	for (size_t i = 0; i < m->n_views; i++) {
		char *js = NULL;

		/* The envelope's rule: each recipient in exactly one view. */
		for (size_t j = 0; j < i; j++) {
			for (size_t a = 0; a < m->views[i].n_recipients; a++) {
				for (size_t b = 0; b < m->views[j].n_recipients;
				     b++) {
					assert_string_not_equal(
					    m->views[i].recipients[a],
					    m->views[j].recipients[b]);
				}
			}
		}
		assert_int_equal(haven_marac_payload_to_json(m->type,
		    m->views[i].profile, m->views[i].payload,
		    m->views[i].payload_len, &js), HAVEN_OK);
		assert_non_null(js);
		free(js);
	}
	tu_header(m, &h);
	if (haven_marac_check_header(NULL, &h, tu_now, &d) != HAVEN_OK) {
		fail_msg("%sbroker refused: %s %s", tu_where, d.rule,
		    d.reason);
	}
	for (size_t i = 0; i < h.n_views; i++) {
		if (haven_marac_verify_payload(&h, m->views[i].profile,
		        m->views[i].payload, m->views[i].payload_len, why,
		        sizeof(why)) != HAVEN_OK) {
			fail_msg("view %zu: %s", i, why);
		}
	}
}

/* A view's payload as parsed JSON (caller decrefs). */
static json_t *
tu_view_json(const haven_marac_msg *m, size_t i)
{
	char *js = NULL;
	json_t *j;

	assert_int_equal(haven_marac_payload_to_json(m->type,
	    m->views[i].profile, m->views[i].payload, m->views[i].payload_len,
	    &js), HAVEN_OK);
	j = json_loads(js, 0, NULL);
	free(js);
	assert_non_null(j);
	return (j);
}

/* ------------------------------------------------ table-driven cases */

/* One edit of a fixture: set the member at `path` to the JSON text
 * `json`, or delete it (json NULL). Paths are "a.b[2].c"; a final "[]"
 * appends to the array. */
struct tu_edit {
	const char *path;
	const char *json;
};

#define TU_EDITS 6

/* One build of `fixture` by `sender` with `pre` (may be NULL) then the
 * edits applied. rv HAVEN_OK: accepted, with `tags` ("k=v k=v", may be
 * NULL) and, when `views` > 0, that many views; the round trip is
 * checked. Otherwise refused with rv, `field` and a reason starting with
 * `why`, and `absent` (may be NULL) appears in neither. */
struct tu_case {
	const char *fixture;
	const char *sender;
	void (*pre)(json_t *);
	struct tu_edit ed[TU_EDITS];
	haven_err rv;
	const char *field;
	const char *why;
	const char *tags;
	size_t views;
	const char *absent;
};

/* Split "name[i]" into name and index (-1: none, -2: "[]" append). */
static inline long
tu_seg(char *seg)
{
	char *br = strchr(seg, '[');

	if (br == NULL) {
		return (-1);
	}
	*br = '\0';
	return (br[1] == ']' ? -2 : strtol(br + 1, NULL, 10));
}

static inline void
tu_set(json_t *root, const char *path, const char *json)
{
	char buf[128], *save = NULL, *seg, *next;
	json_t *cur = root, *v = NULL, *arr;
	json_error_t je;
	long i;

	if (json != NULL && (v = json_loads(json, JSON_DECODE_ANY, &je)) ==
	    NULL) {
		fail_msg("%s: bad JSON %s: %s", path, json, je.text);
	}
	(void) snprintf(buf, sizeof(buf), "%s", path);
	seg = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save)) != NULL) {
		i = tu_seg(seg);
		cur = json_object_get(cur, seg);
		cur = i >= 0 ? json_array_get(cur, (size_t) i) : cur;
		if (cur == NULL) {
			fail_msg("%s: no %s", path, seg);
		}
		seg = next;
	}
	i = tu_seg(seg);
	arr = json_object_get(cur, seg);
	if (i == -1) {
		assert_int_equal(v != NULL ? json_object_set_new(cur, seg, v) :
		    json_object_del(cur, seg), 0);
	} else if (i == -2) {
		assert_int_equal(json_array_append_new(arr, v), 0);
	} else {
		assert_int_equal(v != NULL ? json_array_set_new(arr,
		    (size_t) i, v) : json_array_remove(arr, (size_t) i), 0);
	}
}

static inline void
tu_tag_check(void *m, const char *k, const char *v)
{
	assert_non_null(v);
	tu_tag_is(m, k, v);
}

/* Every "k=v" of `spec` is a tag of `m`. */
static inline void
tu_tags_are(const haven_marac_msg *m, const char *spec)
{
	tu_kv_each(spec, tu_tag_check, (void *) m);
}

static inline void
tu_run_one(uint32_t type, const struct tu_case *c)
{
	json_t *j = tu_fixture(c->fixture);
	struct tu_res r;

	if (c->pre != NULL) {
		c->pre(j);
	}
	for (size_t i = 0; i < TU_EDITS && c->ed[i].path != NULL; i++) {
		tu_set(j, c->ed[i].path, c->ed[i].json);
	}
	tu_build_json(&r, type, j, c->sender, NULL);
	json_decref(j);
	if (c->rv != HAVEN_OK) {
		tu_expect(&r, c->rv, c->field, c->why);
		if (c->absent != NULL && (strstr(r.why, c->absent) != NULL ||
		    strstr(r.field, c->absent) != NULL)) {
			fail_msg("%s'%s' repeated in [%s] %s", tu_where,
			    c->absent, r.field, r.why);
		}
		return;
	}
	tu_ok(&r);
	if (c->tags != NULL) {
		tu_tags_are(r.m, c->tags);
	}
	if (c->views > 0 && r.m->n_views != c->views) {
		fail_msg("%s%zu views, want %zu", tu_where, r.m->n_views,
		    c->views);
	}
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
}

/* Run a table of cases of message `type`; a failure names its row. */
static inline void
tu_run(uint32_t type, const struct tu_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		(void) snprintf(tu_where, sizeof(tu_where), "row %zu (%s by "
		    "%s): ", i, cases[i].fixture, cases[i].sender);
		tu_run_one(type, &cases[i]);
	}
	tu_where[0] = '\0';
}

#define TU_RUN(type, table) \
	tu_run((type), (table), sizeof(table) / sizeof((table)[0]))

/* ------------------------------------------- the broker's header check */

/* The header of an accepted build of `fixture`. */
static inline void
tu_header_of(uint32_t type, const char *fixture, const char *sender,
    haven_header *h)
{
	struct tu_res r;

	tu_build(&r, type, fixture, sender, NULL);
	tu_ok(&r);
	tu_header(r.m, h);
	haven_marac_msg_free(&r.m);
}

/* haven_marac_check_header (default settings) allows `h` under `rule`. */
static inline void
tu_allow_is(const haven_header *h, const char *rule)
{
	haven_policy_decision d;

	if (haven_marac_check_header(NULL, h, tu_now, &d) != HAVEN_OK ||
	    !d.allow || strcmp(d.rule, rule) != 0) {
		fail_msg("%srefused or wrong rule: %s %s", tu_where, d.rule,
		    d.reason);
	}
}

/* ... refuses `h` under `rule` with a reason starting with `reason`. */
static inline void
tu_deny_is(const haven_header *h, const char *rule, const char *reason)
{
	haven_policy_decision d;

	if (haven_marac_check_header(NULL, h, tu_now, &d) != HAVEN_EPOLICY ||
	    d.allow || strcmp(d.rule, rule) != 0 ||
	    strncmp(d.reason, reason, strlen(reason)) != 0) {
		fail_msg("%sgot %d %s '%s'; want %s '%s'", tu_where, d.allow,
		    d.rule, d.reason, rule, reason);
	}
}

#endif /* HAVEN_TESTS_UNIT_MARAC_TU_H */
