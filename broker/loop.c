/*
 * broker/loop.c: the broker's single-threaded event loop.
 *
 * Each iteration: serve ZAP requests; read up to batch_max frames without
 * blocking; expire deliveries and idle sessions; notice a changed
 * directory/policy; then, if there is anything to do, run ONE write
 * transaction for the whole batch (group commit), commit with fsync, and
 * only then send the replies, receipts and deliveries from the outbox.
 * Sends never block (ZMQ_DONTWAIT + ROUTER_MANDATORY): a peer whose queue
 * is full just misses this send (its delivery is retried after its
 * backoff wait; a lost receipt is recovered by the agent resubmitting
 * identical bytes), and a vanished peer's session is dropped.
 *
 * The Encompass deadline monitor (deadline.h) rides on the same passes:
 * each iteration takes one cheap read-only look (the first due deadline;
 * at most once a second a walk for offline schools) and runs a pass when
 * something is due; every full pass escalates what is due before it plans
 * deliveries. POLL_MS bounds how late that look can be (0.1 s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "util.h"

#define POLL_MS 100
#define STAT_EVERY_MS 1000
#define IDLE_MIN_MS 60000

typedef struct batch {
	haven_item *v;
	size_t n;
	size_t cap;
} batch;

static void
drain(void *router)
{
	zmq_msg_t m;
	int more = 1;
	size_t ml = sizeof(more);

	while (zmq_getsockopt(router, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, router, 0) < 0) {
			zmq_msg_close(&m);
			return;
		}
		zmq_msg_close(&m);
	}
}

/* Identity and key generation, both set by our ZAP handler (zap.h). */
static void
identity_of(haven_item *it)
{
	const char *uid = zmq_msg_gets(&it->msg, "User-Id");
	const char *gen = zmq_msg_gets(&it->msg, HAVEN_ZAP_GEN_PROP);
	char *end = NULL;
	unsigned long g;

	it->identity[0] = '\0';
	it->gen = 0;
	if (uid != NULL && strlen(uid) < sizeof(it->identity)) {
		memcpy(it->identity, uid, strlen(uid) + 1);
	}
	if (gen != NULL && gen[0] >= '0' && gen[0] <= '9') {
		errno = 0;
		g = strtoul(gen, &end, 10);
		if (errno == 0 && *end == '\0' && g <= UINT32_MAX) {
			it->gen = (uint32_t) g;
		}
	}
}

/* One [rid][payload] message; false if nothing is waiting. */
static bool
read_one(void *router, haven_item *it)
{
	zmq_msg_t rid;
	int more = 0;
	size_t ml = sizeof(more);

	zmq_msg_init(&rid);
	if (zmq_msg_recv(&rid, router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&rid);
		return (false);
	}
	it->rid_len = zmq_msg_size(&rid);
	if (it->rid_len > HAVEN_RID_MAX) {
		it->rid_len = HAVEN_RID_MAX;
	}
	memcpy(it->rid, zmq_msg_data(&rid), it->rid_len);
	zmq_msg_close(&rid);
	zmq_msg_init(&it->msg);
	it->bad_parts = false;
	if (zmq_getsockopt(router, ZMQ_RCVMORE, &more, &ml) != 0 || !more ||
	    zmq_msg_recv(&it->msg, router, 0) < 0) {
		it->bad_parts = true;
	}
	identity_of(it);
	if (zmq_getsockopt(router, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
		it->bad_parts = true;
		drain(router);
	}
	return (true);
}

static size_t
read_batch(haven_broker *b, batch *bt)
{
	bt->n = 0;
	while (bt->n < bt->cap && read_one(b->router, &bt->v[bt->n])) {
		bt->n++;
	}
	return (bt->n);
}

static void
release_batch(batch *bt)
{
	for (size_t i = 0; i < bt->n; i++) {
		zmq_msg_close(&bt->v[i].msg);
	}
	bt->n = 0;
}

static void
send_one(haven_broker *b, const haven_out *o)
{
	size_t i;

	if (zmq_send(b->router, o->rid, o->rid_len,
	    ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
	    zmq_send(b->router, o->buf, o->len, ZMQ_DONTWAIT) >= 0) {
		return;
	}
	if (errno == EHOSTUNREACH) {
		haven_session *s = haven__sessions_find(&b->sessions, o->rid,
		    o->rid_len);
		for (i = 0; s != NULL && i < b->sessions.n; i++) {
			if (b->sessions.v[i] == s) {
				/* Its deliveries go to the agency's others. */
				haven__sessions_wake(&b->sessions, s->agency);
				haven__sessions_drop(&b->sessions, i);
				break;
			}
		}
	}
	haven__blog("HAVEN-BRK-SENDFAIL", "why=%s",
	    errno == EHOSTUNREACH ? "gone" : "busy");
}

static void
send_outbox(haven_broker *b)
{
	for (size_t i = 0; i < b->out.n; i++) {
		send_one(b, &b->out.v[i]);
	}
	haven__outbox_clear(&b->out);
}

static haven_err
write_auth_fails(haven_broker *b, MDB_txn *txn)
{
	haven_err rv;

	for (size_t i = 0; i < haven__zap_pending(b->zap); i++) {
		haven_audit_entry e = *haven__zap_pending_at(b->zap, i);
		if ((rv = haven__audit(b, txn, &e, NULL, NULL)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

/* One REJECT entry summarising refusals over the flood budget. */
static haven_err
flood_summary(void *arg, const char *agency, uint64_t n, uint32_t code)
{
	haven_pass_ctx *p = arg;
	haven_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.event = HAVEN_AUDIT_REJECT;
	haven__bcopy(e.actor, sizeof(e.actor), agency);
	e.outcome = code;
	(void) snprintf(e.reason, sizeof(e.reason), "flood suppressed=%llu",
	    (unsigned long long) n);
	return (haven__audit(p->b, p->txn, &e, NULL, NULL));
}

/* Audit entries decided outside this batch's frames. */
static haven_err
write_pending(haven_pass_ctx *p, bool force)
{
	haven_err rv;

	if ((rv = write_auth_fails(p->b, p->txn)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__flood_flush(&p->b->flood, p->mono_ms, force,
	    flood_summary, p));
}

/* Everything a pass does inside its transaction. */
static haven_err
pass_body(haven_pass_ctx *p, batch *bt, uint64_t *cp)
{
	haven_err rv;

	if (p->mode != HAVEN_PASS_NOWRITE &&
	    (rv = write_pending(p, false)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < bt->n; i++) {
		if ((rv = haven__handle_item(p, &bt->v[i])) != HAVEN_OK) {
			return (rv);
		}
	}
	if (p->mode == HAVEN_PASS_NOWRITE) {
		return (HAVEN_OK);
	}
	/* The deadline monitor before delivery: its escalations go out in
	 * this very pass to recipients that are connected. */
	if ((rv = haven__deadline_run(p)) != HAVEN_OK ||
	    (rv = haven__deliver_plan(p)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__maybe_checkpoint(p->b, p->txn, false, cp));
}

static haven_err
run_pass(haven_broker *b, batch *bt, haven_pass mode, haven_err refuse)
{
	haven_pass_ctx p = {b, NULL, mode, refuse, haven__now_ms(),
	    haven__mono_ms()};
	uint64_t cp = 0;
	haven_err rv;

	if ((rv = haven__store_begin(b->store, false, &p.txn)) != HAVEN_OK) {
		return (rv);
	}
	rv = pass_body(&p, bt, &cp);
	if (rv == HAVEN_OK && mode == HAVEN_PASS_NOWRITE) {
		haven__store_abort(&p.txn);
		return (HAVEN_OK);
	}
	if (rv == HAVEN_OK) {
		rv = haven__store_commit(&p.txn);
	}
	haven__store_abort(&p.txn);
	if (rv == HAVEN_OK) {
		haven__zap_pending_clear(b->zap);
		if (cp != 0) {
			b->cp_seq = cp;
		}
	}
	return (rv);
}

static void
process(haven_broker *b, batch *bt)
{
	haven_err refuse = HAVEN_EFULL;
	haven_flood saved = b->flood;
	haven_err rv;

	for (int mode = HAVEN_PASS_FULL; mode <= HAVEN_PASS_NOWRITE; mode++) {
		rv = run_pass(b, bt, (haven_pass) mode, refuse);
		if (rv == HAVEN_OK) {
			send_outbox(b);
			return;
		}
		b->flood = saved; /* counts must match what was committed */
		if (mode == HAVEN_PASS_FULL) {
			haven__deadline_hold(b, haven__mono_ms());
		}
		haven__deliver_unplan(b);
		haven__outbox_clear(&b->out);
		if (rv == HAVEN_EFULL) {
			haven__blog("HAVEN-BRK-FULL", "pass=%d frames=%zu "
			    "refusing new submissions", mode, bt->n);
		} else {
			haven__blog("HAVEN-BRK-STORE-ERR", "pass=%d code=%s",
			    mode, haven_err_name(rv));
			refuse = rv == HAVEN_ENOMEM ? HAVEN_ENOMEM : HAVEN_EIO;
		}
	}
}

static bool
any_want(const haven_broker *b)
{
	for (size_t i = 0; i < b->sessions.n; i++) {
		if (b->sessions.v[i]->want &&
		    haven__session_free(b->sessions.v[i]) > 0) {
			return (true);
		}
	}
	return (false);
}

static void
watch_files(haven_broker *b, int64_t mono)
{
	haven_filestamp d, p;

	if (mono - b->last_stat_ms < STAT_EVERY_MS) {
		return;
	}
	b->last_stat_ms = mono;
	haven__filestamp(b->cfg.directory, &d);
	haven__filestamp(b->cfg.policy, &p);
	if (!haven__filestamp_eq(&d, &b->dir_stamp) ||
	    !haven__filestamp_eq(&p, &b->pol_stamp)) {
		haven__broker_reload(b);
	}
}

static void
final_checkpoint(haven_broker *b)
{
	haven_pass_ctx p = {b, NULL, HAVEN_PASS_FULL, HAVEN_OK,
	    haven__now_ms(), haven__mono_ms()};
	uint64_t cp = 0;
	haven_err rv;

	haven__zap_tick(b->zap, p.now_ms, true);
	if ((rv = haven__store_begin(b->store, false, &p.txn)) == HAVEN_OK) {
		rv = write_pending(&p, true);
	}
	if (rv == HAVEN_OK) {
		rv = haven__maybe_checkpoint(b, p.txn, true, &cp);
	}
	if (rv == HAVEN_OK) {
		rv = haven__store_commit(&p.txn);
	}
	haven__store_abort(&p.txn);
	if (rv != HAVEN_OK) {
		haven__blog("HAVEN-BRK-STORE-ERR", "during=stop code=%s",
		    haven_err_name(rv));
	} else if (cp != 0) {
		b->cp_seq = cp;
	}
}

static void
iterate(haven_broker *b, batch *bt, volatile sig_atomic_t *hup)
{
	zmq_pollitem_t items[2] = {
		{b->router, 0, ZMQ_POLLIN, 0},
		{haven__zap_socket(b->zap), 0, ZMQ_POLLIN, 0},
	};
	int64_t mono, idle = 10 * (int64_t) b->cfg.heartbeat_ms;

	if (*hup) {
		*hup = 0;
		haven__broker_reload(b);
	}
	if (zmq_poll(items, 2, POLL_MS) < 0 && errno != EINTR) {
		haven__blog("HAVEN-BRK-ERROR", "poll: %s", zmq_strerror(errno));
		return;
	}
	if (items[1].revents & ZMQ_POLLIN) {
		haven__zap_serve(b->zap, b->dir, haven__now_ms());
	}
	haven__zap_tick(b->zap, haven__now_ms(), false);
	(void) read_batch(b, bt);
	mono = haven__mono_ms();
	haven__sessions_tick(&b->sessions, mono,
	    idle < IDLE_MIN_MS ? IDLE_MIN_MS : idle);
	watch_files(b, mono);
	if (bt->n > 0 || any_want(b) || haven__zap_pending(b->zap) > 0 ||
	    haven__flood_due(&b->flood, mono) ||
	    haven__deadline_due(b, haven__now_ms(), mono)) {
		process(b, bt);
	}
	release_batch(bt);
}

haven_err
haven__broker_run(haven_broker *b, volatile sig_atomic_t *stop,
    volatile sig_atomic_t *hup)
{
	batch bt;

	bt.cap = b->cfg.batch_max;
	bt.n = 0;
	if ((bt.v = calloc(bt.cap, sizeof(*bt.v))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	b->last_stat_ms = haven__mono_ms();
	while (!*stop) {
		iterate(b, &bt, hup);
	}
	final_checkpoint(b);
	free(bt.v);
	haven__blog("HAVEN-BRK-STOP", "audit_checkpoint=%llu",
	    (unsigned long long) b->cp_seq);
	return (HAVEN_OK);
}
