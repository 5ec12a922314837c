/*
 * tests/unit/test_agent_config.c: haven-agent's input readers.
 *
 * The config reader (every refusal names the key and never echoes a
 * value), the command-line parser, the M3 read-receipt codec, the check
 * that a payload agrees with its signed header and with the receiving
 * agency, the storage-record decoder's refusals and the wiping allocator
 * installed for jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent_config.h"
#include "args.h"
#include "haven/encompass.h"
#include "out.h"
#include "payload.h"
#include "record.h"

#define GOOD \
	"{\"agency\":\"school.urn.110123\"," \
	"\"broker\":\"tcp://127.0.0.1:7450\"," \
	"\"keys\":\"/k/a.key\",\"admin_pub\":\"/k/admin.pub\"," \
	"\"directory\":\"/k/dir.signed\",\"data_dir\":\"/var/x\""

static haven_err
parse(const char *json, haven__agent_config *c, char *field, char *why)
{
	return (haven__agent_config_parse(c, json, strlen(json), field, 64, why,
	    256));
}

static void
test_config_good(void **state)
{
	haven__agent_config c;
	char field[64], why[256];

	(void) state;
	assert_int_equal(parse(GOOD "}", &c, field, why), HAVEN_OK);
	assert_string_equal(c.agency, "school.urn.110123");
	assert_string_equal(c.broker, "tcp://127.0.0.1:7450");
	assert_string_equal(c.data_dir, "/var/x");
	assert_string_equal(c.spoc, "");
	assert_string_equal(c.pseudonym_key, "");
	assert_int_equal(c.timeout_ms, HAVEN__AGENT_TIMEOUT_DEFAULT);
	assert_int_equal(c.credit, HAVEN__AGENT_CREDIT_DEFAULT);
	assert_int_equal(parse(GOOD ",\"spoc\":\"police.cambs.spoc\","
	    "\"pseudonym_key\":\"/k/p\",\"timeout_ms\":2500,\"credit\":8}", &c,
	    field, why), HAVEN_OK);
	assert_string_equal(c.spoc, "police.cambs.spoc");
	assert_int_equal(c.timeout_ms, 2500);
	assert_int_equal(c.credit, 8);
}

static void
expect_refused(const char *json, const char *want_field)
{
	haven__agent_config c;
	char field[64] = "?", why[256] = "";
	haven_err rv = parse(json, &c, field, why);

	assert_int_not_equal(rv, HAVEN_OK);
	assert_string_equal(field, want_field);
	assert_true(why[0] != '\0');
	assert_string_equal(c.agency, ""); /* nothing half-filled */
}

static void
test_config_refusals(void **state)
{
	(void) state;
	expect_refused(GOOD ",\"colour\":\"blue\"}", "colour");
	expect_refused("{\"broker\":\"tcp://h:1\",\"keys\":\"k\","
	    "\"admin_pub\":\"a\",\"directory\":\"d\",\"data_dir\":\"x\"}",
	    "agency");
	expect_refused(GOOD ",\"agency\":\"x\"}", ""); /* duplicate key */
	expect_refused("{\"agency\":\"Not An Id\",\"broker\":\"tcp://h:1\","
	    "\"keys\":\"k\",\"admin_pub\":\"a\",\"directory\":\"d\","
	    "\"data_dir\":\"x\"}", "agency");
	expect_refused("{\"agency\":\"a.b\",\"broker\":\"http://h:1\","
	    "\"keys\":\"k\",\"admin_pub\":\"a\",\"directory\":\"d\","
	    "\"data_dir\":\"x\"}", "broker");
	expect_refused("{\"agency\":\"a.b\",\"broker\":\"tcp://\","
	    "\"keys\":\"k\",\"admin_pub\":\"a\",\"directory\":\"d\","
	    "\"data_dir\":\"x\"}", "broker");
	expect_refused("{\"agency\":\"a.b\",\"broker\":\"tcp://h:1\","
	    "\"keys\":\"\",\"admin_pub\":\"a\",\"directory\":\"d\","
	    "\"data_dir\":\"x\"}", "keys");
	expect_refused(GOOD ",\"timeout_ms\":5}", "timeout_ms");
	expect_refused(GOOD ",\"timeout_ms\":\"10\"}", "timeout_ms");
	expect_refused(GOOD ",\"credit\":0}", "credit");
	expect_refused(GOOD ",\"credit\":100000}", "credit");
	expect_refused(GOOD ",\"spoc\":\"UPPER\"}", "spoc");
	expect_refused("{\"agency\":\"a.b\",\"broker\":\"tcp://h:1\","
	    "\"keys\":\"k\",\"admin_pub\":\"a\",\"directory\":\"d\","
	    "\"data_dir\":7}", "data_dir");
	expect_refused(GOOD, "");           /* truncated */
	expect_refused("[1,2]", "");        /* not an object */
	expect_refused("", "");
}

static void
test_config_too_long(void **state)
{
	char *json = malloc(PATH_MAX + 512);
	haven__agent_config c;
	char field[64], why[256];
	int n;

	(void) state;
	assert_non_null(json);
	n = snprintf(json, PATH_MAX + 512, "%s,\"keys\":\"", "{\"agency\":"
	    "\"a.b\",\"broker\":\"tcp://h:1\",\"admin_pub\":\"a\","
	    "\"directory\":\"d\",\"data_dir\":\"x\"");
	memset(json + n, 'k', PATH_MAX);
	(void) snprintf(json + n + PATH_MAX, 8, "\"}");
	assert_int_equal(parse(json, &c, field, why), HAVEN_EINVAL);
	assert_string_equal(field, "keys");
	free(json);
}

static void
test_config_load_missing(void **state)
{
	haven__agent_config c;
	char field[64], why[256];

	(void) state;
	assert_int_not_equal(haven__agent_config_load(&c,
	    "/nonexistent/haven/agent.json", field, sizeof(field), why,
	    sizeof(why)), HAVEN_OK);
	assert_string_equal(field, "config");
}

static void
test_args(void **state)
{
	char *ok[] = { "--json", "read", "00112233445566778899aabbccddeeff",
		"--reader=staff.1", "--role", "DSL", "--config", "/x.json" };
	char *twice[] = { "--config", "a", "--config=b" };
	char *novalue[] = { "inbox", "--config" };
	char *unknown[] = { "inbox", "--colour" };
	char *many[] = { "a", "b", "c", "d", "e" };
	char *dash[] = { "--", "--json" };
	uint8_t id[HAVEN_MSGID_BYTES];
	haven__args a;
	char err[128];

	(void) state;
	assert_int_equal(haven__agt_args_parse(&a, 8, ok, err, sizeof(err)),
	    HAVEN_OK);
	assert_true(a.json);
	assert_int_equal(a.n_pos, 2);
	assert_string_equal(a.reader, "staff.1");
	assert_string_equal(a.role, "DSL");
	assert_string_equal(a.config, "/x.json");
	assert_int_equal(haven__agt_args_msgid(a.pos[1], id), HAVEN_OK);
	assert_int_equal(id[15], 0xff);
	assert_int_equal(haven__agt_args_msgid("0011", id), HAVEN_EINVAL);
	assert_int_equal(haven__agt_args_msgid(
	    "zz112233445566778899aabbccddeeff", id), HAVEN_EINVAL);
	assert_int_equal(haven__agt_args_parse(&a, 3, twice, err,
	    sizeof(err)), HAVEN_EINVAL);
	assert_int_equal(haven__agt_args_parse(&a, 2, novalue, err,
	    sizeof(err)), HAVEN_EINVAL);
	assert_int_equal(haven__agt_args_parse(&a, 2, unknown, err,
	    sizeof(err)), HAVEN_EINVAL);
	assert_int_equal(haven__agt_args_parse(&a, 5, many, err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_int_equal(haven__agt_args_parse(&a, 2, dash, err, sizeof(err)),
	    HAVEN_OK);
	assert_false(a.json);
	assert_string_equal(a.pos[0], "--json");
}

static void
test_read_receipt_codec(void **state)
{
	haven__read_receipt r, back;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void) state;
	memset(&r, 0, sizeof(r));
	memset(r.msg_id, 0x11, sizeof(r.msg_id));
	(void) snprintf(r.reader_role, sizeof(r.reader_role), "DSL");
	(void) snprintf(r.reader, sizeof(r.reader), "staff-17");
	r.read_ms = 1700000000000;
	assert_int_equal(haven__agt_rr_encode(&r, &buf, &len), HAVEN_OK);
	assert_int_equal(haven__agt_rr_decode(buf, len, &back), HAVEN_OK);
	assert_memory_equal(back.msg_id, r.msg_id, HAVEN_MSGID_BYTES);
	assert_string_equal(back.reader, "staff-17");
	assert_int_equal(back.read_ms, r.read_ms);
	/* truncated */
	assert_int_not_equal(haven__agt_rr_decode(buf, len - 3, &back),
	    HAVEN_OK);
	free(buf);
	/* a name with a space is refused as a staff reference */
	(void) snprintf(r.reader, sizeof(r.reader), "Jane Smith");
	assert_int_equal(haven__agt_rr_encode(&r, &buf, &len), HAVEN_EINVAL);
	(void) snprintf(r.reader, sizeof(r.reader), "s1");
	(void) snprintf(r.reader_role, sizeof(r.reader_role), "HEAD");
	assert_int_equal(haven__agt_rr_encode(&r, &buf, &len), HAVEN_EINVAL);
	assert_false(haven__agt_reader_ref_valid(""));
	assert_true(haven__agt_reader_role_valid("EHE-OFFICER"));
}

static void
child(haven_oe_child *c, const char *name, const char *school,
    const char *la)
{
	memset(c, 0, sizeof(*c));
	(void) snprintf(c->name, sizeof(c->name), "%s", name);
	(void) snprintf(c->dob, sizeof(c->dob), "2015-03-02");
	(void) snprintf(c->school, sizeof(c->school), "%s", school);
	(void) snprintf(c->local_authority, sizeof(c->local_authority), "%s",
	    la);
	c->ehe = la[0] != '\0';
	c->present = true;
}

/* Encode the payload of `kind` holding child `idx` of `inc`. */
static haven_err
oe_check(const haven_incident *inc, haven_oe_kind kind, uint32_t type,
    uint8_t idx, const char *me)
{
	haven_oe_item it;
	haven_header hdr;
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	it.n_children = 1;
	it.child_idx[0] = idx;
	assert_int_equal(haven_oe_payload_encode(inc, &it, &buf, &len),
	    HAVEN_OK);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	rv = haven__agt_payload_check(&hdr, me, buf, len);
	free(buf);
	return (rv);
}

/* R3/R4 at the receiving end: a notification must hold our pupils only. */
static void
test_payload_for_me(void **state)
{
	haven_incident *inc = calloc(1, sizeof(*inc));

	(void) state;
	assert_non_null(inc);
	(void) snprintf(inc->police_ref, sizeof(inc->police_ref), "CC-1");
	(void) snprintf(inc->occurred_at, sizeof(inc->occurred_at),
	    "2026-11-20T22:40:00Z");
	(void) snprintf(inc->location, sizeof(inc->location), "somewhere");
	(void) snprintf(inc->circumstances, sizeof(inc->circumstances), "x");
	inc->n_children = 3;
	child(&inc->children[0], "A", "school.urn.1", "");
	child(&inc->children[1], "B", "school.urn.2", "");
	child(&inc->children[2], "C", "", "la.cambs");
	assert_int_equal(oe_check(inc, HAVEN_OE_NOTIFY_SETTING,
	    HAVEN_MSG_OE_NOTIFICATION, 0, "school.urn.1"), HAVEN_OK);
	assert_int_equal(oe_check(inc, HAVEN_OE_NOTIFY_SETTING,
	    HAVEN_MSG_OE_NOTIFICATION, 1, "school.urn.1"), HAVEN_EINVAL);
	assert_int_equal(oe_check(inc, HAVEN_OE_NOTIFY_EHE,
	    HAVEN_MSG_OE_EHE_NOTIFICATION, 2, "la.cambs"), HAVEN_OK);
	assert_int_equal(oe_check(inc, HAVEN_OE_NOTIFY_EHE,
	    HAVEN_MSG_OE_EHE_NOTIFICATION, 2, "la.cambs.ehe"), HAVEN_OK);
	assert_int_equal(oe_check(inc, HAVEN_OE_NOTIFY_EHE,
	    HAVEN_MSG_OE_EHE_NOTIFICATION, 2, "la.cambsx.ehe"), HAVEN_EINVAL);
	assert_int_equal(oe_check(inc, HAVEN_OE_NOTIFY_EHE,
	    HAVEN_MSG_OE_EHE_NOTIFICATION, 2, "la.other"), HAVEN_EINVAL);
	free(inc);
}

/* An M3 must be about the message its signed header replies to. */
static void
test_payload_receipt_bound(void **state)
{
	haven__read_receipt r;
	haven_header hdr;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void) state;
	memset(&r, 0, sizeof(r));
	memset(r.msg_id, 0x11, sizeof(r.msg_id));
	(void) snprintf(r.reader_role, sizeof(r.reader_role), "DSL");
	(void) snprintf(r.reader, sizeof(r.reader), "dsl.1");
	assert_int_equal(haven__agt_rr_encode(&r, &buf, &len), HAVEN_OK);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = HAVEN_MSG_OE_RECEIPT;
	assert_int_equal(haven__agt_payload_check(&hdr, "police.cambs", buf,
	    len), HAVEN_EINVAL); /* not a reply */
	hdr.has_reply_to = true;
	memset(hdr.in_reply_to, 0x22, HAVEN_MSGID_BYTES);
	assert_int_equal(haven__agt_payload_check(&hdr, "police.cambs", buf,
	    len), HAVEN_EINVAL); /* about another message */
	memset(hdr.in_reply_to, 0x11, HAVEN_MSGID_BYTES);
	assert_int_equal(haven__agt_payload_check(&hdr, "police.cambs", buf,
	    len), HAVEN_OK);
	assert_int_not_equal(haven__agt_payload_check(&hdr, "police.cambs",
	    buf, len - 1), HAVEN_OK);
	free(buf);
}

/* jansson's blocks go through the wiping free, and a json_dumps string
 * may still be released with free(). */
static void
test_json_wipe_alloc(void **state)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	json_t *o;
	char *text, *raw;

	(void) state;
	haven__agt_json_wipe_on_free();
	json_get_alloc_funcs(&m, &f);
	assert_true(f == haven__agt_wipe_free);
	o = json_pack("{s:s, s:[i]}", "name", "Alpha Testchild", "n", 1);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"n\":[1],\"name\":\"Alpha Testchild\"}");
	free(text);
	json_decref(o);
	raw = malloc(40);
	assert_non_null(raw);
	memset(raw, 'x', 40);
	haven__agt_wipe_free(raw);
	haven__agt_wipe_free(NULL);
	json_set_alloc_funcs(malloc, free);
}

static void
test_record_refusals(void **state)
{
	haven__inbox_rec in;
	haven__outbox_rec out;
	uint8_t env[10] = { 1, 2, 3 }, *buf = NULL;
	size_t len = 0;
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff };
	/* field 2 (receipt) with a 1-byte msg_id: wrong length */
	const uint8_t short_id[] = { 0x0a, 0x01, 0x01, 0x12, 0x03, 0x0a,
		0x01, 0x00 };

	(void) state;
	memset(&in, 0, sizeof(in));
	in.envelope = env;
	in.envelope_len = sizeof(env);
	assert_int_equal(haven__agt_rec_inbox_encode(&in, &buf, &len),
	    HAVEN_OK);
	assert_int_equal(haven__agt_rec_inbox_decode(buf, len, &in), HAVEN_OK);
	haven__agt_inbox_rec_release(&in);
	free(buf);
	assert_int_equal(haven__agt_rec_inbox_decode(junk, sizeof(junk), &in),
	    HAVEN_EDECODE);
	assert_int_equal(haven__agt_rec_inbox_decode(short_id,
	    sizeof(short_id), &in), HAVEN_EDECODE);
	assert_int_equal(haven__agt_rec_inbox_decode(env, 0, &in),
	    HAVEN_EDECODE); /* no envelope */
	assert_int_equal(haven__agt_rec_outbox_decode(junk, sizeof(junk),
	    &out), HAVEN_EDECODE);
	memset(&out, 0, sizeof(out));
	out.envelope = env;
	out.envelope_len = sizeof(env);
	out.state = 3;
	assert_int_equal(haven__agt_rec_outbox_encode(&out, &buf, &len),
	    HAVEN_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_good),
		cmocka_unit_test(test_config_refusals),
		cmocka_unit_test(test_config_too_long),
		cmocka_unit_test(test_config_load_missing),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_read_receipt_codec),
		cmocka_unit_test(test_record_refusals),
		cmocka_unit_test(test_payload_for_me),
		cmocka_unit_test(test_payload_receipt_bound),
		cmocka_unit_test(test_json_wipe_alloc),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
