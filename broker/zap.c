/*
 * broker/zap.c: ZAP handler (see zap.h).
 *
 * Threat model: the request comes from libzmq inside our own process, but
 * its contents (domain, mechanism, credentials) are chosen by an
 * unauthenticated peer, so every frame is size-checked and anything
 * unexpected is a 400. The handler is a REP socket: every request gets
 * exactly one reply, even a malformed one, so the REP state machine never
 * wedges. The rate limiter is a fixed table (oldest slot reused): at most
 * one audit entry per key per minute. Refusals of peers that are not in
 * the directory (unknown key, wrong domain or mechanism, malformed) cost
 * an attacker nothing but a fresh random key each, so together they are
 * audited at most UNAUTH_BUDGET times per minute; the rest are counted and
 * written as one summary entry when the minute is over (haven__zap_tick),
 * so a handshake flood can neither fill the store nor the log.
 */
#include "zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "util.h"

#define ZAP_FRAMES_MAX 8
#define ZAP_CURVE_FRAMES 7
#define RATE_SLOTS 256
#define RATE_WINDOW_MS 60000
#define UNAUTH_BUDGET 60

typedef struct rate_slot {
	uint8_t key[HAVEN_KEY_BYTES];
	int64_t last_ms;
	bool used;
} rate_slot;

struct haven_zap {
	void *sock;
	rate_slot rate[RATE_SLOTS];
	haven_audit_entry pending[HAVEN_ZAP_PENDING_MAX];
	size_t n_pending;
	int64_t unauth_window_ms; /* start of the current budget window */
	uint32_t unauth_count;    /* audited in this window */
	uint64_t suppressed;      /* refusals not audited individually */
};

typedef struct zap_req {
	zmq_msg_t part[ZAP_FRAMES_MAX];
	size_t n;
	bool overflow;
} zap_req;

typedef struct zap_verdict {
	const char *status;  /* "200" or "400" */
	const char *why;     /* short reason code for log and audit */
	haven_err code;
	const char *user_id; /* agency on 200 (or the refused agency) */
	uint32_t gen;        /* key generation on 200 */
	uint8_t key[HAVEN_KEY_BYTES];
} zap_verdict;

haven_err
haven__zap_open(haven_zap **out, void *zctx)
{
	haven_zap *z;
	int linger = 0;

	*out = NULL;
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((z->sock = zmq_socket(zctx, ZMQ_REP)) == NULL) {
		free(z);
		return (HAVEN_ESYSERR | errno);
	}
	(void) zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(z->sock, HAVEN_ZAP_ENDPOINT) != 0) {
		int e = errno;
		haven__zap_close(&z);
		return (e == EADDRINUSE ? HAVEN_EEXIST : HAVEN_ESYSERR | e);
	}
	*out = z;
	return (HAVEN_OK);
}

void
haven__zap_close(haven_zap **zp)
{
	if (zp == NULL || *zp == NULL) {
		return;
	}
	if ((*zp)->sock != NULL) {
		(void) zmq_close((*zp)->sock);
	}
	free(*zp);
	*zp = NULL;
}

void *
haven__zap_socket(haven_zap *z)
{
	return (z->sock);
}

/* Read one whole request; false if none is waiting. */
static bool
req_read(void *sock, zap_req *r)
{
	zmq_msg_t extra;
	int more = 0;
	size_t ml = sizeof(more);

	r->n = 0;
	r->overflow = false;
	zmq_msg_init(&r->part[0]);
	if (zmq_msg_recv(&r->part[0], sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&r->part[0]);
		return (false);
	}
	r->n = 1;
	for (;;) {
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml) != 0 ||
		    !more) {
			break;
		}
		zmq_msg_t *m = r->n < ZAP_FRAMES_MAX ? &r->part[r->n] : &extra;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, 0) < 0) {
			zmq_msg_close(m);
			r->overflow = true;
			break;
		}
		if (m == &extra) {
			zmq_msg_close(m);
			r->overflow = true;
		} else {
			r->n++;
		}
	}
	return (true);
}

static void
req_free(zap_req *r)
{
	for (size_t i = 0; i < r->n; i++) {
		zmq_msg_close(&r->part[i]);
	}
	r->n = 0;
}

static bool
part_is(zmq_msg_t *m, const char *s)
{
	size_t n = strlen(s);

	return (zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0);
}

static void
refuse(zap_verdict *v, const char *why, haven_err code)
{
	v->status = "400";
	v->why = why;
	v->code = code;
}

/* The whole admission decision for one request. */
static void
decide(zap_req *r, const haven_directory *dir, zap_verdict *v)
{
	const haven_agency *a;
	const haven_agency_key *k = NULL;

	memset(v, 0, sizeof(*v));
	if (r->overflow || r->n != ZAP_CURVE_FRAMES ||
	    !part_is(&r->part[0], "1.0")) {
		refuse(v, "malformed", HAVEN_EDECODE);
		return;
	}
	if (!part_is(&r->part[2], HAVEN_ZAP_DOMAIN)) {
		refuse(v, "domain", HAVEN_EAUTH);
		return;
	}
	if (!part_is(&r->part[5], "CURVE") ||
	    zmq_msg_size(&r->part[6]) != HAVEN_KEY_BYTES) {
		refuse(v, "mechanism", HAVEN_EAUTH);
		return;
	}
	memcpy(v->key, zmq_msg_data(&r->part[6]), HAVEN_KEY_BYTES);
	if ((a = haven_directory_find_curve(dir, v->key, &k)) == NULL ||
	    k == NULL) {
		refuse(v, "unknown-key", HAVEN_EUNKNOWN);
		return;
	}
	v->user_id = a->id;
	if (a->revoked) {
		refuse(v, "revoked", HAVEN_EREVOKED);
	} else if (k->retired) {
		refuse(v, "retired-key", HAVEN_EREVOKED);
	} else {
		v->status = "200";
		v->why = "ok";
		v->gen = k->generation;
	}
}

/* ZMTP metadata: one property, HAVEN_ZAP_GEN_PROP = decimal generation
 * (name length byte, name, be32 value length, value). */
static size_t
gen_metadata(uint8_t out[64], uint32_t gen)
{
	const char *name = HAVEN_ZAP_GEN_PROP;
	char val[16];
	size_t nl = strlen(name), vl, off = 0;

	(void) snprintf(val, sizeof(val), "%u", (unsigned) gen);
	vl = strlen(val);
	out[off++] = (uint8_t) nl;
	memcpy(out + off, name, nl);
	off += nl;
	haven__be32_put(out + off, (uint32_t) vl);
	off += 4;
	memcpy(out + off, val, vl);
	return (off + vl);
}

static void
send_part(void *sock, const void *p, size_t n, bool more)
{
	/* A failed reply fails the handshake: closed, which is what we want. */
	(void) zmq_send(sock, p, n, more ? ZMQ_SNDMORE : 0);
}

static void
reply(void *sock, zap_req *r, const zap_verdict *v)
{
	const char *uid = v->status[0] == '2' ? v->user_id : "";
	const char *text = v->status[0] == '2' ? "OK" : "refused";
	uint8_t meta[64];
	size_t mlen = v->status[0] == '2' ? gen_metadata(meta, v->gen) : 0;

	send_part(sock, "1.0", 3, true);
	if (r->n >= 2) {
		send_part(sock, zmq_msg_data(&r->part[1]),
		    zmq_msg_size(&r->part[1]), true);
	} else {
		send_part(sock, "", 0, true);
	}
	send_part(sock, v->status, 3, true);
	send_part(sock, text, strlen(text), true);
	send_part(sock, uid, strlen(uid), true);
	send_part(sock, meta, mlen, false);
}

/* True if this key has not been audited within the last minute. */
static bool
rate_ok(haven_zap *z, const uint8_t key[HAVEN_KEY_BYTES], int64_t now_ms)
{
	rate_slot *slot = &z->rate[0];

	for (size_t i = 0; i < RATE_SLOTS; i++) {
		rate_slot *s = &z->rate[i];
		if (s->used && memcmp(s->key, key, HAVEN_KEY_BYTES) == 0) {
			if (now_ms - s->last_ms < RATE_WINDOW_MS) {
				return (false);
			}
			s->last_ms = now_ms;
			return (true);
		}
		if (!s->used || s->last_ms < slot->last_ms) {
			slot = s;
		}
	}
	memcpy(slot->key, key, HAVEN_KEY_BYTES);
	slot->last_ms = now_ms;
	slot->used = true;
	return (true);
}

/* True if an unauthenticated refusal may be audited individually. */
static bool
unauth_ok(haven_zap *z, int64_t now_ms)
{
	if (now_ms - z->unauth_window_ms >= RATE_WINDOW_MS) {
		z->unauth_window_ms = now_ms;
		z->unauth_count = 0;
	}
	return (z->unauth_count++ < UNAUTH_BUDGET);
}

static haven_audit_entry *
pending_add(haven_zap *z, int64_t now_ms, const char *actor, haven_err code)
{
	haven_audit_entry *e;

	if (z->n_pending >= HAVEN_ZAP_PENDING_MAX) {
		return (NULL);
	}
	e = &z->pending[z->n_pending++];
	memset(e, 0, sizeof(*e));
	e->time_ms = now_ms;
	e->event = HAVEN_AUDIT_AUTH_FAIL;
	haven__bcopy(e->actor, sizeof(e->actor), actor);
	e->outcome = code;
	return (e);
}

static void
record_failure(haven_zap *z, const zap_verdict *v, int64_t now_ms)
{
	char hex[2 * HAVEN_KEY_BYTES + 1];
	haven_audit_entry *e;

	if (!rate_ok(z, v->key, now_ms)) {
		return;
	}
	if (v->user_id == NULL && !unauth_ok(z, now_ms)) {
		z->suppressed++;
		return;
	}
	if ((e = pending_add(z, now_ms, v->user_id != NULL ? v->user_id :
	    "unknown", v->code)) == NULL) {
		z->suppressed++;
		return;
	}
	haven__hex_encode(hex, v->key, HAVEN_KEY_BYTES);
	hex[16] = '\0';
	haven__blog("HAVEN-BRK-AUTH-FAIL", "why=%s agency=%s key=%s", v->why,
	    v->user_id != NULL ? v->user_id : "-", hex);
	(void) snprintf(e->reason, sizeof(e->reason), "%s key=%s", v->why,
	    hex);
}

void
haven__zap_tick(haven_zap *z, int64_t now_ms, bool force)
{
	haven_audit_entry *e;

	if (z->suppressed == 0 || (!force &&
	    now_ms - z->unauth_window_ms < RATE_WINDOW_MS)) {
		return;
	}
	if ((e = pending_add(z, now_ms, "unknown", HAVEN_EAUTH)) == NULL) {
		return;
	}
	(void) snprintf(e->reason, sizeof(e->reason),
	    "flood suppressed=%llu", (unsigned long long) z->suppressed);
	haven__blog("HAVEN-BRK-AUTH-FLOOD", "suppressed=%llu",
	    (unsigned long long) z->suppressed);
	z->suppressed = 0;
	z->unauth_window_ms = now_ms;
	z->unauth_count = 0;
}

void
haven__zap_serve(haven_zap *z, const haven_directory *dir, int64_t now_ms)
{
	zap_req r;
	zap_verdict v;

	while (req_read(z->sock, &r)) {
		decide(&r, dir, &v);
		reply(z->sock, &r, &v);
		if (v.status[0] != '2') {
			record_failure(z, &v, now_ms);
		}
		req_free(&r);
	}
}

size_t
haven__zap_pending(const haven_zap *z)
{
	return (z->n_pending);
}

const haven_audit_entry *
haven__zap_pending_at(const haven_zap *z, size_t i)
{
	return (i < z->n_pending ? &z->pending[i] : NULL);
}

void
haven__zap_pending_clear(haven_zap *z)
{
	z->n_pending = 0;
}
