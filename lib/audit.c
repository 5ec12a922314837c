/*
 * lib/audit.c: the tamper-evident audit chain (DESIGN §8, audit.h).
 *
 * Invariants kept by haven_audit_append, all inside the caller's write
 * transaction so an entry commits or vanishes with the change it records:
 *   - "audit" holds entries 1..N under be64 keys, with no gaps;
 *   - entry i carries seq = i and prev_hash = hash(i-1) (zero for i = 1);
 *   - hash(i) = BLAKE2b-256(prev_hash || stored bytes of entry i);
 *   - "audit_head"/"head" = be64(N) || hash(N).
 * A checkpoint is the broker's signature over the head at some moment, so
 * rewriting history before it needs the broker's key as well as the disk.
 *
 * Threat model for verify: the store may have been edited by someone with
 * write access to the files but without the broker's signing key. Verify
 * opens the environment read-only (it never creates or writes anything but
 * LMDB's own reader slot), trusts no length or count from the store, and
 * names the first problem it finds. It does not detect truncation of the
 * tail after the last checkpoint when the head is rewritten too: receipts
 * and checkpoints kept by agents cover that.
 *
 * Entries are decoded as strictly as wire frames: every id valid, every
 * hash the exact length, counts within the limits, no unknown fields, and
 * the bytes must be the canonical encoding of what they decode to. Entries never hold names,
 * addresses or dates of birth: only agency ids, codes and pseudonyms.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "haven.pb-c.h"
#include "haven/audit.h"
#include "pbutil.h"
#include "util.h"

#define HEAD_KEY "head"
#define HEAD_LEN (8 + HAVEN_HASH_BYTES)
#define CKPT_LABEL "haven-checkpoint-v1"
#define CKPT_LABEL_LEN (sizeof(CKPT_LABEL) - 1)
#define CKPT_MSG_LEN (CKPT_LABEL_LEN + 8 + HAVEN_HASH_BYTES + 8)
#define CKPT_MAX 512 /* a stored Checkpoint is ~130 bytes */

struct haven_audit_log {
	MDB_dbi al_audit;
	MDB_dbi al_head;
	MDB_dbi al_ckpt;
};

static const char *const event_names[HAVEN_AUDIT_EVENT_COUNT] = {
	[HAVEN_AUDIT_START] = "START",
	[HAVEN_AUDIT_SUBMIT] = "SUBMIT",
	[HAVEN_AUDIT_REJECT] = "REJECT",
	[HAVEN_AUDIT_DELIVER] = "DELIVER",
	[HAVEN_AUDIT_ACK] = "ACK",
	[HAVEN_AUDIT_READ] = "READ",
	[HAVEN_AUDIT_ESCALATE] = "ESCALATE",
	[HAVEN_AUDIT_EXPIRE] = "EXPIRE",
	[HAVEN_AUDIT_PURGE] = "PURGE",
	[HAVEN_AUDIT_DIRECTORY] = "DIRECTORY",
	[HAVEN_AUDIT_POLICY] = "POLICY",
	[HAVEN_AUDIT_REVOKE] = "REVOKE",
	[HAVEN_AUDIT_AUTH_FAIL] = "AUTH_FAIL",
	[HAVEN_AUDIT_ESCALATE_CLOSED] = "ESCALATE_CLOSED",
	[HAVEN_AUDIT_CONSENT] = "CONSENT",
};

const char *
haven_audit_event_name(uint32_t event)
{
	if (event == 0 || event >= HAVEN_AUDIT_EVENT_COUNT) {
		return ("UNKNOWN");
	}
	return (event_names[event]);
}

/* ------------------------------------------------------------ helpers */

static bool
id_ok(const char *id, bool may_be_empty)
{
	if (memchr(id, '\0', HAVEN_ID_MAX) == NULL) {
		return (false);
	}
	if (id[0] == '\0') {
		return (may_be_empty);
	}
	return (haven_agency_id_valid(id));
}

void
haven_audit_chain_hash(uint8_t out[HAVEN_HASH_BYTES],
    const uint8_t prev[HAVEN_HASH_BYTES], const uint8_t *entry,
    size_t entry_len)
{
	crypto_generichash_state st;

	(void) crypto_generichash_init(&st, NULL, 0, HAVEN_HASH_BYTES);
	(void) crypto_generichash_update(&st, prev, HAVEN_HASH_BYTES);
	(void) crypto_generichash_update(&st, entry, entry_len);
	(void) crypto_generichash_final(&st, out, HAVEN_HASH_BYTES);
}

/* ------------------------------------------------------ entry codec */

/* The checks shared by encode (its input) and decode (its output). */
static haven_err
entry_check(const haven_audit_entry *e)
{
	if (e->event == 0 || e->event >= HAVEN_AUDIT_EVENT_COUNT ||
	    e->type >= HAVEN_MSG_TYPE_COUNT || !id_ok(e->actor, true)) {
		return (HAVEN_EINVAL);
	}
	if (e->n_recipients > HAVEN_MAX_RECIPIENTS ||
	    e->n_subjects > HAVEN_MAX_SUBJECTS) {
		return (HAVEN_EMSGSIZE);
	}
	for (size_t i = 0; i < e->n_recipients; i++) {
		if (!id_ok(e->recipients[i], false)) {
			return (HAVEN_EINVAL);
		}
	}
	if (!haven__text_ok(e->legal_basis, sizeof(e->legal_basis)) ||
	    !haven__text_ok(e->purpose, sizeof(e->purpose)) ||
	    !haven__text_ok(e->reason, sizeof(e->reason))) {
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

/* Point `pb` at the fields of `e`; rcpt and subj hold the list storage. */
static void
entry_to_pb(Haven__AuditEntry *pb, const haven_audit_entry *e,
    char *rcpt[HAVEN_MAX_RECIPIENTS],
    ProtobufCBinaryData subj[HAVEN_MAX_SUBJECTS])
{
	haven__audit_entry__init(pb);
	pb->seq = e->seq;
	pb->time_ms = e->time_ms;
	pb->event = e->event;
	pb->actor = (char *) e->actor;
	pb->msg_id = haven__pb_bin(e->msg_id,
	    e->has_msg ? HAVEN_MSGID_BYTES : 0);
	pb->type = e->type;
	for (size_t i = 0; i < e->n_recipients; i++) {
		rcpt[i] = (char *) e->recipients[i];
	}
	pb->n_recipients = e->n_recipients;
	pb->recipients = rcpt;
	pb->case_pseud = haven__pb_bin(e->case_pseud,
	    e->has_case ? HAVEN_HASH_BYTES : 0);
	for (size_t i = 0; i < e->n_subjects; i++) {
		subj[i] = haven__pb_bin(e->subject_pseuds[i], HAVEN_HASH_BYTES);
	}
	pb->n_subject_pseuds = e->n_subjects;
	pb->subject_pseuds = subj;
	pb->legal_basis = (char *) e->legal_basis;
	pb->purpose = (char *) e->purpose;
	pb->outcome = e->outcome;
	pb->reason = (char *) e->reason;
	pb->prev_hash = haven__pb_bin(e->prev_hash, HAVEN_HASH_BYTES);
	pb->deadline_ms = e->deadline_ms;
	pb->occurred_ms = e->occurred_ms;
}

haven_err
haven_audit_encode(const haven_audit_entry *e, uint8_t **out,
    size_t *out_len)
{
	Haven__AuditEntry pb;
	char *rcpt[HAVEN_MAX_RECIPIENTS];
	ProtobufCBinaryData subj[HAVEN_MAX_SUBJECTS];
	haven_err rv;

	*out = NULL;
	*out_len = 0;
	if ((rv = entry_check(e)) != HAVEN_OK) {
		return (rv);
	}
	entry_to_pb(&pb, e, rcpt, subj);
	return (haven__pb_pack(&pb.base, HAVEN_AUDIT_ENTRY_MAX, out, out_len));
}

/* Optional fixed-length bytes: empty (-> *has false) or exactly n. */
static haven_err
bytes_opt(uint8_t *dst, size_t n, bool *has, const ProtobufCBinaryData *b)
{
	*has = b->len != 0;
	if (b->len == 0) {
		return (HAVEN_OK);
	}
	return (haven__pb_bytes(dst, n, b));
}

static haven_err
lists_from_pb(haven_audit_entry *e, const Haven__AuditEntry *pb)
{
	if (pb->n_recipients > HAVEN_MAX_RECIPIENTS ||
	    pb->n_subject_pseuds > HAVEN_MAX_SUBJECTS) {
		return (HAVEN_EMSGSIZE);
	}
	for (size_t i = 0; i < pb->n_recipients; i++) {
		if (haven__pb_str(e->recipients[i], HAVEN_ID_MAX,
		        pb->recipients[i]) != HAVEN_OK) {
			return (HAVEN_EINVAL);
		}
	}
	e->n_recipients = pb->n_recipients;
	for (size_t i = 0; i < pb->n_subject_pseuds; i++) {
		if (haven__pb_bytes(e->subject_pseuds[i], HAVEN_HASH_BYTES,
		        &pb->subject_pseuds[i]) != HAVEN_OK) {
			return (HAVEN_EINVAL);
		}
	}
	e->n_subjects = pb->n_subject_pseuds;
	return (HAVEN_OK);
}

static haven_err
entry_from_pb(haven_audit_entry *e, const Haven__AuditEntry *pb)
{
	haven_err rv;

	e->seq = pb->seq;
	e->time_ms = pb->time_ms;
	e->event = pb->event;
	e->type = pb->type;
	e->outcome = pb->outcome;
	e->deadline_ms = pb->deadline_ms;
	e->occurred_ms = pb->occurred_ms;
	if (haven__pb_str(e->actor, sizeof(e->actor), pb->actor) != 0 ||
	    haven__pb_str(e->legal_basis, sizeof(e->legal_basis),
	        pb->legal_basis) != 0 ||
	    haven__pb_str(e->purpose, sizeof(e->purpose), pb->purpose) != 0 ||
	    haven__pb_str(e->reason, sizeof(e->reason), pb->reason) != 0 ||
	    bytes_opt(e->msg_id, HAVEN_MSGID_BYTES, &e->has_msg,
	        &pb->msg_id) != 0 ||
	    bytes_opt(e->case_pseud, HAVEN_HASH_BYTES, &e->has_case,
	        &pb->case_pseud) != 0) {
		return (HAVEN_EINVAL);
	}
	if (haven__pb_bytes(e->prev_hash, HAVEN_HASH_BYTES, &pb->prev_hash) !=
	    HAVEN_OK) {
		return (HAVEN_EINVAL);
	}
	if ((rv = lists_from_pb(e, pb)) != HAVEN_OK) {
		return (rv);
	}
	return (entry_check(e));
}

haven_err
haven_audit_decode(haven_audit_entry *e, const uint8_t *buf, size_t len)
{
	ProtobufCMessage *m;
	haven_err rv;

	memset(e, 0, sizeof(*e));
	if ((rv = haven__pb_unpack(&haven__audit_entry__descriptor,
	         HAVEN_AUDIT_ENTRY_MAX, buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	/* Canonical form only: no unknown, repeated or NUL-cut fields. */
	if (!haven__pb_canonical(m, len)) {
		rv = HAVEN_EDECODE;
	} else {
		rv = entry_from_pb(e, (const Haven__AuditEntry *) m);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (rv != HAVEN_OK) {
		memset(e, 0, sizeof(*e));
	}
	return (rv);
}

/* ------------------------------------------------------------- store */

haven_err
haven_audit_open(haven_audit_log **out, MDB_txn *txn)
{
	haven_audit_log *log;
	int rc;

	*out = NULL;
	if ((log = calloc(1, sizeof(*log))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((rc = mdb_dbi_open(txn, "audit", MDB_CREATE, &log->al_audit)) !=
	        0 ||
	    (rc = mdb_dbi_open(txn, "audit_head", MDB_CREATE,
	         &log->al_head)) != 0 ||
	    (rc = mdb_dbi_open(txn, "checkpoint", MDB_CREATE,
	         &log->al_ckpt)) != 0) {
		free(log);
		return (haven__mdb_err(rc));
	}
	*out = log;
	return (HAVEN_OK);
}

void
haven_audit_close(haven_audit_log **log)
{
	if (log == NULL || *log == NULL) {
		return;
	}
	free(*log);
	*log = NULL;
}

static MDB_val
val_of(const void *p, size_t n)
{
	MDB_val v;

	v.mv_data = (void *) p;
	v.mv_size = n;
	return (v);
}

haven_err
haven_audit_head(haven_audit_log *log, MDB_txn *txn, uint64_t *seq,
    uint8_t hash[HAVEN_HASH_BYTES])
{
	MDB_val k = val_of(HEAD_KEY, strlen(HEAD_KEY));
	MDB_val v;
	int rc;

	*seq = 0;
	memset(hash, 0, HAVEN_HASH_BYTES);
	rc = mdb_get(txn, log->al_head, &k, &v);
	if (rc == MDB_NOTFOUND) {
		return (HAVEN_OK);
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	if (v.mv_size != HEAD_LEN) {
		return (HAVEN_ECORRUPT);
	}
	*seq = haven__be64_get(v.mv_data);
	memcpy(hash, (const uint8_t *) v.mv_data + 8, HAVEN_HASH_BYTES);
	return (HAVEN_OK);
}

/* Entry bytes under be64(seq), then the new head. */
static haven_err
put_entry(haven_audit_log *log, MDB_txn *txn, uint64_t seq,
    const uint8_t *buf, size_t len, const uint8_t hash[HAVEN_HASH_BYTES])
{
	uint8_t kb[8] = {0}, hv[HEAD_LEN];
	MDB_val k = val_of(kb, sizeof(kb)), v = val_of(buf, len);
	MDB_val hk = val_of(HEAD_KEY, strlen(HEAD_KEY)), hval;
	int rc;

	haven__be64_put(kb, seq);
	rc = mdb_put(txn, log->al_audit, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		return (HAVEN_ECORRUPT); /* head behind the entries */
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	haven__be64_put(hv, seq);
	memcpy(hv + 8, hash, HAVEN_HASH_BYTES);
	hval = val_of(hv, sizeof(hv));
	return (haven__mdb_err(mdb_put(txn, log->al_head, &hk, &hval, 0)));
}

haven_err
haven_audit_append(haven_audit_log *log, MDB_txn *txn, haven_audit_entry *e,
    uint8_t hash_out[HAVEN_HASH_BYTES])
{
	uint8_t prev[HAVEN_HASH_BYTES], hash[HAVEN_HASH_BYTES];
	uint8_t *buf = NULL;
	size_t len;
	uint64_t seq;
	haven_err rv;

	if ((rv = haven_audit_head(log, txn, &seq, prev)) != HAVEN_OK) {
		return (rv);
	}
	if (seq == UINT64_MAX) {
		return (HAVEN_EOVERFLOW);
	}
	e->seq = seq + 1;
	memcpy(e->prev_hash, prev, HAVEN_HASH_BYTES);
	if ((rv = haven_audit_encode(e, &buf, &len)) != HAVEN_OK) {
		return (rv);
	}
	haven_audit_chain_hash(hash, prev, buf, len);
	rv = put_entry(log, txn, e->seq, buf, len, hash);
	free(buf);
	if (rv == HAVEN_OK && hash_out != NULL) {
		memcpy(hash_out, hash, HAVEN_HASH_BYTES);
	}
	return (rv);
}

haven_err
haven_audit_get(haven_audit_log *log, MDB_txn *txn, uint64_t seq,
    haven_audit_entry *e, uint8_t hash[HAVEN_HASH_BYTES])
{
	uint8_t kb[8] = {0};
	MDB_val k = val_of(kb, sizeof(kb)), v;
	int rc;

	memset(e, 0, sizeof(*e));
	haven__be64_put(kb, seq);
	if ((rc = mdb_get(txn, log->al_audit, &k, &v)) != 0) {
		return (haven__mdb_err(rc));
	}
	if (haven_audit_decode(e, v.mv_data, v.mv_size) != HAVEN_OK ||
	    e->seq != seq) {
		memset(e, 0, sizeof(*e));
		return (HAVEN_ECORRUPT);
	}
	if (hash != NULL) {
		haven_audit_chain_hash(hash, e->prev_hash, v.mv_data,
		    v.mv_size);
	}
	return (HAVEN_OK);
}

/* ------------------------------------------------------- checkpoints */

static void
ckpt_message(uint8_t m[CKPT_MSG_LEN], uint64_t seq,
    const uint8_t hash[HAVEN_HASH_BYTES], int64_t time_ms)
{
	memcpy(m, CKPT_LABEL, CKPT_LABEL_LEN);
	haven__be64_put(m + CKPT_LABEL_LEN, seq);
	memcpy(m + CKPT_LABEL_LEN + 8, hash, HAVEN_HASH_BYTES);
	haven__be64_put(m + CKPT_LABEL_LEN + 8 + HAVEN_HASH_BYTES,
	    (uint64_t) time_ms);
}

haven_err
haven_audit_checkpoint(haven_audit_log *log, MDB_txn *txn,
    const haven_keys *broker, int64_t now_ms)
{
	Haven__Checkpoint pb;
	uint8_t hash[HAVEN_HASH_BYTES], sig[HAVEN_SIG_BYTES];
	uint8_t m[CKPT_MSG_LEN], kb[8] = {0}, buf[CKPT_MAX];
	MDB_val k = val_of(kb, sizeof(kb)), v;
	uint64_t seq;
	haven_err rv;
	int rc;

	if ((rv = haven_audit_head(log, txn, &seq, hash)) != HAVEN_OK) {
		return (rv);
	}
	if (seq == 0) {
		return (HAVEN_OK); /* nothing to vouch for yet */
	}
	ckpt_message(m, seq, hash, now_ms);
	haven_keys_sign(broker, sig, m, sizeof(m));
	haven__checkpoint__init(&pb);
	pb.seq = seq;
	pb.hash = haven__pb_bin(hash, HAVEN_HASH_BYTES);
	pb.time_ms = now_ms;
	pb.signature = haven__pb_bin(sig, HAVEN_SIG_BYTES);
	if (haven__checkpoint__get_packed_size(&pb) > sizeof(buf)) {
		return (HAVEN_EOVERFLOW); /* cannot happen: fixed sizes */
	}
	v = val_of(buf, haven__checkpoint__pack(&pb, buf));
	haven__be64_put(kb, seq);
	rc = mdb_put(txn, log->al_ckpt, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		return (HAVEN_OK); /* this head is already checkpointed */
	}
	return (haven__mdb_err(rc));
}

/* ------------------------------------------------------------ verify */

typedef struct {
	MDB_txn *txn;
	const uint8_t *pk;
	haven_audit_report *rep;
	MDB_cursor *ck;      /* checkpoint cursor, NULL if none */
	MDB_val ck_key;      /* next unchecked checkpoint */
	MDB_val ck_val;
	bool ck_more;
	uint64_t seq;        /* last verified entry */
	uint8_t hash[HAVEN_HASH_BYTES]; /* its chain hash */
	haven_audit_entry e; /* scratch */
} walk;

static bool bad(walk *w, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first problem; always returns false (stop walking). */
static bool
bad(walk *w, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	w->rep->ok = false;
	w->rep->first_bad_seq = seq;
	va_start(ap, fmt);
	(void) vsnprintf(w->rep->reason, sizeof(w->rep->reason), fmt, ap);
	va_end(ap);
	return (false);
}

static bool
check_seq(walk *w, const MDB_val *k, uint64_t *seq)
{
	uint64_t want = w->seq + 1;

	if (k->mv_size != 8) {
		return (bad(w, want, "entry %" PRIu64 ": malformed key", want));
	}
	*seq = haven__be64_get(k->mv_data);
	if (*seq != want) {
		return (bad(w, want,
		    "entry %" PRIu64 " missing (next is %" PRIu64 ")", want,
		    *seq));
	}
	return (true);
}

static bool
check_entry(walk *w, const MDB_val *k, const MDB_val *v)
{
	uint64_t s = 0;
	haven_err rv;

	if (!check_seq(w, k, &s)) {
		return (false);
	}
	if ((rv = haven_audit_decode(&w->e, v->mv_data, v->mv_size)) != 0) {
		return (bad(w, s, "entry %" PRIu64 " does not decode (%s)", s,
		    haven_err_name(rv)));
	}
	if (w->e.seq != s) {
		return (bad(w, s, "entry %" PRIu64 ": seq field says %" PRIu64,
		    s, w->e.seq));
	}
	if (memcmp(w->e.prev_hash, w->hash, HAVEN_HASH_BYTES) != 0) {
		if (s == 1) {
			return (bad(w, s, "entry 1: prev_hash is not zero"));
		}
		return (bad(w, s,
		    "entry %" PRIu64 ": prev_hash does not match entry %" PRIu64,
		    s, s - 1));
	}
	haven_audit_chain_hash(w->hash, w->hash, v->mv_data, v->mv_size);
	w->seq = s;
	w->rep->entries++;
	return (true);
}

/* One checkpoint at key `s`, which the walk has just reached. */
static bool
check_ckpt(walk *w, uint64_t s, const MDB_val *v)
{
	Haven__Checkpoint *pb = NULL;
	uint8_t m[CKPT_MSG_LEN];
	bool ok = false;

	if (v->mv_size > CKPT_MAX ||
	    (pb = haven__checkpoint__unpack(NULL, v->mv_size, v->mv_data)) ==
	        NULL ||
	    pb->seq != s || pb->hash.len != HAVEN_HASH_BYTES ||
	    pb->signature.len != HAVEN_SIG_BYTES) {
		(void) bad(w, s, "checkpoint %" PRIu64 ": malformed", s);
		goto out;
	}
	ckpt_message(m, s, pb->hash.data, pb->time_ms);
	if (haven_sig_verify(pb->signature.data, m, sizeof(m), w->pk) != 0) {
		(void) bad(w, s, "checkpoint %" PRIu64 ": bad signature", s);
		goto out;
	}
	if (memcmp(pb->hash.data, w->hash, HAVEN_HASH_BYTES) != 0) {
		(void) bad(w, s,
		    "checkpoint %" PRIu64 ": hash does not match the chain", s);
		goto out;
	}
	w->rep->checkpoints++;
	ok = true;
out:
	if (pb != NULL) {
		haven__checkpoint__free_unpacked(pb, NULL);
	}
	return (ok);
}

/* Check every checkpoint keyed <= w->seq (the walk's position). */
static bool
ckpts_upto(walk *w)
{
	while (w->ck_more) {
		uint64_t s;

		if (w->ck_key.mv_size != 8) {
			return (bad(w, w->seq + 1, "checkpoint key malformed"));
		}
		s = haven__be64_get(w->ck_key.mv_data);
		if (s > w->seq) {
			return (true);
		}
		if (s != w->seq) {
			return (bad(w, s == 0 ? 1 : s,
			    "checkpoint %" PRIu64 ": no such entry", s));
		}
		if (!check_ckpt(w, s, &w->ck_val)) {
			return (false);
		}
		w->ck_more = mdb_cursor_get(w->ck, &w->ck_key, &w->ck_val,
		                 MDB_NEXT) == 0;
	}
	return (true);
}

static bool
walk_chain(walk *w, MDB_dbi audit)
{
	MDB_cursor *c;
	MDB_val k, v;
	MDB_cursor_op op = MDB_FIRST;
	bool ok = true;
	int rc;

	if (mdb_cursor_open(w->txn, audit, &c) != 0) {
		return (bad(w, 1, "audit store unreadable"));
	}
	while (ok && (rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		ok = check_entry(w, &k, &v) && ckpts_upto(w);
	}
	if (ok && rc != MDB_NOTFOUND) {
		ok = bad(w, w->seq + 1, "audit store unreadable (%s)",
		    mdb_strerror(rc));
	}
	mdb_cursor_close(c);
	return (ok);
}

/* `head` is NULL when the "audit_head" database does not exist. */
static bool
check_head(walk *w, const MDB_dbi *head)
{
	MDB_val k = val_of(HEAD_KEY, strlen(HEAD_KEY)), v;
	uint64_t hs = 0;
	int rc = MDB_NOTFOUND;

	if (head != NULL) {
		rc = mdb_get(w->txn, *head, &k, &v);
	}

	if (rc == MDB_NOTFOUND && w->seq == 0) {
		return (true);
	}
	if (rc != 0 || v.mv_size != HEAD_LEN) {
		return (bad(w, w->seq == 0 ? 1 : w->seq,
		    "head missing or malformed"));
	}
	hs = haven__be64_get(v.mv_data);
	if (hs != w->seq) {
		return (bad(w, (hs < w->seq ? hs : w->seq) + 1,
		    "head does not match last entry (head %" PRIu64
		    ", last %" PRIu64 ")", hs, w->seq));
	}
	if (memcmp((const uint8_t *) v.mv_data + 8, w->hash,
	        HAVEN_HASH_BYTES) != 0) {
		return (bad(w, w->seq, "head does not match last entry"));
	}
	return (true);
}

/* dbi of a named database, or false if it does not exist. */
static bool
dbi_get(MDB_txn *txn, const char *name, MDB_dbi *dbi)
{
	return (mdb_dbi_open(txn, name, 0, dbi) == 0);
}

static void
walk_all(walk *w)
{
	MDB_dbi audit, head, ckpt;

	w->rep->ok = true;
	if (dbi_get(w->txn, "checkpoint", &ckpt) &&
	    mdb_cursor_open(w->txn, ckpt, &w->ck) == 0) {
		w->ck_more = mdb_cursor_get(w->ck, &w->ck_key, &w->ck_val,
		                 MDB_FIRST) == 0;
	}
	/* A key-0 checkpoint is caught before the first entry. */
	if (!ckpts_upto(w)) {
		return;
	}
	if (dbi_get(w->txn, "audit", &audit) && !walk_chain(w, audit)) {
		return;
	}
	if (!check_head(w, dbi_get(w->txn, "audit_head", &head) ? &head
	                                                       : NULL)) {
		return;
	}
	if (w->ck_more) {
		(void) bad(w, w->seq + 1,
		    "checkpoint %" PRIu64 ": beyond the last entry %" PRIu64,
		    w->ck_key.mv_size == 8 ? haven__be64_get(w->ck_key.mv_data)
		                           : 0,
		    w->seq);
	}
}

static haven_err
env_open_ro(const char *dir, MDB_env **envp)
{
	MDB_env *env;

	*envp = NULL;
	if (mdb_env_create(&env) != 0) {
		return (HAVEN_EIO);
	}
	if (mdb_env_set_maxdbs(env, 32) != 0 ||
	    mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0) {
		mdb_env_close(env);
		return (HAVEN_EIO);
	}
	*envp = env;
	return (HAVEN_OK);
}

haven_err
haven_audit_verify(const char *db_dir,
    const uint8_t broker_sign_pk[HAVEN_KEY_BYTES], haven_audit_report *rep)
{
	MDB_env *env;
	walk *w;
	haven_err rv;

	memset(rep, 0, sizeof(*rep));
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((rv = env_open_ro(db_dir, &env)) != HAVEN_OK) {
		free(w);
		return (rv);
	}
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &w->txn) != 0) {
		rv = HAVEN_EIO;
		goto out;
	}
	w->pk = broker_sign_pk;
	w->rep = rep;
	walk_all(w);
	memcpy(rep->head_hash, w->hash, HAVEN_HASH_BYTES);
	if (w->ck != NULL) {
		mdb_cursor_close(w->ck);
	}
	mdb_txn_abort(w->txn);
out:
	mdb_env_close(env);
	free(w);
	return (rv);
}
