/*
 * agents/cases.c: the MARAC coordinator's case index (see cases.h) and
 * `haven-agent marac cases [--meeting YYYY-MM-DD]`.
 *
 * Invariants:
 *  - only verified inbox records are indexed (a forged or mismatched
 *    referral is stored unverified by deliver.c and never reaches here);
 *  - each message is folded in exactly once: the case record and the
 *    message's "caseseen" mark are written in one transaction;
 *  - messages are folded in received order, so R12 compares a referral
 *    with the referrals that really came before it;
 *  - the index holds pseudonyms, agency ids, times and states only; the
 *    victim's and perpetrator's pseudonyms are computed here from the
 *    decrypted referral with the partnership key and the plaintext is
 *    wiped at once. The listing prints pseudonyms in hex, never names.
 * Record layout (version 1, big-endian): ver | flags | consent | case 32 |
 * victim 32 | perp 32 | referral id 16 | caselist id 16 | first | received
 * | meeting | consent_ms | caselist meeting (be64 each) | referrals be32 |
 * referrer (64, NUL-padded).
 */
#include "cases.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "haven/calendar.h"
#include "jsonutil.h"
#include "util.h"

#define CASE_VER 1
#define F_PAIR 0x01
#define F_REFERRAL 0x02
#define F_REPEAT 0x04
#define F_M6 0x08
#define F_CASELIST 0x10
#define CASE_LEN (3 + 3 * HAVEN_HASH_BYTES + 2 * HAVEN_MSGID_BYTES + \
	5 * 8 + 4 + HAVEN_ID_MAX)
#define MS_DAY 86400000LL
#define MS_MIN 60000LL
#define PENDING_MAX 65536u

const char *
haven__agt_consent_name(uint8_t consent)
{
	static const char *const names[] = { "unknown", "given", "refused",
		"withdrawn" };

	return (consent < 4 ? names[consent] : "unknown");
}

/* ------------------------------------------------------------ codec */

static void
put64(uint8_t **p, int64_t v)
{
	haven__be64_put(*p, (uint64_t) v);
	*p += 8;
}

static int64_t
get64(const uint8_t **p)
{
	int64_t v = (int64_t) haven__be64_get(*p);

	*p += 8;
	return (v);
}

static void
case_encode(const haven__case *c, uint8_t out[CASE_LEN])
{
	uint8_t *p = out;

	memset(out, 0, CASE_LEN);
	*p++ = CASE_VER;
	*p++ = (uint8_t) ((c->has_pair ? F_PAIR : 0) |
	    (c->has_referral ? F_REFERRAL : 0) | (c->repeat ? F_REPEAT : 0) |
	    (c->m6 ? F_M6 : 0) | (c->has_caselist ? F_CASELIST : 0));
	*p++ = c->consent;
	memcpy(p, c->case_pseud, HAVEN_HASH_BYTES);
	memcpy(p + 32, c->victim, HAVEN_HASH_BYTES);
	memcpy(p + 64, c->perp, HAVEN_HASH_BYTES);
	memcpy(p + 96, c->referral_id, HAVEN_MSGID_BYTES);
	memcpy(p + 112, c->caselist_id, HAVEN_MSGID_BYTES);
	p += 128;
	put64(&p, c->first_ms);
	put64(&p, c->received_ms);
	put64(&p, c->meeting_ms);
	put64(&p, c->consent_ms);
	put64(&p, c->caselist_meeting_ms);
	haven__be32_put(p, c->referrals);
	memcpy(p + 4, c->referrer, strnlen(c->referrer, HAVEN_ID_MAX - 1));
}

static haven_err
case_decode(const uint8_t *buf, size_t len, haven__case *c)
{
	const uint8_t *p = buf + 3;

	memset(c, 0, sizeof(*c));
	if (len != CASE_LEN || buf[0] != CASE_VER || buf[2] > 3 ||
	    buf[CASE_LEN - 1] != '\0') {
		return (HAVEN_ECORRUPT);
	}
	c->has_pair = (buf[1] & F_PAIR) != 0;
	c->has_referral = (buf[1] & F_REFERRAL) != 0;
	c->repeat = (buf[1] & F_REPEAT) != 0;
	c->m6 = (buf[1] & F_M6) != 0;
	c->has_caselist = (buf[1] & F_CASELIST) != 0;
	c->consent = buf[2];
	memcpy(c->case_pseud, p, HAVEN_HASH_BYTES);
	memcpy(c->victim, p + 32, HAVEN_HASH_BYTES);
	memcpy(c->perp, p + 64, HAVEN_HASH_BYTES);
	memcpy(c->referral_id, p + 96, HAVEN_MSGID_BYTES);
	memcpy(c->caselist_id, p + 112, HAVEN_MSGID_BYTES);
	p += 128;
	c->first_ms = get64(&p);
	c->received_ms = get64(&p);
	c->meeting_ms = get64(&p);
	c->consent_ms = get64(&p);
	c->caselist_meeting_ms = get64(&p);
	c->referrals = haven__be32_get(p);
	memcpy(c->referrer, p + 4, HAVEN_ID_MAX);
	return (HAVEN_OK);
}

haven_err
haven__agt_case_get(haven__agent *a, const uint8_t key[HAVEN_HASH_BYTES],
    haven__case *c)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	haven_err rv;

	memset(c, 0, sizeof(*c));
	rv = haven__agt_store_case_get(a->store, key, &plain, &len);
	if (rv == HAVEN_OK) {
		rv = case_decode(plain, len, c);
		if (rv == HAVEN_OK && sodium_memcmp(c->case_pseud, key,
		    HAVEN_HASH_BYTES) != 0) {
			rv = HAVEN_ECORRUPT;
		}
	}
	haven__agt_free_wiped(plain, len);
	return (rv);
}

haven_err
haven__agt_case_put(haven__agent *a, const uint8_t *msg_id,
    const haven__case *c)
{
	uint8_t buf[CASE_LEN];
	haven_err rv;

	case_encode(c, buf);
	rv = haven__agt_store_case_put(a->store, msg_id, c->case_pseud, buf,
	    sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	return (rv);
}

typedef struct each_ctx {
	haven__case_visit fn;
	void *ctx;
	size_t bad;
} each_ctx;

static bool
each_one(void *vctx, const uint8_t key[HAVEN__CASE_KEY_BYTES],
    const uint8_t *plain, size_t len, haven_err rv)
{
	each_ctx *e = vctx;
	haven__case c;

	if (plain == NULL || rv != HAVEN_OK ||
	    case_decode(plain, len, &c) != HAVEN_OK ||
	    memcmp(c.case_pseud, key, HAVEN_HASH_BYTES) != 0) {
		e->bad++;
		return (true);
	}
	return (e->fn(e->ctx, &c));
}

haven_err
haven__agt_cases_each(haven__agent *a, haven__case_visit fn, void *ctx)
{
	each_ctx e = { fn, ctx, 0 };
	haven_err rv;

	rv = haven__agt_store_case_each(a->store, each_one, &e);
	if (rv == HAVEN_OK && e.bad > 0) {
		haven__agt_log("HAVEN-AGT-CASECORRUPT", "records=%zu", e.bad);
		rv = HAVEN_ECORRUPT;
	}
	return (rv);
}

/* ------------------------------------------------------------ meetings */

/* Monday = 0 .. Sunday = 6 of a day count (1970-01-01 was a Thursday). */
static unsigned
weekday(int64_t days)
{
	return ((unsigned) (((days % 7) + 7 + 3) % 7));
}

/* London wall-clock time -> UTC, as lib/calendar.c reads school times:
 * in October's repeated hour the BST instant, in March's missing hour
 * GMT's offset. */
static int64_t
london_to_utc(int64_t local_ms)
{
	int64_t bst = local_ms - 3600000LL;

	return (haven_london_offset_ms(bst) == 3600000LL ? bst : local_ms);
}

haven_err
haven__agt_next_meeting(const haven_policy_marac *cfg, int64_t after_ms,
    int64_t *meeting_ms)
{
	int64_t day = haven_london_days(after_ms);

	if (cfg == NULL || cfg->meeting_days == 0 || cfg->meeting_minute < 0 ||
	    cfg->meeting_minute >= 1440) {
		return (HAVEN_EINVAL);
	}
	for (int i = 0; i <= 14; i++, day++) {
		int64_t t;

		if ((cfg->meeting_days & (1u << weekday(day))) == 0) {
			continue;
		}
		t = london_to_utc(day * MS_DAY + cfg->meeting_minute * MS_MIN);
		if (t > after_ms) {
			*meeting_ms = t;
			return (HAVEN_OK);
		}
	}
	return (HAVEN_EINVAL);
}

void
haven__agt_case_meeting_date(const haven__case *c, char *buf, size_t len)
{
	int y;
	unsigned m, d;

	if (c->meeting_ms == 0) {
		(void) snprintf(buf, len, "-");
		return;
	}
	haven_civil_from_days(haven_london_days(c->meeting_ms), &y, &m, &d);
	(void) snprintf(buf, len, "%04d-%02u-%02u", y, m, d);
}

/* ------------------------------------------------------------ refresh */

/*
 * An indexer folds one verified message into its case's record `c` (the
 * stored one, or a fresh one for the message's pseudonym). *changed false:
 * nothing to record, the message is only marked as indexed.
 */
typedef haven_err (*indexer)(haven__agent *a, const haven_pseudonym_key *pk,
    const haven_envelope *env, int64_t received_ms, haven__case *c,
    bool *changed);

static indexer indexer_of(uint32_t type); /* NULL: not indexed */

typedef struct pend {
	int64_t received_ms;
	uint8_t id[HAVEN_MSGID_BYTES];
} pend;

typedef struct collect {
	haven__agent *a;
	pend *v;
	size_t n, cap;
	haven_err rv;
} collect;

static bool
collect_push(collect *c, const uint8_t *id, int64_t received_ms)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap == 0 ? 64 : c->cap * 2;
		pend *nv;

		/* over the cap: the rest waits for the next refresh */
		if (ncap > PENDING_MAX || (nv = realloc(c->v,
		    ncap * sizeof(*nv))) == NULL) {
			return (false);
		}
		c->v = nv;
		c->cap = ncap;
	}
	c->v[c->n].received_ms = received_ms;
	memcpy(c->v[c->n].id, id, HAVEN_MSGID_BYTES);
	c->n++;
	return (true);
}

static bool
collect_one(void *vctx, const uint8_t id[HAVEN_MSGID_BYTES],
    const haven__inbox_rec *rec, haven_err rv)
{
	collect *c = vctx;
	haven_envelope *env = NULL;
	bool go = true;

	(void) rv;
	if (rec == NULL || !rec->verified ||
	    haven_envelope_decode(&env, rec->envelope, rec->envelope_len) !=
	    HAVEN_OK) {
		return (true);
	}
	if (indexer_of(env->hdr.type) != NULL) {
		go = collect_push(c, id, rec->received_ms);
	}
	haven_envelope_destroy(&env);
	return (go);
}

static int
pend_cmp(const void *x, const void *y)
{
	const pend *p = x, *q = y;

	if (p->received_ms != q->received_ms) {
		return (p->received_ms < q->received_ms ? -1 : 1);
	}
	return (memcmp(p->id, q->id, HAVEN_MSGID_BYTES));
}

static bool
tag_is(const haven_header *h, const char *key, const char *value)
{
	const char *v = haven_header_tag(h, key);

	return (v != NULL && strcmp(v, value) == 0);
}

/* The case of a message, or a fresh one for its pseudonym. */
static haven_err
case_load(haven__agent *a, const haven_header *h, haven__case *c)
{
	haven_err rv = haven__agt_case_get(a, h->case_pseud, c);

	if (rv == HAVEN_ENOTFOUND) {
		memset(c, 0, sizeof(*c));
		memcpy(c->case_pseud, h->case_pseud, HAVEN_HASH_BYTES);
		rv = HAVEN_OK;
	}
	return (rv);
}

/* Person pseudonym of the {"name", "dob"} object `key` of `o`. */
static bool
person_pseud(const json_t *o, const char *key, const haven_pseudonym_key *pk,
    uint8_t out[HAVEN_HASH_BYTES])
{
	const json_t *p = json_object_get(o, key);
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *dob = json_string_value(json_object_get(p, "dob"));

	if (name == NULL || name[0] == '\0') {
		return (false);
	}
	haven_pseudonym_person(out, pk, name, dob != NULL ? dob : "");
	return (true);
}

/* Victim and perpetrator pseudonyms from the decrypted referral. */
static haven_err
referral_pair(haven__agent *a, const haven_envelope *env,
    const haven_pseudonym_key *pk, haven__case *c)
{
	char profile[HAVEN_CODE_MAX];
	uint8_t *payload = NULL;
	size_t plen = 0;
	char *text = NULL;
	json_t *o = NULL;
	haven_err rv;

	rv = haven_envelope_open(env, a->keys, profile, &payload, &plen);
	/* The coordinator's view of a referral sent without consent is
	 * "marac.m6": the referral with its M6 record. */
	if (rv == HAVEN_OK && strcmp(profile, "marac.referral") != 0 &&
	    strcmp(profile, "marac.m6") != 0) {
		rv = HAVEN_ENOTFOUND;
	}
	if (rv == HAVEN_OK) {
		rv = haven_marac_payload_to_json(env->hdr.type, profile,
		    payload, plen, &text);
	}
	if (rv == HAVEN_OK && (o = json_loads(text, 0, NULL)) == NULL) {
		rv = HAVEN_EDECODE;
	}
	c->has_pair = rv == HAVEN_OK &&
	    person_pseud(o, "victim", pk, c->victim) &&
	    person_pseud(o, "perpetrator", pk, c->perp);
	json_decref(o);
	if (text != NULL) {
		haven__agt_free_wiped(text, strlen(text));
	}
	haven__agt_free_wiped(payload, plen);
	return (rv);
}

typedef struct last_ctx {
	const haven__case *me;
	int64_t before_ms;
	int64_t last_ms; /* latest earlier referral of the same pair */
} last_ctx;

static bool
last_one(void *vctx, const haven__case *c)
{
	last_ctx *l = vctx;

	if (c->has_referral && c->has_pair &&
	    sodium_memcmp(c->victim, l->me->victim, HAVEN_HASH_BYTES) == 0 &&
	    sodium_memcmp(c->perp, l->me->perp, HAVEN_HASH_BYTES) == 0 &&
	    c->received_ms <= l->before_ms && c->received_ms > l->last_ms) {
		l->last_ms = c->received_ms;
	}
	return (true);
}

/* R12: the same victim and perpetrator referred within repeat_days. */
static haven_err
detect_repeat(haven__agent *a, const haven__case *c, int64_t received_ms,
    bool *repeat)
{
	const haven_policy_marac *cfg = haven_policy_marac_settings(a->policy);
	last_ctx l = { c, received_ms, 0 };
	haven_err rv;

	*repeat = false;
	if (!c->has_pair) {
		return (HAVEN_OK);
	}
	if ((rv = haven__agt_cases_each(a, last_one, &l)) != HAVEN_OK) {
		return (rv);
	}
	*repeat = l.last_ms > 0 &&
	    received_ms - l.last_ms <= (int64_t) cfg->repeat_days * MS_DAY;
	return (HAVEN_OK);
}

static haven_err
index_referral(haven__agent *a, const haven_pseudonym_key *pk,
    const haven_envelope *env, int64_t received_ms, haven__case *c,
    bool *changed)
{
	const haven_header *h = &env->hdr;
	haven__case probe = *c;
	bool repeat = false;
	haven_err rv;

	if (referral_pair(a, env, pk, &probe) != HAVEN_OK) {
		return (HAVEN_OK); /* not a view we can read: nothing to list */
	}
	if ((rv = detect_repeat(a, &probe, received_ms, &repeat)) !=
	    HAVEN_OK) {
		return (rv);
	}
	*c = probe;
	c->has_referral = true;
	memcpy(c->referral_id, h->msg_id, HAVEN_MSGID_BYTES);
	(void) snprintf(c->referrer, sizeof(c->referrer), "%s", h->sender);
	c->first_ms = c->first_ms != 0 ? c->first_ms : received_ms;
	c->received_ms = received_ms;
	c->referrals++;
	c->repeat = repeat || tag_is(h, "repeat", "yes");
	c->m6 = c->m6 || tag_is(h, "m6", "yes");
	c->consent = tag_is(h, "consent", "yes") ? HAVEN__CONSENT_GIVEN :
	    HAVEN__CONSENT_REFUSED;
	c->consent_ms = received_ms;
	c->has_caselist = false;
	*changed = true;
	return (haven__agt_next_meeting(haven_policy_marac_settings(a->policy),
	    received_ms, &c->meeting_ms));
}

static haven_err
index_consent(haven__agent *a, const haven_pseudonym_key *pk,
    const haven_envelope *env, int64_t received_ms, haven__case *c,
    bool *changed)
{
	static const char *const tags[] = { "given", "refused", "withdrawn" };
	static const uint8_t states[] = { HAVEN__CONSENT_GIVEN,
		HAVEN__CONSENT_REFUSED, HAVEN__CONSENT_WITHDRAWN };

	(void) a, (void) pk;
	for (size_t i = 0; i < sizeof(states); i++) {
		if (tag_is(&env->hdr, "consent", tags[i])) {
			c->consent = states[i];
			c->consent_ms = received_ms;
			*changed = true;
		}
	}
	return (HAVEN_OK);
}

/* An M11: repeat, and back on the next meeting if its own has passed. */
static haven_err
index_flag(haven__agent *a, const haven_pseudonym_key *pk,
    const haven_envelope *env, int64_t received_ms, haven__case *c,
    bool *changed)
{
	(void) pk, (void) env;
	c->repeat = true;
	*changed = true;
	if (!c->has_referral || c->meeting_ms > received_ms) {
		return (HAVEN_OK);
	}
	c->has_caselist = false;
	return (haven__agt_next_meeting(haven_policy_marac_settings(a->policy),
	    received_ms, &c->meeting_ms));
}

static const struct {
	uint32_t type;
	indexer fn;
} indexers[] = {
	{ HAVEN_MSG_MARAC_REFERRAL, index_referral },
	{ HAVEN_MSG_CONSENT_DECISION, index_consent },
	{ HAVEN_MSG_REPEAT_INCIDENT_FLAG, index_flag },
};

static indexer
indexer_of(uint32_t type)
{
	for (size_t i = 0; i < sizeof(indexers) / sizeof(indexers[0]); i++) {
		if (indexers[i].type == type) {
			return (indexers[i].fn);
		}
	}
	return (NULL);
}

/* Fold message `id` (env NULL: it does not decode) into its case and
 * mark it indexed, in one write. */
static haven_err
index_msg(haven__agent *a, const haven_pseudonym_key *pk,
    const uint8_t *id, const haven_envelope *env, int64_t received_ms)
{
	static const uint8_t no_case[HAVEN_HASH_BYTES];
	indexer fn = env != NULL ? indexer_of(env->hdr.type) : NULL;
	bool changed = false;
	haven__case c;
	haven_err rv;

	if (fn == NULL || !env->hdr.has_case) {
		return (haven__agt_store_case_put(a->store, id, no_case, NULL,
		    0)); /* nothing to index: only mark it */
	}
	if ((rv = case_load(a, &env->hdr, &c)) != HAVEN_OK ||
	    (rv = fn(a, pk, env, received_ms, &c, &changed)) != HAVEN_OK) {
		return (rv);
	}
	if (!changed) {
		return (haven__agt_store_case_put(a->store, id, c.case_pseud,
		    NULL, 0));
	}
	return (haven__agt_case_put(a, id, &c));
}

static haven_err
index_one(haven__agent *a, const haven_pseudonym_key *pk, const pend *p,
    bool *done)
{
	haven_envelope *env = NULL;
	haven__inbox_rec rec;
	bool seen = false;
	haven_err rv;

	if ((rv = haven__agt_store_case_seen(a->store, p->id, &seen)) !=
	    HAVEN_OK || seen) {
		return (rv);
	}
	*done = true;
	if ((rv = haven__agt_store_inbox_get(a->store, p->id, &rec)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if (haven_envelope_decode(&env, rec.envelope, rec.envelope_len) !=
	    HAVEN_OK) {
		env = NULL;
	}
	rv = index_msg(a, pk, p->id, env, rec.received_ms);
	haven_envelope_destroy(&env);
	haven__agt_inbox_rec_release(&rec);
	return (rv);
}

haven_err
haven__agt_cases_refresh(haven__agent *a, const haven_pseudonym_key *pk,
    size_t *indexed)
{
	collect c = { a, NULL, 0, 0, HAVEN_OK };
	size_t done = 0;
	haven_err rv;

	*indexed = 0;
	rv = haven__agt_store_inbox_each(a->store, collect_one, &c);
	if (rv == HAVEN_OK && c.n > 1) {
		qsort(c.v, c.n, sizeof(*c.v), pend_cmp);
	}
	for (size_t i = 0; rv == HAVEN_OK && i < c.n; i++) {
		bool one = false;

		rv = index_one(a, pk, &c.v[i], &one);
		done += one;
	}
	free(c.v);
	*indexed = done;
	return (rv);
}

/* ------------------------------------------------------------ marac cases */

typedef struct list_ctx {
	bool filter;
	int64_t day;
	json_t *arr;
} list_ctx;

static json_t *
case_json(const haven__case *c)
{
	char hex[2 * HAVEN_HASH_BYTES + 1], date[16];

	haven__hex_encode(hex, c->case_pseud, HAVEN_HASH_BYTES);
	haven__agt_case_meeting_date(c, date, sizeof(date));
	return (json_pack("{s:s, s:s, s:o, s:o, s:s, s:b, s:s, s:b, s:I, "
	    "s:b}", "case", hex, "referrer", c->referrer, "received",
	    haven__agt_json_time(c->received_ms), "meeting",
	    haven__agt_json_time(c->meeting_ms), "meeting_date", date,
	    "repeat", c->repeat, "consent", haven__agt_consent_name(c->consent),
	    "m6", c->m6, "referrals", (json_int_t) c->referrals,
	    "caselist_sent", c->has_caselist &&
	    c->caselist_meeting_ms == c->meeting_ms));
}

static bool
list_one(void *vctx, const haven__case *c)
{
	list_ctx *l = vctx;

	if (!c->has_referral || (l->filter &&
	    haven_london_days(c->meeting_ms) != l->day)) {
		return (true);
	}
	(void) json_array_append_new(l->arr, case_json(c));
	return (true);
}

/* A string member of a listing row, "-" when absent or null. */
static const char *
field(const json_t *row, const char *key)
{
	const char *v = json_string_value(json_object_get(row, key));

	return (v != NULL ? v : "-");
}

/* The text listing: pseudonyms, times, states and agency ids only. */
static void
print_cases(const json_t *arr)
{
	const json_t *e;
	size_t i;

	(void) printf("%-64s  %-20s  %-20s  %-6s  %-9s  %s\n", "CASE",
	    "RECEIVED", "MEETING", "REPEAT", "CONSENT", "REFERRER");
	json_array_foreach(arr, i, e) {
		(void) printf("%-64s  %-20s  %-20s  %-6s  %-9s  %s\n",
		    field(e, "case"), field(e, "received"), field(e, "meeting"),
		    json_is_true(json_object_get(e, "repeat")) ? "REPEAT" : "-",
		    field(e, "consent"), field(e, "referrer"));
	}
}

/* Parse --meeting into a London day; reports and returns the exit code. */
int
haven__agt_meeting_arg(haven__agent *a, const char *arg, bool required,
    bool *given, int64_t *day)
{
	*given = arg != NULL;
	if (arg == NULL) {
		return (required ? haven__agt_out_fail(&a->out, HAVEN_EINVAL, 2,
		    "--meeting", NULL, "give the meeting date, YYYY-MM-DD") :
		    0);
	}
	if (haven_date_parse(arg, day) != HAVEN_OK) {
		return (haven__agt_out_fail(&a->out, HAVEN_EINVAL, 2,
		    "--meeting", NULL, "must be a date, YYYY-MM-DD"));
	}
	return (0);
}

/* Load the key and bring the index up to date; exit code. */
int
haven__agt_cases_prepare(haven__agent *a, haven_pseudonym_key **pk,
    size_t *indexed)
{
	haven_err rv;
	int ec;

	if ((ec = haven__agt_marac_pk(a, pk)) != 0) {
		return (ec);
	}
	if ((rv = haven__agt_cases_refresh(a, *pk, indexed)) != HAVEN_OK) {
		return (haven__agt_out_fail(&a->out, rv, 1, "data_dir", NULL,
		    "cannot bring the case index up to date"));
	}
	return (0);
}

int
haven__agt_cmd_marac_cases(haven__agent *a, const haven__args *args)
{
	haven_pseudonym_key *pk = NULL;
	list_ctx l = { false, 0, NULL };
	size_t indexed = 0;
	haven_err rv;
	int ec;

	if ((ec = haven__agt_meeting_arg(a, args->meeting, false, &l.filter,
	    &l.day)) != 0 || (ec = haven__agt_cases_prepare(a, &pk,
	    &indexed)) != 0) {
		haven_pseudonym_key_destroy(&pk);
		return (ec);
	}
	haven_pseudonym_key_destroy(&pk);
	if ((l.arr = json_array()) == NULL) {
		return (haven__agt_out_fail(&a->out, HAVEN_ENOMEM, 1, NULL,
		    NULL, "out of memory"));
	}
	if ((rv = haven__agt_cases_each(a, list_one, &l)) != HAVEN_OK) {
		json_decref(l.arr);
		return (haven__agt_out_fail(&a->out, rv, 1, "data_dir", NULL,
		    "cannot read the case index"));
	}
	if (a->out.json) {
		haven__agt_out_json(json_pack("{s:b, s:s, s:I, s:I, s:o}", "ok",
		    1, "command", "marac cases", "indexed",
		    (json_int_t) indexed, "count",
		    (json_int_t) json_array_size(l.arr), "cases", l.arr));
		return (0);
	}
	print_cases(l.arr);
	json_decref(l.arr);
	return (0);
}
