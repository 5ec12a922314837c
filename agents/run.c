/*
 * agents/run.c: `haven-agent sync` and `haven-agent run`.
 *
 * sync: connect, resend pending outbox entries (the stored bytes: the
 * broker answers a resubmission with the original receipt), say Hello,
 * and take deliveries until the broker reports nothing queued for us and
 * every resend has an answer, or nothing has progressed for timeout_ms.
 *
 * run: the same, forever: Hello every second while idle (it survives
 * broker restarts), resend pending entries and reload the directory file
 * if it changed every few seconds, reconnect when the broker has been
 * silent too long, stop cleanly on SIGTERM or SIGINT. A storage failure
 * never acks: the broker redelivers later.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "agent_session.h"
#include "util.h"

#define RESEND_MAX 256
#define QUIET_MS 300
#define HELLO_IDLE_MS 1000
#define RESEND_EVERY_MS 5000
#define SILENT_MS 5000

typedef struct resend {
	haven__wait waits[RESEND_MAX];
	size_t n;
	size_t total; /* submissions over the whole command */
} resend;

/* Load up to RESEND_MAX pending outbox ids as waits and submit them. */
static haven_err
resend_pending(haven__session *s, resend *rs)
{
	uint8_t ids[RESEND_MAX][HAVEN_MSGID_BYTES];
	haven_err rv;

	rs->n = 0;
	rv = haven__agt_store_outbox_pending(s->a->store, ids, RESEND_MAX,
	    &rs->n);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	memset(rs->waits, 0, sizeof(rs->waits));
	for (size_t i = 0; i < rs->n; i++) {
		memcpy(rs->waits[i].msg_id, ids[i], HAVEN_MSGID_BYTES);
	}
	s->waits = rs->waits;
	s->n_waits = rs->n;
	s->n_open = rs->n;
	rs->total += rs->n;
	return (haven__agt_send_ids(s,
	    (const uint8_t (*)[HAVEN_MSGID_BYTES]) ids,
	    rs->n));
}

/* ------------------------------------------------------------ sync */

typedef struct sync_state {
	bool asked;      /* Hello sent, Credit not yet seen */
	bool drained;
	int64_t progress; /* monotonic ms of the last useful frame */
	uint64_t seen;    /* delivered + duplicates + unverified + answers */
} sync_state;

static uint64_t
activity(const haven__session *s)
{
	return (s->delivered + s->duplicates + s->unverified + s->receipted +
	    s->rejected);
}

static haven_err
sync_step(haven__session *s, sync_state *st)
{
	haven_err rv = haven__agt_session_pump(s, 100);
	int64_t now = haven__mono_ms();

	if (rv != HAVEN_OK && rv != HAVEN_ETIMEDOUT) {
		return (rv);
	}
	if (activity(s) != st->seen) {
		st->seen = activity(s);
		st->progress = now;
	}
	if (st->asked && s->got_credit) {
		st->asked = false;
		st->drained = s->credit == 0;
	}
	if (!st->asked && !st->drained && now - s->last_rx_ms >= QUIET_MS) {
		s->got_credit = false; /* ask again: how many still queued? */
		st->asked = true;
		rv = haven__agt_client_hello(s->a->cl, s->a->cfg.credit);
	}
	return (rv == HAVEN_ETIMEDOUT ? HAVEN_OK : rv);
}

/*
 * A whole batch has an answer and the outbox may hold more: send the next
 * batch, but only if the last one settled something (a batch refused as
 * transient would otherwise be resent in a tight loop).
 */
static haven_err
sync_more(haven__session *s, resend *rs, uint64_t *settled)
{
	uint64_t now = s->receipted + s->rejected;

	if (s->n_open != 0 || rs->n < RESEND_MAX || now == *settled) {
		return (HAVEN_OK);
	}
	*settled = now;
	return (resend_pending(s, rs));
}

/* What the outbox still holds unanswered: the store is the truth, not the
 * session (a transient refusal settles a wait but not the entry). */
static size_t
still_pending(haven__agent *a)
{
	uint8_t (*ids)[HAVEN_MSGID_BYTES] = calloc(RESEND_MAX, sizeof(*ids));
	size_t n = RESEND_MAX;

	if (ids != NULL && haven__agt_store_outbox_pending(a->store, ids,
	    RESEND_MAX, &n) != HAVEN_OK) {
		n = RESEND_MAX;
	}
	free(ids);
	return (n);
}

static int
sync_report(haven__agent *a, const haven__session *s, const resend *rs,
    bool drained)
{
	size_t pend = still_pending(a);
	bool ok = drained && pend == 0 && s->store_failed == 0 &&
	    s->unknown_key == 0;

	if (a->out.json) {
		haven__agt_out_json(json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:I, s:b}", "ok", ok, "command", "sync",
		    "delivered", (json_int_t) s->delivered, "duplicates",
		    (json_int_t) s->duplicates, "unverified",
		    (json_int_t) s->unverified, "unknown_key",
		    (json_int_t) s->unknown_key, "resent",
		    (json_int_t) rs->total, "receipted",
		    (json_int_t) s->receipted, "rejected",
		    (json_int_t) s->rejected, "pending", (json_int_t) pend,
		    "drained", drained));
	} else {
		(void) printf("delivered %llu, duplicates %llu, "
		    "unverified %llu, left unacked (sender key unknown) %llu; "
		    "resent %zu: receipted %llu, rejected %llu, pending %zu; "
		    "%s\n", (unsigned long long) s->delivered,
		    (unsigned long long) s->duplicates,
		    (unsigned long long) s->unverified,
		    (unsigned long long) s->unknown_key, rs->total,
		    (unsigned long long) s->receipted,
		    (unsigned long long) s->rejected, pend,
		    drained ? "queue drained" : "queue NOT drained (timeout)");
	}
	return (ok ? 0 : 1);
}

int
haven__agt_cmd_sync(haven__agent *a, const haven__args *args)
{
	haven__session s;
	sync_state st;
	uint64_t settled = 0;
	resend *rs;
	haven_err rv;
	int ec;

	(void) args;
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		return (haven__agt_out_fail(&a->out, HAVEN_ENOMEM, 1, NULL,
		    NULL,
		    "out of memory"));
	}
	memset(&st, 0, sizeof(st));
	if ((rv = haven__agent_connect(a)) != HAVEN_OK) {
		free(rs);
		return (haven__agt_out_fail(&a->out, rv, 1, "broker", NULL,
		    "cannot connect"));
	}
	haven__agt_session_init(&s, a, true, NULL, 0);
	if ((rv = resend_pending(&s, rs)) == HAVEN_OK) {
		st.asked = true;
		rv = haven__agt_client_hello(a->cl, a->cfg.credit);
	}
	st.progress = haven__mono_ms();
	while (rv == HAVEN_OK && !(st.drained && s.n_open == 0) &&
	    haven__mono_ms() - st.progress < a->cfg.timeout_ms) {
		if ((rv = sync_step(&s, &st)) == HAVEN_OK) {
			rv = sync_more(&s, rs, &settled);
		}
	}
	if (rv != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-SYNC", "code=%s", haven_err_name(rv));
	}
	ec = sync_report(a, &s, rs, st.drained);
	free(rs);
	return (ec);
}

/* ------------------------------------------------------------ run */

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void) sig;
	stop_requested = 1;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void) sigemptyset(&sa.sa_mask);
	(void) sigaction(SIGTERM, &sa, NULL);
	(void) sigaction(SIGINT, &sa, NULL);
}

static void
nap(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

	(void) nanosleep(&ts, NULL); /* EINTR ends it early: fine */
}

typedef struct run_state {
	haven__session s;
	resend rs;
	int64_t last_hello;
	int64_t last_resend;
	bool fresh; /* just (re)connected */
} run_state;

static void
run_connect(haven__agent *a, run_state *r)
{
	haven_err rv = haven__agent_reconnect(a);

	if (rv != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-CONNECT", "code=%s",
		    haven_err_name(rv));
		nap(1000);
		return;
	}
	haven__agt_session_init(&r->s, a, true, NULL, 0);
	r->fresh = true;
}

/* Pick up a re-signed directory (new agencies, rotated keys, revocations)
 * without a restart. A refused file keeps the current directory. */
static void
run_directory(haven__agent *a)
{
	bool changed = false;
	haven_err rv = haven__agent_dir_refresh(a, &changed);

	if (rv != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-DIRFAIL", "code=%s",
		    haven_err_name(rv));
	} else if (changed) {
		haven__agt_log("HAVEN-AGT-DIRECTORY", "version=%llu",
		    (unsigned long long) haven_directory_version(a->dir));
	}
}

static void
run_timers(haven__agent *a, run_state *r)
{
	int64_t now = haven__mono_ms();
	haven_err rv = HAVEN_OK;

	if (!r->fresh && now - r->last_resend >= RESEND_EVERY_MS) {
		run_directory(a);
		if (a->cl == NULL) {
			return; /* the broker's key changed: reconnect first */
		}
	}
	if (r->fresh || now - r->last_resend >= RESEND_EVERY_MS) {
		rv = resend_pending(&r->s, &r->rs);
		r->last_resend = now;
	}
	if (rv == HAVEN_OK && (r->fresh || (now - r->last_hello >=
	    HELLO_IDLE_MS && now - r->s.last_rx_ms >= HELLO_IDLE_MS))) {
		rv = haven__agt_client_hello(a->cl, a->cfg.credit);
		r->last_hello = now;
	}
	r->fresh = false;
	if (rv != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-RUN", "code=%s", haven_err_name(rv));
	}
}

static void
run_step(haven__agent *a, run_state *r)
{
	haven_err rv;

	if (a->cl == NULL) {
		run_connect(a, r);
		return;
	}
	run_timers(a, r);
	rv = haven__agt_session_pump(&r->s, 200);
	if (rv != HAVEN_OK && rv != HAVEN_ETIMEDOUT &&
	    rv != (HAVEN_ESYSERR | EINTR)) {
		haven__agt_log("HAVEN-AGT-RUN", "code=%s", haven_err_name(rv));
		nap(500); /* storage trouble: nothing was acked */
	}
	if (haven__mono_ms() - r->s.last_rx_ms > SILENT_MS) {
		haven__agt_log("HAVEN-AGT-RECONNECT", "broker silent for %d ms",
		    SILENT_MS);
		haven__agt_client_close(&a->cl);
	}
}

int
haven__agt_cmd_run(haven__agent *a, const haven__args *args)
{
	run_state *r;

	(void) args;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return (haven__agt_out_fail(&a->out, HAVEN_ENOMEM, 1, NULL,
		    NULL,
		    "out of memory"));
	}
	install_signals();
	haven__agt_log("HAVEN-AGT-START", "agency=%s", a->cfg.agency);
	while (!stop_requested) {
		run_step(a, r);
	}
	haven__agt_log("HAVEN-AGT-STOP", "agency=%s delivered=%llu",
	    a->cfg.agency, (unsigned long long) r->s.delivered);
	free(r);
	return (0);
}
