/*
 * tests/unit/test_pseudonym.c: keyed pseudonyms and their key file.
 *
 * Checks normalisation (case, whitespace), domain separation between
 * person and case pseudonyms, key dependence, an independent recomputation
 * of the documented construction, and the key file's refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haven/pseudonym.h"

struct fx {
	char dir[64];
	char path[128];
	haven_pseudonym_key *key;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void) snprintf(f->dir, sizeof(f->dir), "/tmp/haven-pseud-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void) snprintf(f->path, sizeof(f->path), "%s/p.key", f->dir);
	assert_int_equal(haven_pseudonym_key_generate(&f->key), HAVEN_OK);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	(void) unlink(f->path);
	assert_int_equal(rmdir(f->dir), 0);
	haven_pseudonym_key_destroy(&f->key);
	free(f);
	return (0);
}

static void
test_normalisation(void **state)
{
	struct fx *f = *state;
	uint8_t a[HAVEN_HASH_BYTES], b[HAVEN_HASH_BYTES];

	haven_pseudonym_person(a, f->key, "Jane Smith", "2015-03-01");
	haven_pseudonym_person(b, f->key, "  jane \t\n SMITH ", "2015-03-01");
	assert_memory_equal(a, b, sizeof(a));
	haven_pseudonym_person(b, f->key, "JaneSmith", "2015-03-01");
	assert_memory_not_equal(a, b, sizeof(a));
	haven_pseudonym_person(b, f->key, "Jane Smith", "2015-03-02");
	assert_memory_not_equal(a, b, sizeof(a));
	/* Non-ASCII bytes pass through unchanged (no Unicode folding). */
	haven_pseudonym_person(a, f->key, "Zo\xc3\xab", "2015-03-01");
	haven_pseudonym_person(b, f->key, "zo\xc3\xab", "2015-03-01");
	assert_memory_equal(a, b, sizeof(a));
	haven_pseudonym_person(b, f->key, "zoe", "2015-03-01");
	assert_memory_not_equal(a, b, sizeof(a));

	haven_pseudonym_case(a, f->key, "CC-2024-00123");
	haven_pseudonym_case(b, f->key, " cc-2024-00123\n");
	assert_memory_equal(a, b, sizeof(a));
	haven_pseudonym_case(b, f->key, "CC-2024-00124");
	assert_memory_not_equal(a, b, sizeof(a));
}

static void
test_long_input(void **state)
{
	struct fx *f = *state;
	uint8_t a[HAVEN_HASH_BYTES], b[HAVEN_HASH_BYTES];
	char x[1000], y[2100];
	size_t n = 0;

	/* Crosses the internal buffer boundary many times. */
	for (size_t i = 0; i < sizeof(x) - 1; i++) {
		x[i] = (i % 7 == 6) ? ' ' : (char) ('a' + (i % 26));
	}
	x[sizeof(x) - 1] = '\0';
	for (size_t i = 0; x[i] != '\0'; i++) {
		if (x[i] == ' ') {
			y[n++] = ' ';
			y[n++] = '\t';
		} else {
			y[n++] = (char) (x[i] - 32);
		}
	}
	y[n] = '\0';
	haven_pseudonym_case(a, f->key, x);
	haven_pseudonym_case(b, f->key, y);
	assert_memory_equal(a, b, sizeof(a));
}

static void
test_domain_and_key(void **state)
{
	struct fx *f = *state;
	uint8_t a[HAVEN_HASH_BYTES], b[HAVEN_HASH_BYTES];
	haven_pseudonym_key *other = NULL;

	haven_pseudonym_case(a, f->key, "x");
	haven_pseudonym_person(b, f->key, "x", "");
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(haven_pseudonym_key_generate(&other), HAVEN_OK);
	haven_pseudonym_case(b, other, "x");
	assert_memory_not_equal(a, b, sizeof(a));
	haven_pseudonym_key_destroy(&other);
	assert_null(other);
	haven_pseudonym_key_destroy(&other);
}

/* Recompute the documented construction independently of lib/. */
static void
test_known_construction(void **state)
{
	struct fx *f = *state;
	static const char key_hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	static const uint8_t msg[] = "haven-person-v1\0jane smith\0"
	                             "2015-03-01";
	uint8_t key[32], want[HAVEN_HASH_BYTES], got[HAVEN_HASH_BYTES];
	haven_pseudonym_key *k = NULL;
	char text[160];

	for (int i = 0; i < 32; i++) {
		key[i] = (uint8_t) i;
	}
	(void) snprintf(text, sizeof(text),
	    "{\"format\":\"haven-pseudonym-v1\",\"key\":\"%s\"}", key_hex);
	tu_write_mode(f->path, text, 0600);
	assert_int_equal(haven_pseudonym_key_load(&k, f->path, NULL, 0),
	    HAVEN_OK);
	assert_int_equal(crypto_generichash(want, sizeof(want), msg,
	    sizeof(msg) - 1, key, sizeof(key)), 0);
	haven_pseudonym_person(got, k, " Jane  SMITH", "2015-03-01");
	assert_memory_equal(got, want, sizeof(got));

	static const uint8_t cmsg[] = "haven-case-v1\0cc-1";
	assert_int_equal(crypto_generichash(want, sizeof(want), cmsg,
	    sizeof(cmsg) - 1, key, sizeof(key)), 0);
	haven_pseudonym_case(got, k, "CC-1");
	assert_memory_equal(got, want, sizeof(got));
	haven_pseudonym_key_destroy(&k);
}

static void
test_file_round_trip(void **state)
{
	struct fx *f = *state;
	uint8_t a[HAVEN_HASH_BYTES], b[HAVEN_HASH_BYTES];
	haven_pseudonym_key *k = NULL;
	struct stat st;

	assert_int_equal(haven_pseudonym_key_save(f->key, f->path, false),
	    HAVEN_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(haven_pseudonym_key_save(f->key, f->path, false),
	    HAVEN_EEXIST);
	assert_int_equal(haven_pseudonym_key_save(f->key, f->path, true),
	    HAVEN_OK);
	assert_int_equal(haven_pseudonym_key_load(&k, f->path, NULL, 0),
	    HAVEN_OK);
	haven_pseudonym_case(a, f->key, "ref-1");
	haven_pseudonym_case(b, k, "ref-1");
	assert_memory_equal(a, b, sizeof(a));
	haven_pseudonym_key_destroy(&k);
}

static void
expect_refused(struct fx *f, const char *text, mode_t mode, haven_err code,
    const char *needle)
{
	haven_pseudonym_key *k = NULL;
	char err[256] = "";

	tu_write_mode(f->path, text, mode);
	assert_int_equal(haven_pseudonym_key_load(&k, f->path, err,
	    sizeof(err)), code);
	assert_null(k);
	if (strstr(err, needle) == NULL) {
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	}
}

static void
test_file_refusals(void **state)
{
	struct fx *f = *state;
	static const char good_hex[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char text[256];

	(void) snprintf(text, sizeof(text),
	    "{\"format\":\"haven-pseudonym-v1\",\"key\":\"%s\"}", good_hex);
	expect_refused(f, text, 0644, HAVEN_EAUTH,
	    "permissions 0644: must be 0600");
	expect_refused(f, text, 0660, HAVEN_EAUTH, "must be 0600");
	expect_refused(f, "{\"format\":\"haven-pseudonym-v1\",\"key\":\"0011\"}",
	    0600, HAVEN_EINVAL, "key");
	expect_refused(f, "{\"format\":\"haven-pseudonym-v1\"}", 0600,
	    HAVEN_EINVAL, "key: missing");
	(void) snprintf(text, sizeof(text),
	    "{\"format\":\"haven-pseudonym-v1\",\"key\":\"%s\",\"x\":1}",
	    good_hex);
	expect_refused(f, text, 0600, HAVEN_EINVAL, "x: unknown field");
	(void) snprintf(text, sizeof(text),
	    "{\"format\":\"haven-key-v1\",\"key\":\"%s\"}", good_hex);
	expect_refused(f, text, 0600, HAVEN_EINVAL, "format");
	expect_refused(f, "not json", 0600, HAVEN_EINVAL, "malformed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_normalisation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_input, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_domain_and_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_known_construction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_refusals, setup,
		    teardown),
	};

	return (cmocka_run_group_tests_name("pseudonym", tests, NULL, NULL));
}
