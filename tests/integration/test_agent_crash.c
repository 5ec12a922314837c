/*
 * tests/integration/test_agent_crash.c: the crash test.
 *
 * Rounds of police submissions while the test SIGKILLs, at random moments,
 * the broker, the submitting agent, the receiving school's `run` agent or
 * another school's `sync`, and restarts whatever it killed. At the end:
 *  - every message a submit reported with a broker receipt is in its
 *    recipient's inbox exactly once, verified;
 *  - nothing a submit did not receipt was reported as sent (a killed
 *    submit reports nothing; a finished one says "pending");
 *  - the police outbox drains (pending entries are resent, same bytes);
 *  - `run` stops cleanly on SIGTERM; the broker's audit chain verifies.
 * The seed is printed; HAVEN_CRASH_SEED reproduces a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support_harness.h"

extern char **environ;

#define ROUNDS 15
#define T_MS 30000
#define SUBMITS 3 /* concurrent police submissions per round */
#define MAX_CLAIMS (ROUNDS * SUBMITS * 3)

typedef struct claim {
	char msg_id[40];
	char recipient[64];
} claim;

typedef struct crash {
	hv_partnership p;
	pid_t runner;     /* school A's `run` agent */
	claim claims[MAX_CLAIMS];
	size_t n_claims;
	int kills[4];
	int pending_runs; /* submits that ended with something pending */
} crash;

static long long
mono_ms(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static const char *const rcpts[] = { "school.urn.110123",
	"school.urn.110456", "la.cambs.ehe" };

/* Spawn haven-agent with stdout to `out` (truncated), stderr appended to
 * DIR/crash-agents.log. */
static pid_t
spawn_agent(crash *c, const char *agency, const char *out,
    const char *a1, const char *a2, const char *a3)
{
	char prog[600], cfg[600];
	const char *argv[10] = { prog, "--config", cfg, "--json", a1, a2, a3,
		NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;

	(void) snprintf(prog, sizeof(prog), "%s/haven-agent", HAVEN_BIN_DIR);
	(void) snprintf(cfg, sizeof(cfg), "%s", hv_agent_config(&c->p, agency));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out != NULL ? out :
	    "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, hv_path(&c->p,
	    "crash-agents.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (posix_spawn(&pid, prog, &fa, NULL, (char *const *) argv,
	    environ) != 0) {
		pid = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	return (pid);
}

static void
kill_wait(pid_t pid)
{
	(void) kill(pid, SIGKILL);
	(void) hv_wait(pid, 10000);
}

static void
ensure_up(crash *c)
{
	if (c->p.broker == 0) {
		assert_int_equal(hv_broker_start(&c->p), 0);
	}
	if (c->runner == 0) {
		c->runner = spawn_agent(c, "school.urn.110123", NULL, "run",
		    NULL, NULL);
		assert_true(c->runner > 0);
	}
}

/* Record what a finished submit claims; a killed one claims nothing. */
static void
collect(crash *c, const char *out)
{
	json_error_t je;
	json_t *doc = json_load_file(out, 0, &je);
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		const char *st = json_string_value(json_object_get(m,
		    "status"));
		claim *cl;

		if (strcmp(st, "receipted") != 0) {
			assert_string_equal(st, "pending");
			assert_null(json_object_get(m, "receipt"));
			continue;
		}
		assert_true(json_integer_value(json_object_get(json_object_get(
		    m, "receipt"), "audit_seq")) > 0);
		assert_true(c->n_claims < MAX_CLAIMS);
		cl = &c->claims[c->n_claims++];
		(void) snprintf(cl->msg_id, sizeof(cl->msg_id), "%s",
		    json_string_value(json_object_get(m, "msg_id")));
		(void) snprintf(cl->recipient, sizeof(cl->recipient), "%s",
		    json_string_value(json_object_get(m, "recipient")));
	}
	json_decref(doc);
}

static void
chaos(crash *c, int action, const pid_t *submit, pid_t other)
{
	c->kills[action]++;
	switch (action) {
	case 0:
		hv_broker_kill(&c->p);
		break;
	case 1:
		(void) kill(submit[rand() % SUBMITS],
		    SIGKILL); /* reaped later */
		break;
	case 2:
		kill_wait(c->runner);
		c->runner = 0;
		break;
	default:
		(void) kill(other, SIGKILL);
		break;
	}
}

static void
round_once(crash *c, int r)
{
	char out[SUBMITS][600], rel[64];
	int action = rand() % 4, st;
	pid_t submit[SUBMITS], other;

	ensure_up(c);
	for (int i = 0; i < SUBMITS; i++) {
		(void) snprintf(rel, sizeof(rel), "submit-%d-%d.json", r, i);
		(void) snprintf(out[i], sizeof(out[i]), "%s",
		    hv_path(&c->p, rel));
		submit[i] = spawn_agent(c, "police.cambs", out[i], "encompass",
		    "submit", hv_path(&c->p, "incident.json"));
		assert_true(submit[i] > 0);
	}
	other = spawn_agent(c, "school.urn.110456", NULL, "sync", NULL, NULL);
	assert_true(other > 0);
	/* submissions take ~50 ms: strike while they are in flight */
	(void) usleep((useconds_t) (rand() % 80) * 1000);
	chaos(c, action, submit, other);
	for (int i = 0; i < SUBMITS; i++) {
		st = hv_wait(submit[i], T_MS);
		if (st != 0 && st != 1 && st != 128 + SIGKILL) {
			(void) printf("round %d action %d: submit exit %d\n", r,
			    action, st);
		}
		assert_true(st == 0 || st == 1 || st == 128 + SIGKILL);
		c->pending_runs += st == 1;
		collect(c, out[i]);
	}
	(void) hv_wait(other, T_MS);
}

static int
sync_agent(crash *c, const char *agency, json_t **doc)
{
	const char *args[] = { "--config", hv_agent_config(&c->p, agency),
		"--json", "sync", NULL };
	char *out = NULL;
	int rc = hv_run(&c->p, "haven-agent", args, T_MS, &out);

	*doc = hv_json(out);
	free(out);
	return (rc);
}

/* Every claimed message is in its recipient's inbox once, verified. */
static void
check_inbox(crash *c, const char *agency)
{
	const char *args[] = { "--config", hv_agent_config(&c->p, agency),
		"--json", "inbox", NULL };
	char *out = NULL;
	json_t *doc;
	const json_t *m;
	size_t i, checked = 0;

	assert_int_equal(hv_run(&c->p, "haven-agent", args, T_MS, &out), 0);
	doc = hv_json(out);
	free(out);
	assert_non_null(doc);
	for (size_t k = 0; k < c->n_claims; k++) {
		int seen = 0;

		if (strcmp(c->claims[k].recipient, agency) != 0) {
			continue;
		}
		json_array_foreach(json_object_get(doc, "messages"), i, m) {
			if (strcmp(json_string_value(json_object_get(m,
			    "msg_id")), c->claims[k].msg_id) == 0) {
				seen++;
				assert_true(json_is_true(json_object_get(m,
				    "verified")));
			}
		}
		assert_int_equal(seen, 1);
		checked++;
	}
	/* at most one entry per submission made: nothing invented */
	assert_true(json_array_size(json_object_get(doc, "messages")) <=
	    ROUNDS * SUBMITS);
	json_decref(doc);
	(void) checked;
}

static void
finish(crash *c)
{
	json_t *doc = NULL;

	ensure_up(c);
	/* the police resend whatever is still pending: nothing is lost */
	assert_int_equal(sync_agent(c, "police.cambs", &doc), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "pending")),
	    0);
	json_decref(doc);
	(void) kill(c->runner, SIGTERM);
	assert_int_equal(hv_wait(c->runner, T_MS), 0);
	c->runner = 0;
	for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		assert_int_equal(sync_agent(c, rcpts[i], &doc), 0);
		assert_true(json_is_true(json_object_get(doc, "drained")));
		json_decref(doc);
		check_inbox(c, rcpts[i]);
	}
	assert_int_equal(hv_broker_stop(&c->p), 0);
	{
		const char *args[] = { "audit", "verify", "--config",
			hv_path(&c->p, "broker.json"), NULL };
		assert_int_equal(hv_run(&c->p, "havenctl", args, T_MS, NULL),
		    0);
	}
}

static void
copy_fixture(crash *c)
{
	char src[600], buf[8192];
	FILE *f;
	size_t n;

	(void) snprintf(src, sizeof(src), "%s/tests/fixtures/incidents/"
	    "scenario1.json", HAVEN_SOURCE_DIR);
	f = fopen(src, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	(void) fclose(f);
	assert_int_equal(hv_write(&c->p, "incident.json", buf), 0);
}

/* A dead broker costs a submit its whole timeout: keep it short. */
static void
short_timeout(crash *c, const char *agency, int ms)
{
	char rel[256], *buf;
	json_error_t je;
	json_t *doc;

	(void) snprintf(rel, sizeof(rel), "agents/%s/agent.json", agency);
	doc = json_load_file(hv_path(&c->p, rel), 0, &je);
	assert_non_null(doc);
	assert_int_equal(json_object_set_new(doc, "timeout_ms",
	    json_integer(ms)), 0);
	buf = json_dumps(doc, 0);
	assert_non_null(buf);
	assert_int_equal(hv_write(&c->p, rel, buf), 0);
	free(buf);
	json_decref(doc);
}

static int
setup(void **state)
{
	crash *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(hv_partnership_create(&c->p), 0);
	copy_fixture(c);
	short_timeout(c, "police.cambs", 2000);
	short_timeout(c, "school.urn.110456", 3000); /* > redeliver_ms */
	*state = c;
	return (0);
}

static int
teardown(void **state)
{
	crash *c = *state;

	if (c->runner > 0) {
		kill_wait(c->runner);
	}
	hv_partnership_destroy(&c->p);
	free(c);
	return (0);
}

static void
test_crash(void **state)
{
	crash *c = *state;
	const char *env = getenv("HAVEN_CRASH_SEED");
	unsigned seed = env != NULL ? (unsigned) strtoul(env, NULL, 10) :
	    (unsigned) time(NULL) ^ (unsigned) getpid();

	(void) printf("crash test seed %u\n", seed);
	srand(seed);
	for (int r = 0; r < ROUNDS; r++) {
		long long t0 = mono_ms();

		round_once(c, r);
		(void) printf("round %d: %lld ms\n", r, mono_ms() - t0);
	}
	{
		long long t0 = mono_ms();

		finish(c);
		(void) printf("finish: %lld ms\n", mono_ms() - t0);
	}
	(void) printf("claims %zu, pending submits %d; kills broker %d "
	    "submit %d run %d sync %d\n", c->n_claims, c->pending_runs,
	    c->kills[0], c->kills[1], c->kills[2], c->kills[3]);
	assert_true(c->n_claims > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
