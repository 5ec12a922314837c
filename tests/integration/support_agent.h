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
#include <stdbool.h>
#include <stddef.h>
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

/**
 * A new partnership (calloc'd and created, asserting): with the test clock
 * set to `when` (RFC 3339) unless it is NULL, then its broker started if
 * `start`. Release with hv_teardown.
 */
hv_partnership *hv_partnership_new(const char *when, bool start);

/** cmocka teardown for a state holding a hv_partnership_new partnership:
 * destroys and frees it. Always returns 0. */
int hv_teardown(void **state);

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

/* ---- MARAC and perpetrator panel (test_marac_scenarios.c) ---- */

/** Max message ids hv_inbox_ids returns. */
#define HV_IDS_MAX 32

/**
 * The rule a refused command named: its JSON error's "rule", or the
 * "rule" of the first rejected message's "reject"; NULL if neither.
 * Borrowed from `doc`.
 */
const char *hv_refused_rule(const json_t *doc);

/** True if JSON array `arr` holds the string `s`. */
bool hv_jarray_has(const json_t *arr, const char *s);

/** Run `sync` for `agency` (must exit 0); returns "delivered". */
int64_t hv_sync(const hv_partnership *p, const char *agency);

/** `inbox` of `agency`: the ids (32 hex + NUL) of its verified messages
 * of type `type` (a type name, e.g. "MARAC_CASE_LIST"; NULL: any).
 * Returns how many (at most HV_IDS_MAX). */
size_t hv_inbox_ids(const hv_partnership *p, const char *agency,
    const char *type, char ids[][33]);

/** `show MSGID --json` for `agency`: the raw output (malloc'd; free) and,
 * if doc is not NULL, the parsed document. Asserts exit 0. */
char *hv_show(const hv_partnership *p, const char *agency,
    const char *msg_id, json_t **doc);

#endif
