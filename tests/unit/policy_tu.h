/*
 * tests/unit/policy_tu.h: what tests/unit/test_policy.c and
 * test_policy_settings.c share (header-only; include after <cmocka.h>).
 *
 * Policies are signed for real (haven_policy_sign, haven__doc_sign with
 * haven_keys_generate keys) and decoded through the public API; the
 * helpers assert, so a failure points at the calling test. All are
 * `static inline` so a file that uses only some still builds with
 * -Werror=unused-function.
 */
#ifndef HAVEN_TESTS_UNIT_POLICY_TU_H
#define HAVEN_TESTS_UNIT_POLICY_TU_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
#include "haven.pb-c.h"
#include "haven/keys.h"
#include "haven/policy.h"

/* Sign `p` with `admin` and decode it again, checking against `pk`. */
static inline haven_policy *
pu_resign(const haven_policy *p, const haven_keys *admin,
    const uint8_t *pk)
{
	haven_policy *q = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "";

	assert_int_equal(haven_policy_sign(p, admin, &buf, &len), HAVEN_OK);
	assert_int_equal(haven_policy_decode_signed(&q, buf, len, pk, err,
	    sizeof(err)), HAVEN_OK);
	free(buf);
	return (q);
}

/* Decoding the signed document `buf` gives `want` and, when `msg` is not
 * NULL, exactly that message; nothing is returned on a refusal. */
static inline void
pu_expect_signed(const uint8_t *buf, size_t len, const uint8_t *pk,
    haven_err want, const char *msg)
{
	haven_policy *p = NULL;
	char err[256] = "";
	haven_err rv;

	rv = haven_policy_decode_signed(&p, buf, len, pk, err, sizeof(err));
	if (rv != want || (msg != NULL && strcmp(err, msg) != 0)) {
		print_error("want %s '%s': %s '%s'\n", haven_err_name(want),
		    msg != NULL ? msg : "", haven_err_name(rv), err);
	}
	assert_int_equal(rv, want);
	if (msg != NULL) {
		assert_string_equal(err, msg);
	}
	if (want == HAVEN_OK) {
		assert_non_null(p);
		haven_policy_destroy(&p);
	}
	assert_null(p);
}

/* An admin-signed body `pp` (valid or not) decodes as pu_expect_signed
 * says: the decoder must apply the JSON loader's validation. */
static inline void
pu_expect_body(const Haven__Policy *pp, const haven_keys *admin,
    const uint8_t *pk, haven_err want, const char *msg)
{
	size_t blen = haven__policy__get_packed_size(pp);
	uint8_t *body = malloc(blen + 1);
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_non_null(body);
	(void) haven__policy__pack(pp, body);
	assert_int_equal(haven__doc_sign("policy", body, blen, admin, &buf,
	    &len), HAVEN_OK);
	pu_expect_signed(buf, len, pk, want, msg);
	free(buf);
	free(body);
}

/* Row `row` of a JSON refusal table: `src` is refused with `want` and,
 * when `msg` is not NULL, exactly that message. */
static inline void
pu_json_refused(size_t row, const char *src, haven_err want,
    const char *msg)
{
	haven_policy *p = NULL;
	char err[256] = "";
	haven_err rv;

	rv = haven_policy_from_json(&p, src, strlen(src), err, sizeof(err));
	if (rv != want || (msg != NULL && strcmp(err, msg) != 0)) {
		print_error("case %zu: %s '%s'\n", row, haven_err_name(rv),
		    err);
	}
	assert_int_equal(rv, want);
	if (msg != NULL) {
		assert_string_equal(err, msg);
	}
	assert_null(p);
}

#endif /* HAVEN_TESTS_UNIT_POLICY_TU_H */
