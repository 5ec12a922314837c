/*
 * tests/unit/test_keys.c: agency key generation, files and signatures.
 *
 * Real libsodium keys in a mkdtemp directory. Every refusal of
 * haven_keys_load is checked for its code and for a message that names the
 * field (and never the secret value).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haven/keys.h"

struct fx {
	char dir[64];
	char sk[128];
	char pk[128];
	char tmp[128];
	haven_keys *keys;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void) snprintf(f->dir, sizeof(f->dir), "/tmp/haven-keys-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void) snprintf(f->sk, sizeof(f->sk), "%s/agency.key", f->dir);
	(void) snprintf(f->pk, sizeof(f->pk), "%s/agency.pub", f->dir);
	(void) snprintf(f->tmp, sizeof(f->tmp), "%s/edited.key", f->dir);
	assert_int_equal(haven_keys_generate(&f->keys, "police.cambs", 3),
	    HAVEN_OK);
	assert_int_equal(haven_keys_save(f->keys, f->sk, f->pk, false),
	    HAVEN_OK);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	(void) unlink(f->sk);
	(void) unlink(f->pk);
	(void) unlink(f->tmp);
	assert_int_equal(rmdir(f->dir), 0);
	haven_keys_destroy(&f->keys);
	free(f);
	return (0);
}

/* Load the saved secret file, apply `edit`, write it to f->tmp (0600). */
static void
write_edited(struct fx *f, const char *key, json_t *val)
{
	json_t *root = json_load_file(f->sk, 0, NULL);
	char *text;

	assert_non_null(root);
	if (val == NULL) {
		assert_int_equal(json_object_del(root, key), 0);
	} else {
		assert_int_equal(json_object_set_new(root, key, val), 0);
	}
	text = json_dumps(root, 0);
	assert_non_null(text);
	tu_write_mode(f->tmp, text, 0600);
	free(text);
	json_decref(root);
}

static void
expect_refused(struct fx *f, haven_err code, const char *needle)
{
	haven_keys *k = NULL;
	char err[256] = "";

	assert_int_equal(haven_keys_load(&k, f->tmp, err, sizeof(err)), code);
	assert_null(k);
	if (strstr(err, needle) == NULL) {
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	}
}

static void
test_round_trip(void **state)
{
	struct fx *f = *state;
	haven_pubkey a, b, p;
	haven_keys *k = NULL;
	struct stat st;
	char err[256] = "";

	assert_int_equal(stat(f->sk, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->pk, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	assert_int_equal(haven_keys_load(&k, f->sk, err, sizeof(err)),
	    HAVEN_OK);
	assert_string_equal(haven_keys_agency(k), "police.cambs");
	assert_int_equal(haven_keys_generation(k), 3);
	haven_keys_public(f->keys, &a);
	haven_keys_public(k, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_equal(haven_keys_curve_sk(k), haven_keys_curve_sk(f->keys),
	    HAVEN_KEY_BYTES);
	assert_memory_equal(haven_keys_store_key(k),
	    haven_keys_store_key(f->keys), HAVEN_KEY_BYTES);

	assert_int_equal(haven_pubkey_load(&p, f->pk, err, sizeof(err)),
	    HAVEN_OK);
	assert_memory_equal(&a, &p, sizeof(a));
	haven_keys_destroy(&k);
	assert_null(k);
	haven_keys_destroy(&k); /* NULL-tolerant */
}

static void
test_keys_distinct(void **state)
{
	struct fx *f = *state;
	haven_keys *k = NULL;
	haven_pubkey a, b;

	assert_int_equal(haven_keys_generate(&k, "police.cambs", 3), HAVEN_OK);
	haven_keys_public(f->keys, &a);
	haven_keys_public(k, &b);
	assert_memory_not_equal(a.sign_pk, b.sign_pk, HAVEN_KEY_BYTES);
	assert_memory_not_equal(a.box_pk, b.box_pk, HAVEN_KEY_BYTES);
	assert_memory_not_equal(a.curve_pk, b.curve_pk, HAVEN_KEY_BYTES);
	assert_memory_not_equal(a.box_pk, a.curve_pk, HAVEN_KEY_BYTES);
	assert_memory_not_equal(haven_keys_store_key(k),
	    haven_keys_store_key(f->keys), HAVEN_KEY_BYTES);
	haven_keys_destroy(&k);
}

static void
test_generate_refusals(void **state)
{
	haven_keys *k = NULL;

	(void) state;
	assert_int_equal(haven_keys_generate(&k, "Police", 1), HAVEN_EINVAL);
	assert_int_equal(haven_keys_generate(&k, "", 1), HAVEN_EINVAL);
	assert_int_equal(haven_keys_generate(&k, "a..b", 1), HAVEN_EINVAL);
	assert_int_equal(haven_keys_generate(&k, "police.cambs", 0),
	    HAVEN_EINVAL);
	assert_null(k);
	assert_int_equal(haven_keys_generate(&k, "admin", 1), HAVEN_OK);
	haven_keys_destroy(&k);
	assert_int_equal(haven_keys_generate(&k, "broker", 1), HAVEN_OK);
	haven_keys_destroy(&k);
}

static void
test_save_exclusive(void **state)
{
	struct fx *f = *state;
	haven_keys *k = NULL, *l = NULL;
	haven_pubkey a, b;

	assert_int_equal(haven_keys_generate(&k, "police.cambs", 4), HAVEN_OK);
	assert_int_equal(haven_keys_save(k, f->sk, f->pk, false), HAVEN_EEXIST);
	assert_int_equal(haven_keys_load(&l, f->sk, NULL, 0), HAVEN_OK);
	assert_int_equal(haven_keys_generation(l), 3); /* untouched */
	haven_keys_destroy(&l);
	assert_int_equal(haven_keys_save(k, f->sk, f->pk, true), HAVEN_OK);
	assert_int_equal(haven_keys_load(&l, f->sk, NULL, 0), HAVEN_OK);
	haven_keys_public(k, &a);
	haven_keys_public(l, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	haven_keys_destroy(&k);
	haven_keys_destroy(&l);
}

static void
test_permissions_refused(void **state)
{
	struct fx *f = *state;
	haven_keys *k = NULL;
	char err[256] = "";

	assert_int_equal(chmod(f->sk, 0644), 0);
	assert_int_equal(haven_keys_load(&k, f->sk, err, sizeof(err)),
	    HAVEN_EAUTH);
	assert_null(k);
	assert_non_null(strstr(err, "permissions 0644: must be 0600"));
	assert_int_equal(chmod(f->sk, 0640), 0);
	assert_int_equal(haven_keys_load(&k, f->sk, err, sizeof(err)),
	    HAVEN_EAUTH);
	assert_int_equal(chmod(f->sk, 0604), 0);
	assert_int_equal(haven_keys_load(&k, f->sk, err, sizeof(err)),
	    HAVEN_EAUTH);
	assert_int_equal(chmod(f->sk, 0400), 0); /* owner read-only is fine */
	assert_int_equal(haven_keys_load(&k, f->sk, err, sizeof(err)),
	    HAVEN_OK);
	haven_keys_destroy(&k);
	assert_int_equal(chmod(f->sk, 0600), 0);
}

static void
test_malformed_refused(void **state)
{
	struct fx *f = *state;
	char big[9000];

	tu_write_mode(f->tmp, "{\"format\":", 0600);
	expect_refused(f, HAVEN_EINVAL, "malformed JSON");
	tu_write_mode(f->tmp, "[1,2]", 0600);
	expect_refused(f, HAVEN_EINVAL, "object");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tu_write_mode(f->tmp, big, 0600);
	expect_refused(f, HAVEN_EMSGSIZE, "larger than");

	write_edited(f, "extra", json_string("x"));
	expect_refused(f, HAVEN_EINVAL, "extra: unknown field");
	write_edited(f, "sign_sk", json_string("abcd"));
	expect_refused(f, HAVEN_EINVAL, "sign_sk");
	write_edited(f, "box_sk", json_string("zz"));
	expect_refused(f, HAVEN_EINVAL, "box_sk");
	write_edited(f, "curve_sk", json_integer(5));
	expect_refused(f, HAVEN_EINVAL, "curve_sk");
	write_edited(f, "store_key", NULL);
	expect_refused(f, HAVEN_EINVAL, "store_key: missing");
	write_edited(f, "format", json_string("haven-key-v2"));
	expect_refused(f, HAVEN_EINVAL, "format");
	write_edited(f, "agency", json_string("Not An Id"));
	expect_refused(f, HAVEN_EINVAL, "agency");
	write_edited(f, "generation", json_integer(0));
	expect_refused(f, HAVEN_EINVAL, "generation");
	write_edited(f, "generation", json_integer(1LL << 33));
	expect_refused(f, HAVEN_EINVAL, "generation");
}

static void
test_inconsistent_refused(void **state)
{
	struct fx *f = *state;
	json_t *root = json_load_file(f->sk, 0, NULL);
	char hex[129];

	assert_non_null(root);
	(void) snprintf(hex, sizeof(hex), "%s",
	    json_string_value(json_object_get(root, "sign_sk")));
	json_decref(root);
	/* Change the embedded public half (last 32 bytes). */
	hex[127] = (hex[127] == '0') ? '1' : '0';
	write_edited(f, "sign_sk", json_string(hex));
	expect_refused(f, HAVEN_EINVAL, "sign_sk");
}

static void
test_missing_file(void **state)
{
	struct fx *f = *state;
	haven_keys *k = NULL;
	haven_pubkey p;

	(void) unlink(f->tmp);
	assert_int_not_equal(haven_keys_load(&k, f->tmp, NULL, 0), HAVEN_OK);
	assert_int_not_equal(haven_pubkey_load(&p, f->tmp, NULL, 0), HAVEN_OK);
}

static void
test_pubkey_refusals(void **state)
{
	struct fx *f = *state;
	json_t *root = json_load_file(f->pk, 0, NULL);
	haven_pubkey p;
	char err[256] = "";
	char *text;

	assert_non_null(root);
	assert_int_equal(json_object_set_new(root, "note", json_true()), 0);
	text = json_dumps(root, 0);
	tu_write_mode(f->tmp, text, 0644);
	free(text);
	assert_int_equal(haven_pubkey_load(&p, f->tmp, err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_non_null(strstr(err, "note: unknown field"));

	assert_int_equal(json_object_del(root, "note"), 0);
	assert_int_equal(json_object_set_new(root, "sign_pk",
	    json_string("00000000000000000000000000000000"
	                "00000000000000000000000000000000")), 0);
	text = json_dumps(root, 0);
	tu_write_mode(f->tmp, text, 0644);
	free(text);
	assert_int_equal(haven_pubkey_load(&p, f->tmp, err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_non_null(strstr(err, "sign_pk"));

	assert_int_equal(json_object_set_new(root, "box_pk",
	    json_string("00")), 0);
	text = json_dumps(root, 0);
	tu_write_mode(f->tmp, text, 0644);
	free(text);
	assert_int_equal(haven_pubkey_load(&p, f->tmp, err, sizeof(err)),
	    HAVEN_EINVAL);
	json_decref(root);
}

static void
test_signatures(void **state)
{
	struct fx *f = *state;
	uint8_t msg[] = "haven test message";
	uint8_t sig[HAVEN_SIG_BYTES];
	haven_keys *other = NULL;
	haven_pubkey p, q;

	haven_keys_public(f->keys, &p);
	haven_keys_sign(f->keys, sig, msg, sizeof(msg));
	assert_int_equal(haven_sig_verify(sig, msg, sizeof(msg), p.sign_pk),
	    HAVEN_OK);
	msg[3] ^= 0x01;
	assert_int_equal(haven_sig_verify(sig, msg, sizeof(msg), p.sign_pk),
	    HAVEN_ESIG);
	msg[3] ^= 0x01;
	assert_int_equal(haven_sig_verify(sig, msg, sizeof(msg) - 1, p.sign_pk),
	    HAVEN_ESIG);
	sig[10] ^= 0x80;
	assert_int_equal(haven_sig_verify(sig, msg, sizeof(msg), p.sign_pk),
	    HAVEN_ESIG);
	sig[10] ^= 0x80;
	assert_int_equal(haven_keys_generate(&other, "school.urn.1", 1),
	    HAVEN_OK);
	haven_keys_public(other, &q);
	assert_int_equal(haven_sig_verify(sig, msg, sizeof(msg), q.sign_pk),
	    HAVEN_ESIG);
	haven_keys_destroy(&other);
}

static void
test_unseal(void **state)
{
	struct fx *f = *state;
	uint8_t secret[32], sealed[32 + crypto_box_SEALBYTES], out[32];
	haven_keys *other = NULL;
	haven_pubkey p;

	randombytes_buf(secret, sizeof(secret));
	haven_keys_public(f->keys, &p);
	assert_int_equal(crypto_box_seal(sealed, secret, sizeof(secret),
	    p.box_pk), 0);
	assert_int_equal(haven_keys_unseal(f->keys, out, sealed, sizeof(sealed)),
	    HAVEN_OK);
	assert_memory_equal(out, secret, sizeof(secret));
	assert_int_equal(haven_keys_unseal(f->keys, out, sealed, 10),
	    HAVEN_ECRYPTO);
	assert_int_equal(haven_keys_generate(&other, "school.urn.1", 1),
	    HAVEN_OK);
	assert_int_equal(haven_keys_unseal(other, out, sealed, sizeof(sealed)),
	    HAVEN_ECRYPTO);
	sealed[50] ^= 1;
	assert_int_equal(haven_keys_unseal(f->keys, out, sealed, sizeof(sealed)),
	    HAVEN_ECRYPTO);
	haven_keys_destroy(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keys_distinct, setup,
		    teardown),
		cmocka_unit_test(test_generate_refusals),
		cmocka_unit_test_setup_teardown(test_save_exclusive, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_permissions_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_inconsistent_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pubkey_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_signatures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unseal, setup, teardown),
	};

	return (cmocka_run_group_tests_name("keys", tests, NULL, NULL));
}
