/*
 * agents/session.c: frame dispatch for one broker conversation.
 *
 * Frames come from the broker over an authenticated CURVE session, but
 * they are still decoded and checked as untrusted input: receipts are
 * verified against the broker's signing key before they settle anything,
 * deliveries are verified against the directory before they are stored as
 * verified. A frame kind the broker should never send is logged and
 * dropped.
 */
#include "agent_session.h"

#include <errno.h>
#include <string.h>

#include "util.h"

typedef haven_err (*frame_fn)(haven__session *, const haven_frame *);

static haven_err
on_receipt(haven__session *s, const haven_frame *f)
{
	return (haven__agt_send_on_receipt(s, &f->receipt));
}

static haven_err
on_reject(haven__session *s, const haven_frame *f)
{
	return (haven__agt_send_on_reject(s, &f->reject));
}

static haven_err
on_credit(haven__session *s, const haven_frame *f)
{
	s->got_credit = true;
	s->credit = f->credit;
	return (HAVEN_OK);
}

static haven_err
on_heartbeat(haven__session *s, const haven_frame *f)
{
	(void) s;
	(void) f;
	return (HAVEN_OK);
}

static haven_err
on_error(haven__session *s, const haven_frame *f)
{
	s->errors++;
	s->last_error = f->error_code;
	haven__agt_log("HAVEN-AGT-BROKERERR", "code=%s",
	    haven_err_name((haven_err) f->error_code));
	return (HAVEN_OK);
}

static haven_err
on_deliver(haven__session *s, const haven_frame *f)
{
	if (!s->take_deliveries) {
		return (HAVEN_OK); /* not acked: the broker redelivers later */
	}
	return (haven__agt_deliver_on_frame(s, f));
}

static const struct {
	haven_frame_kind kind;
	frame_fn fn;
} handlers[] = {
	{ HAVEN_FRAME_RECEIPT, on_receipt },
	{ HAVEN_FRAME_REJECT, on_reject },
	{ HAVEN_FRAME_DELIVER, on_deliver },
	{ HAVEN_FRAME_CREDIT, on_credit },
	{ HAVEN_FRAME_HEARTBEAT, on_heartbeat },
	{ HAVEN_FRAME_ERROR, on_error },
};

void
haven__agt_session_init(haven__session *s, haven__agent *a,
    bool take_deliveries, haven__wait *waits, size_t n_waits)
{
	memset(s, 0, sizeof(*s));
	s->a = a;
	s->take_deliveries = take_deliveries;
	s->waits = waits;
	s->n_waits = n_waits;
	for (size_t i = 0; i < n_waits; i++) {
		if (waits[i].state == HAVEN__W_PENDING) {
			s->n_open++;
		}
	}
	s->last_rx_ms = haven__mono_ms();
}

haven_err
haven__agt_session_pump(haven__session *s, int timeout_ms)
{
	haven_frame f;
	haven_err rv;

	rv = haven__agt_client_recv(s->a->cl, timeout_ms, &f);
	if (rv == HAVEN_ETIMEDOUT || rv == (HAVEN_ESYSERR | EINTR)) {
		return (rv);
	}
	s->last_rx_ms = haven__mono_ms();
	if (rv != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-BADFRAME", "code=%s",
		    haven_err_name(rv));
		return (HAVEN_OK);
	}
	rv = HAVEN_OK;
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (handlers[i].kind == f.kind) {
			rv = handlers[i].fn(s, &f);
			break;
		}
	}
	haven_frame_release(&f);
	return (rv);
}
