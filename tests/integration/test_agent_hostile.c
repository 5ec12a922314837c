/*
 * tests/integration/test_agent_hostile.c: the agent against a broker that
 * delivers forged messages.
 *
 * The test plays the broker itself: a real CURVE ROUTER socket with the
 * partnership's broker key, answering a real `haven-agent sync`. It
 * delivers (1) a notification whose sender signature was altered, (2) a
 * forgery squatting on the msg id of a genuine message, then (3) the
 * genuine message. The agent must store (1) and (2) flagged unverified,
 * acknowledge them so they are not redelivered forever, log
 * HAVEN-AGT-BADSIG, let (3) replace (2), never show unverified content,
 * and refuse to mark an unverified message read.
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
#include <sys/wait.h>
#include <zmq.h>

#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/encompass.h"
#include "haven/envelope.h"
#include "haven/keys.h"
#include "haven/wire.h"
#include "support_agent.h"
#include "support_harness.h"
#include "util.h"

#define T_MS 20000

typedef struct fake {
	hv_partnership p;
	haven_keys *broker;
	haven_keys *police;
	haven_directory *dir;
	void *ctx;
	void *sock;
	uint8_t *env[3];
	size_t len[3];
	uint8_t id[3][HAVEN_MSGID_BYTES];
	int acks[3];
} fake;

static void
load_keys(fake *f)
{
	haven_pubkey admin;
	char err[256];

	assert_int_equal(haven_keys_load(&f->broker, hv_path(&f->p,
	    "broker.key"), err, sizeof(err)), HAVEN_OK);
	assert_int_equal(haven_keys_load(&f->police, hv_path(&f->p,
	    "agents/police.cambs/police.cambs.key"), err, sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_pubkey_load(&admin, hv_path(&f->p, "admin.pub"),
	    err, sizeof(err)), HAVEN_OK);
	assert_int_equal(haven_directory_load(&f->dir, hv_path(&f->p,
	    "directory.signed"), admin.sign_pk, err, sizeof(err)), HAVEN_OK);
}

/* A genuine M1 to school A, sealed by the police key. */
static void
seal_m1(fake *f, uint8_t **out, size_t *len, uint8_t id[HAVEN_MSGID_BYTES])
{
	char path[600], field[64], why[256], err[256];
	haven_incident *inc = calloc(1, sizeof(*inc));
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	const char *rcpt[1] = { "school.urn.110123" };
	uint8_t *json = NULL, *payload = NULL;
	size_t jlen = 0, plen = 0, n = 0;
	haven_view_in view;
	haven_header hdr;

	assert_non_null(inc);
	(void) snprintf(path, sizeof(path), "%s/tests/fixtures/incidents/"
	    "scenario1.json", HAVEN_SOURCE_DIR);
	assert_int_equal(haven__read_file(path, HAVEN_JSON_MAX, &json, &jlen),
	    HAVEN_OK);
	assert_int_equal(haven_incident_from_json(inc, (char *) json, jlen,
	    field, sizeof(field), why, sizeof(why)), HAVEN_OK);
	assert_int_equal(haven_oe_plan(inc, f->dir, "police.cambs.spoc",
	    items, &n), HAVEN_OK);
	assert_string_equal(items[0].recipient, "school.urn.110123");
	assert_int_equal(haven_oe_payload_encode(inc, &items[0], &payload,
	    &plen), HAVEN_OK);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = HAVEN_MSG_OE_NOTIFICATION;
	hdr.n_recipients = 1;
	(void) snprintf(hdr.recipients[0], HAVEN_ID_MAX, "%s", rcpt[0]);
	(void) snprintf(hdr.legal_basis, HAVEN_CODE_MAX, "DAA2021-S49A");
	(void) snprintf(hdr.purpose, HAVEN_CODE_MAX, "operation-encompass");
	hdr.seq = 1;
	hdr.created_ms = haven__now_ms();
	hdr.occurred_ms = inc->occurred_ms;
	{
		haven_calendar cal;

		assert_int_equal(haven_directory_calendar(f->dir, rcpt[0],
		    &cal), HAVEN_OK);
		assert_int_equal(haven_calendar_next_school_day(&cal,
		    inc->occurred_ms, &hdr.deadline_ms), HAVEN_OK);
	}
	view.profile = "oe.setting";
	view.recipients = rcpt;
	view.n_recipients = 1;
	view.payload = payload;
	view.payload_len = plen;
	assert_int_equal(haven_envelope_seal(&hdr, false, &view, 1, f->police,
	    f->dir, out, len, err, sizeof(err)), HAVEN_OK);
	memcpy(id, hdr.msg_id, HAVEN_MSGID_BYTES);
	free(payload);
	free(json);
	free(inc);
}

/* Flip one bit of the sender's signature inside the serialised bytes. */
static uint8_t *
forge(const uint8_t *env, size_t len)
{
	haven_envelope *e = NULL;
	uint8_t *copy = malloc(len);
	size_t i;

	assert_non_null(copy);
	memcpy(copy, env, len);
	assert_int_equal(haven_envelope_decode(&e, env, len), HAVEN_OK);
	for (i = 0; i + HAVEN_SIG_BYTES <= len; i++) {
		if (memcmp(copy + i, e->sig, HAVEN_SIG_BYTES) == 0) {
			break;
		}
	}
	assert_true(i + HAVEN_SIG_BYTES <= len);
	copy[i + 10] ^= 0x04;
	haven_envelope_destroy(&e);
	return (copy);
}

static int
setup(void **state)
{
	fake *f = calloc(1, sizeof(*f));
	uint8_t *genuine = NULL;
	size_t glen = 0;

	assert_non_null(f);
	assert_int_equal(hv_partnership_create(&f->p), 0);
	load_keys(f);
	seal_m1(f, &genuine, &glen, f->id[2]);
	seal_m1(f, &f->env[1], &f->len[1], f->id[0]); /* scratch for X */
	f->env[0] = forge(f->env[1], f->len[1]);      /* X: forged */
	f->len[0] = f->len[1];
	free(f->env[1]);
	f->env[1] = forge(genuine, glen);             /* Z forged */
	f->len[1] = glen;
	memcpy(f->id[1], f->id[2], HAVEN_MSGID_BYTES);
	f->env[2] = genuine;                          /* Z genuine */
	f->len[2] = glen;
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	fake *f = *state;

	if (f->sock != NULL) {
		(void) zmq_close(f->sock);
	}
	if (f->ctx != NULL) {
		(void) zmq_ctx_term(f->ctx);
	}
	for (int i = 0; i < 3; i++) {
		free(f->env[i]);
	}
	haven_keys_destroy(&f->broker);
	haven_keys_destroy(&f->police);
	haven_directory_destroy(&f->dir);
	hv_partnership_destroy(&f->p);
	free(f);
	return (0);
}

static void
bind_fake(fake *f)
{
	f->ctx = zmq_ctx_new();
	f->sock = hv_fake_bind(f->ctx, &f->p, f->broker);
}

static void
send_frame(fake *f, zmq_msg_t *rid, const haven_frame *fr)
{
	hv_reply(f->sock, rid, fr);
}

static void
deliver_all(fake *f, zmq_msg_t *rid)
{
	haven_frame fr;

	for (int i = 0; i < 3; i++) {
		memset(&fr, 0, sizeof(fr));
		fr.kind = HAVEN_FRAME_DELIVER;
		fr.envelope = f->env[i];
		fr.envelope_len = f->len[i];
		memcpy(fr.receipt.msg_id, f->id[i], HAVEN_MSGID_BYTES);
		fr.receipt.audit_seq = (uint64_t) i + 1;
		fr.receipt.accepted_ms = haven__now_ms();
		haven_hash(fr.receipt.envelope_hash, f->env[i], f->len[i]);
		haven_receipt_sign(&fr.receipt, f->broker);
		send_frame(f, rid, &fr);
	}
}

static void
on_frame(fake *f, zmq_msg_t *rid, const haven_frame *in, bool *sent)
{
	haven_frame out;

	memset(&out, 0, sizeof(out));
	if (in->kind == HAVEN_FRAME_HELLO) {
		out.kind = HAVEN_FRAME_CREDIT;
		out.credit = *sent ? 0 : 3;
		send_frame(f, rid, &out);
		if (!*sent) {
			deliver_all(f, rid);
			*sent = true;
		}
	} else if (in->kind == HAVEN_FRAME_ACK) {
		for (int i = 0; i < 3; i++) {
			if (memcmp(in->msg_id, f->id[i], HAVEN_MSGID_BYTES) ==
			    0) {
				f->acks[i]++;
			}
		}
	}
}

/* Serve until the agent process exits; returns its exit status. */
/* One serve() run: the fake, and whether it has delivered yet. */
typedef struct serving {
	fake *f;
	bool sent;
} serving;

static void
on_frame_cb(void *ctx, zmq_msg_t *rid, const haven_frame *in)
{
	serving *s = ctx;

	on_frame(s->f, rid, in, &s->sent);
}

static int
serve(fake *f, pid_t agent)
{
	serving s = { f, false };

	return (hv_serve(f->sock, agent, T_MS, on_frame_cb, &s));
}

static int
agent(fake *f, json_t **doc, char **text, const char *a1, const char *a2,
    const char *a3, const char *a4, const char *a5, const char *a6)
{
	const char *const args[] = { a1, a2, a3, a4, a5, a6, NULL };

	return (hv_agent(&f->p, "school.urn.110123", T_MS, doc, text, args));
}

static bool
log_has(fake *f, const char *needle)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	bool hit;

	if (haven__read_file(hv_path(&f->p, "haven-agent-bg.log"), 1 << 20,
	    &buf, &len) != HAVEN_OK) {
		return (false);
	}
	hit = strstr((char *) buf, needle) != NULL;
	free(buf);
	return (hit);
}

static void
test_forged_deliveries(void **state)
{
	fake *f = *state;
	const char *args[] = { "--config", hv_agent_config(&f->p,
		"school.urn.110123"), "--json", "sync", NULL };
	char hx[33], hz[33], needle[80], *text = NULL;
	json_t *doc = NULL;
	pid_t pid;

	bind_fake(f);
	pid = hv_spawn(&f->p, "haven-agent", args);
	assert_true(pid > 0);
	assert_int_equal(serve(f, pid), 0);
	/* every delivery acknowledged: nothing is redelivered forever */
	assert_int_equal(f->acks[0], 1);
	assert_int_equal(f->acks[2], 2); /* id[1] == id[2]: both counted */
	haven__hex_encode(hx, f->id[0], HAVEN_MSGID_BYTES);
	haven__hex_encode(hz, f->id[2], HAVEN_MSGID_BYTES);
	(void) snprintf(needle, sizeof(needle), "HAVEN-AGT-BADSIG msg=%s", hx);
	assert_true(log_has(f, needle));

	assert_int_equal(agent(f, &doc, NULL, "inbox", NULL, NULL, NULL, NULL,
	    NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "count")), 2);
	json_decref(doc);
	/* X: withheld, exit 1, no content and no child's name */
	assert_int_equal(agent(f, &doc, &text, "show", hx, NULL, NULL, NULL,
	    NULL), 1);
	assert_true(json_is_null(json_object_get(doc, "content")));
	assert_true(json_is_string(json_object_get(doc, "content_withheld")));
	assert_false(json_is_true(json_object_get(json_object_get(doc,
	    "provenance"), "verified_on_receipt")));
	assert_null(strstr(text, "Amy"));
	free(text);
	json_decref(doc);
	assert_int_equal(agent(f, &doc, NULL, "read", hx, "--reader", "dsl.1",
	    "--role", "DSL"), 2);
	json_decref(doc);
	/* Z: the genuine delivery replaced the squatting forgery */
	assert_int_equal(agent(f, &doc, &text, "show", hz, NULL, NULL, NULL,
	    NULL), 0);
	assert_true(json_is_true(json_object_get(json_object_get(doc,
	    "provenance"), "signature_verified")));
	assert_non_null(strstr(text, "Amy Example"));
	free(text);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forged_deliveries, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
