/*
 * tests/unit/test_broker_store.c: the broker's LMDB layout (broker/store.c).
 *
 * Real LMDB in a mkdtemp directory: admit + queue + ack, dedup records and
 * receipts, sequence recording, restart persistence, queue order, a store
 * that fills up (MDB_MAP_FULL -> HAVEN_EFULL, then acks still work), and
 * the audit databases opened in the same environment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

#define MAP_BYTES (16u << 20)

struct fx {
	char dir[64];
	haven_store *s;
};

static void
rm_store(const char *dir)
{
	char p[128];

	(void) snprintf(p, sizeof(p), "%s/data.mdb", dir);
	(void) unlink(p);
	(void) snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	(void) unlink(p);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	(void) snprintf(f->dir, sizeof(f->dir), "/tmp/haven-bstore-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(haven__store_open(&f->s, f->dir, MAP_BYTES, err,
	    sizeof(err)), HAVEN_OK);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	haven__store_close(&f->s);
	rm_store(f->dir);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return (0);
}

static void
make_id(uint8_t id[HAVEN_MSGID_BYTES], uint8_t n)
{
	memset(id, 0, HAVEN_MSGID_BYTES);
	id[0] = 0xab;
	id[HAVEN_MSGID_BYTES - 1] = n;
}

static void
make_meta(haven_msgmeta *m, const char *sender, size_t n, ...)
{
	va_list ap;

	memset(m, 0, sizeof(*m));
	(void) snprintf(m->sender, sizeof(m->sender), "%s", sender);
	m->type = HAVEN_MSG_OE_NOTIFICATION;
	m->n_recipients = n;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		(void) snprintf(m->recipients[i], HAVEN_ID_MAX, "%s",
		    va_arg(ap, const char *));
	}
	va_end(ap);
}

static void
make_receipt(haven_receipt *r, const uint8_t id[HAVEN_MSGID_BYTES],
    uint64_t seq)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->msg_id, id, HAVEN_MSGID_BYTES);
	r->audit_seq = seq;
	memset(r->entry_hash, 0x11, sizeof(r->entry_hash));
	r->accepted_ms = 1700000000123;
	memset(r->envelope_hash, 0x22, sizeof(r->envelope_hash));
	memset(r->sig, 0x33, sizeof(r->sig));
}

/* Store message n with a small fake envelope. */
static haven_err
put(struct fx *f, MDB_txn *txn, uint8_t n, const haven_msgmeta *m,
    size_t env_len)
{
	uint8_t id[HAVEN_MSGID_BYTES], hash[HAVEN_HASH_BYTES];
	uint8_t *env = malloc(env_len);
	haven_receipt r;
	haven_err rv;

	assert_non_null(env);
	memset(env, n, env_len);
	make_id(id, n);
	memset(hash, n, sizeof(hash));
	make_receipt(&r, id, n);
	rv = haven__store_put_msg(f->s, txn, id, m, env, env_len, hash, &r);
	free(env);
	return (rv);
}

typedef struct collect {
	uint8_t ids[16][HAVEN_MSGID_BYTES];
	size_t n;
} collect;

static haven_err
collect_fn(void *arg, const uint8_t id[HAVEN_MSGID_BYTES], bool *stop)
{
	collect *c = arg;

	(void) stop;
	if (c->n < 16) {
		memcpy(c->ids[c->n++], id, HAVEN_MSGID_BYTES);
	}
	return (HAVEN_OK);
}

static void
queue_of(struct fx *f, MDB_txn *txn, const char *who, collect *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(haven__store_queue_walk(f->s, txn, who, collect_fn, c),
	    HAVEN_OK);
}

static void
test_admit_queue_ack(void **state)
{
	struct fx *f = *state;
	MDB_txn *txn = NULL;
	haven_msgmeta m, got;
	uint8_t id[HAVEN_MSGID_BYTES];
	const uint8_t *env;
	size_t len;
	uint64_t n;
	collect c;

	make_meta(&m, "police.cambs", 2, "school.urn.110123",
	    "school.urn.110456");
	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	assert_int_equal(put(f, txn, 1, &m, 300), HAVEN_OK);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);

	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	make_id(id, 1);
	assert_int_equal(haven__store_msg_get(f->s, txn, id, &env, &len),
	    HAVEN_OK);
	assert_int_equal(len, 300);
	assert_int_equal(env[0], 1);
	assert_int_equal(haven__store_msgmeta_get(f->s, txn, id, &got),
	    HAVEN_OK);
	assert_string_equal(got.sender, "police.cambs");
	assert_int_equal(got.n_recipients, 2);
	assert_string_equal(got.recipients[1], "school.urn.110456");
	queue_of(f, txn, "school.urn.110123", &c);
	assert_int_equal(c.n, 1);
	assert_memory_equal(c.ids[0], id, HAVEN_MSGID_BYTES);
	/* A prefix of another agency id must not see its queue. */
	queue_of(f, txn, "school.urn.11012", &c);
	assert_int_equal(c.n, 0);

	assert_int_equal(haven__store_ack(f->s, txn, "school.urn.110123", id),
	    HAVEN_OK);
	assert_int_equal(haven__store_ack(f->s, txn, "school.urn.110123", id),
	    HAVEN_ENOTFOUND);
	/* Not pending for housing: ignored, and the school's other copy
	 * stays. */
	assert_int_equal(haven__store_ack(f->s, txn, "housing.cambs", id),
	    HAVEN_ENOTFOUND);
	assert_int_equal(haven__store_queue_count(f->s, txn,
	    "school.urn.110123", 100, &n), HAVEN_OK);
	assert_int_equal(n, 0);
	assert_int_equal(haven__store_queue_count(f->s, txn,
	    "school.urn.110456", 100, &n), HAVEN_OK);
	assert_int_equal(n, 1);
	assert_int_equal(haven__store_queue_count(f->s, txn,
	    "school.urn.110456", 0, &n), HAVEN_OK);
	assert_int_equal(n, 0);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
}

static void
test_dedup_and_receipt(void **state)
{
	struct fx *f = *state;
	MDB_txn *txn = NULL;
	haven_msgmeta m;
	uint8_t id[HAVEN_MSGID_BYTES], hash[HAVEN_HASH_BYTES], want[32];
	haven_receipt r, expect;

	make_meta(&m, "police.cambs", 1, "school.urn.110123");
	make_id(id, 7);
	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	assert_int_equal(haven__store_dedup_get(f->s, txn, id, hash, &r),
	    HAVEN_ENOTFOUND);
	assert_int_equal(put(f, txn, 7, &m, 64), HAVEN_OK);
	/* The same id again is refused: one stored copy per id. */
	assert_int_equal(put(f, txn, 7, &m, 64), HAVEN_EEXIST);
	assert_int_equal(haven__store_dedup_get(f->s, txn, id, hash, &r),
	    HAVEN_OK);
	memset(want, 7, sizeof(want));
	assert_memory_equal(hash, want, sizeof(want));
	make_receipt(&expect, id, 7);
	assert_memory_equal(&r.msg_id, expect.msg_id, HAVEN_MSGID_BYTES);
	assert_int_equal(r.audit_seq, 7);
	assert_int_equal(r.accepted_ms, expect.accepted_ms);
	assert_memory_equal(r.sig, expect.sig, HAVEN_SIG_BYTES);
	assert_memory_equal(r.entry_hash, expect.entry_hash, HAVEN_HASH_BYTES);
	haven__store_abort(&txn);
}

static void
test_queue_order_and_dup_recipient(void **state)
{
	struct fx *f = *state;
	MDB_txn *txn = NULL;
	haven_msgmeta m;
	uint8_t id[HAVEN_MSGID_BYTES];
	collect c;

	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	/* Listed twice: queued once. */
	make_meta(&m, "police.cambs", 2, "school.urn.110123",
	    "school.urn.110123");
	assert_int_equal(put(f, txn, 9, &m, 32), HAVEN_OK);
	make_meta(&m, "police.cambs", 1, "school.urn.110123");
	assert_int_equal(put(f, txn, 3, &m, 32), HAVEN_OK);
	assert_int_equal(put(f, txn, 5, &m, 32), HAVEN_OK);
	queue_of(f, txn, "school.urn.110123", &c);
	assert_int_equal(c.n, 3);
	make_id(id, 9);
	assert_memory_equal(c.ids[0], id, HAVEN_MSGID_BYTES);
	make_id(id, 3);
	assert_memory_equal(c.ids[1], id, HAVEN_MSGID_BYTES);
	make_id(id, 5);
	assert_memory_equal(c.ids[2], id, HAVEN_MSGID_BYTES);
	/* A capped count stops walking at the cap. */
	{
		uint64_t n = 0;
		assert_int_equal(haven__store_queue_count(f->s, txn,
		    "school.urn.110123", 2, &n), HAVEN_OK);
		assert_int_equal(n, 2);
		assert_int_equal(haven__store_queue_count(f->s, txn,
		    "school.urn.110123", 3, &n), HAVEN_OK);
		assert_int_equal(n, 3);
	}
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
}

static void
test_seq_record(void **state)
{
	struct fx *f = *state;
	MDB_txn *txn = NULL;
	uint64_t prev;

	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	assert_int_equal(haven__store_seq_record(f->s, txn, "police.cambs", 4,
	    &prev), HAVEN_OK);
	assert_int_equal(prev, 0);
	assert_int_equal(haven__store_seq_record(f->s, txn, "police.cambs", 9,
	    &prev), HAVEN_OK);
	assert_int_equal(prev, 4);
	/* Out of order (a resubmission): recorded value never decreases. */
	assert_int_equal(haven__store_seq_record(f->s, txn, "police.cambs", 6,
	    &prev), HAVEN_OK);
	assert_int_equal(prev, 9);
	assert_int_equal(haven__store_seq_record(f->s, txn, "police.cambs", 10,
	    &prev), HAVEN_OK);
	assert_int_equal(prev, 9);
	haven__store_abort(&txn);
}

static void
test_restart_persistence(void **state)
{
	struct fx *f = *state;
	MDB_txn *txn = NULL;
	haven_msgmeta m;
	uint8_t id[HAVEN_MSGID_BYTES], hash[HAVEN_HASH_BYTES];
	haven_receipt r;
	uint64_t v;
	char err[256];
	collect c;

	make_meta(&m, "police.cambs", 1, "la.cambs.ehe");
	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	assert_int_equal(put(f, txn, 2, &m, 128), HAVEN_OK);
	assert_int_equal(haven__store_meta_put(f->s, txn, "dir_version", 5),
	    HAVEN_OK);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
	/* An aborted write is not there after the restart. */
	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	assert_int_equal(put(f, txn, 4, &m, 128), HAVEN_OK);
	haven__store_abort(&txn);
	haven__store_close(&f->s);

	assert_int_equal(haven__store_open(&f->s, f->dir, MAP_BYTES, err,
	    sizeof(err)), HAVEN_OK);
	assert_int_equal(haven__store_begin(f->s, true, &txn), HAVEN_OK);
	queue_of(f, txn, "la.cambs.ehe", &c);
	assert_int_equal(c.n, 1);
	make_id(id, 2);
	assert_memory_equal(c.ids[0], id, HAVEN_MSGID_BYTES);
	assert_int_equal(haven__store_dedup_get(f->s, txn, id, hash, &r),
	    HAVEN_OK);
	assert_int_equal(r.audit_seq, 2);
	assert_int_equal(haven__store_meta_get(f->s, txn, "dir_version", &v),
	    HAVEN_OK);
	assert_int_equal(v, 5);
	assert_int_equal(haven__store_meta_get(f->s, txn, "absent", &v),
	    HAVEN_OK);
	assert_int_equal(v, 0);
	haven__store_abort(&txn);
}

/* A tiny map fills up: HAVEN_EFULL, never a crash; after the abort an
 * ack (which frees space) still commits. */
static void
test_map_full(void **state)
{
	struct fx *f = *state;
	MDB_txn *txn = NULL;
	haven_msgmeta m;
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_err rv = HAVEN_OK;
	char err[256];
	int i;

	haven__store_close(&f->s);
	rm_store(f->dir);
	assert_int_equal(haven__store_open(&f->s, f->dir, 1u << 20, err,
	    sizeof(err)), HAVEN_OK);
	make_meta(&m, "police.cambs", 1, "school.urn.110123");
	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	assert_int_equal(put(f, txn, 1, &m, 1000), HAVEN_OK);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	for (i = 2; i < 200 && rv == HAVEN_OK; i++) {
		rv = put(f, txn, (uint8_t) i, &m, 64 * 1024);
	}
	assert_int_equal(rv, HAVEN_EFULL);
	haven__store_abort(&txn);
	assert_int_equal(haven__store_begin(f->s, false, &txn), HAVEN_OK);
	make_id(id, 1);
	assert_int_equal(haven__store_ack(f->s, txn, "school.urn.110123", id),
	    HAVEN_OK);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admit_queue_ack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dedup_and_receipt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_order_and_dup_recipient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_persistence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
