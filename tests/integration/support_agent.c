/*
 * tests/integration/support_agent.c: haven-agent runs and a fake broker
 * loop for integration tests (see support_agent.h).
 *
 * The fake broker is a plain ROUTER socket on loopback; every frame it
 * receives must decode, so an agent that sends garbage fails the test.
 */
#include "support_agent.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define AGENT_ARGS_MAX 16

int
hv_agent(const hv_partnership *p, const char *agency, int timeout_ms,
    json_t **doc, char **text, const char *const *args)
{
	const char *argv[AGENT_ARGS_MAX] = { "--config",
		hv_agent_config(p, agency), "--json" };
	char *out = NULL;
	size_t n = 3;
	int rc;

	for (size_t i = 0; args[i] != NULL; i++) {
		assert_true(n < AGENT_ARGS_MAX - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	rc = hv_run(p, "haven-agent", argv, timeout_ms, &out);
	if (doc != NULL) {
		*doc = hv_json(out);
	}
	if (text != NULL) {
		*text = out;
	} else {
		free(out);
	}
	return (rc);
}

hv_partnership *
hv_partnership_new(const char *when, bool start)
{
	hv_partnership *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(hv_partnership_create(p), 0);
	if (when != NULL) {
		assert_int_equal(hv_clock_set(p, when), 0);
	}
	if (start) {
		assert_int_equal(hv_broker_start(p), 0);
	}
	return (p);
}

int
hv_teardown(void **state)
{
	hv_partnership *p = *state;

	hv_partnership_destroy(p);
	free(p);
	*state = NULL;
	return (0);
}

int64_t
hv_jint(const json_t *o, const char *key)
{
	return ((int64_t) json_integer_value(json_object_get(o, key)));
}

void *
hv_fake_bind(void *zctx, const hv_partnership *p, const haven_keys *broker)
{
	void *sock = zmq_socket(zctx, ZMQ_ROUTER);
	char ep[64];
	int one = 1, linger = 0;

	assert_non_null(sock);
	assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one,
	    sizeof(one)), 0);
	assert_int_equal(zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY,
	    haven_keys_curve_sk(broker), HAVEN_KEY_BYTES), 0);
	assert_int_equal(zmq_setsockopt(sock, ZMQ_LINGER, &linger,
	    sizeof(linger)), 0);
	(void) snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", p->port);
	assert_int_equal(zmq_bind(sock, ep), 0);
	return (sock);
}

void
hv_reply(void *sock, zmq_msg_t *rid, const haven_frame *fr)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	zmq_msg_t copy;

	assert_int_equal(haven_frame_encode(fr, &buf, &len), HAVEN_OK);
	(void) zmq_msg_init(&copy);
	(void) zmq_msg_copy(&copy, rid);
	assert_true(zmq_msg_send(&copy, sock, ZMQ_SNDMORE) >= 0);
	assert_true(zmq_send(sock, buf, len, 0) >= 0);
	free(buf);
}

/* Receive one [rid, frame] and hand it to `fn`. */
static void
serve_one(void *sock, hv_frame_fn fn, void *ctx)
{
	zmq_msg_t rid, body;
	haven_frame in;

	(void) zmq_msg_init(&rid);
	(void) zmq_msg_init(&body);
	assert_true(zmq_msg_recv(&rid, sock, 0) >= 0);
	assert_true(zmq_msg_recv(&body, sock, 0) >= 0);
	assert_int_equal(haven_frame_decode(&in, zmq_msg_data(&body),
	    zmq_msg_size(&body)), HAVEN_OK);
	fn(ctx, &rid, &in);
	haven_frame_release(&in);
	(void) zmq_msg_close(&rid);
	(void) zmq_msg_close(&body);
}

int
hv_serve(void *sock, pid_t pid, int timeout_ms, hv_frame_fn fn, void *ctx)
{
	int st;

	for (int t = 0; t < timeout_ms / 50; t++) {
		zmq_pollitem_t pi = { sock, 0, ZMQ_POLLIN, 0 };

		if ((st = hv_wait(pid, 1)) >= 0) {
			return (st);
		}
		if (zmq_poll(&pi, 1, 50) > 0) {
			serve_one(sock, fn, ctx);
		}
	}
	(void) kill(pid, SIGKILL);
	return (hv_wait(pid, 5000));
}

/* ------------------------------------------------ MARAC helpers */

#define MARAC_T_MS 30000

const char *
hv_refused_rule(const json_t *doc)
{
	const json_t *m;
	size_t i;
	const char *r = json_string_value(json_object_get(json_object_get(doc,
	    "error"), "rule"));

	if (r != NULL) {
		return (r);
	}
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		r = json_string_value(json_object_get(json_object_get(m,
		    "reject"), "rule"));
		if (r != NULL) {
			return (r);
		}
	}
	return (NULL);
}

bool
hv_jarray_has(const json_t *arr, const char *s)
{
	const json_t *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) {
			return (true);
		}
	}
	return (false);
}

int64_t
hv_sync(const hv_partnership *p, const char *agency)
{
	const char *const args[] = { "sync", NULL };
	json_t *doc = NULL;
	int64_t n;

	assert_int_equal(hv_agent(p, agency, MARAC_T_MS, &doc, NULL, args),
	    0);
	n = hv_jint(doc, "delivered");
	json_decref(doc);
	return (n);
}

size_t
hv_inbox_ids(const hv_partnership *p, const char *agency, const char *type,
    char ids[][33])
{
	const char *const args[] = { "inbox", NULL };
	json_t *doc = NULL;
	const json_t *m;
	size_t i, n = 0;

	assert_int_equal(hv_agent(p, agency, MARAC_T_MS, &doc, NULL, args),
	    0);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		const char *t = json_string_value(json_object_get(m, "type"));
		const char *id = json_string_value(json_object_get(m,
		    "msg_id"));

		if (n < HV_IDS_MAX && t != NULL && id != NULL &&
		    strlen(id) == 32 &&
		    json_is_true(json_object_get(m, "verified")) &&
		    (type == NULL || strcmp(t, type) == 0)) {
			(void) snprintf(ids[n++], 33, "%s", id);
		}
	}
	json_decref(doc);
	return (n);
}

char *
hv_show(const hv_partnership *p, const char *agency, const char *msg_id,
    json_t **doc)
{
	const char *const args[] = { "show", msg_id, NULL };
	char *text = NULL;

	assert_int_equal(hv_agent(p, agency, MARAC_T_MS, doc, &text, args), 0);
	assert_non_null(text);
	return (text);
}
