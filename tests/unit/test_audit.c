/*
 * tests/unit/test_audit.c: the audit chain on a real LMDB store.
 *
 * Each test builds a chain in a fresh mkdtemp directory with real broker
 * keys, closes the environment (LMDB forbids opening one environment twice
 * in a process, and verify opens its own), then tampers with the store the
 * way an attacker with disk access would: re-put an altered entry, flip a
 * raw byte, delete an entry, rewrite history and recompute every later
 * hash, forge a checkpoint. Verify must name the first bad sequence and
 * the reason each time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "haven.pb-c.h"
#include "haven/audit.h"
#include "util.h"

#define N_ENTRIES 100
#define CKPT_EVERY 32 /* checkpoints at 32, 64, 96 */

typedef struct {
	char dir[64];
	MDB_env *env;
	haven_audit_log *log;
	haven_keys *broker;
	haven_pubkey pub;
} fixture;

static void
env_open(fixture *fx, size_t mapsize)
{
	MDB_txn *txn;

	assert_int_equal(mdb_env_create(&fx->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(fx->env, 32), 0);
	assert_int_equal(mdb_env_set_mapsize(fx->env, mapsize), 0);
	assert_int_equal(mdb_env_open(fx->env, fx->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	assert_int_equal(haven_audit_open(&fx->log, txn), HAVEN_OK);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

static void
env_close(fixture *fx)
{
	haven_audit_close(&fx->log);
	if (fx->env != NULL) {
		mdb_env_close(fx->env);
		fx->env = NULL;
	}
}

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || sodium_init() < 0) {
		return (-1);
	}
	strcpy(fx->dir, "/tmp/haven-audit-XXXXXX");
	if (mkdtemp(fx->dir) == NULL ||
	    haven_keys_generate(&fx->broker, "broker", 1) != HAVEN_OK) {
		return (-1);
	}
	haven_keys_public(fx->broker, &fx->pub);
	env_open(fx, 16u << 20);
	*state = fx;
	return (0);
}

static int
teardown(void **state)
{
	fixture *fx = *state;
	char path[128];

	env_close(fx);
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	(void) unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", fx->dir);
	(void) unlink(path);
	(void) rmdir(fx->dir);
	haven_keys_destroy(&fx->broker);
	free(fx);
	return (0);
}

static void
make_entry(haven_audit_entry *e, uint32_t i)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = 1700000000000LL + i;
	e->event = HAVEN_AUDIT_SUBMIT;
	strcpy(e->actor, "police.cambs");
	e->has_msg = true;
	randombytes_buf(e->msg_id, sizeof(e->msg_id));
	e->type = HAVEN_MSG_OE_NOTIFICATION;
	e->n_recipients = 2;
	strcpy(e->recipients[0], "school.urn.110123");
	strcpy(e->recipients[1], "la.cambs.ehe");
	e->has_case = true;
	randombytes_buf(e->case_pseud, sizeof(e->case_pseud));
	e->n_subjects = 2;
	randombytes_buf(e->subject_pseuds, 2 * HAVEN_HASH_BYTES);
	strcpy(e->legal_basis, "DAA2021-S49A");
	strcpy(e->purpose, "operation-encompass");
	e->outcome = HAVEN_OK;
	strcpy(e->reason, "accepted");
}

/* Append `n` entries in transactions of 25, checkpointing every 32. */
static void
append_n(fixture *fx, uint32_t n)
{
	haven_audit_entry e;
	uint8_t hash[HAVEN_HASH_BYTES];
	MDB_txn *txn = NULL;

	for (uint32_t i = 1; i <= n; i++) {
		if (txn == NULL) {
			assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
		}
		make_entry(&e, i);
		assert_int_equal(haven_audit_append(fx->log, txn, &e, hash),
		    HAVEN_OK);
		if (e.seq % CKPT_EVERY == 0) {
			assert_int_equal(haven_audit_checkpoint(fx->log, txn,
			                     fx->broker, 1700000000000LL + i),
			    HAVEN_OK);
		}
		if (i % 25 == 0 || i == n) {
			assert_int_equal(mdb_txn_commit(txn), 0);
			txn = NULL;
		}
	}
}

static void
verify_bad(fixture *fx, uint64_t first_bad, const char *reason)
{
	haven_audit_report rep;

	assert_int_equal(haven_audit_verify(fx->dir, fx->pub.sign_pk, &rep),
	    HAVEN_OK);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_seq, first_bad);
	assert_string_equal(rep.reason, reason);
}

static void
verify_ok(fixture *fx, uint64_t entries, uint64_t checkpoints)
{
	haven_audit_report rep;

	assert_int_equal(haven_audit_verify(fx->dir, fx->pub.sign_pk, &rep),
	    HAVEN_OK);
	if (!rep.ok) {
		print_error("unexpected: %s\n", rep.reason);
	}
	assert_true(rep.ok);
	assert_int_equal(rep.first_bad_seq, 0);
	assert_int_equal(rep.entries, entries);
	assert_int_equal(rep.checkpoints, checkpoints);
}

/* ------------------------------------------------- tamper helpers */

typedef struct {
	MDB_txn *txn;
	MDB_dbi audit, head, ckpt;
} raw;

static void
raw_begin(fixture *fx, raw *r)
{
	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &r->txn), 0);
	assert_int_equal(mdb_dbi_open(r->txn, "audit", 0, &r->audit), 0);
	assert_int_equal(mdb_dbi_open(r->txn, "audit_head", 0, &r->head), 0);
	assert_int_equal(mdb_dbi_open(r->txn, "checkpoint", 0, &r->ckpt), 0);
}

static MDB_val
seq_key(uint8_t kb[8], uint64_t seq)
{
	MDB_val k = {8, kb};

	haven__be64_put(kb, seq);
	return (k);
}

/* Decode entry `seq` from the store. */
static void
raw_get(raw *r, uint64_t seq, haven_audit_entry *e)
{
	uint8_t kb[8];
	MDB_val k = seq_key(kb, seq), v;

	assert_int_equal(mdb_get(r->txn, r->audit, &k, &v), 0);
	assert_int_equal(haven_audit_decode(e, v.mv_data, v.mv_size),
	    HAVEN_OK);
}

/* Encode and put `e` under `seq`; returns its chain hash. */
static void
raw_put(raw *r, uint64_t seq, const haven_audit_entry *e,
    uint8_t hash[HAVEN_HASH_BYTES])
{
	uint8_t kb[8], *buf;
	size_t len;
	MDB_val k = seq_key(kb, seq), v;

	assert_int_equal(haven_audit_encode(e, &buf, &len), HAVEN_OK);
	v.mv_data = buf;
	v.mv_size = len;
	assert_int_equal(mdb_put(r->txn, r->audit, &k, &v, 0), 0);
	if (hash != NULL) {
		haven_audit_chain_hash(hash, e->prev_hash, buf, len);
	}
	free(buf);
}

static void
raw_commit(fixture *fx, raw *r)
{
	assert_int_equal(mdb_txn_commit(r->txn), 0);
	env_close(fx);
}

/* Build the standard chain, verify it, reopen for tampering. */
static void
build_and_reopen(fixture *fx, raw *r)
{
	append_n(fx, N_ENTRIES);
	env_close(fx);
	verify_ok(fx, N_ENTRIES, N_ENTRIES / CKPT_EVERY);
	env_open(fx, 16u << 20);
	raw_begin(fx, r);
}

/* ------------------------------------------------------------ codec */

static void
test_codec_round_trip(void **state)
{
	haven_audit_entry in, out;
	uint8_t *buf;
	size_t len;

	(void) state;
	make_entry(&in, 7);
	in.seq = 7;
	randombytes_buf(in.prev_hash, sizeof(in.prev_hash));
	assert_int_equal(haven_audit_encode(&in, &buf, &len), HAVEN_OK);
	assert_true(len <= HAVEN_AUDIT_ENTRY_MAX);
	assert_int_equal(haven_audit_decode(&out, buf, len), HAVEN_OK);
	assert_memory_equal(&in, &out, sizeof(in));
	free(buf);
	/* Optional fields absent, actor empty (e.g. a refused handshake). */
	memset(&in, 0, sizeof(in));
	in.event = HAVEN_AUDIT_AUTH_FAIL;
	strcpy(in.reason, "unknown-curve-key");
	assert_int_equal(haven_audit_encode(&in, &buf, &len), HAVEN_OK);
	assert_int_equal(haven_audit_decode(&out, buf, len), HAVEN_OK);
	assert_memory_equal(&in, &out, sizeof(in));
	/* Every truncation is refused (prev_hash, the last field, is gone). */
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_not_equal(haven_audit_decode(&out, buf, cut),
		    HAVEN_OK);
	}
	free(buf);
}

static void
test_codec_encode_refusals(void **state)
{
	haven_audit_entry e;
	uint8_t *buf;
	size_t len;

	(void) state;
	make_entry(&e, 1);
	e.event = 0;
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EINVAL);
	e.event = HAVEN_AUDIT_EVENT_COUNT;
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EINVAL);
	make_entry(&e, 1);
	strcpy(e.actor, "Police Cambs");
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EINVAL);
	make_entry(&e, 1);
	e.type = HAVEN_MSG_TYPE_COUNT;
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EINVAL);
	make_entry(&e, 1);
	e.n_recipients = HAVEN_MAX_RECIPIENTS + 1;
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EMSGSIZE);
	make_entry(&e, 1);
	e.recipients[1][0] = '\0';
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EINVAL);
	make_entry(&e, 1);
	e.n_subjects = HAVEN_MAX_SUBJECTS + 1;
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EMSGSIZE);
	make_entry(&e, 1);
	strcpy(e.reason, "two\nlines");
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EINVAL);
	make_entry(&e, 1);
	memset(e.purpose, 'p', sizeof(e.purpose)); /* unterminated */
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_EINVAL);
	assert_null(buf);
}

static haven_err
decode_pb(const Haven__AuditEntry *pb)
{
	size_t len = haven__audit_entry__get_packed_size(pb);
	uint8_t *buf = malloc(len + 1);
	haven_audit_entry e;
	haven_err rv;

	assert_non_null(buf);
	assert_int_equal(haven__audit_entry__pack(pb, buf), len);
	rv = haven_audit_decode(&e, buf, len);
	free(buf);
	return (rv);
}

static void
test_codec_decode_refusals(void **state)
{
	Haven__AuditEntry pb = HAVEN__AUDIT_ENTRY__INIT;
	uint8_t b[40] = {0};
	char *rcpt[HAVEN_MAX_RECIPIENTS + 1];
	ProtobufCBinaryData subj[2] = {{32, b}, {31, b}};
	char longid[80];
	haven_audit_entry e;
	uint8_t *big;

	(void) state;
	pb.event = HAVEN_AUDIT_DELIVER;
	pb.actor = "broker";
	pb.prev_hash = (ProtobufCBinaryData){32, b};
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	pb.prev_hash.len = 31;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	pb.prev_hash.len = 32;
	pb.msg_id = (ProtobufCBinaryData){15, b};
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	pb.msg_id.len = 16;
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	pb.case_pseud = (ProtobufCBinaryData){33, b};
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	pb.case_pseud.len = 32;
	pb.subject_pseuds = subj;
	pb.n_subject_pseuds = 2;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	pb.n_subject_pseuds = 1;
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	pb.event = HAVEN_AUDIT_EVENT_COUNT;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	pb.event = HAVEN_AUDIT_DELIVER;
	memset(longid, 'a', sizeof(longid));
	longid[HAVEN_ID_MAX] = '\0'; /* 64 chars: one too many */
	pb.actor = longid;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	pb.actor = "broker";
	for (size_t i = 0; i <= HAVEN_MAX_RECIPIENTS; i++) {
		rcpt[i] = "school.urn.1";
	}
	pb.recipients = rcpt;
	pb.n_recipients = HAVEN_MAX_RECIPIENTS + 1;
	assert_int_equal(decode_pb(&pb), HAVEN_EMSGSIZE);
	pb.n_recipients = HAVEN_MAX_RECIPIENTS;
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	rcpt[3] = "not an id";
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);

	big = calloc(1, HAVEN_AUDIT_ENTRY_MAX + 1);
	assert_non_null(big);
	assert_int_equal(haven_audit_decode(&e, big, HAVEN_AUDIT_ENTRY_MAX + 1),
	    HAVEN_EMSGSIZE);
	free(big);
}

static void
test_codec_unknown_field(void **state)
{
	haven_audit_entry e;
	uint8_t *buf, *more;
	size_t len;

	(void) state;
	make_entry(&e, 3);
	assert_int_equal(haven_audit_encode(&e, &buf, &len), HAVEN_OK);
	more = malloc(len + 2);
	assert_non_null(more);
	memcpy(more, buf, len);
	more[len] = (20 << 3) | 0; /* unknown field 20, varint 1 */
	more[len + 1] = 1;
	assert_int_equal(haven_audit_decode(&e, more, len + 2), HAVEN_EDECODE);
	free(more);
	free(buf);
	assert_string_equal(haven_audit_event_name(HAVEN_AUDIT_SUBMIT),
	    "SUBMIT");
	assert_string_equal(haven_audit_event_name(HAVEN_AUDIT_AUTH_FAIL),
	    "AUTH_FAIL");
	assert_string_equal(haven_audit_event_name(0), "UNKNOWN");
	assert_string_equal(haven_audit_event_name(HAVEN_AUDIT_EVENT_COUNT),
	    "UNKNOWN");
}

/* ------------------------------------------------------------ store */

static void
test_append_get_verify(void **state)
{
	fixture *fx = *state;
	haven_audit_entry e, next;
	uint8_t h17[HAVEN_HASH_BYTES], h18[HAVEN_HASH_BYTES];
	uint8_t head[HAVEN_HASH_BYTES];
	haven_audit_report rep;
	haven_keys *other;
	haven_pubkey opub;
	MDB_txn *txn;
	uint64_t seq;

	append_n(fx, N_ENTRIES);
	assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(haven_audit_head(fx->log, txn, &seq, head), HAVEN_OK);
	assert_int_equal(seq, N_ENTRIES);
	assert_int_equal(haven_audit_get(fx->log, txn, 17, &e, h17), HAVEN_OK);
	assert_int_equal(e.seq, 17);
	assert_string_equal(e.recipients[1], "la.cambs.ehe");
	assert_int_equal(haven_audit_get(fx->log, txn, 18, &next, h18),
	    HAVEN_OK);
	assert_memory_equal(next.prev_hash, h17, HAVEN_HASH_BYTES);
	assert_int_equal(haven_audit_get(fx->log, txn, N_ENTRIES + 1, &e,
	                     NULL),
	    HAVEN_ENOTFOUND);
	mdb_txn_abort(txn);
	env_close(fx);

	assert_int_equal(haven_audit_verify(fx->dir, fx->pub.sign_pk, &rep),
	    HAVEN_OK);
	assert_true(rep.ok);
	assert_int_equal(rep.entries, N_ENTRIES);
	assert_int_equal(rep.checkpoints, 3);
	assert_memory_equal(rep.head_hash, head, HAVEN_HASH_BYTES);
	/* The right store, the wrong broker key: every checkpoint fails. */
	assert_int_equal(haven_keys_generate(&other, "broker", 2), HAVEN_OK);
	haven_keys_public(other, &opub);
	assert_int_equal(haven_audit_verify(fx->dir, opub.sign_pk, &rep),
	    HAVEN_OK);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_seq, 32);
	assert_string_equal(rep.reason, "checkpoint 32: bad signature");
	haven_keys_destroy(&other);
	env_open(fx, 16u << 20);
}

static void
test_aborted_txn_leaves_chain(void **state)
{
	fixture *fx = *state;
	haven_audit_entry e;
	uint8_t h1[HAVEN_HASH_BYTES], h2[HAVEN_HASH_BYTES];
	MDB_txn *txn;
	uint64_t seq;

	append_n(fx, 10);
	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	assert_int_equal(haven_audit_head(fx->log, txn, &seq, h1), HAVEN_OK);
	for (uint32_t i = 0; i < 5; i++) {
		make_entry(&e, 100 + i);
		assert_int_equal(haven_audit_append(fx->log, txn, &e, NULL),
		    HAVEN_OK);
	}
	assert_int_equal(e.seq, 15);
	assert_int_equal(haven_audit_checkpoint(fx->log, txn, fx->broker, 1),
	    HAVEN_OK);
	mdb_txn_abort(txn);

	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	assert_int_equal(haven_audit_head(fx->log, txn, &seq, h2), HAVEN_OK);
	assert_int_equal(seq, 10);
	assert_memory_equal(h1, h2, HAVEN_HASH_BYTES);
	make_entry(&e, 11);
	assert_int_equal(haven_audit_append(fx->log, txn, &e, NULL), HAVEN_OK);
	assert_int_equal(e.seq, 11);
	assert_int_equal(mdb_txn_commit(txn), 0);
	env_close(fx);
	verify_ok(fx, 11, 0);
	env_open(fx, 16u << 20);
}

static void
test_empty_and_missing_store(void **state)
{
	fixture *fx = *state;
	haven_audit_report rep;
	MDB_txn *txn;

	/* Checkpointing an empty chain writes nothing. */
	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	assert_int_equal(haven_audit_checkpoint(fx->log, txn, fx->broker, 1),
	    HAVEN_OK);
	assert_int_equal(mdb_txn_commit(txn), 0);
	env_close(fx);
	verify_ok(fx, 0, 0);
	assert_int_equal(haven_audit_verify("/nonexistent/haven-store",
	                     fx->pub.sign_pk, &rep),
	    HAVEN_EIO);
	assert_false(rep.ok);
	env_open(fx, 16u << 20);
}

static void
test_map_full(void **state)
{
	fixture *fx = *state;
	haven_audit_entry e;
	MDB_txn *txn;
	haven_err rv = HAVEN_OK;
	char path[128];
	int n = 0;

	env_close(fx);
	/* A fresh, tiny store in the same directory. */
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_int_equal(unlink(path), 0);
	env_open(fx, 64u << 10);
	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	while (rv == HAVEN_OK && n < 100000) {
		make_entry(&e, (uint32_t) n++);
		rv = haven_audit_append(fx->log, txn, &e, NULL);
	}
	assert_int_equal(rv, HAVEN_EFULL);
	assert_true(n > 10);
	mdb_txn_abort(txn);
}

/* -------------------------------------------------------- tampering */

static void
test_tamper_reput_altered_entry(void **state)
{
	fixture *fx = *state;
	haven_audit_entry e;
	raw r;

	build_and_reopen(fx, &r);
	raw_get(&r, 17, &e);
	e.reason[0] = 'A'; /* one byte of the stored value changes */
	raw_put(&r, 17, &e, NULL);
	raw_commit(fx, &r);
	verify_bad(fx, 18, "entry 18: prev_hash does not match entry 17");
}

static void
test_tamper_raw_bytes(void **state)
{
	fixture *fx = *state;
	uint8_t kb[8], *copy;
	MDB_val k = seq_key(kb, 17), v;
	raw r;

	build_and_reopen(fx, &r);
	assert_int_equal(mdb_get(r.txn, r.audit, &k, &v), 0);
	copy = malloc(v.mv_size);
	assert_non_null(copy);
	memcpy(copy, v.mv_data, v.mv_size);
	/* A byte of the entry's prev_hash, the last 32 bytes: still decodes
	 * but no longer links. */
	copy[v.mv_size - 1] ^= 1;
	v.mv_data = copy;
	assert_int_equal(mdb_put(r.txn, r.audit, &k, &v, 0), 0);
	/* And a byte of entry 40 that breaks its encoding. */
	k = seq_key(kb, 40);
	assert_int_equal(mdb_get(r.txn, r.audit, &k, &v), 0);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[0] = 0xff;
	v.mv_data = copy;
	assert_int_equal(mdb_put(r.txn, r.audit, &k, &v, 0), 0);
	free(copy);
	raw_commit(fx, &r);
	verify_bad(fx, 17, "entry 17: prev_hash does not match entry 16");
}

static void
test_tamper_undecodable(void **state)
{
	fixture *fx = *state;
	uint8_t kb[8], junk[40];
	MDB_val k = seq_key(kb, 40), v = {sizeof(junk), junk};
	raw r;

	build_and_reopen(fx, &r);
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(mdb_put(r.txn, r.audit, &k, &v, 0), 0);
	raw_commit(fx, &r);
	verify_bad(fx, 40, "entry 40 does not decode (EDECODE)");
}

static void
test_tamper_delete_middle(void **state)
{
	fixture *fx = *state;
	uint8_t kb[8];
	MDB_val k = seq_key(kb, 50);
	raw r;

	build_and_reopen(fx, &r);
	assert_int_equal(mdb_del(r.txn, r.audit, &k, NULL), 0);
	raw_commit(fx, &r);
	verify_bad(fx, 50, "entry 50 missing (next is 51)");
}

static void
test_tamper_seq_field(void **state)
{
	fixture *fx = *state;
	haven_audit_entry e;
	raw r;

	build_and_reopen(fx, &r);
	raw_get(&r, 17, &e);
	e.seq = 18;
	raw_put(&r, 17, &e, NULL);
	raw_commit(fx, &r);
	verify_bad(fx, 17, "entry 17: seq field says 18");
}

/* Drop the last entry; the head still names it. */
static void
test_tamper_truncate_tail(void **state)
{
	fixture *fx = *state;
	uint8_t kb[8];
	MDB_val k = seq_key(kb, N_ENTRIES);
	raw r;

	build_and_reopen(fx, &r);
	assert_int_equal(mdb_del(r.txn, r.audit, &k, NULL), 0);
	raw_commit(fx, &r);
	verify_bad(fx, N_ENTRIES,
	    "head does not match last entry (head 100, last 99)");
}

static void
test_tamper_last_entry(void **state)
{
	fixture *fx = *state;
	haven_audit_entry e;
	raw r;

	build_and_reopen(fx, &r);
	raw_get(&r, N_ENTRIES, &e);
	e.outcome = HAVEN_EPOLICY;
	raw_put(&r, N_ENTRIES, &e, NULL);
	raw_commit(fx, &r);
	verify_bad(fx, N_ENTRIES, "head does not match last entry");
}

/* Rewrite entry 17 and re-link everything after it, head included: only
 * the signed checkpoints give it away. */
static void
test_tamper_rewrite_history(void **state)
{
	fixture *fx = *state;
	haven_audit_entry e;
	uint8_t hash[HAVEN_HASH_BYTES], hv[8 + HAVEN_HASH_BYTES];
	MDB_val hk = {4, "head"}, v = {sizeof(hv), hv};
	raw r;

	build_and_reopen(fx, &r);
	raw_get(&r, 17, &e);
	strcpy(e.recipients[0], "school.urn.999999");
	raw_put(&r, 17, &e, hash);
	for (uint64_t s = 18; s <= N_ENTRIES; s++) {
		raw_get(&r, s, &e);
		memcpy(e.prev_hash, hash, HAVEN_HASH_BYTES);
		raw_put(&r, s, &e, hash);
	}
	haven__be64_put(hv, N_ENTRIES);
	memcpy(hv + 8, hash, HAVEN_HASH_BYTES);
	assert_int_equal(mdb_put(r.txn, r.head, &hk, &v, 0), 0);
	raw_commit(fx, &r);
	verify_bad(fx, 32, "checkpoint 32: hash does not match the chain");
}

/* Replace checkpoint 64 with one over the same head signed by a key that
 * is not the broker's, then with a flipped signature bit. */
static void
test_tamper_forge_checkpoint(void **state)
{
	fixture *fx = *state;
	haven_keys *mallory;
	uint8_t kb[8];
	MDB_val k = seq_key(kb, 64), v;
	Haven__Checkpoint *cp;
	uint8_t buf[512], m[19 + 8 + 32 + 8], sig[64];
	raw r;

	build_and_reopen(fx, &r);
	assert_int_equal(haven_keys_generate(&mallory, "broker", 1), HAVEN_OK);
	/* Re-sign the stored checkpoint's statement with a key that looks
	 * like the broker's (same agency id) but is not. */
	assert_int_equal(mdb_get(r.txn, r.ckpt, &k, &v), 0);
	cp = haven__checkpoint__unpack(NULL, v.mv_size, v.mv_data);
	assert_non_null(cp);
	memcpy(m, "haven-checkpoint-v1", 19);
	haven__be64_put(m + 19, cp->seq);
	memcpy(m + 27, cp->hash.data, 32);
	haven__be64_put(m + 59, (uint64_t) cp->time_ms);
	haven_keys_sign(mallory, sig, m, sizeof(m));
	/* Sanity: the real broker's signature over m is the stored one. */
	assert_int_equal(haven_sig_verify(cp->signature.data, m, sizeof(m),
	                     fx->pub.sign_pk),
	    HAVEN_OK);
	memcpy(cp->signature.data, sig, 64);
	v.mv_data = buf;
	v.mv_size = haven__checkpoint__pack(cp, buf);
	haven__checkpoint__free_unpacked(cp, NULL);
	assert_int_equal(mdb_put(r.txn, r.ckpt, &k, &v, 0), 0);
	haven_keys_destroy(&mallory);
	raw_commit(fx, &r);
	verify_bad(fx, 64, "checkpoint 64: bad signature");
}

static void
test_tamper_checkpoint_beyond_chain(void **state)
{
	fixture *fx = *state;
	uint8_t kb[8], kb2[8];
	MDB_val k = seq_key(kb, 96), v, k2 = seq_key(kb2, 200);
	raw r;

	build_and_reopen(fx, &r);
	assert_int_equal(mdb_get(r.txn, r.ckpt, &k, &v), 0);
	assert_int_equal(mdb_put(r.txn, r.ckpt, &k2, &v, 0), 0);
	raw_commit(fx, &r);
	verify_bad(fx, 101, "checkpoint 200: beyond the last entry 100");
}

static void
test_tamper_delete_head(void **state)
{
	fixture *fx = *state;
	MDB_val hk = {4, "head"};
	raw r;

	build_and_reopen(fx, &r);
	assert_int_equal(mdb_del(r.txn, r.head, &hk, NULL), 0);
	raw_commit(fx, &r);
	verify_bad(fx, N_ENTRIES, "head missing or malformed");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static int
group_setup(void **state)
{
	(void) state;
	return (sodium_init() < 0 ? -1 : 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_round_trip),
		cmocka_unit_test(test_codec_encode_refusals),
		cmocka_unit_test(test_codec_decode_refusals),
		cmocka_unit_test(test_codec_unknown_field),
		T(test_append_get_verify),
		T(test_aborted_txn_leaves_chain),
		T(test_empty_and_missing_store),
		T(test_map_full),
		T(test_tamper_reput_altered_entry),
		T(test_tamper_raw_bytes),
		T(test_tamper_undecodable),
		T(test_tamper_delete_middle),
		T(test_tamper_seq_field),
		T(test_tamper_truncate_tail),
		T(test_tamper_last_entry),
		T(test_tamper_rewrite_history),
		T(test_tamper_forge_checkpoint),
		T(test_tamper_checkpoint_beyond_chain),
		T(test_tamper_delete_head),
	};

	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
