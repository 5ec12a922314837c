/*
 * broker/deadline.c: Encompass deadlines checked, recorded and watched.
 *
 * Databases (store.h haven_store_owned; keys big-endian where ordered):
 *
 *   deadline      msg id (16) || school id (1..63 bytes, no NUL) -> record
 *                   u8 version (1) | u8 state | u8 flags |
 *                   be64 deadline_ms | be64 accepted_ms | be64 occurred_ms |
 *                   sender id, NUL-terminated (1..63 bytes + NUL)
 *                 state: 1 pending, 2 read, 3 escalated, 4 closed (read
 *                 after an escalation); flags: bit 0 = a school-offline
 *                 escalation was raised.
 *   deadline_due  be64 deadline_ms || msg id || school id -> (empty)
 *                 present exactly while the record is pending and not yet
 *                 escalated at its deadline, so the first key is the next
 *                 deadline: the loop's look costs one cursor peek.
 *   lastseen      agency id -> be64 time it last sent a frame (written at
 *                 most once a minute per agency, in the batch's txn).
 *
 * Invariants: a record is written in the transaction that admits its
 * notification, and changes state only in the transaction that admits the
 * first receipt or raises the escalation, so the state, the due index, the
 * audit and the stored M4 always agree. The deadline kept is the signed
 * one from the header (no later than the broker's own reckoning, possibly
 * earlier: the sender may be stricter, never laxer).
 *
 * Threat assumptions: the header is verified and policy-checked before
 * anything here reads it; the deadline and incident time are the sender's
 * claims, bounded by the broker's own clock and the signed directory.
 * Reasons and log lines carry agency ids, message ids and codes only.
 */
#include "deadline.h"

#include <stdio.h>
#include <string.h>

#include "escalate.h"
#include "haven/calendar.h"
#include "haven/encompass.h"
#include "haven/policy.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define REC_VERSION 1
#define REC_FIXED (3 + 3 * 8)
#define REC_MAX (REC_FIXED + HAVEN_ID_MAX)
#define KEY_MAX (HAVEN_MSGID_BYTES + HAVEN_ID_MAX)
#define DUE_MIN (8 + HAVEN_MSGID_BYTES + 1)
#define DUE_MAX (8 + KEY_MAX)
#define SEEN_EVERY_MS 60000
#define OFFLINE_EVERY_MS 1000

enum { ST_PENDING = 1, ST_READ = 2, ST_ESCALATED = 3, ST_CLOSED = 4 };
#define FL_OFFLINE 0x01

typedef struct dl_rec {
	uint8_t state;
	uint8_t flags;
	int64_t deadline_ms;
	int64_t accepted_ms;
	int64_t occurred_ms;
	char sender[HAVEN_ID_MAX];
} dl_rec;

/* One notification to one school, as named by a due key. */
typedef struct dl_ref {
	int64_t deadline_ms;
	uint8_t id[HAVEN_MSGID_BYTES];
	char school[HAVEN_ID_MAX];
} dl_ref;

static MDB_val
val(const void *p, size_t n)
{
	MDB_val v;

	v.mv_data = (void *) p;
	v.mv_size = n;
	return (v);
}

static MDB_dbi
dbi(struct haven_broker *b, haven_store_owned which)
{
	return (haven__store_dbi(b->store, which));
}

/* ------------------------------------------------------------ records */

static size_t
rec_key(uint8_t k[KEY_MAX], const uint8_t id[HAVEN_MSGID_BYTES],
    const char *school)
{
	size_t n = strnlen(school, HAVEN_ID_MAX - 1);

	memcpy(k, id, HAVEN_MSGID_BYTES);
	memcpy(k + HAVEN_MSGID_BYTES, school, n);
	return (HAVEN_MSGID_BYTES + n);
}

static size_t
due_key(uint8_t k[DUE_MAX], const dl_ref *r)
{
	haven__be64_put(k, (uint64_t) r->deadline_ms);
	return (8 + rec_key(k + 8, r->id, r->school));
}

static size_t
rec_pack(uint8_t out[REC_MAX], const dl_rec *r)
{
	size_t n = strnlen(r->sender, HAVEN_ID_MAX - 1);

	out[0] = REC_VERSION;
	out[1] = r->state;
	out[2] = r->flags;
	haven__be64_put(out + 3, (uint64_t) r->deadline_ms);
	haven__be64_put(out + 11, (uint64_t) r->accepted_ms);
	haven__be64_put(out + 19, (uint64_t) r->occurred_ms);
	memcpy(out + REC_FIXED, r->sender, n);
	out[REC_FIXED + n] = '\0';
	return (REC_FIXED + n + 1);
}

static haven_err
rec_unpack(dl_rec *r, const uint8_t *b, size_t len)
{
	size_t n;

	memset(r, 0, sizeof(*r));
	if (len <= REC_FIXED + 1 || len > REC_MAX || b[0] != REC_VERSION ||
	    b[1] < ST_PENDING || b[1] > ST_CLOSED || b[len - 1] != '\0') {
		return (HAVEN_ECORRUPT);
	}
	n = len - REC_FIXED - 1;
	if (memchr(b + REC_FIXED, '\0', n) != NULL) {
		return (HAVEN_ECORRUPT);
	}
	r->state = b[1];
	r->flags = b[2];
	r->deadline_ms = (int64_t) haven__be64_get(b + 3);
	r->accepted_ms = (int64_t) haven__be64_get(b + 11);
	r->occurred_ms = (int64_t) haven__be64_get(b + 19);
	memcpy(r->sender, b + REC_FIXED, n + 1);
	return (HAVEN_OK);
}

static haven_err
rec_get(struct haven_broker *b, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], const char *school, dl_rec *r)
{
	uint8_t kb[KEY_MAX];
	MDB_val k = val(kb, rec_key(kb, id, school)), d;
	int rc = mdb_get(txn, dbi(b, HAVEN_STORE_DEADLINE), &k, &d);

	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	return (rec_unpack(r, d.mv_data, d.mv_size));
}

static haven_err
rec_put(struct haven_broker *b, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], const char *school, const dl_rec *r)
{
	uint8_t kb[KEY_MAX], vb[REC_MAX];
	MDB_val k = val(kb, rec_key(kb, id, school));
	MDB_val d = val(vb, rec_pack(vb, r));

	return (haven__mdb_err(mdb_put(txn, dbi(b, HAVEN_STORE_DEADLINE), &k,
	    &d, 0)));
}

static haven_err
due_put(struct haven_broker *b, MDB_txn *txn, const dl_ref *r)
{
	uint8_t kb[DUE_MAX];
	MDB_val k = val(kb, due_key(kb, r)), d = val("", 0);

	return (haven__mdb_err(mdb_put(txn, dbi(b, HAVEN_STORE_DEADLINE_DUE),
	    &k, &d, 0)));
}

static haven_err
due_del(struct haven_broker *b, MDB_txn *txn, const dl_ref *r)
{
	uint8_t kb[DUE_MAX];
	MDB_val k = val(kb, due_key(kb, r));
	int rc = mdb_del(txn, dbi(b, HAVEN_STORE_DEADLINE_DUE), &k, NULL);

	return (rc == MDB_NOTFOUND ? HAVEN_OK : haven__mdb_err(rc));
}

/* Parse a due key; false if it is not one (corrupt). */
static bool
due_parse(const MDB_val *k, dl_ref *r)
{
	const uint8_t *p = k->mv_data;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (k->mv_size < DUE_MIN || k->mv_size > DUE_MAX - 1) {
		return (false);
	}
	n = k->mv_size - 8 - HAVEN_MSGID_BYTES;
	r->deadline_ms = (int64_t) haven__be64_get(p);
	memcpy(r->id, p + 8, HAVEN_MSGID_BYTES);
	memcpy(r->school, p + 8 + HAVEN_MSGID_BYTES, n);
	r->school[n] = '\0';
	return (haven_agency_id_valid(r->school));
}

/* ---------------------------------------------------------- admission */

static haven_err
deny(char *rule, char *reason, const char *r, const char *why)
{
	haven__bcopy(rule, 32, r);
	haven__bcopy(reason, HAVEN_REASON_MAX, why);
	return (HAVEN_EPOLICY);
}

static const haven_agency *
edu(const haven_directory *dir, const char *id)
{
	const haven_agency *a = haven_directory_find(dir, id);

	return (a != NULL && strcmp(a->role, "EDU") == 0 ? a : NULL);
}

/* The calendar area a school follows (haven/calendar.h). */
static const char *
area_of(const haven_agency *a)
{
	const char *c = haven_agency_attr(a, "calendar");

	return (c != NULL ? c : haven_agency_attr(a, "local_authority"));
}

static haven_err
check_school(struct haven_broker *b, const haven_header *h,
    const char *school, char *rule, char *reason)
{
	haven_calendar cal;
	int64_t real = 0;

	if (haven_directory_calendar(b->dir, school, &cal) != HAVEN_OK ||
	    haven_calendar_next_school_day(&cal, h->occurred_ms, &real) !=
	    HAVEN_OK) {
		return (deny(rule, reason, HAVEN_RULE_DEADLINE,
		    "no next school day can be computed for the school"));
	}
	if (h->deadline_ms > real) {
		return (deny(rule, reason, HAVEN_RULE_DEADLINE,
		    "deadline is later than the school's next school day"));
	}
	return (HAVEN_OK);
}

/* A holiday lies between the incident and the school's next school day:
 * some local date from the incident's up to (not including) the date of
 * that school day is in a holiday of the calendar. So an incident on a
 * holiday counts, and so does one on the evening of the last day of a
 * term (nobody at school sees it before the next term); a weekend inside a
 * term does not. */
static bool
holiday_ahead(const haven_calendar *cal, int64_t occurred_ms)
{
	int64_t next = 0, day;

	if (haven_calendar_next_school_day(cal, occurred_ms, &next) !=
	    HAVEN_OK) {
		return (false);
	}
	for (day = haven_london_days(occurred_ms);
	    day < haven_london_days(next); day++) {
		if (haven_calendar_in_holiday(cal, day)) {
			return (true);
		}
	}
	return (false);
}

/* `id` is the holiday duty agency of the area of one of the header's
 * schools, and a holiday lies ahead of that school (holiday_ahead). */
static bool
holiday_duty(struct haven_broker *b, const haven_header *h, const char *id)
{
	const haven_policy_encompass *s =
	    haven_policy_encompass_settings(b->policy);
	haven_calendar cal;

	for (size_t i = 0; i < h->n_recipients; i++) {
		const haven_agency *a = edu(b->dir, h->recipients[i]);
		const char *area = a != NULL ? area_of(a) : NULL;

		for (size_t j = 0; area != NULL && j < s->n_holiday_duty; j++) {
			if (strcmp(s->holiday_duty[j].calendar, area) == 0 &&
			    strcmp(s->holiday_duty[j].agency, id) == 0 &&
			    haven_directory_calendar(b->dir, a->id, &cal) ==
			    HAVEN_OK && holiday_ahead(&cal, h->occurred_ms)) {
				return (true);
			}
		}
	}
	return (false);
}

static haven_err
check_notification(struct haven_broker *b, const haven_header *h,
    int64_t now_ms, char *rule, char *reason)
{
	size_t schools = 0;
	haven_err rv;

	if (h->occurred_ms <= 0) {
		return (deny(rule, reason, HAVEN_RULE_DEADLINE,
		    "notification without the incident time"));
	}
	if (h->occurred_ms > now_ms + haven_policy_skew_ms(b->policy)) {
		return (deny(rule, reason, HAVEN_RULE_DEADLINE,
		    "incident time is in the future"));
	}
	if (h->deadline_ms <= 0) {
		return (deny(rule, reason, HAVEN_RULE_DEADLINE,
		    "notification without a deadline"));
	}
	for (size_t i = 0; i < h->n_recipients; i++) {
		if (edu(b->dir, h->recipients[i]) == NULL) {
			continue;
		}
		schools++;
		if ((rv = check_school(b, h, h->recipients[i], rule,
		    reason)) != HAVEN_OK) {
			return (rv);
		}
	}
	for (size_t i = 0; i < h->n_recipients; i++) {
		if (edu(b->dir, h->recipients[i]) == NULL && (schools == 0 ||
		    !holiday_duty(b, h, h->recipients[i]))) {
			return (deny(rule, reason, HAVEN_RULE_HOLIDAY,
			    "only a school, and during its holiday the "
			    "policy's holiday duty contact, receive a "
			    "notification"));
		}
	}
	return (HAVEN_OK);
}

static bool
broker_reason(const char *r)
{
	return (r != NULL && (strcmp(r, HAVEN_OE_REASON_DEADLINE) == 0 ||
	    strcmp(r, HAVEN_OE_REASON_OFFLINE) == 0 ||
	    strcmp(r, HAVEN_OE_REASON_CLOSED) == 0));
}

haven_err
haven__deadline_check(struct haven_broker *b, const haven_header *h,
    int64_t now_ms, char *rule, char *reason)
{
	if (h->type == HAVEN_MSG_OE_NOTIFICATION) {
		return (check_notification(b, h, now_ms, rule, reason));
	}
	if (h->type == HAVEN_MSG_OE_ESCALATION &&
	    strcmp(h->sender, HAVEN_BROKER_ID) != 0 &&
	    broker_reason(haven_header_tag(h, "escalation"))) {
		return (deny(rule, reason, HAVEN_RULE_FORGED,
		    "deadline, offline and closure escalations are raised "
		    "by the broker only"));
	}
	return (HAVEN_OK);
}

haven_err
haven__deadline_record(struct haven_broker *b, MDB_txn *txn,
    const haven_header *h, int64_t now_ms)
{
	dl_rec r;
	dl_ref ref;
	haven_err rv;

	memset(&r, 0, sizeof(r));
	r.state = ST_PENDING;
	r.deadline_ms = h->deadline_ms;
	r.accepted_ms = now_ms;
	r.occurred_ms = h->occurred_ms;
	haven__bcopy(r.sender, sizeof(r.sender), h->sender);
	for (size_t i = 0; i < h->n_recipients; i++) {
		if (edu(b->dir, h->recipients[i]) == NULL) {
			continue;
		}
		memset(&ref, 0, sizeof(ref));
		ref.deadline_ms = h->deadline_ms;
		memcpy(ref.id, h->msg_id, HAVEN_MSGID_BYTES);
		haven__bcopy(ref.school, sizeof(ref.school), h->recipients[i]);
		if ((rv = rec_put(b, txn, ref.id, ref.school, &r)) !=
		    HAVEN_OK || (rv = due_put(b, txn, &ref)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

/* -------------------------------------------------------- escalations */

static void
esc_init(haven_esc *e, const char *reason, const dl_ref *ref,
    const dl_rec *r)
{
	memset(e, 0, sizeof(*e));
	e->reason = reason;
	memcpy(e->about, ref->id, HAVEN_MSGID_BYTES);
	haven__bcopy(e->school, sizeof(e->school), ref->school);
	haven__bcopy(e->sender, sizeof(e->sender), r->sender);
	e->deadline_ms = r->deadline_ms;
	e->occurred_ms = r->occurred_ms;
}

haven_err
haven__deadline_receipt(struct haven_broker *b, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], const char *reader, const char *role,
    int64_t now_ms)
{
	dl_rec r;
	dl_ref ref;
	haven_esc e;
	haven_err rv;

	if ((rv = rec_get(b, txn, id, reader, &r)) != HAVEN_OK) {
		return (rv == HAVEN_ENOTFOUND || rv == HAVEN_ECORRUPT ?
		    HAVEN_OK : rv);
	}
	if (r.state != ST_PENDING && r.state != ST_ESCALATED) {
		return (HAVEN_OK); /* only the first receipt counts */
	}
	memset(&ref, 0, sizeof(ref));
	ref.deadline_ms = r.deadline_ms;
	memcpy(ref.id, id, HAVEN_MSGID_BYTES);
	haven__bcopy(ref.school, sizeof(ref.school), reader);
	if ((rv = due_del(b, txn, &ref)) != HAVEN_OK) {
		return (rv);
	}
	if (r.state == ST_PENDING && (r.flags & FL_OFFLINE) == 0) {
		r.state = ST_READ;
		return (rec_put(b, txn, id, reader, &r));
	}
	r.state = ST_CLOSED;
	if ((rv = rec_put(b, txn, id, reader, &r)) != HAVEN_OK) {
		return (rv);
	}
	esc_init(&e, HAVEN_OE_REASON_CLOSED, &ref, &r);
	haven__bcopy(e.reader, sizeof(e.reader), reader);
	haven__bcopy(e.reader_role, sizeof(e.reader_role),
	    role[0] != '\0' ? role : "UNKNOWN");
	return (haven__escalate(b, txn, &e, now_ms, NULL));
}

/* Up to `max` due entries with deadline <= now, in deadline order. Keys
 * are copied out: the caller writes afterwards. Corrupt keys are
 * dropped (logged) so that one cannot block the index. */
static haven_err
due_collect(struct haven_broker *b, MDB_txn *txn, int64_t now_ms,
    dl_ref *out, size_t max, size_t *n, bool wr)
{
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	int rc;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, dbi(b, HAVEN_STORE_DEADLINE_DUE),
	    &cur)) != 0) {
		return (haven__mdb_err(rc));
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && *n < max;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (!due_parse(&k, &out[*n])) {
			haven__blog("HAVEN-BRK-STORE-ERR", "db=deadline_due "
			    "code=ECORRUPT");
			if (wr && (rc = mdb_cursor_del(cur, 0)) != 0) {
				break;
			}
			continue;
		}
		if (out[*n].deadline_ms > now_ms) {
			break;
		}
		(*n)++;
	}
	mdb_cursor_close(cur);
	return (rc == 0 || rc == MDB_NOTFOUND ? HAVEN_OK : haven__mdb_err(rc));
}

/* A pending notification whose deadline has come: deadline-missed. */
static haven_err
escalate_missed(haven_pass_ctx *p, const dl_ref *ref)
{
	haven_esc e;
	dl_rec r;
	haven_err rv;

	if ((rv = due_del(p->b, p->txn, ref)) != HAVEN_OK) {
		return (rv);
	}
	rv = rec_get(p->b, p->txn, ref->id, ref->school, &r);
	if (rv == HAVEN_ENOTFOUND || rv == HAVEN_ECORRUPT ||
	    (rv == HAVEN_OK && r.state != ST_PENDING)) {
		return (HAVEN_OK); /* stale index entry, now gone */
	}
	if (rv != HAVEN_OK) {
		return (rv);
	}
	r.state = ST_ESCALATED;
	if ((rv = rec_put(p->b, p->txn, ref->id, ref->school, &r)) !=
	    HAVEN_OK) {
		return (rv);
	}
	esc_init(&e, HAVEN_OE_REASON_DEADLINE, ref, &r);
	return (haven__escalate(p->b, p->txn, &e, p->now_ms, NULL));
}

static haven_err
run_missed(haven_pass_ctx *p)
{
	dl_ref refs[HAVEN_DEADLINE_BATCH];
	size_t n = 0;
	haven_err rv;

	if ((rv = due_collect(p->b, p->txn, p->now_ms, refs,
	    HAVEN_DEADLINE_BATCH, &n, true)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < n; i++) {
		if ((rv = escalate_missed(p, &refs[i])) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

/* ------------------------------------------------------------ offline */

static bool
connected(const struct haven_broker *b, const char *agency)
{
	for (size_t i = 0; i < b->sessions.n; i++) {
		if (strcmp(b->sessions.v[i]->agency, agency) == 0) {
			return (true);
		}
	}
	return (false);
}

static haven_err
seen_get(struct haven_broker *b, MDB_txn *txn, const char *agency,
    int64_t *ms)
{
	MDB_val k = val(agency, strnlen(agency, HAVEN_ID_MAX - 1)), d;
	int rc = mdb_get(txn, dbi(b, HAVEN_STORE_LASTSEEN), &k, &d);

	*ms = 0;
	if (rc == MDB_NOTFOUND) {
		return (HAVEN_OK);
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	if (d.mv_size == 8) {
		*ms = (int64_t) haven__be64_get(d.mv_data);
	}
	return (HAVEN_OK);
}

haven_err
haven__deadline_seen(struct haven_broker *b, MDB_txn *txn,
    const char *agency, int64_t now_ms)
{
	MDB_val k = val(agency, strnlen(agency, HAVEN_ID_MAX - 1)), d;
	uint8_t v[8];
	int64_t prev = 0;
	haven_err rv;

	if ((rv = seen_get(b, txn, agency, &prev)) != HAVEN_OK) {
		return (rv);
	}
	if (prev != 0 && now_ms >= prev && now_ms - prev < SEEN_EVERY_MS) {
		return (HAVEN_OK);
	}
	haven__be64_put(v, (uint64_t) now_ms);
	d = val(v, sizeof(v));
	return (haven__mdb_err(mdb_put(txn, dbi(b, HAVEN_STORE_LASTSEEN), &k,
	    &d, 0)));
}

/* Pending, not yet offline-escalated, not collected by its school, and
 * the school unseen for longer than the policy allows. */
static haven_err
offline_due(struct haven_broker *b, MDB_txn *txn, const dl_ref *ref,
    int64_t now_ms, bool *yes)
{
	int64_t limit = haven_policy_encompass_settings(
	    b->policy)->offline_escalation_ms;
	int64_t seen = 0;
	bool queued = false;
	dl_rec r;
	haven_err rv;

	*yes = false;
	rv = rec_get(b, txn, ref->id, ref->school, &r);
	if (rv != HAVEN_OK || r.state != ST_PENDING ||
	    (r.flags & FL_OFFLINE) != 0 || connected(b, ref->school)) {
		return (rv == HAVEN_ENOTFOUND || rv == HAVEN_ECORRUPT ?
		    HAVEN_OK : rv);
	}
	if ((rv = haven__store_pending_has(b->store, txn, ref->school,
	    ref->id, &queued)) != HAVEN_OK || !queued ||
	    (rv = seen_get(b, txn, ref->school, &seen)) != HAVEN_OK) {
		return (rv);
	}
	if (seen < r.accepted_ms) {
		seen = r.accepted_ms;
	}
	*yes = now_ms - seen > limit;
	return (HAVEN_OK);
}

/* Walk the due index (every pending notification) for offline schools;
 * up to `max` of them into out. */
static haven_err
offline_collect(struct haven_broker *b, MDB_txn *txn, int64_t now_ms,
    dl_ref *out, size_t max, size_t *n)
{
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	haven_err rv = HAVEN_OK;
	bool yes = false;
	int rc;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, dbi(b, HAVEN_STORE_DEADLINE_DUE),
	    &cur)) != 0) {
		return (haven__mdb_err(rc));
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && *n < max;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (!due_parse(&k, &out[*n])) {
			continue;
		}
		if ((rv = offline_due(b, txn, &out[*n], now_ms, &yes)) !=
		    HAVEN_OK) {
			break;
		}
		*n += yes ? 1 : 0;
	}
	mdb_cursor_close(cur);
	if (rv == HAVEN_OK && rc != 0 && rc != MDB_NOTFOUND) {
		rv = haven__mdb_err(rc);
	}
	return (rv);
}

static haven_err
escalate_offline(haven_pass_ctx *p, const dl_ref *ref)
{
	haven_esc e;
	dl_rec r;
	haven_err rv;

	if ((rv = rec_get(p->b, p->txn, ref->id, ref->school, &r)) !=
	    HAVEN_OK) {
		return (rv == HAVEN_ECORRUPT ? HAVEN_OK : rv);
	}
	r.flags |= FL_OFFLINE;
	if ((rv = rec_put(p->b, p->txn, ref->id, ref->school, &r)) !=
	    HAVEN_OK) {
		return (rv);
	}
	esc_init(&e, HAVEN_OE_REASON_OFFLINE, ref, &r);
	return (haven__escalate(p->b, p->txn, &e, p->now_ms, NULL));
}

static haven_err
run_offline(haven_pass_ctx *p)
{
	dl_ref refs[HAVEN_DEADLINE_BATCH];
	size_t n = 0;
	haven_err rv;

	if ((rv = offline_collect(p->b, p->txn, p->now_ms, refs,
	    HAVEN_DEADLINE_BATCH, &n)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < n; i++) {
		if ((rv = escalate_offline(p, &refs[i])) != HAVEN_OK) {
			return (rv);
		}
	}
	p->b->dl.offline_wanted = n == HAVEN_DEADLINE_BATCH;
	return (HAVEN_OK);
}

/* ------------------------------------------------------------ monitor */

bool
haven__deadline_due(struct haven_broker *b, int64_t now_ms, int64_t mono_ms)
{
	MDB_txn *txn = NULL;
	dl_ref ref;
	size_t n = 0;
	bool due = false;

	if (mono_ms < b->dl.hold_mono ||
	    haven__store_begin(b->store, true, &txn) != HAVEN_OK) {
		return (false);
	}
	due = due_collect(b, txn, now_ms, &ref, 1, &n, false) == HAVEN_OK &&
	    n > 0;
	if (!due && mono_ms - b->dl.offline_mono >= OFFLINE_EVERY_MS) {
		b->dl.offline_mono = mono_ms;
		b->dl.offline_wanted = offline_collect(b, txn, now_ms, &ref, 1,
		    &n) == HAVEN_OK && n > 0;
		due = b->dl.offline_wanted;
	}
	haven__store_abort(&txn);
	return (due || b->dl.offline_wanted);
}

haven_err
haven__deadline_run(haven_pass_ctx *p)
{
	haven_err rv;

	if (p->mode != HAVEN_PASS_FULL) {
		return (HAVEN_OK);
	}
	if ((rv = run_missed(p)) != HAVEN_OK) {
		return (rv);
	}
	return (p->b->dl.offline_wanted ? run_offline(p) : HAVEN_OK);
}

void
haven__deadline_hold(struct haven_broker *b, int64_t mono_ms)
{
	b->dl.hold_mono = mono_ms + OFFLINE_EVERY_MS;
}
