/*
 * tests/unit/dir_tu.h: a real directory, and the JSON fixtures, for unit
 * tests (header-only: each tests/unit/test_*.c is its own executable, so
 * shared code lives here as static inline functions).
 *
 * Every agency gets a fresh libsodium key set (generation 1) and the
 * directory is parsed by haven_directory_from_json, so a test sees what
 * an agent or the broker would after loading a signed directory. Include
 * after <cmocka.h>; every helper asserts on failure.
 */
#ifndef HAVEN_TESTS_UNIT_DIR_TU_H
#define HAVEN_TESTS_UNIT_DIR_TU_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/directory.h"
#include "haven/keys.h"
#include "util.h"

/* One directory entry for `id` with new keys; `attrs` (an object, taken
 * over; NULL: no "attrs" member). The private keys go to *keep (caller
 * destroys), or are destroyed when keep is NULL. */
static inline json_t *
dir_tu_agency(const char *id, const char *role, bool revoked, json_t *attrs,
    haven_keys **keep)
{
	haven_keys *k = NULL;
	haven_pubkey pk;
	char s[2 * HAVEN_KEY_BYTES + 1], b[2 * HAVEN_KEY_BYTES + 1];
	char c[2 * HAVEN_KEY_BYTES + 1];
	json_t *a;

	assert_int_equal(haven_keys_generate(&k, id, 1), HAVEN_OK);
	haven_keys_public(k, &pk);
	if (keep != NULL) {
		*keep = k;
	} else {
		haven_keys_destroy(&k);
	}
	haven__hex_encode(s, pk.sign_pk, HAVEN_KEY_BYTES);
	haven__hex_encode(b, pk.box_pk, HAVEN_KEY_BYTES);
	haven__hex_encode(c, pk.curve_pk, HAVEN_KEY_BYTES);
	a = json_pack("{s:s, s:s, s:s, s:b, s:[{s:i, s:s, s:s, s:s}]}", "id",
	    id, "role", role, "name", "Test agency", "revoked", revoked,
	    "keys", "generation", 1, "sign_pk", s, "box_pk", b, "curve_pk", c);
	assert_non_null(a);
	if (attrs != NULL) {
		assert_int_equal(json_object_set_new(a, "attrs", attrs), 0);
	}
	return (a);
}

/* The directory {"version":1,"agencies":list} (list taken over). */
static inline haven_directory *
dir_tu_build(json_t *list)
{
	haven_directory *d = NULL;
	json_t *root = json_pack("{s:i, s:o}", "version", 1, "agencies", list);
	char err[256] = "";
	char *text;
	haven_err rv;

	assert_non_null(root);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(text);
	rv = haven_directory_from_json(&d, text, strlen(text), err,
	    sizeof(err));
	free(text);
	if (rv != HAVEN_OK) {
		fail_msg("directory: %s", err);
	}
	return (d);
}

/* The JSON document dir/name (a test fixture); fails the test if it
 * does not parse. */
static inline json_t *
dir_tu_fixture(const char *dir, const char *name)
{
	char path[512];
	json_error_t je;
	json_t *j;

	(void) snprintf(path, sizeof(path), "%s%s", dir, name);
	j = json_load_file(path, 0, &je);
	if (j == NULL) {
		fail_msg("%s: %s", name, je.text);
	}
	return (j);
}

#endif /* HAVEN_TESTS_UNIT_DIR_TU_H */
