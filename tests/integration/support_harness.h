/*
 * tests/integration/support_harness.h: real processes for integration tests.
 *
 * A test makes a throw-away partnership (deploy/demo/partnership.sh: keys,
 * signed directory and policy, broker and agent configs on a free loopback
 * port) in a mkdtemp directory, starts the real haven-broker, runs real
 * haven-agent / havenctl commands and reads their JSON output.
 *
 * If HAVEN_TEST_WRAPPER is set in the environment (e.g. "valgrind
 * --leak-check=full --error-exitcode=99 -q"), every spawned program runs
 * under it, so the suite can be run under valgrind without changing tests.
 *
 * Layout made by partnership.sh DIR PORT:
 *   DIR/admin.key admin.pub broker.key broker.pub partnership.pseudonym
 *   DIR/directory.json directory.signed policy.json policy.signed
 *   DIR/broker.json                      (data_dir DIR/broker-data)
 *   DIR/agents/<agency>/agent.json <agency>.key <agency>.pub data/
 * Agencies: see AGENCIES in partnership.sh (police, the SPOC, two schools
 * and their deputy DSLs, the LA and its EHE officer and education
 * safeguarding team, housing, IDVA, MARAC coordinator, GP, probation, drug
 * service, refuge, the North and South perpetrator panels) and broker.
 */
#ifndef HAVEN_TEST_SUPPORT_HARNESS_H
#define HAVEN_TEST_SUPPORT_HARNESS_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct hv_partnership {
	char dir[256];
	int port;
	pid_t broker;   /* 0 when not running */
} hv_partnership;

/** Create a fresh partnership in a new temp dir on a free port. 0 on success. */
int hv_partnership_create(hv_partnership *p);

/** Stop the broker (if running) and remove the directory tree. */
void hv_partnership_destroy(hv_partnership *p);

/** Path of a file inside the partnership: hv_path(p, "agents/police.cambs/agent.json"). Static
 * buffer rotated among 8 slots: copy it if you need it long. */
const char *hv_path(const hv_partnership *p, const char *rel);

/** Config path of an agency's agent. */
const char *hv_agent_config(const hv_partnership *p, const char *agency);

/** Start the broker with DIR/broker.json; waits until it accepts connections (up to 10 s).
 * Its stderr goes to DIR/broker.log (appended). 0 on success. */
int hv_broker_start(hv_partnership *p);

/** SIGTERM (graceful) and wait; returns the exit status (or -1). */
int hv_broker_stop(hv_partnership *p);

/** SIGKILL and reap. */
void hv_broker_kill(hv_partnership *p);

/** Re-sign the directory after editing DIR/directory.json with havenctl and send SIGHUP to
 * the broker. 0 on success. */
int hv_broker_reload(hv_partnership *p);

/** Run a program from HAVEN_BIN_DIR (e.g. "haven-agent") with NULL-terminated args, wait up to
 * timeout_ms, capture stdout into *out (malloc'd, may be NULL) and return the exit code (or -1 on
 * timeout, having killed it; -2 on spawn failure). stderr goes to DIR/<prog>.log. */
int hv_run(const hv_partnership *p, const char *prog, const char *const *args, int timeout_ms,
    char **out);

/** Start a program in the background (stdout/stderr appended to DIR/<prog>-<pid>.log). */
pid_t hv_spawn(const hv_partnership *p, const char *prog, const char *const *args);

/** Wait for a pid up to timeout_ms; returns exit code, 128+signal, or -1 on timeout. */
int hv_wait(pid_t pid, int timeout_ms);

/** Parse JSON (object or array) from a command's output; NULL if malformed. */
json_t *hv_json(const char *text);

/** Write a string to DIR/rel; 0 on success. */
int hv_write(const hv_partnership *p, const char *rel, const char *text);

/**
 * Put this test and every program it starts from now on onto the
 * controlled clock (lib/clock.c) and set it: `when` is RFC 3339
 * ("2026-11-27T22:40:00Z") or milliseconds since the epoch. The clock file
 * DIR/clock is replaced atomically, so a running broker sees the new time
 * at its next look (within its poll interval, about a second). Time stands
 * still between calls. 0 on success.
 */
int hv_clock_set(const hv_partnership *p, const char *when);

/** Poll `pred(arg)` every 50 ms (real time) for up to timeout_ms; true once
 * it holds. For waiting on a broker to act after hv_clock_set. */
bool hv_eventually(bool (*pred)(void *arg), void *arg, int timeout_ms);

#endif
