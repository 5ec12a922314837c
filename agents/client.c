/*
 * agents/client.c: CurveZMQ DEALER connection (see client.h).
 *
 * The socket is bounded (HWM, max message size) so a hostile broker cannot
 * make the agent allocate without limit; the decoder refuses anything that
 * is not a well-formed Frame. The CURVE secret key is handed to libzmq
 * only through zmq_setsockopt and never copied here.
 */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "util.h"

struct haven__agent_client {
	void *ctx;
	void *sock;
};

static haven_err
sockopts(void *s, const haven_keys *me, const uint8_t *server_pk)
{
	haven_pubkey pub;
	int64_t maxmsg = (int64_t) HAVEN_FRAME_MAX + 4096;
	const int ints[][2] = {
		{ ZMQ_LINGER, 500 }, { ZMQ_SNDHWM, 1000 }, { ZMQ_RCVHWM, 1000 },
		{ ZMQ_HEARTBEAT_IVL, 1000 }, { ZMQ_HEARTBEAT_TIMEOUT, 5000 },
		{ ZMQ_HANDSHAKE_IVL, 5000 }, { ZMQ_RECONNECT_IVL, 100 },
		{ ZMQ_RECONNECT_IVL_MAX, 2000 }, { ZMQ_SNDTIMEO, 1000 },
	};

	haven_keys_public(me, &pub);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (zmq_setsockopt(s, ints[i][0], &ints[i][1], sizeof(int)) !=
		    0) {
			return (HAVEN_ESYSERR | errno);
		}
	}
	if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pk,
	        HAVEN_KEY_BYTES) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub.curve_pk,
	        HAVEN_KEY_BYTES) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, haven_keys_curve_sk(me),
	        HAVEN_KEY_BYTES) != 0) {
		return (HAVEN_ESYSERR | errno);
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_client_open(haven__agent_client **out, const char *endpoint,
    const haven_keys *me, const uint8_t server_curve_pk[HAVEN_KEY_BYTES])
{
	haven__agent_client *cl;
	haven_err rv;

	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((cl->ctx = zmq_ctx_new()) == NULL ||
	    (cl->sock = zmq_socket(cl->ctx, ZMQ_DEALER)) == NULL) {
		rv = HAVEN_ENOMEM;
		goto out;
	}
	if ((rv = sockopts(cl->sock, me, server_curve_pk)) != HAVEN_OK) {
		goto out;
	}
	if (zmq_connect(cl->sock, endpoint) != 0) {
		rv = HAVEN_EINVAL;
		goto out;
	}
	*out = cl;
	cl = NULL;
out:
	haven__agt_client_close(&cl);
	return (rv);
}

void
haven__agt_client_close(haven__agent_client **clp)
{
	haven__agent_client *cl;

	if (clp == NULL || (cl = *clp) == NULL) {
		return;
	}
	if (cl->sock != NULL) {
		(void) zmq_close(cl->sock);
	}
	if (cl->ctx != NULL) {
		while (zmq_ctx_term(cl->ctx) != 0 && errno == EINTR) {
			/* retry: a signal must not leak the context */
		}
	}
	free(cl);
	*clp = NULL;
}

haven_err
haven__agt_client_send(haven__agent_client *cl, const haven_frame *f)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;
	int rc;

	if ((rv = haven_frame_encode(f, &buf, &len)) != HAVEN_OK) {
		return (rv);
	}
	do {
		rc = zmq_send(cl->sock, buf, len, 0);
	} while (rc < 0 && errno == EINTR);
	free(buf);
	if (rc < 0) {
		return (errno == EAGAIN ? HAVEN_ETIMEDOUT :
		    HAVEN_ESYSERR | errno);
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_client_recv(haven__agent_client *cl, int timeout_ms, haven_frame *f)
{
	zmq_pollitem_t pi = { cl->sock, 0, ZMQ_POLLIN, 0 };
	zmq_msg_t msg;
	haven_err rv;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = zmq_poll(&pi, 1, timeout_ms)) < 0) {
		return (HAVEN_ESYSERR | errno);
	}
	if (rc == 0) {
		return (HAVEN_ETIMEDOUT);
	}
	(void) zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, cl->sock, ZMQ_DONTWAIT) < 0) {
		rv = (errno == EAGAIN) ? HAVEN_ETIMEDOUT :
		    HAVEN_ESYSERR | errno;
		(void) zmq_msg_close(&msg);
		return (rv);
	}
	rv = haven_frame_decode(f, zmq_msg_data(&msg), zmq_msg_size(&msg));
	(void) zmq_msg_close(&msg);
	return (rv);
}

haven_err
haven__agt_client_hello(haven__agent_client *cl, uint32_t credit)
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HELLO;
	f.credit = credit;
	return (haven__agt_client_send(cl, &f));
}

haven_err
haven__agt_client_ack(haven__agent_client *cl,
    const uint8_t msg_id[HAVEN_MSGID_BYTES])
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_ACK;
	memcpy(f.msg_id, msg_id, HAVEN_MSGID_BYTES);
	return (haven__agt_client_send(cl, &f));
}

haven_err
haven__agt_client_submit(haven__agent_client *cl, const uint8_t *envelope,
    size_t len)
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_SUBMIT;
	f.envelope = (uint8_t *) envelope;
	f.envelope_len = len;
	return (haven__agt_client_send(cl, &f));
}
