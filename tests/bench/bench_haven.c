/*
 * tests/bench/bench_haven.c: the Haven side of haven-bench.
 *
 * A throw-away partnership (deploy/demo/partnership.sh) and the real
 * haven-broker on a free loopback port. The sender is police.cambs: it
 * seals each 1 KiB notification with haven_envelope_seal (sign + encrypt
 * to the school's key), submits it on a CurveZMQ DEALER and keeps up to
 * `window` submissions in flight, verifying every broker receipt. The
 * receiver is school.urn.110123: for each batch of deliveries it decodes,
 * verifies the signature and view hash, decrypts, re-encrypts the payload
 * under its store key as the agent's inbox does, commits one fsync'd LMDB
 * transaction, and only then acknowledges each message. This is the path
 * of the real agent, done with the same libhaven calls.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench.h"
#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/envelope.h"
#include "haven/keys.h"
#include "haven/wire.h"
#include "util.h"

#define SENDER "police.cambs"
#define RECEIVER "school.urn.110123"

/* One agency's connection: keys, directory and its DEALER socket. */
typedef struct agent {
	haven_keys *keys;
	haven_directory *dir;
	uint8_t broker_sign[HAVEN_KEY_BYTES];
	void *sock;
	hb_store store;
	bool has_store;
} agent;

struct hb_haven {
	char dir[512];
	int port;
	pid_t broker;
	void *zctx;
	uint64_t seq;
	bool open;
	agent tx; /* police.cambs */
	agent rx; /* school.urn.110123 */
};

static void
agent_close(agent *a)
{
	if (a->sock != NULL) {
		zmq_close(a->sock);
	}
	if (a->has_store) {
		hb_store_close(&a->store);
	}
	haven_directory_destroy(&a->dir);
	haven_keys_destroy(&a->keys);
	memset(a, 0, sizeof(*a));
}

static int
agent_load(agent *a, const hb_haven *h, const char *agency)
{
	char path[1024], err[256];
	haven_pubkey admin;
	const haven_agency *brk;

	snprintf(path, sizeof(path), "%s/admin.pub", h->dir);
	if (haven_pubkey_load(&admin, path, err, sizeof(err)) != HAVEN_OK) {
		fprintf(stderr, "haven-bench: admin.pub: %s\n", err);
		return (-1);
	}
	snprintf(path, sizeof(path), "%s/directory.signed", h->dir);
	if (haven_directory_load(&a->dir, path, admin.sign_pk, err,
	    sizeof(err)) != HAVEN_OK) {
		fprintf(stderr, "haven-bench: directory: %s\n", err);
		return (-1);
	}
	snprintf(path, sizeof(path), "%s/agents/%s/%s.key", h->dir, agency,
	    agency);
	if (haven_keys_load(&a->keys, path, err, sizeof(err)) != HAVEN_OK) {
		fprintf(stderr, "haven-bench: %s key: %s\n", agency, err);
		return (-1);
	}
	brk = haven_directory_find(a->dir, "broker");
	if (brk == NULL || haven_agency_key_current(brk) == NULL) {
		fprintf(stderr, "haven-bench: no broker in the directory\n");
		return (-1);
	}
	memcpy(a->broker_sign, haven_agency_key_current(brk)->sign_pk,
	    HAVEN_KEY_BYTES);
	return (0);
}

static int
agent_connect(agent *a, const hb_haven *h)
{
	const haven_agency *brk = haven_directory_find(a->dir, "broker");
	haven_pubkey me;
	char ep[64];
	int zero = 0, hwm = 100000;

	haven_keys_public(a->keys, &me);
	if ((a->sock = zmq_socket(h->zctx, ZMQ_DEALER)) == NULL) {
		return (-1);
	}
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", h->port);
	if (zmq_setsockopt(a->sock, ZMQ_CURVE_SERVERKEY,
	        haven_agency_key_current(brk)->curve_pk, 32) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_CURVE_PUBLICKEY, me.curve_pk, 32) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_CURVE_SECRETKEY,
	        haven_keys_curve_sk(a->keys), 32) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_connect(a->sock, ep) != 0) {
		fprintf(stderr, "haven-bench: connect: %s\n",
		    zmq_strerror(zmq_errno()));
		return (-1);
	}
	return (0);
}

static int
agent_open(agent *a, const hb_haven *h, const char *agency)
{
	memset(a, 0, sizeof(*a));
	if (agent_load(a, h, agency) != 0 || agent_connect(a, h) != 0) {
		agent_close(a);
		return (-1);
	}
	return (0);
}

static int
send_frame(agent *a, const haven_frame *f)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (haven_frame_encode(f, &buf, &len) != HAVEN_OK) {
		return (-1);
	}
	rc = zmq_send(a->sock, buf, len, 0) == (int) len ? 0 : -1;
	free(buf);
	return (rc);
}

/* Receive one frame if one arrives within timeout_ms: 1 got, 0 none. */
static int
recv_frame(agent *a, int timeout_ms, haven_frame *f)
{
	zmq_pollitem_t pi = { a->sock, 0, ZMQ_POLLIN, 0 };
	zmq_msg_t m;
	int rc;

	if (timeout_ms > 0 && zmq_poll(&pi, 1, timeout_ms) <= 0) {
		return (0);
	}
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, a->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return (0);
	}
	rc = haven_frame_decode(f, zmq_msg_data(&m), zmq_msg_size(&m)) ==
	    HAVEN_OK ? 1 : -1;
	zmq_msg_close(&m);
	return (rc);
}

/* ------------------------------------------------------------- sender */

/* A notification as the police agent makes it: the incident time and
 * the school's deadline from its calendar in the signed directory (the
 * broker refuses one without, or with a later deadline). */
static void
fill_header(const agent *a, haven_header *hdr, uint64_t seq)
{
	haven_calendar cal;
	int64_t now = haven__now_ms();

	memset(hdr, 0, sizeof(*hdr));
	hdr->type = HAVEN_MSG_OE_NOTIFICATION;
	hdr->seq = seq;
	hdr->n_recipients = 1;
	snprintf(hdr->recipients[0], HAVEN_ID_MAX, "%s", RECEIVER);
	hdr->has_case = true;
	randombytes_buf(hdr->case_pseud, sizeof(hdr->case_pseud));
	hdr->n_subjects = 1;
	randombytes_buf(hdr->subject_pseuds[0], HAVEN_HASH_BYTES);
	snprintf(hdr->legal_basis, HAVEN_CODE_MAX, "DAA2021-S49A");
	snprintf(hdr->purpose, HAVEN_CODE_MAX, "operation-encompass");
	hdr->created_ms = now;
	hdr->occurred_ms = now;
	if (haven_directory_calendar(a->dir, RECEIVER, &cal) != HAVEN_OK ||
	    haven_calendar_next_school_day(&cal, now, &hdr->deadline_ms) !=
	    HAVEN_OK) {
		hdr->deadline_ms = now; /* refused by the broker: reported */
	}
	hdr->expires_ms = now + 30LL * 86400000;
}

static int
submit_one(agent *a, uint64_t seq, uint64_t idx, int64_t t0)
{
	static const char *const to[] = { RECEIVER };
	uint8_t payload[HB_PAYLOAD], *env = NULL;
	haven_view_in v = { "oe.setting", to, 1, payload, sizeof(payload) };
	haven_frame f;
	haven_header hdr;
	size_t len = 0;
	char err[256] = "";
	int rc;

	fill_header(a, &hdr, seq);
	hb_payload_fill(payload, idx, t0);
	if (haven_envelope_seal(&hdr, false, &v, 1, a->keys, a->dir, &env,
	    &len, err, sizeof(err)) != HAVEN_OK) {
		fprintf(stderr, "haven-bench: seal: %s\n", err);
		return (-1);
	}
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_SUBMIT;
	f.envelope = env;
	f.envelope_len = len;
	rc = send_frame(a, &f);
	free(env);
	return (rc);
}

/* Handle one answer to a submission; returns 1 if it frees a slot. */
static int
sender_answer(agent *a, hb_phase *ph, const haven_frame *f)
{
	if (f->kind == HAVEN_FRAME_RECEIPT) {
		if (haven_receipt_verify(&f->receipt, a->broker_sign) !=
		    HAVEN_OK) {
			ph->errors++;
		}
		return (1);
	}
	if (f->kind == HAVEN_FRAME_REJECT) {
		if (ph->refused++ == 0) {
			fprintf(stderr, "haven-bench: refused: %s rule %s: %s\n",
			    haven_err_name(f->reject.code), f->reject.rule,
			    f->reject.reason);
		}
		return (1);
	}
	if (f->kind == HAVEN_FRAME_ERROR && ph->errors++ == 0) {
		fprintf(stderr, "haven-bench: broker error %u: %s\n",
		    f->error_code, f->error_reason);
	}
	return (0);
}

/* Drain answers; wait up to timeout_ms for the first one. */
static void
sender_drain(agent *a, hb_phase *ph, size_t *inflight, int timeout_ms)
{
	haven_frame f;
	int rc;

	while ((rc = recv_frame(a, timeout_ms, &f)) != 0) {
		if (rc > 0) {
			if (sender_answer(a, ph, &f) && *inflight > 0) {
				(*inflight)--;
			}
			haven_frame_release(&f);
		}
		timeout_ms = 0;
	}
}

/* Time to send message i: now when unpaced, else its slot in the schedule. */
static int64_t
slot_time(const hb_phase *ph, int64_t start, size_t i)
{
	if (ph->rate <= 0.0) {
		return (hb_now_ns());
	}
	return (start + (int64_t) ((double) i * 1e9 / ph->rate));
}

static void
run_sender(hb_haven *h, agent *a, hb_phase *ph)
{
	size_t inflight = 0;
	int64_t start = hb_now_ns();

	ph->t_start_ns = start;
	while (ph->sent < ph->n && hb_now_ns() < ph->deadline_ns) {
		int64_t due = slot_time(ph, start, ph->sent);

		if (inflight >= ph->window) {
			sender_drain(a, ph, &inflight, 10);
			continue;
		}
		if (hb_now_ns() < due) {
			int64_t wait = (due - hb_now_ns()) / 1000000;

			sender_drain(a, ph, &inflight, (int) wait);
			hb_sleep_until(due);
		}
		if (submit_one(a, ++h->seq, ph->sent, due) != 0) {
			ph->errors++;
			break;
		}
		ph->sent++;
		inflight++;
	}
	while (inflight > 0 && hb_now_ns() < ph->deadline_ns &&
	    atomic_load(&ph->received) < ph->sent) {
		sender_drain(a, ph, &inflight, 10);
	}
}

/* ----------------------------------------------------------- receiver */

typedef struct rx_item {
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	uint64_t idx;
	int64_t t0;
} rx_item;

/* Verify, open and stage one delivery in the open LMDB batch. */
static int
rx_stage(agent *a, const haven_frame *f, rx_item *it)
{
	haven_envelope *env = NULL;
	char profile[HAVEN_CODE_MAX];
	uint8_t *pl = NULL, sealed[HB_PAYLOAD + 64], nonce[24];
	size_t pl_len = 0;
	unsigned long long slen = 0;
	int rc = -1;

	if (haven_envelope_decode(&env, f->envelope, f->envelope_len) !=
	        HAVEN_OK ||
	    haven_envelope_verify(env, a->dir) != HAVEN_OK ||
	    haven_envelope_open(env, a->keys, profile, &pl, &pl_len) !=
	        HAVEN_OK ||
	    !hb_payload_read(pl, pl_len, &it->idx, &it->t0)) {
		goto out;
	}
	memcpy(it->msg_id, env->hdr.msg_id, HAVEN_MSGID_BYTES);
	randombytes_buf(nonce, sizeof(nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, &slen, pl, pl_len,
	    it->msg_id, HAVEN_MSGID_BYTES, NULL, nonce,
	    haven_keys_store_key(a->keys));
	rc = hb_store_put(&a->store, it->msg_id, HAVEN_MSGID_BYTES, sealed,
	    (size_t) slen);
out:
	if (pl != NULL) {
		sodium_memzero(pl, pl_len);
		free(pl);
	}
	haven_envelope_destroy(&env);
	return (rc);
}

/* Commit the batch (fsync), then acknowledge and record each message. */
static void
rx_commit(agent *a, hb_phase *ph, rx_item *items, size_t n)
{
	haven_frame f;
	int64_t now;

	if (hb_store_commit(&a->store) != 0) {
		ph->errors++;
		return;
	}
	now = hb_now_ns();
	for (size_t i = 0; i < n; i++) {
		memset(&f, 0, sizeof(f));
		f.kind = HAVEN_FRAME_ACK;
		memcpy(f.msg_id, items[i].msg_id, HAVEN_MSGID_BYTES);
		if (send_frame(a, &f) != 0) {
			ph->errors++;
		}
		(void) hb_phase_mark(ph, items[i].idx, items[i].t0, now);
	}
}

static int
send_hello(agent *a, uint32_t credit)
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HELLO;
	f.credit = credit;
	return (send_frame(a, &f));
}

/* One receive batch: everything that is there now, up to HB_BATCH_MAX. */
static size_t
rx_batch(agent *a, hb_phase *ph, rx_item *items)
{
	haven_frame f;
	size_t n = 0;
	int rc, wait = 200;

	while (n < HB_BATCH_MAX && (rc = recv_frame(a, wait, &f)) != 0) {
		wait = 0;
		if (rc < 0) {
			ph->errors++;
			continue;
		}
		if (f.kind == HAVEN_FRAME_DELIVER) {
			if (rx_stage(a, &f, &items[n]) == 0) {
				n++;
			} else {
				ph->errors++;
			}
		}
		haven_frame_release(&f);
	}
	rx_commit(a, ph, items, n);
	return (n);
}

typedef struct rx_args {
	hb_haven *h;
	hb_phase *ph;
	agent *a;
} rx_args;

static void *
rx_thread(void *arg)
{
	rx_args *r = arg;
	rx_item *items = calloc(HB_BATCH_MAX, sizeof(rx_item));
	int64_t last_hello = 0;

	while (items != NULL && !atomic_load(&r->ph->stop) &&
	    atomic_load(&r->ph->received) < r->ph->n &&
	    hb_now_ns() < r->ph->deadline_ns) {
		if (hb_now_ns() - last_hello > 1000000000) {
			(void) send_hello(r->a, HB_BATCH_MAX);
			last_hello = hb_now_ns();
		}
		if (rx_batch(r->a, r->ph, items) > 0) {
			last_hello = hb_now_ns(); /* not idle */
		}
	}
	free(items);
	return (NULL);
}

/* ---------------------------------------------------------- lifecycle */

static int
make_partnership(hb_haven *h)
{
	char script[1024], port[16], log[1024];
	const char *argv[] = { "/bin/sh", script, h->dir, port, NULL };
	pid_t pid;

	snprintf(script, sizeof(script), "%s/deploy/demo/partnership.sh",
	    HAVEN_SOURCE_DIR);
	snprintf(port, sizeof(port), "%d", h->port);
	snprintf(log, sizeof(log), "%s/partnership.log", h->dir);
	setenv("HAVEN_BIN_DIR", HAVEN_BIN_DIR, 1);
	if ((pid = hb_spawn(argv, log)) < 0 || hb_wait(pid, 60000) != 0) {
		fprintf(stderr, "haven-bench: partnership.sh failed (see %s)\n",
		    log);
		return (-1);
	}
	return (0);
}

int
hb_haven_start(hb_haven **out)
{
	hb_haven *h = calloc(1, sizeof(*h));
	char bin[1024], cfg[1024], log[1024];
	const char *argv[] = { bin, "--config", cfg, NULL };

	*out = NULL;
	if (h == NULL || hb_tempdir(h->dir, sizeof(h->dir), "haven") != 0 ||
	    (h->port = hb_free_port()) < 0 || make_partnership(h) != 0) {
		hb_haven_stop(&h);
		return (-1);
	}
	snprintf(bin, sizeof(bin), "%s/haven-broker", HAVEN_BIN_DIR);
	snprintf(cfg, sizeof(cfg), "%s/broker.json", h->dir);
	snprintf(log, sizeof(log), "%s/broker.log", h->dir);
	if ((h->broker = hb_spawn(argv, log)) < 0 ||
	    !hb_port_ready(h->port, 10000, h->broker)) {
		fprintf(stderr, "haven-bench: haven-broker did not start "
		    "(see %s)\n", log);
		hb_haven_stop(&h);
		return (-1);
	}
	h->zctx = zmq_ctx_new();
	*out = h;
	return (h->zctx != NULL ? 0 : -1);
}

/* Open both agents once, so that connection set-up is not measured. */
static int
haven_open(hb_haven *h)
{
	char sdir[1024];

	if (h->open) {
		return (0);
	}
	snprintf(sdir, sizeof(sdir), "%s/bench-inbox", h->dir);
	if (agent_open(&h->tx, h, SENDER) != 0 ||
	    agent_open(&h->rx, h, RECEIVER) != 0 ||
	    hb_store_open(&h->rx.store, sdir) != 0) {
		return (-1);
	}
	h->rx.has_store = true;
	h->open = true;
	return (0);
}

int
hb_haven_run(hb_haven *h, hb_phase *ph)
{
	rx_args ra = { h, ph, &h->rx };
	pthread_t th;

	if (haven_open(h) != 0 ||
	    pthread_create(&th, NULL, rx_thread, &ra) != 0) {
		return (-1);
	}
	run_sender(h, &h->tx, ph);
	hb_phase_wait(ph);
	atomic_store(&ph->stop, true);
	pthread_join(th, NULL);
	return (0);
}

void
hb_haven_stop(hb_haven **hp)
{
	hb_haven *h = *hp;

	if (h == NULL) {
		return;
	}
	agent_close(&h->tx);
	agent_close(&h->rx);
	if (h->zctx != NULL) {
		zmq_ctx_term(h->zctx);
	}
	hb_stop(h->broker);
	if (getenv("HAVEN_BENCH_KEEP") == NULL) {
		hb_rmtree(h->dir);
	} else {
		fprintf(stderr, "haven-bench: kept %s\n", h->dir);
	}
	free(h);
	*hp = NULL;
}
