/*
 * tests/integration/test_agent_rotation.c: nothing is lost or falsely
 * reported because of a stale directory or a transient refusal.
 *
 *  1. The police rotate to key generation 2; a school's agent still holds
 *     the old directory. Its `sync` must leave the message unacknowledged
 *     (HAVEN-AGT-UNKNOWNKEY, exit 1, nothing stored), not store it as
 *     unverified and acknowledge it away; once its directory is updated the
 *     broker redelivers and the message is stored verified.
 *  2. The same with `run`: it must pick up the re-signed directory file
 *     while running and then store the redelivered message verified.
 *  3. A broker that answers a submission with a transient refusal (EFULL):
 *     `encompass submit` and `sync` must both report it pending and exit 1;
 *     the entry stays in the outbox.
 * Real broker, real agents, real havenctl; (3) plays the broker on a real
 * CURVE ROUTER socket so the refusal can be produced at will.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "haven/envelope.h"
#include "haven/keys.h"
#include "haven/wire.h"
#include "support_agent.h"
#include "support_harness.h"
#include "util.h"

#define T_MS 30000
#define SCHOOL "school.urn.110123"

static const char incident[] =
    "{\"police_ref\":\"CC-2026-114299\","
    "\"occurred_at\":\"2026-11-20T22:40:00Z\",\"location\":\"1 Test Road\","
    "\"circumstances\":\"verbal argument\",\"welfare_check\":true,"
    "\"csc_informed\":false,\"officer_contact\":\"PC 1\","
    "\"children\":[{\"name\":\"Echo Testchild\",\"dob\":\"2015-03-02\","
    "\"school\":\"school.urn.110123\",\"present\":true}]}";

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

	(void) nanosleep(&ts, NULL);
}

static int
agent(hv_partnership *p, const char *agency, json_t **doc, const char *a1,
    const char *a2, const char *a3)
{
	const char *const args[] = { a1, a2, a3, NULL };

	return (hv_agent(p, agency, T_MS, doc, NULL, args));
}

/* Rewrite one key of an agency's agent.json. */
static void
config_set(hv_partnership *p, const char *agency, const char *key,
    json_t *val)
{
	char rel[128];
	json_t *cfg;
	char *text;

	(void) snprintf(rel, sizeof(rel), "agents/%s/agent.json", agency);
	cfg = json_load_file(hv_path(p, rel), 0, NULL);
	assert_non_null(cfg);
	assert_int_equal(json_object_set_new(cfg, key, val), 0);
	text = json_dumps(cfg, JSON_INDENT(2));
	assert_non_null(text);
	assert_int_equal(hv_write(p, rel, text), 0);
	free(text);
	json_decref(cfg);
}

/* Atomic copy (tmp + rename): a watcher sees a new file, never half one. */
static void
copy_file(const char *from, const char *to)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(haven__read_file(from, HAVEN_DOC_MAX, &buf, &len),
	    HAVEN_OK);
	assert_int_equal(haven__write_file(to, buf, len, 0644, false),
	    HAVEN_OK);
	free(buf);
}

static const char *
stale_dir(hv_partnership *p)
{
	return (hv_path(p, "agents/" SCHOOL "/directory-old.signed"));
}

/*
 * The school keeps a copy of today's directory; then the police rotate
 * to generation 2 (old key retired) and the broker starts with the new
 * directory. The police agent uses the new key.
 */
static int
setup_rotated(void **state)
{
	hv_partnership *p = hv_partnership_new(NULL, false);
	const char *kg[] = { "keygen", "--agency", "police.cambs",
		"--generation", "2", "--out", NULL, NULL };
	const char *add[] = { "directory", "add", "--dir", NULL, "--pub",
		NULL, NULL };
	char dir[300];

	(void) snprintf(dir, sizeof(dir), "%s", stale_dir(p));
	copy_file(hv_path(p, "directory.signed"), dir);
	config_set(p, SCHOOL, "directory", json_string(dir));
	config_set(p, SCHOOL, "timeout_ms", json_integer(3000));
	kg[6] = hv_path(p, "rot");
	assert_int_equal(hv_run(p, "havenctl", kg, T_MS, NULL), 0);
	add[3] = hv_path(p, "directory.json");
	add[5] = hv_path(p, "rot/police.cambs.pub");
	assert_int_equal(hv_run(p, "havenctl", add, T_MS, NULL), 0);
	assert_int_equal(hv_broker_reload(p), 0); /* signs: broker not up */
	config_set(p, "police.cambs", "keys",
	    json_string(hv_path(p, "rot/police.cambs.key")));
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(hv_write(p, "incident.json", incident), 0);
	assert_int_equal(agent(p, "police.cambs", NULL, "encompass", "submit",
	    hv_path(p, "incident.json")), 0);
	*state = p;
	return (0);
}

/* The school's inbox: count and whether the first entry is verified. */
static int64_t
inbox(hv_partnership *p, bool *verified)
{
	json_t *doc = NULL;
	int64_t n;

	assert_int_equal(agent(p, SCHOOL, &doc, "inbox", NULL, NULL), 0);
	n = hv_jint(doc, "count");
	*verified = json_is_true(json_object_get(json_array_get(
	    json_object_get(doc, "messages"), 0), "verified"));
	json_decref(doc);
	return (n);
}

static void
test_sync_stale_directory(void **state)
{
	hv_partnership *p = *state;
	json_t *doc = NULL;
	bool verified = false;

	/* cannot judge the sender: not stored, not acked, exit 1 */
	assert_int_equal(agent(p, SCHOOL, &doc, "sync", NULL, NULL), 1);
	assert_true(hv_jint(doc, "unknown_key") >= 1);
	assert_int_equal(hv_jint(doc, "delivered"), 0);
	assert_int_equal(hv_jint(doc, "unverified"), 0);
	json_decref(doc);
	assert_int_equal(inbox(p, &verified), 0);
	/* directory updated: the broker still had it and redelivers it */
	copy_file(hv_path(p, "directory.signed"), stale_dir(p));
	assert_int_equal(agent(p, SCHOOL, &doc, "sync", NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 1);
	json_decref(doc);
	assert_int_equal(inbox(p, &verified), 1);
	assert_true(verified);
}

static void
test_run_reloads_directory(void **state)
{
	hv_partnership *p = *state;
	const char *args[] = { "--config", hv_agent_config(p, SCHOOL), "run",
		NULL };
	bool verified = false;
	int64_t n = 0;
	pid_t pid;

	pid = hv_spawn(p, "haven-agent", args);
	assert_true(pid > 0);
	nap_ms(3000); /* delivered at least once against the old directory */
	assert_int_equal(inbox(p, &verified), 0);
	copy_file(hv_path(p, "directory.signed"), stale_dir(p));
	for (int i = 0; i < 100 && n == 0; i++) {
		nap_ms(200);
		n = inbox(p, &verified);
	}
	(void) kill(pid, SIGTERM);
	assert_int_equal(hv_wait(pid, 10000), 0);
	assert_int_equal(n, 1);
	assert_true(verified);
}

/* ------------------------------------------- transient refusal (EFULL) */

typedef struct fake {
	hv_partnership p;
	void *ctx;
	void *sock;
	int submits;
} fake;

static int
setup_fake(void **state)
{
	fake *f = calloc(1, sizeof(*f));
	haven_keys *broker = NULL;
	char err[256];

	assert_non_null(f);
	assert_int_equal(hv_partnership_create(&f->p), 0);
	assert_int_equal(hv_write(&f->p, "incident.json", incident), 0);
	assert_int_equal(haven_keys_load(&broker, hv_path(&f->p, "broker.key"),
	    err, sizeof(err)), HAVEN_OK);
	f->ctx = zmq_ctx_new();
	f->sock = hv_fake_bind(f->ctx, &f->p, broker);
	haven_keys_destroy(&broker);
	*state = f;
	return (0);
}

static int
teardown_fake(void **state)
{
	fake *f = *state;

	(void) zmq_close(f->sock);
	(void) zmq_ctx_term(f->ctx);
	hv_partnership_destroy(&f->p);
	free(f);
	return (0);
}

static void
reply(fake *f, zmq_msg_t *rid, const haven_frame *fr)
{
	hv_reply(f->sock, rid, fr);
}

/* Every Submit: Reject EFULL (store full: try later). Hello: nothing
 * queued for you. */
static void
on_frame(void *ctx, zmq_msg_t *rid, const haven_frame *in)
{
	fake *f = ctx;
	haven_frame out;

	memset(&out, 0, sizeof(out));
	if (in->kind == HAVEN_FRAME_SUBMIT) {
		haven_envelope *e = NULL;

		assert_int_equal(haven_envelope_decode(&e, in->envelope,
		    in->envelope_len), HAVEN_OK);
		memcpy(out.reject.msg_id, e->hdr.msg_id, HAVEN_MSGID_BYTES);
		haven_envelope_destroy(&e);
		out.kind = HAVEN_FRAME_REJECT;
		out.reject.code = HAVEN_EFULL;
		(void) snprintf(out.reject.reason, sizeof(out.reject.reason),
		    "store full");
		f->submits++;
		reply(f, rid, &out);
	} else if (in->kind == HAVEN_FRAME_HELLO) {
		out.kind = HAVEN_FRAME_CREDIT;
		out.credit = 0;
		reply(f, rid, &out);
	}
}

/* Serve until the agent process exits; returns its exit status. */
static int
serve(fake *f, pid_t pid)
{
	return (hv_serve(f->sock, pid, T_MS, on_frame, f));
}

/* Run the police agent against the fake; its JSON output in *doc. */
static int
police(fake *f, json_t **doc, const char *a1, const char *a2, const char *a3)
{
	char out[300];
	const char *args[10] = { "--config", hv_agent_config(&f->p,
		"police.cambs"), "--json", a1, a2, a3, NULL };
	uint8_t *text = NULL;
	size_t len = 0;
	pid_t pid;
	int rc;

	(void) snprintf(out, sizeof(out), "%s", hv_path(&f->p,
	    "haven-agent-bg.log"));
	(void) remove(out);
	pid = hv_spawn(&f->p, "haven-agent", args);
	assert_true(pid > 0);
	rc = serve(f, pid);
	assert_int_equal(haven__read_file(out, 1 << 20, &text, &len),
	    HAVEN_OK);
	/* stdout and stderr share the log: the JSON document is one line */
	*doc = NULL;
	for (char *line = strtok((char *) text, "\n"); line != NULL &&
	    *doc == NULL; line = strtok(NULL, "\n")) {
		if (line[0] == '{') {
			*doc = hv_json(line);
		}
	}
	free(text);
	return (rc);
}

static void
test_transient_refusal_stays_pending(void **state)
{
	fake *f = *state;
	json_t *doc = NULL, *m;

	assert_int_equal(police(f, &doc, "encompass", "submit",
	    hv_path(&f->p, "incident.json")), 1);
	assert_non_null(doc);
	m = json_array_get(json_object_get(doc, "messages"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "status")),
	    "pending");
	assert_int_equal(hv_jint(doc, "pending"), 1);
	json_decref(doc);
	/* sync resends it, gets EFULL again: still pending, not "ok" */
	assert_int_equal(police(f, &doc, "sync", NULL, NULL), 1);
	assert_non_null(doc);
	assert_false(json_is_true(json_object_get(doc, "ok")));
	assert_int_equal(hv_jint(doc, "pending"), 1);
	assert_int_equal(hv_jint(doc, "receipted"), 0);
	json_decref(doc);
	assert_int_equal(f->submits, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync_stale_directory,
		    setup_rotated, hv_teardown),
		cmocka_unit_test_setup_teardown(test_run_reloads_directory,
		    setup_rotated, hv_teardown),
		cmocka_unit_test_setup_teardown(
		    test_transient_refusal_stays_pending, setup_fake,
		    teardown_fake),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
