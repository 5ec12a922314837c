/*
 * agents/client.h: the agent's CurveZMQ DEALER connection to the broker.
 *
 * One DEALER socket, CURVE client with the agency's transport key and the
 * broker's server key from the signed directory (agency "broker"). Frames
 * are exactly one serialised haven_frame per ZeroMQ message, capped at
 * HAVEN_FRAME_MAX on receive by ZMQ_MAXMSGSIZE and again by the decoder.
 * The connection reconnects by itself (libzmq); a caller that hears nothing
 * for a while may close and reopen to force a fresh handshake.
 */
#ifndef HAVEN_AGENTS_CLIENT_H
#define HAVEN_AGENTS_CLIENT_H

#include "haven/keys.h"
#include "haven/wire.h"

typedef struct haven__agent_client haven__agent_client;

/**
 * Connect to `endpoint` as `me`, authenticating the broker by
 * `server_curve_pk`. Returns at once; the handshake runs in the background.
 * @return HAVEN_OK, HAVEN_EINVAL (endpoint refused by libzmq),
 *   HAVEN_ENOMEM, HAVEN_ESYSERR|errno.
 */
HAVEN_NODISCARD haven_err haven__agt_client_open(haven__agent_client **out,
    const char *endpoint, const haven_keys *me,
    const uint8_t server_curve_pk[HAVEN_KEY_BYTES]);

/** Close (linger up to 500 ms for queued frames); NULL-tolerant. */
void haven__agt_client_close(haven__agent_client **cl);

/** Encode and send one frame; HAVEN_ETIMEDOUT if it cannot be queued
 * (high-water mark reached) within 1 s. */
HAVEN_NODISCARD haven_err haven__agt_client_send(haven__agent_client *cl,
    const haven_frame *f);

/**
 * Wait up to `timeout_ms` for one frame and decode it into `f` (release
 * with haven_frame_release). A malformed frame is HAVEN_EDECODE (it has
 * been consumed). HAVEN_ETIMEDOUT when nothing came; HAVEN_ESYSERR|EINTR
 * when a signal interrupted the wait.
 */
HAVEN_NODISCARD haven_err haven__agt_client_recv(haven__agent_client *cl,
    int timeout_ms, haven_frame *f);

/** Convenience senders. */
HAVEN_NODISCARD haven_err haven__agt_client_hello(haven__agent_client *cl,
    uint32_t credit);
HAVEN_NODISCARD haven_err haven__agt_client_ack(haven__agent_client *cl,
    const uint8_t msg_id[HAVEN_MSGID_BYTES]);
HAVEN_NODISCARD haven_err haven__agt_client_submit(haven__agent_client *cl,
    const uint8_t *envelope, size_t len);

#endif /* HAVEN_AGENTS_CLIENT_H */
