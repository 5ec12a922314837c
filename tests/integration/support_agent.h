/*
 * tests/integration/support_agent.h: drive a real haven-agent from a test,
 * and stand in for the broker when a test needs a hostile or refusing one.
 *
 * Built into every integration test (support_*.c). Helpers assert with
 * cmocka, so a failure points at the test that called them.
 */
#ifndef HAVEN_TEST_SUPPORT_AGENT_H
#define HAVEN_TEST_SUPPORT_AGENT_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

#include "haven/keys.h"
#include "haven/wire.h"
#include "support_harness.h"

/**
 * Run `haven-agent --config <agency's config> --json args...` (`args` is
 * NULL-terminated; a NULL ends it early) for up to timeout_ms. If `doc` is
 * non-NULL it gets the parsed JSON output (NULL if none); if `text` is
 * non-NULL it gets the raw output (malloc'd, may be NULL), else it is
 * freed. Returns the exit code as hv_run does.
 */
int hv_agent(const hv_partnership *p, const char *agency, int timeout_ms,
    json_t **doc, char **text, const char *const *args);

/** Integer member `key` of a JSON object (0 if absent or not an integer). */
int64_t hv_jint(const json_t *o, const char *key);

/** A ROUTER socket in `zctx`, bound on the partnership's broker port as a
 * CurveZMQ server with the broker's key (`broker`), linger 0. */
void *hv_fake_bind(void *zctx, const hv_partnership *p,
    const haven_keys *broker);

/** Encode `fr` and send it to the peer `rid` on ROUTER socket `sock`. */
void hv_reply(void *sock, zmq_msg_t *rid, const haven_frame *fr);

/** Called for each frame a fake broker receives; `rid` is the ROUTER
 * routing id to answer on. */
typedef void (*hv_frame_fn)(void *ctx, zmq_msg_t *rid, const haven_frame *in);

/**
 * Be the broker on ROUTER socket `sock` until process `pid` exits: each
 * [rid, frame] received must decode and goes to `fn`. After timeout_ms the
 * process is killed. Returns its exit status (hv_wait).
 */
int hv_serve(void *sock, pid_t pid, int timeout_ms, hv_frame_fn fn,
    void *ctx);

#endif
