/*
 * tests/integration/test_broker_client.h: a raw agent for broker tests.
 *
 * Shared by tests/integration/test_broker_*.c (static inline so each test
 * file uses what it needs). A DEALER CURVE client built from the
 * partnership's key files, speaking Frames with libhaven, crafting real
 * signed envelopes (haven_envelope_seal), and a read-only view of the
 * broker's audit databases to prove what was (and was not) recorded.
 */
#ifndef HAVEN_TEST_BROKER_CLIENT_H
#define HAVEN_TEST_BROKER_CLIENT_H

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "haven/audit.h"
#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/envelope.h"
#include "haven/keys.h"
#include "haven/wire.h"
#include "support_harness.h"
#include "util.h"

typedef struct bc_client {
	void *ctx;
	void *sock;
	haven_keys *keys;       /* owned */
	haven_directory *dir;   /* owned */
	uint8_t broker_sign_pk[HAVEN_KEY_BYTES];
	char agency[HAVEN_ID_MAX];
	uint64_t seq;
} bc_client;

static inline int
bc_load_dir(const hv_partnership *p, haven_directory **dir)
{
	haven_pubkey admin;
	char err[256];

	if (haven_pubkey_load(&admin, hv_path(p, "admin.pub"), err,
	    sizeof(err)) != HAVEN_OK) {
		return (-1);
	}
	return (haven_directory_load(dir, hv_path(p, "directory.signed"),
	    admin.sign_pk, err, sizeof(err)) == HAVEN_OK ? 0 : -1);
}

static inline int
bc_broker_pub(const hv_partnership *p, haven_pubkey *out)
{
	char err[256];

	return (haven_pubkey_load(out, hv_path(p, "broker.pub"), err,
	    sizeof(err)) == HAVEN_OK ? 0 : -1);
}

/* Connect with `keys` (taken over on success); `rid` (rid_len bytes), if
 * not NULL, is a routing id chosen by the client (ZMQ_ROUTING_ID). */
static inline int
bc_open_keys_rid(bc_client *c, const hv_partnership *p, haven_keys *keys,
    const void *rid, size_t rid_len)
{
	haven_pubkey me, broker;
	char ep[64];
	int linger = 0, sndto = 2000;

	memset(c, 0, sizeof(*c));
	if (bc_broker_pub(p, &broker) != 0 || bc_load_dir(p, &c->dir) != 0) {
		return (-1);
	}
	memcpy(c->broker_sign_pk, broker.sign_pk, HAVEN_KEY_BYTES);
	haven_keys_public(keys, &me);
	c->keys = keys;
	(void) snprintf(c->agency, sizeof(c->agency), "%s", me.agency);
	c->ctx = zmq_ctx_new();
	c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
	(void) zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
	/* A DEALER blocks on send while it has no peer (a refused handshake
	 * never gives it one): never wait long. */
	(void) zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &sndto, sizeof(sndto));
	(void) zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, broker.curve_pk,
	    HAVEN_KEY_BYTES);
	(void) zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, me.curve_pk,
	    HAVEN_KEY_BYTES);
	(void) zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY,
	    haven_keys_curve_sk(keys), HAVEN_KEY_BYTES);
	if (rid != NULL && zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, rid,
	    rid_len) != 0) {
		return (-1);
	}
	(void) snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", p->port);
	return (zmq_connect(c->sock, ep) == 0 ? 0 : -1);
}

static inline int
bc_open_keys(bc_client *c, const hv_partnership *p, haven_keys *keys)
{
	return (bc_open_keys_rid(c, p, keys, NULL, 0));
}

/* Connect as `agency` with its key file from the partnership, with a
 * routing id of the client's choosing if `rid` is not NULL. */
static inline int
bc_open_rid(bc_client *c, const hv_partnership *p, const char *agency,
    const char *rid)
{
	char rel[256], err[256];
	haven_keys *k = NULL;

	(void) snprintf(rel, sizeof(rel), "agents/%s/%s.key", agency, agency);
	if (haven_keys_load(&k, hv_path(p, rel), err, sizeof(err)) !=
	    HAVEN_OK) {
		return (-1);
	}
	if (bc_open_keys_rid(c, p, k, rid, rid != NULL ? strlen(rid) : 0) !=
	    0) {
		haven_keys_destroy(&k);
		c->keys = NULL;
		return (-1);
	}
	return (0);
}

/* Connect as `agency` with its key file from the partnership. */
static inline int
bc_open(bc_client *c, const hv_partnership *p, const char *agency)
{
	return (bc_open_rid(c, p, agency, NULL));
}

static inline void
bc_close(bc_client *c)
{
	if (c->sock != NULL) {
		(void) zmq_close(c->sock);
	}
	if (c->ctx != NULL) {
		(void) zmq_ctx_term(c->ctx);
	}
	haven_keys_destroy(&c->keys);
	haven_directory_destroy(&c->dir);
	memset(c, 0, sizeof(*c));
}

static inline int
bc_send_raw(bc_client *c, const void *buf, size_t len)
{
	return (zmq_send(c->sock, buf, len, 0) >= 0 ? 0 : -1);
}

static inline int
bc_send(bc_client *c, const haven_frame *f)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (haven_frame_encode(f, &buf, &len) != HAVEN_OK) {
		return (-1);
	}
	rc = bc_send_raw(c, buf, len);
	free(buf);
	return (rc);
}

/* 0 with *f decoded; -1 nothing within timeout_ms; -2 undecodable. */
static inline int
bc_recv(bc_client *c, haven_frame *f, int timeout_ms)
{
	zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
	zmq_msg_t m;
	int rc = -2;

	memset(f, 0, sizeof(*f));
	if (zmq_poll(&it, 1, timeout_ms) <= 0) {
		return (-1);
	}
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) >= 0 &&
	    haven_frame_decode(f, zmq_msg_data(&m), zmq_msg_size(&m)) ==
	    HAVEN_OK) {
		rc = 0;
	}
	zmq_msg_close(&m);
	return (rc);
}

/* Receive until a frame of `kind` arrives (others are dropped). */
static inline int
bc_expect(bc_client *c, haven_frame_kind kind, haven_frame *f,
    int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		int rc = bc_recv(c, f, 100);
		if (rc == 0 && f->kind == kind) {
			return (0);
		}
		if (rc == 0) {
			haven_frame_release(f);
		}
	}
	return (-1);
}

static inline int
bc_hello(bc_client *c, uint32_t credit, uint32_t *queued)
{
	haven_frame f, r;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HELLO;
	f.credit = credit;
	if (bc_send(c, &f) != 0 || bc_expect(c, HAVEN_FRAME_CREDIT, &r,
	    5000) != 0) {
		return (-1);
	}
	*queued = r.credit;
	haven_frame_release(&r);
	return (0);
}

/* The spec of a message to seal: one view per recipient group. */
typedef struct bc_msg {
	uint32_t type;
	const char *recipients[4];
	size_t n;
	const char *profile;
	const char *legal_basis;
	int64_t created_ms;          /* 0: now */
	const uint8_t *reply_to;     /* NULL: none */
	const uint8_t *keep_id;      /* NULL: random msg id */
	const char *payload;         /* same payload text for each view */
	bool view_per_recipient;
} bc_msg;

static inline int
bc_seal(bc_client *c, const bc_msg *m, uint8_t **out, size_t *len,
    uint8_t id[HAVEN_MSGID_BYTES])
{
	haven_header h;
	haven_view_in views[4];
	size_t nv = m->view_per_recipient ? m->n : 1;
	char err[256];
	haven_err rv;

	memset(&h, 0, sizeof(h));
	memset(views, 0, sizeof(views));
	h.type = m->type;
	h.n_recipients = m->n;
	for (size_t i = 0; i < m->n; i++) {
		(void) snprintf(h.recipients[i], HAVEN_ID_MAX, "%s",
		    m->recipients[i]);
	}
	h.seq = ++c->seq;
	(void) snprintf(h.legal_basis, sizeof(h.legal_basis), "%s",
	    m->legal_basis != NULL ? m->legal_basis : "DAA2021-S49A");
	(void) snprintf(h.purpose, sizeof(h.purpose), "operation-encompass");
	h.created_ms = m->created_ms != 0 ? m->created_ms : haven__now_ms();
	if (m->type == HAVEN_MSG_OE_NOTIFICATION) {
		/* Issue 3: an incident time and the school's real deadline. */
		haven_calendar cal;

		h.occurred_ms = h.created_ms;
		if (haven_directory_calendar(c->dir, m->recipients[0], &cal) !=
		    HAVEN_OK || haven_calendar_next_school_day(&cal,
		    h.occurred_ms, &h.deadline_ms) != HAVEN_OK) {
			return (-1);
		}
	}
	if (m->reply_to != NULL) {
		h.has_reply_to = true;
		memcpy(h.in_reply_to, m->reply_to, HAVEN_MSGID_BYTES);
	}
	if (m->keep_id != NULL) {
		memcpy(h.msg_id, m->keep_id, HAVEN_MSGID_BYTES);
	}
	for (size_t v = 0; v < nv; v++) {
		views[v].profile = m->profile;
		views[v].recipients = m->view_per_recipient ?
		    &m->recipients[v] : m->recipients;
		views[v].n_recipients = m->view_per_recipient ? 1 : m->n;
		views[v].payload = (const uint8_t *) m->payload;
		views[v].payload_len = strlen(m->payload);
	}
	rv = haven_envelope_seal(&h, m->keep_id != NULL, views, nv, c->keys,
	    c->dir, out, len, err, sizeof(err));
	if (rv != HAVEN_OK) {
		fprintf(stderr, "seal: %s %s\n", haven_err_name(rv), err);
		return (-1);
	}
	memcpy(id, h.msg_id, HAVEN_MSGID_BYTES);
	return (0);
}

/* Submit and wait for the Receipt or Reject. */
static inline int
bc_submit(bc_client *c, const uint8_t *env, size_t len, haven_frame *reply)
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_SUBMIT;
	f.envelope = (uint8_t *) env;
	f.envelope_len = len;
	if (bc_send(c, &f) != 0) {
		return (-1);
	}
	for (int i = 0; i < 100; i++) {
		int rc = bc_recv(c, reply, 100);
		if (rc == 0 && (reply->kind == HAVEN_FRAME_RECEIPT ||
		    reply->kind == HAVEN_FRAME_REJECT ||
		    reply->kind == HAVEN_FRAME_ERROR)) {
			return (0);
		}
		if (rc == 0) {
			haven_frame_release(reply);
		}
	}
	return (-1);
}

static inline int
bc_ack(bc_client *c, const uint8_t id[HAVEN_MSGID_BYTES])
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_ACK;
	memcpy(f.msg_id, id, HAVEN_MSGID_BYTES);
	return (bc_send(c, &f));
}

/* ------------------------------------------------- audit inspection */

typedef struct bc_audit_q {
	uint32_t event;
	const uint8_t *msg_id; /* NULL: any */
	int64_t outcome;       /* -1: any */
	const char *actor;     /* NULL: any */
	const char *reason_has; /* NULL: any */
} bc_audit_q;

static inline bool
bc_audit_match(const haven_audit_entry *e, const bc_audit_q *q)
{
	return (e->event == q->event &&
	    (q->msg_id == NULL || (e->has_msg &&
	    memcmp(e->msg_id, q->msg_id, HAVEN_MSGID_BYTES) == 0)) &&
	    (q->outcome < 0 || (int64_t) e->outcome == q->outcome) &&
	    (q->actor == NULL || strcmp(e->actor, q->actor) == 0) &&
	    (q->reason_has == NULL || strstr(e->reason, q->reason_has) != NULL));
}

/* Number of audit entries matching q in DIR/broker-data (-1 on error). */
static inline int
bc_audit_count(const hv_partnership *p, const bc_audit_q *q)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_val k, d;
	int n = -1, rc;

	if (mdb_env_create(&env) != 0) {
		return (-1);
	}
	(void) mdb_env_set_maxdbs(env, 32);
	(void) mdb_env_set_mapsize(env, (size_t) 1024 << 20);
	if (mdb_env_open(env, hv_path(p, "broker-data"), MDB_RDONLY, 0600) !=
	    0 || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
	    mdb_dbi_open(txn, "audit", 0, &dbi) != 0 ||
	    mdb_cursor_open(txn, dbi, &cur) != 0) {
		goto out;
	}
	n = 0;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		haven_audit_entry e;
		if (haven_audit_decode(&e, d.mv_data, d.mv_size) == HAVEN_OK &&
		    bc_audit_match(&e, q)) {
			n++;
		}
	}
out:
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return (n);
}

/* Poll for up to timeout_ms until at least one entry matches. */
static inline int
bc_audit_wait(const hv_partnership *p, const bc_audit_q *q, int timeout_ms)
{
	int n = 0;

	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		if ((n = bc_audit_count(p, q)) > 0) {
			return (n);
		}
		usleep(50000);
	}
	return (n);
}

static inline bool
bc_audit_verifies(const hv_partnership *p)
{
	haven_audit_report rep;
	haven_pubkey broker;

	memset(&rep, 0, sizeof(rep));
	if (bc_broker_pub(p, &broker) != 0 ||
	    haven_audit_verify(hv_path(p, "broker-data"), broker.sign_pk,
	    &rep) != HAVEN_OK) {
		return (false);
	}
	if (!rep.ok) {
		fprintf(stderr, "audit verify: seq %llu: %s\n",
		    (unsigned long long) rep.first_bad_seq, rep.reason);
	}
	return (rep.ok);
}

/* True if `needle` appears in DIR/broker.log within timeout_ms. */
static inline bool
bc_log_wait(const hv_partnership *p, const char *needle, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		uint8_t *buf = NULL;
		size_t len = 0;
		bool found = false;
		if (haven__read_file(hv_path(p, "broker.log"), 64u << 20, &buf,
		    &len) == HAVEN_OK) {
			found = strstr((const char *) buf, needle) != NULL;
			free(buf);
		}
		if (found) {
			return (true);
		}
		usleep(50000);
	}
	return (false);
}

/* ---- cmocka fixture and assertions (every includer uses cmocka) ---- */

/** Per-test fixture: a fresh partnership in *state. */
static inline int
bc_setup(void **state)
{
	hv_partnership *p = calloc(1, sizeof(*p));

	if (p == NULL || sodium_init() < 0 || hv_partnership_create(p) != 0) {
		free(p);
		return (-1);
	}
	*state = p;
	return (0);
}

static inline int
bc_teardown(void **state)
{
	hv_partnership *p = *state;

	hv_partnership_destroy(p);
	free(p);
	return (0);
}

/** Seal `m`, submit it and fail the test unless a receipt comes back. */
static inline void
bc_submit_ok(bc_client *c, const bc_msg *m, uint8_t id[HAVEN_MSGID_BYTES])
{
	uint8_t *env = NULL;
	size_t len = 0;
	haven_frame r;

	assert_int_equal(bc_seal(c, m, &env, &len, id), 0);
	assert_int_equal(bc_submit(c, env, len, &r), 0);
	if (r.kind != HAVEN_FRAME_RECEIPT) {
		fail_msg("not accepted: kind %d code %s", r.kind,
		    haven_err_name((haven_err) r.reject.code));
	}
	haven_frame_release(&r);
	free(env);
}

#endif /* HAVEN_TEST_BROKER_CLIENT_H */
