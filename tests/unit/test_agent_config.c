/*
 * tests/unit/test_agent_config.c: haven-agent's input readers.
 *
 * The config reader (every refusal names the key and never echoes a
 * value), the command-line parser, the M3 read-receipt codec and the
 * storage-record decoder's refusals.
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

#include "../../agents/args.h"
#include "../../agents/config.h"
#include "../../agents/payload.h"
#include "../../agents/record.h"

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
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
