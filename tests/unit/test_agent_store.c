/*
 * tests/unit/test_agent_store.c: the agent's sealed LMDB store.
 *
 * Real LMDB in a mkdtemp directory, real libsodium keys. Tampering is done
 * for real: the test opens the same LMDB environment itself and rewrites
 * the stored bytes, then expects the store to refuse them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_store.h"

typedef struct fx {
	char dir[64];
	uint8_t key[HAVEN_KEY_BYTES];
	haven__agent_store *st;
} fx;

static void
rm_tree(const char *dir)
{
	char path[128];

	(void) snprintf(path, sizeof(path), "%s/data.mdb", dir);
	(void) unlink(path);
	(void) snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	(void) unlink(path);
	(void) rmdir(dir);
}

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	(void) snprintf(f->dir, sizeof(f->dir), "/tmp/haven-agtstore-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	randombytes_buf(f->key, sizeof(f->key));
	assert_int_equal(haven__agt_store_open(&f->st, f->dir, f->key),
	    HAVEN_OK);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	fx *f = *state;

	haven__agt_store_close(&f->st);
	rm_tree(f->dir);
	free(f);
	return (0);
}

static void
reopen(fx *f)
{
	haven__agt_store_close(&f->st);
	assert_null(f->st);
	assert_int_equal(haven__agt_store_open(&f->st, f->dir, f->key),
	    HAVEN_OK);
}

static void
id_of(uint8_t id[HAVEN_MSGID_BYTES], int n)
{
	memset(id, 0, HAVEN_MSGID_BYTES);
	id[0] = 0xab;
	id[15] = (uint8_t) n;
}

static haven__inbox_rec
inrec(uint8_t *env, size_t len, bool verified)
{
	haven__inbox_rec r;

	memset(&r, 0, sizeof(r));
	r.verified = verified;
	r.envelope = env;
	r.envelope_len = len;
	r.has_receipt = true;
	r.receipt.audit_seq = 42;
	r.receipt.accepted_ms = 1700000000000;
	memset(r.receipt.sig, 0x5a, sizeof(r.receipt.sig));
	r.received_ms = 1700000000123;
	return (r);
}

/* Rewrite the raw stored value of `id` in `dbname` with `fn`. */
static void
raw_edit(fx *f, const char *dbname, const uint8_t *id,
    void (*fn)(uint8_t *buf, size_t len))
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { HAVEN_MSGID_BYTES, (void *) id }, v;
	uint8_t *copy;

	haven__agt_store_close(&f->st);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, dbname, 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	copy = malloc(v.mv_size);
	assert_non_null(copy);
	memcpy(copy, v.mv_data, v.mv_size);
	fn(copy, v.mv_size);
	v.mv_data = copy;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(copy);
	assert_int_equal(haven__agt_store_open(&f->st, f->dir, f->key),
	    HAVEN_OK);
}

static void
flip_last(uint8_t *b, size_t len)
{
	b[len - 1] ^= 0x01;
}

static void
flip_middle(uint8_t *b, size_t len)
{
	b[len / 2] ^= 0x80;
}

static void
set_verified_flag(uint8_t *b, size_t len)
{
	(void) len;
	b[1] |= 0x01;
}

static void
test_inbox_roundtrip(void **state)
{
	fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES], env[300];
	haven__inbox_rec r = inrec(env, sizeof(env), true), got;

	randombytes_buf(env, sizeof(env));
	id_of(id, 1);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &r), HAVEN_OK);
	reopen(f);
	assert_int_equal(haven__agt_store_inbox_get(f->st, id, &got),
	    HAVEN_OK);
	assert_true(got.verified);
	assert_int_equal(got.envelope_len, sizeof(env));
	assert_memory_equal(got.envelope, env, sizeof(env));
	assert_true(got.has_receipt);
	assert_int_equal(got.receipt.audit_seq, 42);
	assert_int_equal(got.received_ms, 1700000000123);
	assert_int_equal(got.read_ms, 0);
	haven__agt_inbox_rec_release(&got);
	id_of(id, 2);
	assert_int_equal(haven__agt_store_inbox_get(f->st, id, &got),
	    HAVEN_ENOTFOUND);
}

static void
test_inbox_exactly_once(void **state)
{
	fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES], env[64];
	haven__inbox_rec bad = inrec(env, sizeof(env), false);
	haven__inbox_rec good = inrec(env, sizeof(env), true);
	bool ver, present;

	memset(env, 7, sizeof(env));
	id_of(id, 3);
	/* an unverified record first (e.g. a forgery squatting on the id) */
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &bad),
	    HAVEN_OK);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &bad),
	    HAVEN_EEXIST);
	assert_int_equal(haven__agt_store_inbox_has(f->st, id, &ver,
	    &present), HAVEN_OK);
	assert_true(present);
	assert_false(ver);
	/* the genuine delivery replaces it; after that nothing does */
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &good),
	    HAVEN_OK);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &good),
	    HAVEN_EEXIST);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &bad),
	    HAVEN_EEXIST);
	assert_int_equal(haven__agt_store_inbox_has(f->st, id, &ver,
	    &present), HAVEN_OK);
	assert_true(ver);
}

static void
test_tamper_refused(void **state)
{
	fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES], env[128];
	haven__inbox_rec r = inrec(env, sizeof(env), true), got;

	randombytes_buf(env, sizeof(env));
	id_of(id, 4);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &r), HAVEN_OK);
	raw_edit(f, "inbox", id, flip_middle);
	assert_int_equal(haven__agt_store_inbox_get(f->st, id, &got),
	    HAVEN_ECORRUPT);
	id_of(id, 5);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &r), HAVEN_OK);
	raw_edit(f, "inbox", id, flip_last);
	assert_int_equal(haven__agt_store_inbox_get(f->st, id, &got),
	    HAVEN_ECORRUPT);
}

static void
test_verified_flag_bound(void **state)
{
	fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES], env[32];
	haven__inbox_rec r = inrec(env, sizeof(env), false), got;

	memset(env, 1, sizeof(env));
	id_of(id, 6);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &r), HAVEN_OK);
	raw_edit(f, "inbox", id, set_verified_flag);
	assert_int_equal(haven__agt_store_inbox_get(f->st, id, &got),
	    HAVEN_ECORRUPT);
}

/* A record copied under another msg id does not open there. */
static void
test_record_moved_refused(void **state)
{
	fx *f = *state;
	uint8_t a[HAVEN_MSGID_BYTES], b[HAVEN_MSGID_BYTES], env[32];
	haven__inbox_rec r = inrec(env, sizeof(env), true), got;
	MDB_env *menv;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val ka = { HAVEN_MSGID_BYTES, a }, kb = { HAVEN_MSGID_BYTES, b };
	MDB_val v;

	memset(env, 2, sizeof(env));
	id_of(a, 7);
	id_of(b, 8);
	assert_int_equal(haven__agt_store_inbox_put(f->st, a, &r), HAVEN_OK);
	haven__agt_store_close(&f->st);
	assert_int_equal(mdb_env_create(&menv), 0);
	assert_int_equal(mdb_env_set_maxdbs(menv, 8), 0);
	assert_int_equal(mdb_env_open(menv, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(menv, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "inbox", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &ka, &v), 0);
	assert_int_equal(mdb_put(txn, dbi, &kb, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(menv);
	assert_int_equal(haven__agt_store_open(&f->st, f->dir, f->key),
	    HAVEN_OK);
	assert_int_equal(haven__agt_store_inbox_get(f->st, b, &got),
	    HAVEN_ECORRUPT);
	assert_int_equal(haven__agt_store_inbox_get(f->st, a, &got),
	    HAVEN_OK);
	haven__agt_inbox_rec_release(&got);
}

static void
test_wrong_key_refused(void **state)
{
	fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES], env[32], other[HAVEN_KEY_BYTES];
	haven__inbox_rec r = inrec(env, sizeof(env), true), got;
	haven__agent_store *st2 = NULL;
	MDB_env *menv;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 8, (void *) "keycheck" };

	memset(env, 3, sizeof(env));
	id_of(id, 9);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &r), HAVEN_OK);
	haven__agt_store_close(&f->st);
	randombytes_buf(other, sizeof(other));
	assert_int_equal(haven__agt_store_open(&st2, f->dir, other),
	    HAVEN_EAUTH);
	assert_null(st2);
	/* without the key check, every record still refuses the wrong key */
	assert_int_equal(mdb_env_create(&menv), 0);
	assert_int_equal(mdb_env_set_maxdbs(menv, 8), 0);
	assert_int_equal(mdb_env_open(menv, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(menv, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(menv);
	assert_int_equal(haven__agt_store_open(&st2, f->dir, other), HAVEN_OK);
	assert_int_equal(haven__agt_store_inbox_get(st2, id, &got),
	    HAVEN_ECORRUPT);
	haven__agt_store_close(&st2);
	assert_int_equal(haven__agt_store_open(&f->st, f->dir, f->key),
	    HAVEN_EAUTH);
	assert_null(f->st);
}

static void
add_outbox(fx *f, int n, uint8_t *env, size_t len)
{
	uint8_t id[HAVEN_MSGID_BYTES];
	haven__outbox_item it = { id, env, len };

	id_of(id, n);
	assert_int_equal(haven__agt_store_outbox_add(f->st, &it, 1), HAVEN_OK);
}

static void
test_outbox_transitions(void **state)
{
	fx *f = *state;
	uint8_t a[HAVEN_MSGID_BYTES], b[HAVEN_MSGID_BYTES], env[50];
	uint8_t ids[4][HAVEN_MSGID_BYTES];
	haven_receipt r1, r2;
	haven_reject j;
	haven__outbox_rec rec;
	size_t n = 0;

	memset(env, 9, sizeof(env));
	add_outbox(f, 20, env, sizeof(env));
	add_outbox(f, 21, env, sizeof(env));
	id_of(a, 20);
	id_of(b, 21);
	assert_int_equal(haven__agt_store_outbox_pending(f->st, ids, 4, &n),
	    HAVEN_OK);
	assert_int_equal(n, 2);
	memset(&r1, 0, sizeof(r1));
	memcpy(r1.msg_id, a, HAVEN_MSGID_BYTES);
	r1.audit_seq = 7;
	r2 = r1;
	r2.audit_seq = 99;
	memset(&j, 0, sizeof(j));
	(void) snprintf(j.rule, sizeof(j.rule), "R1");
	j.code = HAVEN_EPOLICY;
	assert_int_equal(haven__agt_store_outbox_settle(f->st, a,
	    HAVEN__OUT_PENDING, NULL, NULL), HAVEN_EINVAL);
	assert_int_equal(haven__agt_store_outbox_settle(f->st, a,
	    HAVEN__OUT_RECEIPTED, &r1, NULL), HAVEN_OK);
	/* a second receipt is a no-op: the first answer is kept */
	assert_int_equal(haven__agt_store_outbox_settle(f->st, a,
	    HAVEN__OUT_RECEIPTED, &r2, NULL), HAVEN_OK);
	assert_int_equal(haven__agt_store_outbox_settle(f->st, a,
	    HAVEN__OUT_REJECTED, NULL, &j), HAVEN_ESTATE);
	assert_int_equal(haven__agt_store_outbox_settle(f->st, b,
	    HAVEN__OUT_REJECTED, NULL, &j), HAVEN_OK);
	assert_int_equal(haven__agt_store_outbox_settle(f->st, b,
	    HAVEN__OUT_RECEIPTED, &r1, NULL), HAVEN_ESTATE);
	id_of(ids[0], 77);
	assert_int_equal(haven__agt_store_outbox_settle(f->st, ids[0],
	    HAVEN__OUT_RECEIPTED, &r1, NULL), HAVEN_ENOTFOUND);
	reopen(f);
	assert_int_equal(haven__agt_store_outbox_pending(f->st, ids, 4, &n),
	    HAVEN_OK);
	assert_int_equal(n, 0);
	assert_int_equal(haven__agt_store_outbox_get(f->st, a, &rec),
	    HAVEN_OK);
	assert_int_equal(rec.state, HAVEN__OUT_RECEIPTED);
	assert_int_equal(rec.receipt.audit_seq, 7);
	assert_memory_equal(rec.envelope, env, sizeof(env));
	haven__agt_outbox_rec_release(&rec);
	assert_int_equal(haven__agt_store_outbox_get(f->st, b, &rec),
	    HAVEN_OK);
	assert_int_equal(rec.state, HAVEN__OUT_REJECTED);
	assert_string_equal(rec.reject.rule, "R1");
	haven__agt_outbox_rec_release(&rec);
}

static void
test_outbox_batch_atomic(void **state)
{
	fx *f = *state;
	uint8_t a[HAVEN_MSGID_BYTES], b[HAVEN_MSGID_BYTES], env[20];
	uint8_t ids[4][HAVEN_MSGID_BYTES];
	haven__outbox_item items[2] = { { a, env, sizeof(env) },
		{ b, env, sizeof(env) } };
	haven__outbox_rec rec;
	size_t n = 0;

	memset(env, 4, sizeof(env));
	id_of(a, 30);
	id_of(b, 31);
	add_outbox(f, 31, env, sizeof(env));
	/* b exists: the whole batch is refused, a is not written */
	assert_int_equal(haven__agt_store_outbox_add(f->st, items, 2),
	    HAVEN_EEXIST);
	assert_int_equal(haven__agt_store_outbox_get(f->st, a, &rec),
	    HAVEN_ENOTFOUND);
	assert_int_equal(haven__agt_store_outbox_pending(f->st, ids, 4, &n),
	    HAVEN_OK);
	assert_int_equal(n, 1);
	/* an empty envelope is refused */
	items[0].envelope_len = 0;
	assert_int_equal(haven__agt_store_outbox_add(f->st, items, 1),
	    HAVEN_EINVAL);
}

static void
test_outbox_tamper(void **state)
{
	fx *f = *state;
	uint8_t a[HAVEN_MSGID_BYTES], env[20];
	haven__outbox_rec rec;

	memset(env, 5, sizeof(env));
	add_outbox(f, 40, env, sizeof(env));
	id_of(a, 40);
	raw_edit(f, "outbox", a, flip_middle);
	assert_int_equal(haven__agt_store_outbox_get(f->st, a, &rec),
	    HAVEN_ECORRUPT);
}

static void
test_seq_monotonic(void **state)
{
	fx *f = *state;
	uint64_t s1 = 0, s2 = 0, s3 = 0;

	assert_int_equal(haven__agt_store_reserve_seq(f->st, 3, &s1),
	    HAVEN_OK);
	assert_int_equal(s1, 1);
	reopen(f);
	assert_int_equal(haven__agt_store_reserve_seq(f->st, 1, &s2),
	    HAVEN_OK);
	assert_int_equal(s2, 4);
	reopen(f);
	assert_int_equal(haven__agt_store_reserve_seq(f->st, 2, &s3),
	    HAVEN_OK);
	assert_int_equal(s3, 5);
	assert_int_equal(haven__agt_store_reserve_seq(f->st, 0, &s3),
	    HAVEN_EINVAL);
}

static void
test_dir_version_rollback(void **state)
{
	fx *f = *state;

	assert_int_equal(haven__agt_store_dir_version(f->st, 5), HAVEN_OK);
	assert_int_equal(haven__agt_store_dir_version(f->st, 5), HAVEN_OK);
	reopen(f);
	assert_int_equal(haven__agt_store_dir_version(f->st, 4), HAVEN_ESTALE);
	assert_int_equal(haven__agt_store_dir_version(f->st, 6), HAVEN_OK);
	assert_int_equal(haven__agt_store_dir_version(f->st, 5), HAVEN_ESTALE);
}

static void
test_mark_read(void **state)
{
	fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES], uid[HAVEN_MSGID_BYTES];
	uint8_t rid[HAVEN_MSGID_BYTES], env[40];
	haven__inbox_rec good = inrec(env, sizeof(env), true), got;
	haven__inbox_rec bad = inrec(env, sizeof(env), false);
	haven__outbox_item reply = { rid, env, sizeof(env) };
	uint8_t ids[4][HAVEN_MSGID_BYTES];
	size_t n = 0;

	memset(env, 6, sizeof(env));
	id_of(id, 50);
	id_of(uid, 51);
	id_of(rid, 52);
	assert_int_equal(haven__agt_store_inbox_put(f->st, id, &good),
	    HAVEN_OK);
	assert_int_equal(haven__agt_store_inbox_put(f->st, uid, &bad),
	    HAVEN_OK);
	assert_int_equal(haven__agt_store_inbox_mark_read(f->st, uid, 1, "s1",
	    "DSL", &reply), HAVEN_ESTATE);
	assert_int_equal(haven__agt_store_inbox_mark_read(f->st, rid, 1, "s1",
	    "DSL", &reply), HAVEN_ENOTFOUND);
	assert_int_equal(haven__agt_store_inbox_mark_read(f->st, id,
	    1700000009999, "staff.17", "DSL", &reply), HAVEN_OK);
	assert_int_equal(haven__agt_store_inbox_mark_read(f->st, id, 2, "s2",
	    "DDSL", &reply), HAVEN_EEXIST);
	assert_int_equal(haven__agt_store_inbox_get(f->st, id, &got),
	    HAVEN_OK);
	assert_int_equal(got.read_ms, 1700000009999);
	assert_string_equal(got.read_by, "staff.17");
	assert_string_equal(got.read_role, "DSL");
	haven__agt_inbox_rec_release(&got);
	assert_int_equal(haven__agt_store_outbox_pending(f->st, ids, 4, &n),
	    HAVEN_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(ids[0], rid, HAVEN_MSGID_BYTES);
}

typedef struct count_ctx {
	int ok;
	int bad;
} count_ctx;

static bool
count_one(void *vctx, const uint8_t id[HAVEN_MSGID_BYTES],
    const haven__inbox_rec *rec, haven_err rv)
{
	count_ctx *c = vctx;

	(void) id;
	if (rec != NULL) {
		c->ok++;
	} else {
		assert_int_equal(rv, HAVEN_ECORRUPT);
		c->bad++;
	}
	return (true);
}

static void
test_inbox_each(void **state)
{
	fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES], env[40];
	haven__inbox_rec r = inrec(env, sizeof(env), true);
	count_ctx c = { 0, 0 };

	memset(env, 8, sizeof(env));
	for (int i = 60; i < 63; i++) {
		id_of(id, i);
		assert_int_equal(haven__agt_store_inbox_put(f->st, id, &r),
		    HAVEN_OK);
	}
	raw_edit(f, "inbox", id, flip_last);
	assert_int_equal(haven__agt_store_inbox_each(f->st, count_one, &c),
	    HAVEN_OK);
	assert_int_equal(c.ok, 2);
	assert_int_equal(c.bad, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inbox_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_inbox_exactly_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tamper_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verified_flag_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_record_moved_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_transitions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_batch_atomic,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_tamper, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seq_monotonic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dir_version_rollback,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_inbox_each, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
