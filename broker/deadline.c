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
 * School-offline escalations need a walk of every pending record. Its
 * cost is kept off the idle path by a lower bound in memory
 * (haven_dlstate.offline_next_ms): no walk before the earliest time one
 * can become due, so with nothing due the look stays one cursor peek. The
 * bound lives in memory only; a restarted broker walks at its first look
 * and so resumes every pending deadline and offline check from the store.
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
	MDB_val k = haven__store_val(kb, rec_key(kb, id, school)), d;
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
	MDB_val k = haven__store_val(kb, rec_key(kb, id, school));
	MDB_val d = haven__store_val(vb, rec_pack(vb, r));

	return (haven__mdb_err(mdb_put(txn, dbi(b, HAVEN_STORE_DEADLINE), &k,
	    &d, 0)));
}

static haven_err
due_put(struct haven_broker *b, MDB_txn *txn, const dl_ref *r)
{
	uint8_t kb[DUE_MAX];
	MDB_val k = haven__store_val(kb, due_key(kb, r));
	MDB_val d = haven__store_val("", 0);

	return (haven__mdb_err(mdb_put(txn, dbi(b, HAVEN_STORE_DEADLINE_DUE),
	    &k, &d, 0)));
}

static haven_err
due_del(struct haven_broker *b, MDB_txn *txn, const dl_ref *r)
{
	uint8_t kb[DUE_MAX];
	MDB_val k = haven__store_val(kb, due_key(kb, r));
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

/* The policy names `id` the holiday duty agency of calendar `area`. */
static bool
duty_of(const haven_policy_encompass *s, const char *area, const char *id)
{
	for (size_t j = 0; area != NULL && j < s->n_holiday_duty; j++) {
		if (strcmp(s->holiday_duty[j].calendar, area) == 0 &&
		    strcmp(s->holiday_duty[j].agency, id) == 0) {
			return (true);
		}
	}
	return (false);
}

/* `id` is the holiday duty agency of the area of one of the header's
 * schools, and a holiday lies ahead of that school
 * (haven_calendar_holiday_ahead). */
static bool
holiday_duty(struct haven_broker *b, const haven_header *h, const char *id)
{
	const haven_policy_encompass *s =
	    haven_policy_encompass_settings(b->policy);
	haven_calendar cal;

	for (size_t i = 0; i < h->n_recipients; i++) {
		const haven_agency *a = edu(b->dir, h->recipients[i]);

		if (duty_of(s, haven_calendar_area_of(a), id) &&
		    haven_directory_calendar(b->dir, a->id, &cal) == HAVEN_OK &&
		    haven_calendar_holiday_ahead(&cal, h->occurred_ms)) {
			return (true);
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

static void
ref_init(dl_ref *ref, int64_t deadline_ms, const uint8_t id[HAVEN_MSGID_BYTES],
    const char *school)
{
	memset(ref, 0, sizeof(*ref));
	ref->deadline_ms = deadline_ms;
	memcpy(ref->id, id, HAVEN_MSGID_BYTES);
	haven__bcopy(ref->school, sizeof(ref->school), school);
}

/* A school-offline escalation of a notification accepted at `now_ms`
 * cannot be due before now + the policy's limit: lower the monitor's
 * bound (an aborted admission only makes it earlier than need be). */
static void
offline_bound(struct haven_broker *b, int64_t now_ms)
{
	int64_t at = now_ms + haven_policy_encompass_settings(
	    b->policy)->offline_escalation_ms + 1;

	if (at < b->dl.offline_next_ms) {
		b->dl.offline_next_ms = at;
	}
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
		ref_init(&ref, h->deadline_ms, h->msg_id, h->recipients[i]);
		if ((rv = rec_put(b, txn, ref.id, ref.school, &r)) !=
		    HAVEN_OK || (rv = due_put(b, txn, &ref)) != HAVEN_OK) {
			return (rv);
		}
	}
	offline_bound(b, now_ms);
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

/* Store the changed record `r` of `ref` and raise `e` about it, in one
 * transaction: state, audit and the stored M4 agree. */
static haven_err
put_and_escalate(struct haven_broker *b, MDB_txn *txn, const dl_ref *ref,
    const dl_rec *r, const haven_esc *e, int64_t now_ms)
{
	haven_err rv;

	if ((rv = rec_put(b, txn, ref->id, ref->school, r)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__escalate(b, txn, e, now_ms, NULL));
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
	ref_init(&ref, r.deadline_ms, id, reader);
	if ((rv = due_del(b, txn, &ref)) != HAVEN_OK) {
		return (rv);
	}
	if (r.state == ST_PENDING && (r.flags & FL_OFFLINE) == 0) {
		r.state = ST_READ;
		return (rec_put(b, txn, id, reader, &r));
	}
	r.state = ST_CLOSED;
	esc_init(&e, HAVEN_OE_REASON_CLOSED, &ref, &r);
	haven__bcopy(e.reader, sizeof(e.reader), reader);
	haven__bcopy(e.reader_role, sizeof(e.reader_role),
	    role[0] != '\0' ? role : "UNKNOWN");
	return (put_and_escalate(b, txn, &ref, &r, &e, now_ms));
}

/* What a walk of the due index gathers: up to `max` refs into out. */
typedef struct due_acc {
	int64_t now_ms;
	dl_ref *out;
	size_t max;
	size_t n;
	int64_t next; /* offline walks: earliest time one becomes due */
	bool corrupt; /* a corrupt key was seen (a write walk drops it) */
} due_acc;

/* Called for each well-formed due key, in deadline order; clears *more
 * to stop. */
typedef haven_err (*due_fn)(struct haven_broker *b, MDB_txn *txn,
    due_acc *acc, const dl_ref *ref, bool *more);

/* Walk the due index from its first key. Corrupt keys are logged and,
 * in a write transaction (`wr`), dropped, so that one cannot block the
 * index. Refs are copies: `fn` may write to the store. */
static haven_err
due_walk(struct haven_broker *b, MDB_txn *txn, bool wr, due_fn fn,
    due_acc *acc)
{
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	dl_ref ref;
	haven_err rv = HAVEN_OK;
	bool more = true;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi(b, HAVEN_STORE_DEADLINE_DUE),
	    &cur)) != 0) {
		return (haven__mdb_err(rc));
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && more;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (!due_parse(&k, &ref)) {
			haven__blog("HAVEN-BRK-STORE-ERR", "db=deadline_due "
			    "code=ECORRUPT");
			acc->corrupt = true;
			if (wr && (rc = mdb_cursor_del(cur, 0)) != 0) {
				break;
			}
			continue;
		}
		if ((rv = fn(b, txn, acc, &ref, &more)) != HAVEN_OK) {
			break;
		}
	}
	mdb_cursor_close(cur);
	if (rv == HAVEN_OK && rc != 0 && rc != MDB_NOTFOUND) {
		rv = haven__mdb_err(rc);
	}
	return (rv);
}

static void
acc_init(due_acc *acc, int64_t now_ms, dl_ref *out, size_t max)
{
	memset(acc, 0, sizeof(*acc));
	acc->now_ms = now_ms;
	acc->out = out;
	acc->max = max;
	acc->next = INT64_MAX;
}

/* The keys are in deadline order: stop at the first one not yet due. */
static haven_err
take_due(struct haven_broker *b, MDB_txn *txn, due_acc *acc,
    const dl_ref *ref, bool *more)
{
	(void) b;
	(void) txn;
	if (ref->deadline_ms > acc->now_ms) {
		*more = false;
		return (HAVEN_OK);
	}
	acc->out[acc->n++] = *ref;
	*more = acc->n < acc->max;
	return (HAVEN_OK);
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
	esc_init(&e, HAVEN_OE_REASON_DEADLINE, ref, &r);
	return (put_and_escalate(p->b, p->txn, ref, &r, &e, p->now_ms));
}

typedef haven_err (*escalate_fn)(haven_pass_ctx *, const dl_ref *);

static haven_err
escalate_all(haven_pass_ctx *p, const dl_ref *refs, size_t n, escalate_fn fn)
{
	haven_err rv;

	for (size_t i = 0; i < n; i++) {
		if ((rv = fn(p, &refs[i])) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

/* Up to a batch of due entries with deadline <= now, in deadline
 * order, escalated. */
static haven_err
run_missed(haven_pass_ctx *p)
{
	dl_ref refs[HAVEN_DEADLINE_BATCH];
	due_acc acc;
	haven_err rv;

	acc_init(&acc, p->now_ms, refs, HAVEN_DEADLINE_BATCH);
	if ((rv = due_walk(p->b, p->txn, true, take_due, &acc)) != HAVEN_OK) {
		return (rv);
	}
	return (escalate_all(p, refs, acc.n, escalate_missed));
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
	MDB_val k = haven__store_val(agency, strnlen(agency,
	    HAVEN_ID_MAX - 1)), d;
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
	MDB_val k = haven__store_val(agency, strnlen(agency,
	    HAVEN_ID_MAX - 1)), d;
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
	d = haven__store_val(v, sizeof(v));
	return (haven__mdb_err(mdb_put(txn, dbi(b, HAVEN_STORE_LASTSEEN), &k,
	    &d, 0)));
}

/*
 * When the notification of `ref` becomes due for a school-offline
 * escalation (*at, broker clock; INT64_MAX: never as things stand):
 * pending, not yet offline-escalated, still queued for its school, and
 * the school unseen for longer than the policy allows (counted from the
 * acceptance at the earliest). A connected school may leave at any time:
 * its records are looked at again in OFFLINE_EVERY_MS.
 */
static haven_err
offline_at(struct haven_broker *b, MDB_txn *txn, const dl_ref *ref,
    int64_t now_ms, int64_t *at)
{
	int64_t seen = 0;
	bool queued = false;
	dl_rec r;
	haven_err rv;

	*at = INT64_MAX;
	rv = rec_get(b, txn, ref->id, ref->school, &r);
	if (rv != HAVEN_OK || r.state != ST_PENDING ||
	    (r.flags & FL_OFFLINE) != 0) {
		return (rv == HAVEN_ENOTFOUND || rv == HAVEN_ECORRUPT ?
		    HAVEN_OK : rv);
	}
	if (connected(b, ref->school)) {
		*at = now_ms + OFFLINE_EVERY_MS;
		return (HAVEN_OK);
	}
	if ((rv = haven__store_pending_has(b->store, txn, ref->school,
	    ref->id, &queued)) != HAVEN_OK || !queued ||
	    (rv = seen_get(b, txn, ref->school, &seen)) != HAVEN_OK) {
		return (rv);
	}
	if (seen < r.accepted_ms) {
		seen = r.accepted_ms;
	}
	*at = seen + haven_policy_encompass_settings(
	    b->policy)->offline_escalation_ms + 1;
	return (HAVEN_OK);
}

static haven_err
take_offline(struct haven_broker *b, MDB_txn *txn, due_acc *acc,
    const dl_ref *ref, bool *more)
{
	int64_t at = INT64_MAX;
	haven_err rv;

	if ((rv = offline_at(b, txn, ref, acc->now_ms, &at)) != HAVEN_OK) {
		return (rv);
	}
	if (at <= acc->now_ms) {
		acc->out[acc->n++] = *ref;
	} else if (at < acc->next) {
		acc->next = at;
	}
	*more = acc->n < acc->max;
	return (HAVEN_OK);
}

/* Walk the due index (every pending notification) for offline schools;
 * up to acc->max of them into acc->out. A walk to the end (fewer found)
 * sets the monitor's bound: the earliest time another one can become
 * due. */
static haven_err
offline_walk(struct haven_broker *b, MDB_txn *txn, bool wr, due_acc *acc)
{
	haven_err rv = due_walk(b, txn, wr, take_offline, acc);

	b->dl.offline_next_ms = rv == HAVEN_OK && acc->n < acc->max ?
	    acc->next : 0;
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
		return (rv == HAVEN_ENOTFOUND || rv == HAVEN_ECORRUPT ?
		    HAVEN_OK : rv);
	}
	r.flags |= FL_OFFLINE;
	esc_init(&e, HAVEN_OE_REASON_OFFLINE, ref, &r);
	return (put_and_escalate(p->b, p->txn, ref, &r, &e, p->now_ms));
}

static haven_err
run_offline(haven_pass_ctx *p)
{
	dl_ref refs[HAVEN_DEADLINE_BATCH];
	due_acc acc;
	haven_err rv;

	acc_init(&acc, p->now_ms, refs, HAVEN_DEADLINE_BATCH);
	if ((rv = offline_walk(p->b, p->txn, true, &acc)) != HAVEN_OK ||
	    (rv = escalate_all(p, refs, acc.n, escalate_offline)) !=
	    HAVEN_OK) {
		return (rv);
	}
	p->b->dl.offline_wanted = acc.n == HAVEN_DEADLINE_BATCH;
	return (HAVEN_OK);
}

/* ------------------------------------------------------------ monitor */

/* Is a walk for offline schools worth its cost now? At most once a
 * second, and only once the bound has come (or the policy's limit, which
 * the bound was computed with, has changed). */
static bool
offline_look(struct haven_broker *b, int64_t now_ms, int64_t mono_ms)
{
	int64_t limit = haven_policy_encompass_settings(
	    b->policy)->offline_escalation_ms;

	if (mono_ms - b->dl.offline_mono < OFFLINE_EVERY_MS) {
		return (false);
	}
	if (limit != b->dl.offline_limit_ms) {
		b->dl.offline_limit_ms = limit;
		b->dl.offline_next_ms = 0;
	}
	return (now_ms >= b->dl.offline_next_ms);
}

bool
haven__deadline_due(struct haven_broker *b, int64_t now_ms, int64_t mono_ms)
{
	MDB_txn *txn = NULL;
	due_acc acc;
	dl_ref ref;
	bool due = false;

	if (mono_ms < b->dl.hold_mono ||
	    haven__store_begin(b->store, true, &txn) != HAVEN_OK) {
		return (false);
	}
	/* One peek; a corrupt key asks for a pass, whose walk drops it. */
	acc_init(&acc, now_ms, &ref, 1);
	due = due_walk(b, txn, false, take_due, &acc) == HAVEN_OK &&
	    (acc.n > 0 || acc.corrupt);
	if (!due && offline_look(b, now_ms, mono_ms)) {
		b->dl.offline_mono = mono_ms;
		acc_init(&acc, now_ms, &ref, 1);
		b->dl.offline_wanted = offline_walk(b, txn, false, &acc) ==
		    HAVEN_OK && acc.n > 0;
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
	b->dl.offline_next_ms = 0; /* the aborted pass's walk is void */
}
