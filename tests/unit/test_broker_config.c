/*
 * tests/unit/test_broker_config.c: the broker's config reader refusals.
 *
 * Every refusal must return an error AND name the key in the message, so an
 * operator can fix the file; defaults and relative-path resolution are
 * checked on the accepted side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"

#define BASE \
	"\"listen\":\"tcp://127.0.0.1:7450\",\"data_dir\":\"/var/lib/h\"," \
	"\"keys\":\"/etc/h/broker.key\",\"admin_pub\":\"/etc/h/admin.pub\"," \
	"\"directory\":\"/etc/h/directory.signed\"," \
	"\"policy\":\"/etc/h/policy.signed\""

static haven_err
parse(const char *text, haven_bconf *c, char *err, size_t errlen)
{
	err[0] = '\0';
	return (haven__bconf_parse(c, text, strlen(text), err, errlen));
}

static void
test_accepts_minimal_with_defaults(void **state)
{
	haven_bconf c;
	char err[256];

	(void) state;
	assert_int_equal(parse("{" BASE "}", &c, err, sizeof(err)), HAVEN_OK);
	assert_string_equal(c.listen, "tcp://127.0.0.1:7450");
	assert_string_equal(c.policy, "/etc/h/policy.signed");
	assert_int_equal(c.map_size_mb, 1024);
	assert_int_equal(c.max_frame_bytes, HAVEN_FRAME_MAX);
	assert_int_equal(c.redeliver_ms, 30000);
	assert_int_equal(c.redeliver_max_ms, 600000);
	assert_int_equal(c.checkpoint_every, 64);
	assert_int_equal(c.batch_max, 256);
	assert_int_equal(c.heartbeat_ms, 5000);
}

static void
test_accepts_numbers(void **state)
{
	haven_bconf c;
	char err[256];

	(void) state;
	assert_int_equal(parse("{" BASE ",\"map_size_mb\":2048,"
	    "\"max_frame_bytes\":65536,\"redeliver_ms\":500,"
	    "\"checkpoint_every\":1,\"batch_max\":4096,\"heartbeat_ms\":100}",
	    &c, err, sizeof(err)), HAVEN_OK);
	assert_int_equal(c.map_size_mb, 2048);
	assert_int_equal(c.max_frame_bytes, 65536);
	assert_int_equal(c.redeliver_ms, 500);
	assert_int_equal(c.checkpoint_every, 1);
	assert_int_equal(c.batch_max, 4096);
	assert_int_equal(c.heartbeat_ms, 100);
}

/* The backoff cap: its own range, never below redeliver_ms; left out it
 * follows a larger redeliver_ms so old configs keep working. */
static void
test_redeliver_max(void **state)
{
	haven_bconf c;
	char err[256];

	(void) state;
	assert_int_equal(parse("{" BASE ",\"redeliver_ms\":200,"
	    "\"redeliver_max_ms\":200}", &c, err, sizeof(err)), HAVEN_OK);
	assert_int_equal(c.redeliver_max_ms, 200);
	assert_int_equal(parse("{" BASE ",\"redeliver_max_ms\":86400000}",
	    &c, err, sizeof(err)), HAVEN_OK);
	assert_int_equal(c.redeliver_max_ms, 86400000);
	assert_int_equal(parse("{" BASE ",\"redeliver_ms\":900000}", &c,
	    err, sizeof(err)), HAVEN_OK);
	assert_int_equal(c.redeliver_max_ms, 900000);
	assert_int_equal(parse("{" BASE ",\"redeliver_ms\":5000,"
	    "\"redeliver_max_ms\":4999}", &c, err, sizeof(err)), HAVEN_EINVAL);
	assert_non_null(strstr(err, "redeliver_max_ms"));
}

/* The ROUTER's send queue: one pass's output to one connection. */
static void
test_sndhwm(void **state)
{
	haven_bconf c;

	(void) state;
	haven__bconf_defaults(&c);
	assert_int_equal(haven__sndhwm(&c), HAVEN_AGENCY_INFLIGHT_MAX + 256);
	assert_true(haven__sndhwm(&c) < 1000);
	c.batch_max = 1;
	assert_int_equal(haven__sndhwm(&c), HAVEN_AGENCY_INFLIGHT_MAX + 1);
	c.batch_max = 4096;
	assert_int_equal(haven__sndhwm(&c), HAVEN_SNDHWM_MAX);
}

/* Each case: config text and the key the message must name. */
static const struct {
	const char *text;
	const char *names;
} refusals[] = {
	{"{" BASE ",\"colour\":\"blue\"}", "colour"},
	{"{\"data_dir\":\"/d\",\"keys\":\"/k\",\"admin_pub\":\"/a\","
	    "\"directory\":\"/d\",\"policy\":\"/p\"}", "listen"},
	{"{" BASE ",\"map_size_mb\":0}", "map_size_mb"},
	{"{" BASE ",\"map_size_mb\":99999999}", "map_size_mb"},
	{"{" BASE ",\"map_size_mb\":\"1024\"}", "map_size_mb"},
	{"{" BASE ",\"max_frame_bytes\":2097152}", "max_frame_bytes"},
	{"{" BASE ",\"max_frame_bytes\":10}", "max_frame_bytes"},
	{"{" BASE ",\"redeliver_ms\":-1}", "redeliver_ms"},
	{"{" BASE ",\"redeliver_max_ms\":99}", "redeliver_max_ms"},
	{"{" BASE ",\"redeliver_max_ms\":86400001}", "redeliver_max_ms"},
	{"{" BASE ",\"redeliver_max_ms\":\"1\"}", "redeliver_max_ms"},
	{"{" BASE ",\"checkpoint_every\":0}", "checkpoint_every"},
	{"{" BASE ",\"batch_max\":100000}", "batch_max"},
	{"{" BASE ",\"heartbeat_ms\":1.5}", "heartbeat_ms"},
	{"{" BASE ",\"heartbeat_ms\":true}", "heartbeat_ms"},
	{"{\"listen\":\"inproc://x\",\"data_dir\":\"/d\",\"keys\":\"/k\","
	    "\"admin_pub\":\"/a\",\"directory\":\"/d\",\"policy\":\"/p\"}",
	    "listen"},
	{"{\"listen\":\"tcp://\",\"data_dir\":\"/d\",\"keys\":\"/k\","
	    "\"admin_pub\":\"/a\",\"directory\":\"/d\",\"policy\":\"/p\"}",
	    "listen"},
	{"{\"listen\":\"tcp://h:1\",\"data_dir\":\"\",\"keys\":\"/k\","
	    "\"admin_pub\":\"/a\",\"directory\":\"/d\",\"policy\":\"/p\"}",
	    "data_dir"},
	{"{\"listen\":\"tcp://h:1\",\"data_dir\":7,\"keys\":\"/k\","
	    "\"admin_pub\":\"/a\",\"directory\":\"/d\",\"policy\":\"/p\"}",
	    "data_dir"},
	{"{\"listen\":\"tcp://h:1\",\"data_dir\":\"/d\",\"keys\":\"/k\","
	    "\"admin_pub\":\"/a\",\"directory\":\"/d\"}", "policy"},
};

static void
test_refusals_name_the_key(void **state)
{
	haven_bconf c;
	char err[256];

	(void) state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		haven_err rv = parse(refusals[i].text, &c, err, sizeof(err));
		if (rv == HAVEN_OK || strstr(err, refusals[i].names) == NULL) {
			fail_msg("case %zu: rv=%d err='%s'", i, (int) rv, err);
		}
	}
}

static void
test_refuses_malformed(void **state)
{
	static const char *const bad[] = {"", "[]", "{", "null", "\"x\"",
	    "{" BASE ",\"listen\":\"tcp://127.0.0.1:1\"}", /* duplicate key */
	    "{" BASE "} trailing"};
	haven_bconf c;
	char err[256];

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &c, err, sizeof(err)) == HAVEN_OK) {
			fail_msg("case %zu accepted", i);
		}
	}
}

static void
test_refuses_long_path(void **state)
{
	size_t n = HAVEN_BCONF_PATH_MAX + 10;
	char *text = malloc(n + 512), *p;
	haven_bconf c;
	char err[256];

	(void) state;
	assert_non_null(text);
	p = text + sprintf(text, "{\"listen\":\"tcp://h:1\",\"data_dir\":\"/");
	memset(p, 'a', n);
	p += n;
	(void) sprintf(p, "\",\"keys\":\"/k\",\"admin_pub\":\"/a\","
	    "\"directory\":\"/d\",\"policy\":\"/p\"}");
	assert_int_not_equal(parse(text, &c, err, sizeof(err)), HAVEN_OK);
	assert_non_null(strstr(err, "data_dir"));
	free(text);
}

static void
test_load_resolves_relative_paths(void **state)
{
	char dir[64], path[128], err[256];
	haven_bconf c;
	FILE *f;

	(void) state;
	(void) snprintf(dir, sizeof(dir), "/tmp/haven-bconf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	(void) snprintf(path, sizeof(path), "%s/broker.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	(void) fputs("{\"listen\":\"ipc://rel.sock\",\"data_dir\":\"data\","
	    "\"keys\":\"/abs/broker.key\",\"admin_pub\":\"admin.pub\","
	    "\"directory\":\"d.signed\",\"policy\":\"p.signed\"}", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(haven__bconf_load(&c, path, err, sizeof(err)),
	    HAVEN_OK);
	(void) snprintf(path, sizeof(path), "%s/data", dir);
	assert_string_equal(c.data_dir, path);
	assert_string_equal(c.keys, "/abs/broker.key");
	assert_string_equal(c.listen, "ipc://rel.sock");
	(void) snprintf(path, sizeof(path), "%s/broker.json", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_not_equal(haven__bconf_load(&c, path, err, sizeof(err)),
	    HAVEN_OK);
	assert_non_null(strstr(err, "broker.json"));
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_minimal_with_defaults),
		cmocka_unit_test(test_accepts_numbers),
		cmocka_unit_test(test_redeliver_max),
		cmocka_unit_test(test_sndhwm),
		cmocka_unit_test(test_refusals_name_the_key),
		cmocka_unit_test(test_refuses_malformed),
		cmocka_unit_test(test_refuses_long_path),
		cmocka_unit_test(test_load_resolves_relative_paths),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
