/*
 * tests/unit/test_directory.c: the directory's JSON reader, signed form,
 * lookups and editing.
 *
 * The test directory is built from JSON around real keys from
 * haven_keys_generate. Every refusal of the JSON reader is produced by
 * editing one place of a valid source (a table of path, new value and the
 * exact message); every refusal of the signed reader is produced from a
 * real signed document (tampered, other signer, wrong kind, unsigned) or
 * from a body the real admin key signed but that breaks a rule, which the
 * shared validation must refuse with the same message as the JSON reader.
 * The "calendars" section is tested the same way: a refusal table over a
 * valid section, its limits, the same refusals from a signed body, the
 * canonical order (two orderings sign to the same bytes) and
 * haven_directory_calendar's resolution of one school's calendar.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "document.h"
#include "haven.pb-c.h"
#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/policy.h"
#include "util.h"

#define N_AG 5

static const struct {
	const char *id;
	const char *role;
	const char *name;
} agencies[N_AG] = {
	{"police.cambs", "POL", "Cambridgeshire Constabulary"},
	{"school.urn.110123", "EDU", "Riverside Primary"},
	{"la.cambs.ehe", "LA", "Cambridgeshire EHE team"},
	{"idva.cambs", "IDVA", "Cambridgeshire IDVA service"},
	{"broker", "BRK", "Haven broker"},
};

struct fx {
	haven_keys *keys[N_AG];
	haven_keys *admin;
	haven_keys *other;
	haven_pubkey admin_pk;
	json_t *base; /* a valid source */
};

/* --------------------------------------------------------- helpers */

static json_t *
hexjson(const uint8_t *b)
{
	char hex[65];

	haven__hex_encode(hex, b, 32);
	return (json_string(hex));
}

static json_t *
key_json(const haven_keys *k)
{
	haven_pubkey pk;

	haven_keys_public(k, &pk);
	return (json_pack("{s:i, s:o, s:o, s:o}", "generation",
	    (int) pk.generation, "sign_pk", hexjson(pk.sign_pk), "box_pk",
	    hexjson(pk.box_pk), "curve_pk", hexjson(pk.curve_pk)));
}

static json_t *
base_json(struct fx *f)
{
	json_t *list = json_array();

	for (size_t i = 0; i < N_AG; i++) {
		json_t *a = json_pack("{s:s, s:s, s:s, s:[o]}", "id",
		    agencies[i].id, "role", agencies[i].role, "name",
		    agencies[i].name, "keys", key_json(f->keys[i]));
		assert_non_null(a);
		assert_int_equal(json_array_append_new(list, a), 0);
	}
	assert_int_equal(json_object_set_new(json_array_get(list, 1), "attrs",
	                     json_pack("{s:s, s:s}", "deputy",
	                         "school.urn.110123.deputy", "start_of_day",
	                         "08:40")),
	    0);
	return (json_pack("{s:i, s:o}", "version", 3, "agencies", list));
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	for (size_t i = 0; i < N_AG; i++) {
		assert_int_equal(haven_keys_generate(&f->keys[i],
		                     agencies[i].id, 1),
		    HAVEN_OK);
	}
	assert_int_equal(haven_keys_generate(&f->admin, "admin", 1), HAVEN_OK);
	assert_int_equal(haven_keys_generate(&f->other, "admin", 1), HAVEN_OK);
	haven_keys_public(f->admin, &f->admin_pk);
	f->base = base_json(f);
	assert_non_null(f->base);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < N_AG; i++) {
		haven_keys_destroy(&f->keys[i]);
	}
	haven_keys_destroy(&f->admin);
	haven_keys_destroy(&f->other);
	json_decref(f->base);
	free(f);
	return (0);
}

/* Path segments: "agencies[1].keys[0].sign_pk". */
typedef struct seg {
	char key[64];
	long idx; /* >= 0: array index; -1: object key */
} seg;

static size_t
parse_path(const char *p, seg *s, size_t max)
{
	size_t n = 0;

	while (*p != '\0' && n < max) {
		if (*p == '.') {
			p++;
		}
		if (*p == '[') {
			s[n].idx = strtol(p + 1, (char **) &p, 10);
			p++; /* ']' */
		} else {
			size_t k = strcspn(p, ".[");
			assert_true(k < sizeof(s[n].key));
			memcpy(s[n].key, p, k);
			s[n].key[k] = '\0';
			s[n].idx = -1;
			p += k;
		}
		n++;
	}
	return (n);
}

static json_t *
walk(json_t *root, const seg *s, size_t n)
{
	json_t *j = root;

	for (size_t i = 0; i < n && j != NULL; i++) {
		j = s[i].idx >= 0 ? json_array_get(j, (size_t) s[i].idx)
		                  : json_object_get(j, s[i].key);
	}
	return (j);
}

static json_t *
get_path(json_t *root, const char *path)
{
	seg s[8];
	size_t n = parse_path(path, s, 8);

	return (walk(root, s, n));
}

/* Set (val stolen), append (index == size) or delete (val NULL). */
static void
set_path(json_t *root, const char *path, json_t *val)
{
	seg s[8];
	size_t n = parse_path(path, s, 8);
	json_t *parent = walk(root, s, n - 1);
	const seg *last = &s[n - 1];

	assert_non_null(parent);
	if (last->idx < 0 && val == NULL) {
		(void) json_object_del(parent, last->key);
	} else if (last->idx < 0) {
		assert_int_equal(json_object_set_new(parent, last->key, val), 0);
	} else if ((size_t) last->idx == json_array_size(parent)) {
		assert_int_equal(json_array_append_new(parent, val), 0);
	} else if (val == NULL) {
		assert_int_equal(json_array_remove(parent, (size_t) last->idx),
		    0);
	} else {
		assert_int_equal(json_array_set_new(parent, (size_t) last->idx,
		                     val),
		    0);
	}
}

/* A value: JSON text, "@path" (copy of another place), or NULL (delete). */
static json_t *
value_of(json_t *root, const char *v)
{
	json_error_t je;
	json_t *j;

	if (v == NULL) {
		return (NULL);
	}
	if (v[0] == '@') {
		j = json_deep_copy(get_path(root, v + 1));
	} else {
		j = json_loads(v, JSON_DECODE_ANY, &je);
	}
	assert_non_null(j);
	return (j);
}

static haven_err
from_json(json_t *root, haven_directory **d, char *err, size_t errlen)
{
	char *text = json_dumps(root, JSON_COMPACT);
	haven_err rv;

	assert_non_null(text);
	rv = haven_directory_from_json(d, text, strlen(text), err, errlen);
	free(text);
	return (rv);
}

static haven_directory *
load_base(struct fx *f)
{
	haven_directory *d = NULL;
	char err[256] = "";

	assert_int_equal(from_json(f->base, &d, err, sizeof(err)), HAVEN_OK);
	assert_string_equal(err, "");
	return (d);
}

static void
sign_base(struct fx *f, uint8_t **buf, size_t *len)
{
	haven_directory *d = load_base(f);

	assert_int_equal(haven_directory_sign(d, f->admin, buf, len),
	    HAVEN_OK);
	haven_directory_destroy(&d);
}

/* ------------------------------------------------------- happy paths */

static void
test_json_round_trip(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_base(f);
	haven_directory *d2 = NULL;
	char *t1 = NULL, *t2 = NULL;
	char err[256] = "";

	assert_int_equal(haven_directory_version(d), 3);
	assert_int_equal(haven_directory_count(d), N_AG);
	assert_int_equal(haven_directory_to_json(d, &t1), HAVEN_OK);
	assert_int_equal(haven_directory_from_json(&d2, t1, strlen(t1), err,
	                     sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_directory_to_json(d2, &t2), HAVEN_OK);
	assert_string_equal(t1, t2);
	for (size_t i = 0; i < N_AG; i++) {
		assert_memory_equal(haven_directory_at(d, i),
		    haven_directory_at(d2, i), sizeof(haven_agency));
	}
	free(t1);
	free(t2);
	haven_directory_destroy(&d);
	haven_directory_destroy(&d2);
	haven_directory_destroy(&d2); /* NULL-tolerant */
}

static void
test_lookups(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_base(f);
	const haven_agency_key *k = NULL;
	const haven_agency *a;
	haven_pubkey pk;

	for (size_t i = 0; i < N_AG; i++) {
		a = haven_directory_find(d, agencies[i].id);
		assert_non_null(a);
		assert_string_equal(a->role, agencies[i].role);
		haven_keys_public(f->keys[i], &pk);
		assert_ptr_equal(haven_directory_find_curve(d, pk.curve_pk, &k),
		    a);
		assert_memory_equal(k->sign_pk, pk.sign_pk, 32);
		assert_ptr_equal(haven_agency_key_current(a), k);
		assert_ptr_equal(haven_agency_key_gen(a, 1), k);
		assert_null(haven_agency_key_gen(a, 2));
	}
	assert_null(haven_directory_find(d, "police.cam"));
	assert_null(haven_directory_find(d, "zzz"));
	assert_null(haven_directory_find(d, ""));
	haven_keys_public(f->admin, &pk);
	assert_null(haven_directory_find_curve(d, pk.curve_pk, NULL));
	a = haven_directory_find(d, "school.urn.110123");
	assert_string_equal(haven_agency_attr(a, "start_of_day"), "08:40");
	assert_null(haven_agency_attr(a, "area"));
	assert_null(haven_directory_at(d, N_AG));
	haven_directory_destroy(&d);
}

static void
test_signed_round_trip(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_base(f);
	haven_directory *d2 = NULL;
	char *t1 = NULL, *t2 = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "";

	haven_directory_bump(d);
	assert_int_equal(haven_directory_version(d), 4);
	assert_int_equal(haven_directory_sign(d, f->admin, &buf, &len),
	    HAVEN_OK);
	assert_int_equal(haven_directory_decode_signed(&d2, buf, len,
	                     f->admin_pk.sign_pk, err, sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_directory_version(d2), 4);
	assert_int_equal(haven_directory_to_json(d, &t1), HAVEN_OK);
	assert_int_equal(haven_directory_to_json(d2, &t2), HAVEN_OK);
	assert_string_equal(t1, t2);
	assert_non_null(strstr(t1, "\"issued_ms\""));
	free(t1);
	free(t2);
	free(buf);
	haven_directory_destroy(&d);
	haven_directory_destroy(&d2);
}

static void
test_load_file(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/haven-dir-XXXXXX";
	char path[64];
	haven_directory *d = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "";

	assert_non_null(mkdtemp(dir));
	(void) snprintf(path, sizeof(path), "%s/directory.signed", dir);
	sign_base(f, &buf, &len);
	assert_int_equal(haven__write_file(path, buf, len, 0644, true),
	    HAVEN_OK);
	assert_int_equal(haven_directory_load(&d, path, f->admin_pk.sign_pk,
	                     err, sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_directory_count(d), N_AG);
	haven_directory_destroy(&d);
	assert_int_not_equal(haven_directory_load(&d, "/nonexistent/dir.signed",
	                         f->admin_pk.sign_pk, err, sizeof(err)),
	    HAVEN_OK);
	assert_string_equal(err, "/nonexistent/dir.signed: cannot read");
	assert_null(d);
	(void) unlink(path);
	assert_int_equal(rmdir(dir), 0);
	free(buf);
}

/* ------------------------------------------------- JSON refusal table */

static const struct {
	const char *path;
	const char *value; /* JSON text, "@path", or NULL to delete */
	const char *msg;
} refusals[] = {
	{"extra", "1", "extra: unknown field"},
	{"version", NULL, "version: missing"},
	{"version", "0", "version: must be at least 1"},
	{"version", "\"3\"", "version: must be an integer"},
	{"issued_ms", "-1", "issued_ms: out of range [0, 9223372036854775807]"},
	{"agencies", NULL, "agencies: missing"},
	{"agencies", "{}", "agencies: must be an array"},
	{"agencies[1]", "\"x\"", "agencies[1]: must be an object"},
	{"agencies[1].phone", "\"1\"", "agencies[1].phone: unknown field"},
	{"agencies[1].id", NULL, "agencies[1].id: missing"},
	{"agencies[1].id", "7", "agencies[1].id: must be a string"},
	{"agencies[1].id", "\"School.X\"",
	    "agencies[1].id: not a valid agency id"},
	{"agencies[1].id", "\"a..b\"", "agencies[1].id: not a valid agency id"},
	{"agencies[1].role", "\"XYZ\"", "agencies[1].role: unknown role 'XYZ'"},
	{"agencies[1].role", "\"POLICEMAN\"",
	    "agencies[1].role: longer than 7 bytes"},
	{"agencies[1].role", "\"BRK\"",
	    "agencies[1].role: role BRK belongs to the agency 'broker' and "
	    "only to it"},
	{"agencies[4].role", "\"POL\"",
	    "agencies[4].role: role BRK belongs to the agency 'broker' and "
	    "only to it"},
	{"agencies[1].name", "\"\"", "agencies[1].name: must not be empty"},
	{"agencies[1].name", NULL, "agencies[1].name: missing"},
	{"agencies[1].revoked", "\"yes\"",
	    "agencies[1].revoked: must be true or false"},
	{"agencies[1].keys", NULL, "agencies[1].keys: missing"},
	{"agencies[1].keys", "{}", "agencies[1].keys: must be an array"},
	{"agencies[1].keys", "[]",
	    "agencies[1].keys: at least one key is required"},
	{"agencies[1].keys[0]", "[]", "agencies[1].keys[0]: must be an object"},
	{"agencies[1].keys[0].pin", "1",
	    "agencies[1].keys[0].pin: unknown field"},
	{"agencies[1].keys[0].sign_pk", "\"abcd\"",
	    "agencies[1].keys[0].sign_pk: must be 64 hex digits"},
	{"agencies[1].keys[0].box_pk", NULL,
	    "agencies[1].keys[0].box_pk: missing"},
	{"agencies[1].keys[0].curve_pk",
	    "\"zz00000000000000000000000000000000000000000000000000000000000000\"",
	    "agencies[1].keys[0].curve_pk: must be 64 hex digits"},
	{"agencies[1].keys[0].generation", "0",
	    "agencies[1].keys[0].generation: must be at least 1"},
	{"agencies[1].keys[0].generation", "4294967296",
	    "agencies[1].keys[0].generation: out of range [0, 4294967295]"},
	{"agencies[1].keys[0].generation", NULL,
	    "agencies[1].keys[0].generation: missing"},
	{"agencies[1].keys[0].retired", "1",
	    "agencies[1].keys[0].retired: must be true or false"},
	{"agencies[1].keys[1]", "@agencies[1].keys[0]",
	    "agencies[1].keys[1].generation: duplicate generation"},
	{"agencies[1].attrs", "[]", "agencies[1].attrs: must be an object"},
	{"agencies[1].attrs.deputy", "1",
	    "agencies[1].attrs.deputy: must be a string"},
	{"agencies[1].attrs.area",
	    "\"0123456789012345678901234567890123456789012345678901234567890123\"",
	    "agencies[1].attrs.area: longer than 63 bytes"},
	{"agencies[1].attrs.a23456789012345678901234567890123456789012345678",
	    "\"x\"", "agencies[1].attrs: key longer than 47 bytes"},
	{"agencies[1].attrs", "{\"\":\"x\"}", "agencies[1].attrs: empty key"},
	{"agencies[3].id", "@agencies[1].id",
	    "agencies[3].id: duplicate of agencies[1]"},
	{"agencies[3].keys[0].sign_pk", "@agencies[0].keys[0].sign_pk",
	    "agencies[3].keys[0].sign_pk: already belongs to agencies[0]"},
	{"agencies[0].keys[0].box_pk", "@agencies[3].keys[0].box_pk",
	    "agencies[3].keys[0].box_pk: already belongs to agencies[0]"},
	{"agencies[2].keys[0].curve_pk", "@agencies[4].keys[0].curve_pk",
	    "agencies[4].keys[0].curve_pk: already belongs to agencies[2]"},
};

static void
test_json_refusals(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		json_t *root = json_deep_copy(f->base);
		haven_directory *d = NULL;
		char err[256] = "";

		set_path(root, refusals[i].path, value_of(root, refusals[i].value));
		assert_int_equal(from_json(root, &d, err, sizeof(err)),
		    HAVEN_EINVAL);
		if (strcmp(err, refusals[i].msg) != 0) {
			print_error("case %zu: got '%s'\n", i, err);
		}
		assert_string_equal(err, refusals[i].msg);
		assert_null(d);
		json_decref(root);
	}
}

static void
test_json_limits(void **state)
{
	struct fx *f = *state;
	json_t *root = json_deep_copy(f->base);
	haven_directory *d = NULL;
	char err[256] = "";

	/* 5 keys with distinct generations */
	for (int g = 2; g <= 5; g++) {
		json_t *k = json_deep_copy(get_path(root, "agencies[1].keys[0]"));
		char path[32];
		json_object_set_new(k, "generation", json_integer(g));
		(void) snprintf(path, sizeof(path), "agencies[1].keys[%d]",
		    g - 1);
		set_path(root, path, k);
	}
	assert_int_equal(from_json(root, &d, err, sizeof(err)), HAVEN_EINVAL);
	assert_string_equal(err, "agencies[1].keys: more than 4 keys");
	json_decref(root);

	root = json_deep_copy(f->base);
	set_path(root, "agencies[2].attrs", json_object());
	for (int i = 0; i < HAVEN_MAX_ATTRS + 1; i++) {
		char key[16];
		(void) snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(get_path(root, "agencies[2].attrs"), key,
		    json_string("v"));
	}
	assert_int_equal(from_json(root, &d, err, sizeof(err)), HAVEN_EINVAL);
	assert_string_equal(err, "agencies[2].attrs: more than 16 entries");
	json_decref(root);

	root = json_pack("{s:i, s:[]}", "version", 1, "agencies");
	for (int i = 0; i < HAVEN_MAX_AGENCIES + 1; i++) {
		json_array_append_new(json_object_get(root, "agencies"),
		    json_null());
	}
	assert_int_equal(from_json(root, &d, err, sizeof(err)), HAVEN_EINVAL);
	assert_string_equal(err, "agencies: more than 4096 entries");
	json_decref(root);

	assert_int_equal(haven_directory_from_json(&d, "{\"version\":", 11,
	                     err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_true(strncmp(err, "malformed JSON", 14) == 0);
	assert_int_equal(haven_directory_from_json(&d, "[1]", 3, err,
	                     sizeof(err)),
	    HAVEN_EINVAL);
	assert_int_equal(haven_directory_from_json(&d, "{}",
	                     HAVEN_JSON_MAX + 1, err, sizeof(err)),
	    HAVEN_EMSGSIZE);
	assert_null(d);
}

static void
test_empty_directory(void **state)
{
	haven_directory *d = NULL;
	char err[256] = "";
	const char *src = "{\"version\":1,\"agencies\":[]}";

	(void) state;
	assert_int_equal(haven_directory_from_json(&d, src, strlen(src), err,
	                     sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_directory_count(d), 0);
	assert_null(haven_directory_find(d, "police.cambs"));
	haven_directory_destroy(&d);
}

/* ------------------------------------------------ signed refusals */

static void
expect_signed(struct fx *f, const uint8_t *buf, size_t len, haven_err want,
    const char *msg)
{
	haven_directory *d = NULL;
	char err[256] = "";

	assert_int_equal(haven_directory_decode_signed(&d, buf, len,
	                     f->admin_pk.sign_pk, err, sizeof(err)),
	    want);
	if (msg != NULL) {
		assert_string_equal(err, msg);
	}
	if (want == HAVEN_OK) {
		assert_non_null(d);
		haven_directory_destroy(&d);
	}
	assert_null(d);
}

static void
test_signed_tampered(void **state)
{
	struct fx *f = *state;
	Haven__SignedDoc *doc;
	uint8_t *buf = NULL, *copy = NULL;
	size_t len = 0, clen = 0;

	sign_base(f, &buf, &len);
	doc = tu_unpack_doc(buf, len);
	doc->body.data[doc->body.len / 2] ^= 0x01;
	tu_repack_doc(doc, &copy, &clen);
	expect_signed(f, copy, clen, HAVEN_ESIG, "signature does not verify");
	doc->body.data[doc->body.len / 2] ^= 0x01;
	doc->signature.data[7] ^= 0x80;
	tu_repack_doc(doc, &copy, &clen);
	expect_signed(f, copy, clen, HAVEN_ESIG, "signature does not verify");
	doc->signature.data[7] ^= 0x80;
	doc->signature.len = 0;
	tu_repack_doc(doc, &copy, &clen);
	expect_signed(f, copy, clen, HAVEN_ESIG, "directory is not signed");
	haven__signed_doc__free_unpacked(doc, NULL);
	/* truncated and oversized */
	expect_signed(f, buf, len - 3, HAVEN_EDECODE,
	    "signed directory does not decode");
	free(copy);
	copy = calloc(1, HAVEN_DOC_MAX + 1);
	assert_non_null(copy);
	expect_signed(f, copy, HAVEN_DOC_MAX + 1, HAVEN_EMSGSIZE, NULL);
	free(copy);
	/* the untouched one still verifies */
	{
		haven_directory *d = NULL;
		assert_int_equal(haven_directory_decode_signed(&d, buf, len,
		                     f->admin_pk.sign_pk, NULL, 0),
		    HAVEN_OK);
		haven_directory_destroy(&d);
	}
	free(buf);
}

static void
test_signed_other_key(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_base(f);
	Haven__SignedDoc *doc;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(haven_directory_sign(d, f->other, &buf, &len),
	    HAVEN_OK);
	expect_signed(f, buf, len, HAVEN_ESIG,
	    "not signed by the partnership admin key");
	/* claiming the admin's key does not help */
	doc = tu_unpack_doc(buf, len);
	memcpy(doc->signer_pk.data, f->admin_pk.sign_pk, 32);
	tu_repack_doc(doc, &buf, &len);
	expect_signed(f, buf, len, HAVEN_ESIG, "signature does not verify");
	haven__signed_doc__free_unpacked(doc, NULL);
	free(buf);
	haven_directory_destroy(&d);
}

static void
test_signed_wrong_kind(void **state)
{
	struct fx *f = *state;
	const char *src = "{\"version\":1,\"rules\":[{\"id\":\"R1\","
	                  "\"effect\":\"allow\"}]}";
	haven_policy *p = NULL;
	Haven__SignedDoc *doc;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "";

	assert_int_equal(haven_policy_from_json(&p, src, strlen(src), err,
	                     sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_policy_sign(p, f->admin, &buf, &len), HAVEN_OK);
	expect_signed(f, buf, len, HAVEN_ESIG,
	    "signed document is not a directory");
	/* relabelled: the kind is inside the signed bytes */
	doc = tu_unpack_doc(buf, len);
	free(doc->kind);
	doc->kind = strdup("directory");
	tu_repack_doc(doc, &buf, &len);
	expect_signed(f, buf, len, HAVEN_ESIG, "signature does not verify");
	haven__signed_doc__free_unpacked(doc, NULL);
	free(buf);
	haven_policy_destroy(&p);
}

static void
test_signed_unsigned_body(void **state)
{
	struct fx *f = *state;
	Haven__SignedDoc *doc;
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_directory *d = NULL;
	haven_err rv;

	sign_base(f, &buf, &len);
	doc = tu_unpack_doc(buf, len);
	/* the raw Directory protobuf, no SignedDoc around it */
	rv = haven_directory_decode_signed(&d, doc->body.data, doc->body.len,
	    f->admin_pk.sign_pk, NULL, 0);
	assert_true(rv == HAVEN_EDECODE || rv == HAVEN_ESIG);
	assert_null(d);
	haven__signed_doc__free_unpacked(doc, NULL);
	expect_signed(f, (const uint8_t *) "", 0, HAVEN_ESIG,
	    "signed document is not a directory");
	free(buf);
}

/* A body the real admin key signed, so only the content rules stand. */
static void
expect_body(struct fx *f, const Haven__Directory *pd, haven_err want,
    const char *msg)
{
	size_t blen = haven__directory__get_packed_size(pd);
	uint8_t *body = malloc(blen + 1);
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_non_null(body);
	(void) haven__directory__pack(pd, body);
	assert_int_equal(haven__doc_sign("directory", body, blen, f->admin,
	                     &buf, &len),
	    HAVEN_OK);
	expect_signed(f, buf, len, want, msg);
	free(buf);
	free(body);
}

static void
test_signed_invalid_content(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	Haven__SignedDoc *doc;
	Haven__Directory *pd;
	uint8_t saved_key[32];

	sign_base(f, &buf, &len);
	doc = tu_unpack_doc(buf, len);
	pd = haven__directory__unpack(NULL, doc->body.len, doc->body.data);
	assert_non_null(pd);
	expect_body(f, pd, HAVEN_OK, NULL);

	pd->version = 0;
	expect_body(f, pd, HAVEN_EINVAL, "version: must be at least 1");
	pd->version = (uint64_t) INT64_MAX + 1;
	expect_body(f, pd, HAVEN_EINVAL, "version: must be at least 1");
	pd->version = 3;
	pd->issued_ms = -5;
	expect_body(f, pd, HAVEN_EINVAL, "issued_ms: must not be negative");
	pd->issued_ms = 0;

	pd->agencies[1]->role[0] = 'X';
	expect_body(f, pd, HAVEN_EINVAL,
	    "agencies[1].role: unknown role 'XDU'");
	pd->agencies[1]->role[0] = 'E';

	pd->agencies[1]->keys[0]->sign_pk.len = 31;
	expect_body(f, pd, HAVEN_EINVAL,
	    "agencies[1].keys[0].sign_pk: must be 32 bytes");
	pd->agencies[1]->keys[0]->sign_pk.len = 32;

	/* Restore the whole key afterwards: changing one byte of the copy
	 * could still equal agencies[0]'s key (1 time in 256). */
	memcpy(saved_key, pd->agencies[2]->keys[0]->curve_pk.data, 32);
	memcpy(pd->agencies[2]->keys[0]->curve_pk.data,
	    pd->agencies[0]->keys[0]->curve_pk.data, 32);
	expect_body(f, pd, HAVEN_EINVAL,
	    "agencies[2].keys[0].curve_pk: already belongs to agencies[0]");
	memcpy(pd->agencies[2]->keys[0]->curve_pk.data, saved_key, 32);

	pd->agencies[1]->attrs[1]->key[0] = 'd';
	pd->agencies[1]->attrs[1]->key[1] = 'e';
	pd->agencies[1]->attrs[1]->key[2] = 'p';
	pd->agencies[1]->attrs[1]->key[3] = 'u';
	pd->agencies[1]->attrs[1]->key[4] = 't';
	pd->agencies[1]->attrs[1]->key[5] = 'y';
	pd->agencies[1]->attrs[1]->key[6] = '\0';
	expect_body(f, pd, HAVEN_EINVAL,
	    "agencies[1].attrs.deputy: duplicate key");
	pd->agencies[1]->attrs[1]->key[0] = 'x';

	pd->agencies[3]->name[0] = (char) 0xc0; /* overlong lead byte */
	expect_body(f, pd, HAVEN_EINVAL, "agencies[3].name: not valid UTF-8");
	pd->agencies[3]->name[0] = 'C';

	pd->agencies[3]->n_keys = 0;
	expect_body(f, pd, HAVEN_EINVAL,
	    "agencies[3].keys: at least one key is required");
	pd->agencies[3]->n_keys = 1;
	expect_body(f, pd, HAVEN_OK, NULL);

	haven__directory__free_unpacked(pd, NULL);
	haven__signed_doc__free_unpacked(doc, NULL);
	expect_signed(f, buf, len, HAVEN_OK, NULL);
	free(buf);
	{
		const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
		uint8_t *b2 = NULL;
		size_t l2 = 0;
		assert_int_equal(haven__doc_sign("directory", junk,
		                     sizeof(junk), f->admin, &b2, &l2),
		    HAVEN_OK);
		expect_signed(f, b2, l2, HAVEN_EDECODE,
		    "directory body does not decode");
		free(b2);
	}
}

/* ------------------------------------------------------------ editing */

static void
test_edit(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_base(f);
	haven_keys *k = NULL, *k2 = NULL;
	haven_pubkey pk, pk2;
	haven_tag attr = {"area", "north"};
	const haven_agency *a;
	char err[256] = "";

	assert_int_equal(haven_keys_generate(&k, "housing.cambs", 1),
	    HAVEN_OK);
	haven_keys_public(k, &pk);
	assert_int_equal(haven_directory_add(d, &pk, "HSG", "Housing", &attr,
	                     1, err, sizeof(err)),
	    HAVEN_OK);
	a = haven_directory_find(d, "housing.cambs");
	assert_non_null(a);
	assert_string_equal(haven_agency_attr(a, "area"), "north");
	assert_int_equal(haven_directory_count(d), N_AG + 1);
	/* every earlier agency is still found after the array grew */
	for (size_t i = 0; i < N_AG; i++) {
		assert_non_null(haven_directory_find(d, agencies[i].id));
	}

	/* a key of another agency under a new id: refused, unchanged */
	haven_keys_public(f->keys[0], &pk2);
	(void) snprintf(pk2.agency, sizeof(pk2.agency), "police.other");
	assert_int_equal(haven_directory_add(d, &pk2, "POL", "Other", NULL, 0,
	                     err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_string_equal(err,
	    "agencies[6].keys[0].sign_pk: already belongs to agencies[0]");
	assert_int_equal(haven_directory_count(d), N_AG + 1);
	assert_null(haven_directory_find(d, "police.other"));

	/* bad role, bad id, empty name */
	assert_int_equal(haven_directory_add(d, &pk2, "COP", "Other", NULL, 0,
	                     err, sizeof(err)),
	    HAVEN_EINVAL);
	(void) snprintf(pk2.agency, sizeof(pk2.agency), "Bad Id");
	assert_int_equal(haven_directory_add(d, &pk2, "POL", "Other", NULL, 0,
	                     err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_string_equal(err, "agencies[6].id: not a valid agency id");

	/* enrol generation 2: old key retired, current is gen 2 */
	assert_int_equal(haven_keys_generate(&k2, "housing.cambs", 2),
	    HAVEN_OK);
	haven_keys_public(k2, &pk2);
	assert_int_equal(haven_directory_add(d, &pk2, "LA", NULL, NULL, 0, err,
	                     sizeof(err)),
	    HAVEN_EINVAL);
	assert_string_equal(err, "role: agency has role HSG");
	assert_int_equal(haven_directory_add(d, &pk2, "HSG", NULL, NULL, 0,
	                     err, sizeof(err)),
	    HAVEN_OK);
	a = haven_directory_find(d, "housing.cambs");
	assert_int_equal(a->n_keys, 2);
	assert_true(haven_agency_key_gen(a, 1)->retired);
	assert_int_equal(haven_agency_key_current(a)->generation, 2);
	assert_string_equal(a->name, "Housing");
	assert_int_equal(haven_directory_add(d, &pk2, "HSG", NULL, NULL, 0,
	                     err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_string_equal(err,
	    "generation: must be higher than the agency's current one");
	assert_int_equal(a->n_keys, 2);
	assert_false(haven_agency_key_gen(a, 2)->retired);

	/* revoke, then enrolment is refused */
	assert_int_equal(haven_directory_revoke(d, "housing.cambs"), HAVEN_OK);
	assert_true(a->revoked);
	assert_int_equal(haven_directory_revoke(d, "nobody"),
	    HAVEN_ENOTFOUND);
	pk2.generation = 3;
	assert_int_equal(haven_directory_add(d, &pk2, "HSG", NULL, NULL, 0,
	                     err, sizeof(err)),
	    HAVEN_EINVAL);
	assert_string_equal(err, "id: agency is revoked");

	/* the edited directory signs and loads */
	{
		haven_directory *d2 = NULL;
		uint8_t *buf = NULL;
		size_t len = 0;
		haven_directory_bump(d);
		assert_int_equal(haven_directory_sign(d, f->admin, &buf, &len),
		    HAVEN_OK);
		assert_int_equal(haven_directory_decode_signed(&d2, buf, len,
		                     f->admin_pk.sign_pk, err, sizeof(err)),
		    HAVEN_OK);
		assert_true(haven_directory_find(d2, "housing.cambs")->revoked);
		assert_int_equal(haven_directory_version(d2), 4);
		haven_directory_destroy(&d2);
		free(buf);
	}
	haven_keys_destroy(&k);
	haven_keys_destroy(&k2);
	haven_directory_destroy(&d);
}

/* ----------------------------------------------------------- calendars */

/* A valid section, deliberately out of order. */
static const char cal_src[] =
    "{\"bank_holidays\": [\"2026-12-28\", \"2026-12-25\"],"
    " \"areas\": ["
    "  {\"id\": \"la.cambs\","
    "   \"terms\": [{\"name\": \"spring-2027\", \"first\": \"2027-01-05\","
    "                \"last\": \"2027-02-12\"},"
    "               {\"name\": \"autumn-2026\", \"first\": \"2026-09-03\","
    "                \"last\": \"2026-12-18\"}],"
    "   \"closed\": [\"2027-01-05\", \"2026-09-04\"]},"
    "  {\"id\": \"la.beds\", \"terms\": [], \"closed\": []}],"
    " \"schools\": [{\"id\": \"school.urn.110123\","
    "                \"closed\": [\"2027-02-12\"]},"
    "               {\"id\": \"idva.cambs\"}]}";

/* The same section as to_json prints it (canonical order). */
static const char cal_canon[] =
    "{\"bank_holidays\": [\"2026-12-25\", \"2026-12-28\"],"
    " \"areas\": ["
    "  {\"id\": \"la.beds\", \"terms\": [], \"closed\": []},"
    "  {\"id\": \"la.cambs\","
    "   \"terms\": [{\"name\": \"autumn-2026\", \"first\": \"2026-09-03\","
    "                \"last\": \"2026-12-18\"},"
    "               {\"name\": \"spring-2027\", \"first\": \"2027-01-05\","
    "                \"last\": \"2027-02-12\"}],"
    "   \"closed\": [\"2026-09-04\", \"2027-01-05\"]}],"
    " \"schools\": [{\"id\": \"idva.cambs\", \"closed\": []},"
    "               {\"id\": \"school.urn.110123\","
    "                \"closed\": [\"2027-02-12\"]}]}";

static json_t *
with_cal(struct fx *f, const char *cal)
{
	json_t *root = json_deep_copy(f->base);

	set_path(root, "calendars", value_of(root, cal));
	set_path(root, "agencies[1].attrs.local_authority",
	    json_string("la.cambs"));
	return (root);
}

static haven_directory *
load_cal(struct fx *f, const char *cal)
{
	json_t *root = with_cal(f, cal);
	haven_directory *d = NULL;
	char err[256] = "";

	if (from_json(root, &d, err, sizeof(err)) != HAVEN_OK) {
		fail_msg("%s", err);
	}
	json_decref(root);
	return (d);
}

static void
test_calendars_round_trip(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_cal(f, cal_src);
	haven_directory *d2 = load_cal(f, cal_canon);
	haven_directory *d3 = NULL;
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;
	char *t1 = NULL, *t2 = NULL, *t3 = NULL;
	json_t *want = json_loads(cal_canon, 0, NULL), *got;
	char err[256] = "";

	assert_non_null(want);
	assert_int_equal(haven_directory_to_json(d, &t1), HAVEN_OK);
	got = json_loads(t1, 0, NULL);
	assert_true(json_equal(json_object_get(got, "calendars"), want));
	json_decref(got);
	json_decref(want);
	/* Another order, same content: the same JSON and signed bytes. */
	assert_int_equal(haven_directory_to_json(d2, &t2), HAVEN_OK);
	assert_string_equal(t1, t2);
	assert_int_equal(haven_directory_sign(d, f->admin, &b1, &l1), HAVEN_OK);
	assert_int_equal(haven_directory_sign(d2, f->admin, &b2, &l2),
	    HAVEN_OK);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	/* sign -> decode -> to_json reproduces the source. */
	assert_int_equal(haven_directory_decode_signed(&d3, b1, l1,
	    f->admin_pk.sign_pk, err, sizeof(err)), HAVEN_OK);
	assert_int_equal(haven_directory_to_json(d3, &t3), HAVEN_OK);
	assert_string_equal(t1, t3);
	free(t1);
	free(t2);
	free(t3);
	free(b1);
	free(b2);
	haven_directory_destroy(&d);
	haven_directory_destroy(&d2);
	haven_directory_destroy(&d3);
}

/* An empty section and none print (and sign) alike. */
static void
test_calendars_empty(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_cal(f, "{}");
	haven_directory *d2 = load_cal(f,
	    "{\"bank_holidays\":[],\"areas\":[],\"schools\":[]}");
	char *t1 = NULL, *t2 = NULL;

	assert_int_equal(haven_directory_to_json(d, &t1), HAVEN_OK);
	assert_int_equal(haven_directory_to_json(d2, &t2), HAVEN_OK);
	assert_null(strstr(t1, "calendars"));
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	haven_directory_destroy(&d);
	haven_directory_destroy(&d2);
}

static const struct {
	const char *path;
	const char *value;
	const char *msg;
} cal_refusals[] = {
	{"calendars", "[]", "calendars: must be an object"},
	{"calendars.holidays", "[]", "calendars.holidays: unknown field"},
	{"calendars.bank_holidays", "{}",
	    "calendars.bank_holidays: must be an array"},
	{"calendars.bank_holidays[0]", "\"2026-02-30\"",
	    "calendars.bank_holidays[0]: not a date (YYYY-MM-DD)"},
	{"calendars.bank_holidays[1]", "20261225",
	    "calendars.bank_holidays[1]: not a date (YYYY-MM-DD)"},
	{"calendars.bank_holidays[1]", "\"2026-12-25T00:00:00Z\"",
	    "calendars.bank_holidays[1]: not a date (YYYY-MM-DD)"},
	{"calendars.bank_holidays[2]", "\"2026-12-25\"",
	    "calendars.bank_holidays: duplicate date 2026-12-25"},
	{"calendars.areas", "{}", "calendars.areas: must be an array"},
	{"calendars.areas[0]", "1", "calendars.areas[0]: must be an object"},
	{"calendars.areas[0].name", "\"x\"",
	    "calendars.areas[0].name: unknown field"},
	{"calendars.areas[0].id", NULL, "calendars.areas[0].id: missing"},
	{"calendars.areas[0].id", "\"LA Cambs\"",
	    "calendars.areas[0].id: not a valid agency id"},
	{"calendars.areas[1].id", "\"la.cambs\"",
	    "calendars.areas[1].id: duplicate of calendars.areas[0]"},
	{"calendars.areas[0].terms", "{}",
	    "calendars.areas[0].terms: must be an array"},
	{"calendars.areas[0].terms[0]", "\"autumn\"",
	    "calendars.areas[0].terms[0]: must be an object"},
	{"calendars.areas[0].terms[0].when", "1",
	    "calendars.areas[0].terms[0].when: unknown field"},
	{"calendars.areas[0].terms[0].name", NULL,
	    "calendars.areas[0].terms[0].name: missing"},
	{"calendars.areas[0].terms[0].name", "\"\"",
	    "calendars.areas[0].terms[0].name: must not be empty"},
	{"calendars.areas[0].terms[0].name", "\"a\\u0007b\"",
	    "calendars.areas[0].terms[0].name: contains a control character"},
	{"calendars.areas[0].terms[0].name",
	    "\"0123456789012345678901234567890123456789012345678\"",
	    "calendars.areas[0].terms[0].name: longer than 47 bytes"},
	{"calendars.areas[0].terms[1].last", NULL,
	    "calendars.areas[0].terms[1].last: missing"},
	{"calendars.areas[0].terms[1].first", "\"2026-9-03\"",
	    "calendars.areas[0].terms[1].first: not a date (YYYY-MM-DD)"},
	{"calendars.areas[0].terms[0].first", "\"2027-02-13\"",
	    "calendars.areas[0] 'la.cambs': term 'spring-2027' ends before "
	    "it starts"},
	{"calendars.areas[0].terms[1].last", "\"2027-01-05\"",
	    "calendars.areas[0] 'la.cambs': term 'spring-2027' overlaps "
	    "'autumn-2026'"},
	{"calendars.areas[0].terms[2]",
	    "{\"name\":\"inner\",\"first\":\"2026-10-01\",\"last\":"
	    "\"2026-10-02\"}",
	    "calendars.areas[0] 'la.cambs': term 'inner' overlaps "
	    "'autumn-2026'"},
	{"calendars.areas[0].terms[2]", "@calendars.areas[0].terms[0]",
	    "calendars.areas[0] 'la.cambs': term 'spring-2027' overlaps "
	    "'spring-2027'"},
	{"calendars.areas[0].closed", "\"2027-01-05\"",
	    "calendars.areas[0].closed: must be an array"},
	{"calendars.areas[0].closed[2]", "\"2027-01-05\"",
	    "calendars.areas[0].closed: duplicate date 2027-01-05"},
	{"calendars.schools", "7", "calendars.schools: must be an array"},
	{"calendars.schools[0]", "[]", "calendars.schools[0]: must be an object"},
	{"calendars.schools[0].start", "\"08:45\"",
	    "calendars.schools[0].start: unknown field"},
	{"calendars.schools[0].id", "\"school.urn.999999\"",
	    "calendars.schools[0].id: not an agency of the directory"},
	{"calendars.schools[1].id", "\"not an id\"",
	    "calendars.schools[1].id: not a valid agency id"},
	{"calendars.schools[2]", "@calendars.schools[0]",
	    "calendars.schools[2].id: duplicate of calendars.schools[0]"},
	{"calendars.schools[0].closed[0]", "\"2027-13-01\"",
	    "calendars.schools[0].closed[0]: not a date (YYYY-MM-DD)"},
	{"calendars.schools[0].closed[1]", "\"2027-02-12\"",
	    "calendars.schools[0].closed: duplicate date 2027-02-12"},
	{"agencies[1].attrs.start_of_day", "\"8:45\"",
	    "agencies[1].attrs.start_of_day: must be HH:MM (00:00-23:59)"},
	{"agencies[1].attrs.start_of_day", "\"24:00\"",
	    "agencies[1].attrs.start_of_day: must be HH:MM (00:00-23:59)"},
	{"agencies[1].attrs.start_of_day", "\"08:60\"",
	    "agencies[1].attrs.start_of_day: must be HH:MM (00:00-23:59)"},
	{"agencies[1].attrs.start_of_day", "\"08:45 \"",
	    "agencies[1].attrs.start_of_day: must be HH:MM (00:00-23:59)"},
	{"agencies[3].attrs", "{\"start_of_day\":\"\"}",
	    "agencies[3].attrs.start_of_day: must be HH:MM (00:00-23:59)"},
	{"agencies[1].attrs.calendar", "\"la.herts\"",
	    "agencies[1].attrs.calendar: names no area of calendars.areas"},
};

static void
test_calendars_refusals(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cal_refusals) / sizeof(cal_refusals[0]);
	     i++) {
		json_t *root = with_cal(f, cal_src);
		haven_directory *d = NULL;
		char err[256] = "";

		set_path(root, cal_refusals[i].path,
		    value_of(root, cal_refusals[i].value));
		assert_int_equal(from_json(root, &d, err, sizeof(err)),
		    HAVEN_EINVAL);
		if (strcmp(err, cal_refusals[i].msg) != 0) {
			print_error("case %zu: got '%s'\n", i, err);
		}
		assert_string_equal(err, cal_refusals[i].msg);
		assert_null(d);
		json_decref(root);
	}
}

/* A list of n distinct dates from 2001-01-01 on. */
static json_t *
date_list(size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		int y;
		unsigned m, d;
		char s[16];

		haven_civil_from_days(11323 + (int64_t) i, &y, &m, &d);
		(void) snprintf(s, sizeof(s), "%04d-%02u-%02u", y, m, d);
		assert_int_equal(json_array_append_new(a, json_string(s)), 0);
	}
	return (a);
}

/* Terms of one day each, a week apart. */
static json_t *
term_list(size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		int y;
		unsigned m, d;
		char s[16], name[16];

		haven_civil_from_days(11323 + 7 * (int64_t) i, &y, &m, &d);
		(void) snprintf(s, sizeof(s), "%04d-%02u-%02u", y, m, d);
		(void) snprintf(name, sizeof(name), "t%zu", i);
		assert_int_equal(json_array_append_new(a, json_pack(
		    "{s:s, s:s, s:s}", "name", name, "first", s, "last", s)), 0);
	}
	return (a);
}

static void
expect_cal(struct fx *f, const char *path, json_t *val, const char *msg)
{
	json_t *root = with_cal(f, cal_src);
	haven_directory *d = NULL;
	char err[256] = "";

	set_path(root, path, val);
	assert_int_equal(from_json(root, &d, err, sizeof(err)),
	    msg == NULL ? HAVEN_OK : HAVEN_EINVAL);
	if (msg != NULL) {
		assert_string_equal(err, msg);
	}
	haven_directory_destroy(&d);
	json_decref(root);
}

static void
test_calendars_limits(void **state)
{
	struct fx *f = *state;
	json_t *areas = json_array(), *schools = json_array();

	expect_cal(f, "calendars.bank_holidays", date_list(512), NULL);
	expect_cal(f, "calendars.bank_holidays", date_list(513),
	    "calendars.bank_holidays: more than 512 entries");
	expect_cal(f, "calendars.areas[0].terms", term_list(64), NULL);
	expect_cal(f, "calendars.areas[0].terms", term_list(65),
	    "calendars.areas[0].terms: more than 64 entries");
	expect_cal(f, "calendars.areas[0].closed", date_list(256), NULL);
	expect_cal(f, "calendars.areas[0].closed", date_list(257),
	    "calendars.areas[0].closed: more than 256 entries");
	expect_cal(f, "calendars.schools[0].closed", date_list(64), NULL);
	expect_cal(f, "calendars.schools[0].closed", date_list(65),
	    "calendars.schools[0].closed: more than 64 entries");
	for (int i = 0; i < 65; i++) {
		char id[32];

		(void) snprintf(id, sizeof(id), "la.area%d", i);
		json_array_append_new(areas, json_pack("{s:s}", "id", id));
	}
	expect_cal(f, "calendars.areas", areas,
	    "calendars.areas: more than 64 entries");
	for (int i = 0; i < 4097; i++) {
		json_array_append_new(schools, json_pack("{s:s}", "id",
		    "school.urn.110123"));
	}
	expect_cal(f, "calendars.schools", schools,
	    "calendars.schools: more than 4096 entries");
}

/* The signed form refuses what the JSON form refuses, alike. */
static void
test_calendars_signed_invalid(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_cal(f, cal_src);
	uint8_t *buf = NULL;
	size_t len = 0;
	Haven__SignedDoc *doc;
	Haven__Directory *pd;
	Haven__Calendars *pc;
	char *saved;
	size_t n;

	assert_int_equal(haven_directory_sign(d, f->admin, &buf, &len),
	    HAVEN_OK);
	haven_directory_destroy(&d);
	doc = tu_unpack_doc(buf, len);
	pd = haven__directory__unpack(NULL, doc->body.len, doc->body.data);
	assert_non_null(pd);
	pc = pd->calendars;
	assert_non_null(pc);
	assert_int_equal(pc->n_bank_holidays, 2);
	assert_string_equal(pc->bank_holidays[0], "2026-12-25");
	assert_int_equal(pc->n_areas, 2);
	assert_string_equal(pc->areas[1]->id, "la.cambs");
	expect_body(f, pd, HAVEN_OK, NULL);

	saved = pc->bank_holidays[1];
	pc->bank_holidays[1] = pc->bank_holidays[0];
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.bank_holidays: duplicate date 2026-12-25");
	pc->bank_holidays[1] = (char *) "2026-12-32";
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.bank_holidays[1]: not a date (YYYY-MM-DD)");
	pc->bank_holidays[1] = (char *) "2026-12-28x";
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.bank_holidays[1]: not a date (YYYY-MM-DD)");
	pc->bank_holidays[1] = saved;

	/* la.cambs: autumn-2026 (sorted first) made to run into spring. */
	saved = pc->areas[1]->terms[0]->last;
	pc->areas[1]->terms[0]->last = (char *) "2027-01-05";
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.areas[1] 'la.cambs': term 'spring-2027' overlaps "
	    "'autumn-2026'");
	pc->areas[1]->terms[0]->last = (char *) "2026-09-02";
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.areas[1] 'la.cambs': term 'autumn-2026' ends before "
	    "it starts");
	pc->areas[1]->terms[0]->last = saved;

	saved = pc->areas[0]->id;
	pc->areas[0]->id = (char *) "la.cambs";
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.areas[1].id: duplicate of calendars.areas[0]");
	pc->areas[0]->id = (char *) "";
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.areas[0].id: not a valid agency id");
	pc->areas[0]->id = saved;

	saved = pc->schools[1]->id;
	pc->schools[1]->id = (char *) "school.urn.999999";
	expect_body(f, pd, HAVEN_EINVAL,
	    "calendars.schools[1].id: not an agency of the directory");
	pc->schools[1]->id = saved;

	/* Over the limits (the packer reads every entry: real arrays). */
	{
		char **bank = pc->bank_holidays;
		Haven__CalendarArea **areas = pc->areas;
		char *many[513];
		Haven__CalendarArea *more[65];

		for (size_t i = 0; i < 513; i++) {
			many[i] = bank[0];
		}
		for (size_t i = 0; i < 65; i++) {
			more[i] = areas[0];
		}
		n = pc->n_bank_holidays;
		pc->bank_holidays = many;
		pc->n_bank_holidays = 513;
		expect_body(f, pd, HAVEN_EINVAL,
		    "calendars.bank_holidays: more than 512 entries");
		pc->bank_holidays = bank;
		pc->n_bank_holidays = n;
		n = pc->n_areas;
		pc->areas = more;
		pc->n_areas = 65;
		expect_body(f, pd, HAVEN_EINVAL,
		    "calendars.areas: more than 64 entries");
		pc->areas = areas;
		pc->n_areas = n;
	}
	expect_body(f, pd, HAVEN_OK, NULL);

	haven__directory__free_unpacked(pd, NULL);
	haven__signed_doc__free_unpacked(doc, NULL);
	free(buf);
}

static void
test_directory_calendar(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_cal(f, cal_src);
	haven_calendar cal;
	int64_t start = 0, day = 0;

	/* The school: start 08:40, la.cambs (its local_authority attr), its
	 * own closure, the bank holidays. */
	assert_int_equal(haven_directory_calendar(d, "school.urn.110123",
	    &cal), HAVEN_OK);
	assert_int_equal(cal.start_minute, 8 * 60 + 40);
	assert_int_equal(cal.n_bank_holidays, 2);
	assert_int_equal(cal.n_terms, 2);
	assert_string_equal(cal.terms[0].name, "autumn-2026");
	assert_int_equal(cal.n_closed, 2);
	assert_int_equal(cal.n_school_closed, 1);
	assert_int_equal(haven_date_parse("2027-02-12", &day), HAVEN_OK);
	assert_int_equal(cal.school_closed[0], day);
	/* Friday 18 Dec 2026 after school -> the spring term opens with an
	 * area closure (5 Jan) -> Wednesday 6 January 08:40. */
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    INT64_C(1797610800000) /* 2026-12-18T16:20:00Z */, &start),
	    HAVEN_OK);
	assert_int_equal(start, INT64_C(1799224800000)); /* 2027-01-06T08:40Z */

	/* No area attr: no terms, default start, still bank holidays. */
	assert_int_equal(haven_directory_calendar(d, "police.cambs", &cal),
	    HAVEN_OK);
	assert_int_equal(cal.start_minute, 510);
	assert_int_equal(cal.n_bank_holidays, 2);
	assert_int_equal(cal.n_terms, 0);
	assert_int_equal(cal.n_closed, 0);
	assert_int_equal(cal.n_school_closed, 0);
	/* An entry with no closed days. */
	assert_int_equal(haven_directory_calendar(d, "idva.cambs", &cal),
	    HAVEN_OK);
	assert_int_equal(cal.n_school_closed, 0);

	/* Unknown id: the default calendar with the bank holidays. */
	cal.start_minute = 1;
	assert_int_equal(haven_directory_calendar(d, "school.urn.999", &cal),
	    HAVEN_ENOTFOUND);
	assert_int_equal(cal.start_minute, 510);
	assert_int_equal(cal.n_bank_holidays, 2);
	assert_int_equal(cal.n_terms, 0);
	assert_int_equal(haven_directory_calendar(NULL, "x", &cal),
	    HAVEN_EINVAL);
	assert_int_equal(haven_directory_calendar(d, NULL, &cal),
	    HAVEN_EINVAL);
	assert_int_equal(haven_directory_calendar(d, "x", NULL), HAVEN_EINVAL);
	haven_directory_destroy(&d);

	/* An attr "calendar" wins over "local_authority". */
	{
		json_t *root = with_cal(f, cal_src);
		char err[256] = "";

		set_path(root, "agencies[1].attrs.calendar",
		    json_string("la.beds"));
		assert_int_equal(from_json(root, &d, err, sizeof(err)),
		    HAVEN_OK);
		json_decref(root);
	}
	assert_int_equal(haven_directory_calendar(d, "school.urn.110123",
	    &cal), HAVEN_OK);
	assert_int_equal(cal.n_terms, 0);
	assert_int_equal(cal.n_closed, 0);
	assert_int_equal(cal.n_school_closed, 1);
	haven_directory_destroy(&d);

	/* A directory with no calendars at all. */
	d = load_base(f);
	assert_int_equal(haven_directory_calendar(d, "school.urn.110123",
	    &cal), HAVEN_OK);
	assert_int_equal(cal.start_minute, 8 * 60 + 40);
	assert_int_equal(cal.n_bank_holidays, 0);
	haven_directory_destroy(&d);
}

/* Editing keeps the calendar rules: an attr naming no area is refused
 * and the directory is left as it was. */
static void
test_calendars_edit(void **state)
{
	struct fx *f = *state;
	haven_directory *d = load_cal(f, cal_src);
	haven_keys *k = NULL;
	haven_pubkey pk;
	haven_tag tags[1];
	char err[256] = "";
	char *t1 = NULL, *t2 = NULL;

	assert_int_equal(haven_keys_generate(&k, "school.urn.110999", 1),
	    HAVEN_OK);
	haven_keys_public(k, &pk);
	assert_int_equal(haven_directory_to_json(d, &t1), HAVEN_OK);
	memset(tags, 0, sizeof(tags));
	(void) snprintf(tags[0].key, sizeof(tags[0].key), "calendar");
	(void) snprintf(tags[0].value, sizeof(tags[0].value), "la.herts");
	assert_int_equal(haven_directory_add(d, &pk, "EDU", "Hill School",
	    tags, 1, err, sizeof(err)), HAVEN_EINVAL);
	assert_string_equal(err,
	    "agencies[5].attrs.calendar: names no area of calendars.areas");
	assert_int_equal(haven_directory_to_json(d, &t2), HAVEN_OK);
	assert_string_equal(t1, t2);
	(void) snprintf(tags[0].value, sizeof(tags[0].value), "la.beds");
	assert_int_equal(haven_directory_add(d, &pk, "EDU", "Hill School",
	    tags, 1, err, sizeof(err)), HAVEN_OK);
	free(t1);
	free(t2);
	haven_keys_destroy(&k);
	haven_directory_destroy(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_signed_round_trip),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_json_refusals),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_empty_directory),
		cmocka_unit_test(test_signed_tampered),
		cmocka_unit_test(test_signed_other_key),
		cmocka_unit_test(test_signed_wrong_kind),
		cmocka_unit_test(test_signed_unsigned_body),
		cmocka_unit_test(test_signed_invalid_content),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_calendars_round_trip),
		cmocka_unit_test(test_calendars_empty),
		cmocka_unit_test(test_calendars_refusals),
		cmocka_unit_test(test_calendars_limits),
		cmocka_unit_test(test_calendars_signed_invalid),
		cmocka_unit_test(test_directory_calendar),
		cmocka_unit_test(test_calendars_edit),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
