/*
 * tests/unit/test_envelope.c: seal, decode, verify, open and strip.
 *
 * Real libsodium keys and a real directory (haven_directory_from_json).
 * Forged and re-shaped envelopes are built with the generated protobuf-c
 * code and, where the test needs the signature to hold, re-signed with the
 * sender's real key, so each refusal is shown to come from the check it
 * names (decode limits, signature, ciphertext hash or AEAD binding).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/envelope.h"

#define N_KEYS 8
enum { POLICE, POLICE_GEN2, SCHOOL1, SCHOOL2, SCHOOL3, LA, REVOKED, FAKE };

static const char *const ids[N_KEYS] = {"police.cambs", "police.cambs",
    "school.urn.1", "school.urn.2", "school.urn.3", "la.cambs",
    "school.urn.9", "police.cambs"};

struct fx {
	haven_keys *k[N_KEYS];
	haven_directory *dir;
	haven_header *hdr;
	uint8_t *buf;
	size_t len;
};

static const uint8_t pay_a[] = "setting view: two schools";
static const uint8_t pay_b[] = "ehe view: local authority only";

/* ------------------------------------------------------------ fixture */

static json_t *
hexj(const uint8_t *b)
{
	char hex[65];

	(void) sodium_bin2hex(hex, sizeof(hex), b, 32);
	return (json_string(hex));
}

static json_t *
agency_json(const haven_keys *k, const char *role, bool revoked)
{
	json_t *a = json_object(), *key = json_object(), *keys = json_array();
	haven_pubkey p;

	haven_keys_public(k, &p);
	json_object_set_new(key, "generation", json_integer(p.generation));
	json_object_set_new(key, "sign_pk", hexj(p.sign_pk));
	json_object_set_new(key, "box_pk", hexj(p.box_pk));
	json_object_set_new(key, "curve_pk", hexj(p.curve_pk));
	json_array_append_new(keys, key);
	json_object_set_new(a, "id", json_string(p.agency));
	json_object_set_new(a, "role", json_string(role));
	json_object_set_new(a, "name", json_string(p.agency));
	json_object_set_new(a, "revoked", json_boolean(revoked));
	json_object_set_new(a, "keys", keys);
	return (a);
}

static void
make_directory(struct fx *f)
{
	json_t *root = json_object(), *list = json_array();
	char err[256] = "";
	char *text;

	json_array_append_new(list, agency_json(f->k[POLICE], "POL", false));
	json_array_append_new(list, agency_json(f->k[SCHOOL1], "EDU", false));
	json_array_append_new(list, agency_json(f->k[SCHOOL2], "EDU", false));
	json_array_append_new(list, agency_json(f->k[SCHOOL3], "EDU", false));
	json_array_append_new(list, agency_json(f->k[LA], "LA", false));
	json_array_append_new(list, agency_json(f->k[REVOKED], "EDU", true));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "agencies", list);
	text = json_dumps(root, 0);
	assert_non_null(text);
	if (haven_directory_from_json(&f->dir, text, strlen(text), err,
	    sizeof(err)) != HAVEN_OK) {
		fail_msg("directory: %s", err);
	}
	free(text);
	json_decref(root);
}

static void
std_header(haven_header *h)
{
	static const char *const rc[] = {"school.urn.1", "school.urn.2",
	    "la.cambs"};

	memset(h, 0, sizeof(*h));
	h->type = HAVEN_MSG_OE_NOTIFICATION;
	h->seq = 42;
	h->n_recipients = 3;
	for (size_t i = 0; i < 3; i++) {
		(void) snprintf(h->recipients[i], HAVEN_ID_MAX, "%s", rc[i]);
	}
	h->has_case = true;
	memset(h->case_pseud, 0xc5, HAVEN_HASH_BYTES);
	h->n_subjects = 2;
	memset(h->subject_pseuds[0], 0x51, HAVEN_HASH_BYTES);
	memset(h->subject_pseuds[1], 0x52, HAVEN_HASH_BYTES);
	(void) snprintf(h->legal_basis, HAVEN_CODE_MAX, "DAA2021-S49A");
	(void) snprintf(h->purpose, HAVEN_CODE_MAX, "operation-encompass");
	h->n_tags = 2;
	(void) snprintf(h->tags[0].key, HAVEN_CODE_MAX, "dash_band");
	(void) snprintf(h->tags[0].value, HAVEN_TAGVAL_MAX, "17plus");
	(void) snprintf(h->tags[1].key, HAVEN_CODE_MAX, "consent");
	(void) snprintf(h->tags[1].value, HAVEN_TAGVAL_MAX, "no");
	h->created_ms = 1700000000000;
	h->deadline_ms = 1700050000000;
	h->expires_ms = -1;
	h->has_reply_to = true;
	memset(h->in_reply_to, 0x77, HAVEN_MSGID_BYTES);
}

static const char *const va_rc[] = {"school.urn.1", "school.urn.2"};
static const char *const vb_rc[] = {"la.cambs"};

static void
std_views(haven_view_in v[2])
{
	v[0] = (haven_view_in){"oe.setting", va_rc, 2, pay_a, sizeof(pay_a)};
	v[1] = (haven_view_in){"oe.ehe", vb_rc, 1, pay_b, sizeof(pay_b)};
}

static haven_err
seal_with(struct fx *f, const haven_keys *sender, uint8_t **buf, size_t *len)
{
	haven_view_in v[2];
	char err[256] = "";
	haven_err rv;

	std_header(f->hdr);
	std_views(v);
	rv = haven_envelope_seal(f->hdr, false, v, 2, sender, f->dir, buf, len,
	    err, sizeof(err));
	if (rv != HAVEN_OK) {
		print_message("seal: %s\n", err);
	}
	return (rv);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	for (int i = 0; i < N_KEYS; i++) {
		uint32_t gen = (i == POLICE_GEN2) ? 2 : 1;
		assert_int_equal(haven_keys_generate(&f->k[i], ids[i], gen),
		    HAVEN_OK);
	}
	make_directory(f);
	f->hdr = calloc(1, sizeof(*f->hdr));
	assert_non_null(f->hdr);
	assert_int_equal(seal_with(f, f->k[POLICE], &f->buf, &f->len),
	    HAVEN_OK);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < N_KEYS; i++) {
		haven_keys_destroy(&f->k[i]);
	}
	haven_directory_destroy(&f->dir);
	free(f->hdr);
	free(f->buf);
	free(f);
	return (0);
}

/* Decode + verify; returns the first failure. */
static haven_err
check(const struct fx *f, const uint8_t *buf, size_t len,
    haven_envelope **out)
{
	haven_envelope *env = NULL;
	haven_err rv;

	if ((rv = haven_envelope_decode(&env, buf, len)) != HAVEN_OK) {
		return (rv);
	}
	rv = haven_envelope_verify(env, f->dir);
	if (out != NULL && rv == HAVEN_OK) {
		*out = env;
	} else {
		haven_envelope_destroy(&env);
	}
	return (rv);
}

static void
expect_open(const haven_envelope *env, const haven_keys *me,
    const char *profile, const uint8_t *want, size_t want_len)
{
	char prof[HAVEN_CODE_MAX] = "";
	uint8_t *p = NULL;
	size_t n = 0;

	assert_int_equal(haven_envelope_open(env, me, prof, &p, &n), HAVEN_OK);
	assert_string_equal(prof, profile);
	assert_int_equal(n, want_len);
	assert_memory_equal(p, want, want_len);
	free(p);
}

static haven_err
try_open(const haven_envelope *env, const haven_keys *me)
{
	char prof[HAVEN_CODE_MAX];
	uint8_t *p = NULL;
	size_t n = 0;
	haven_err rv = haven_envelope_open(env, me, prof, &p, &n);

	free(p);
	return (rv);
}

/* --------------------------------------------- protobuf re-shaping */

typedef void (*hdr_edit)(Haven__Header *h, void *arg);
typedef void (*env_edit)(Haven__Envelope *e, void *arg);

/*
 * protobuf-c allocator that never frees until arena_free: edits may point
 * fields at static or shared storage without upsetting free_unpacked.
 */
struct arena {
	void *p[1024];
	size_t n;
};

static void *
arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	void *p;

	assert_true(a->n < sizeof(a->p) / sizeof(a->p[0]));
	p = malloc(size == 0 ? 1 : size);
	assert_non_null(p);
	a->p[a->n++] = p;
	return (p);
}

static void
arena_nofree(void *data, void *p)
{
	(void) data;
	(void) p;
}

static void
arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->p[i]);
	}
	a->n = 0;
}

/*
 * Unpack buf, let `he` edit the header (re-packed and, if `signer`,
 * re-signed), let `ee` edit the envelope, re-pack into *out (malloc'd).
 */
static void
reshape(const uint8_t *buf, size_t len, hdr_edit he, env_edit ee, void *arg,
    const haven_keys *signer, uint8_t **out, size_t *out_len)
{
	static struct arena a;
	ProtobufCAllocator al = {arena_alloc, arena_nofree, &a};
	Haven__Envelope *e = haven__envelope__unpack(&al, len, buf);
	Haven__Header *h;
	uint8_t *m, sig[HAVEN_SIG_BYTES];

	assert_non_null(e);
	if (he != NULL) {
		h = haven__header__unpack(&al, e->header.len, e->header.data);
		assert_non_null(h);
		he(h, arg);
		e->header.len = haven__header__get_packed_size(h);
		e->header.data = arena_alloc(&a, e->header.len);
		(void) haven__header__pack(h, e->header.data);
	}
	if (signer != NULL) {
		m = malloc(15 + e->header.len);
		assert_non_null(m);
		memcpy(m, "haven-header-v1", 15);
		memcpy(m + 15, e->header.data, e->header.len);
		haven_keys_sign(signer, sig, m, 15 + e->header.len);
		free(m);
		e->signature.data = sig;
		e->signature.len = sizeof(sig);
	}
	if (ee != NULL) {
		ee(e, arg);
	}
	*out_len = haven__envelope__get_packed_size(e);
	*out = malloc(*out_len + 1);
	assert_non_null(*out);
	(void) haven__envelope__pack(e, *out);
	arena_free(&a);
}

/* ------------------------------------------------------------- tests */

static void
test_round_trip(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL;
	const haven_header *h;

	assert_int_equal(check(f, f->buf, f->len, &env), HAVEN_OK);
	h = &env->hdr;
	assert_int_equal(h->version, HAVEN_PROTOCOL_VERSION);
	assert_string_equal(h->sender, "police.cambs");
	assert_int_equal(h->sender_gen, 1);
	assert_memory_equal(h->msg_id, f->hdr->msg_id, HAVEN_MSGID_BYTES);
	assert_int_equal(h->seq, 42);
	assert_int_equal(h->type, HAVEN_MSG_OE_NOTIFICATION);
	assert_int_equal(h->n_recipients, 3);
	assert_string_equal(h->recipients[2], "la.cambs");
	assert_true(h->has_case);
	assert_memory_equal(h->case_pseud, f->hdr->case_pseud, 32);
	assert_int_equal(h->n_subjects, 2);
	assert_memory_equal(h->subject_pseuds[1], f->hdr->subject_pseuds[1],
	    32);
	assert_string_equal(h->legal_basis, "DAA2021-S49A");
	assert_string_equal(h->purpose, "operation-encompass");
	assert_string_equal(haven_header_tag(h, "dash_band"), "17plus");
	assert_string_equal(haven_header_tag(h, "consent"), "no");
	assert_null(haven_header_tag(h, "area"));
	assert_int_equal(h->created_ms, 1700000000000);
	assert_int_equal(h->deadline_ms, 1700050000000);
	assert_int_equal(h->expires_ms, -1);
	assert_true(h->has_reply_to);
	assert_true(haven_header_has_recipient(h, "school.urn.2"));
	assert_false(haven_header_has_recipient(h, "school.urn.3"));
	assert_int_equal(h->n_views, 2);
	assert_int_equal(env->n_views, 2);
	assert_int_equal(h->views[0].n_recipients, 2);
	assert_int_equal(h->views[1].recipients[0], 2);
	/* The descriptors seal wrote into the caller's header match. */
	assert_memory_equal(h->views[0].ct_hash, f->hdr->views[0].ct_hash, 32);

	expect_open(env, f->k[SCHOOL1], "oe.setting", pay_a, sizeof(pay_a));
	expect_open(env, f->k[SCHOOL2], "oe.setting", pay_a, sizeof(pay_a));
	expect_open(env, f->k[LA], "oe.ehe", pay_b, sizeof(pay_b));
	assert_int_equal(try_open(env, f->k[SCHOOL3]), HAVEN_ENOTFOUND);
	assert_int_equal(try_open(env, f->k[POLICE]), HAVEN_ENOTFOUND);
	haven_envelope_destroy(&env);
	assert_null(env);
	haven_envelope_destroy(&env);
}

/* A recipient's key of another generation/identity cannot open. */
static void
test_wrong_key_cannot_open(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL;
	haven_keys *impostor = NULL;

	assert_int_equal(check(f, f->buf, f->len, &env), HAVEN_OK);
	assert_int_equal(haven_keys_generate(&impostor, "school.urn.1", 1),
	    HAVEN_OK);
	assert_int_equal(try_open(env, impostor), HAVEN_ECRYPTO);
	haven_keys_destroy(&impostor);
	haven_envelope_destroy(&env);
}

static void
test_strip(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL, *st = NULL;
	uint8_t *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;

	assert_int_equal(haven_envelope_decode(&env, f->buf, f->len), HAVEN_OK);
	assert_int_equal(haven_envelope_strip(env, "school.urn.3", &out, &len),
	    HAVEN_ENOTFOUND);
	assert_int_equal(haven_envelope_strip(env, "school.urn.1", &out, &len),
	    HAVEN_OK);
	assert_true(len < f->len);
	assert_int_equal(check(f, out, len, &st), HAVEN_OK);
	assert_int_equal(st->n_views, 2);
	assert_int_equal(st->view_len[1], 0);
	assert_null(st->views[1]);
	assert_memory_equal(st->header_bytes, env->header_bytes,
	    env->header_len);
	expect_open(st, f->k[SCHOOL1], "oe.setting", pay_a, sizeof(pay_a));
	expect_open(st, f->k[SCHOOL2], "oe.setting", pay_a, sizeof(pay_a));
	assert_int_equal(try_open(st, f->k[LA]), HAVEN_ENOTFOUND);
	/* Stripping again is idempotent; for la.cambs nothing remains. */
	assert_int_equal(haven_envelope_strip(st, "school.urn.1", &out2,
	    &len2), HAVEN_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(out2, out, len);
	free(out2);
	haven_envelope_destroy(&st);
	assert_int_equal(haven_envelope_strip(env, "la.cambs", &out2, &len2),
	    HAVEN_OK);
	assert_int_equal(check(f, out2, len2, &st), HAVEN_OK);
	expect_open(st, f->k[LA], "oe.ehe", pay_b, sizeof(pay_b));
	assert_int_equal(try_open(st, f->k[SCHOOL1]), HAVEN_ENOTFOUND);
	haven_envelope_destroy(&st);
	haven_envelope_destroy(&env);
	free(out);
	free(out2);
}

static size_t
find(const uint8_t *hay, size_t hlen, const uint8_t *needle, size_t nlen)
{
	for (size_t i = 0; i + nlen <= hlen; i++) {
		if (memcmp(hay + i, needle, nlen) == 0) {
			return (i);
		}
	}
	fail_msg("needle not found");
	return (0);
}

/* Flip every bit in [off, off+n): never accepted; count exact ESIGs. */
static size_t
flip_range(struct fx *f, size_t off, size_t n, size_t stride)
{
	uint8_t *b = malloc(f->len);
	size_t esig = 0;

	assert_non_null(b);
	memcpy(b, f->buf, f->len);
	for (size_t i = off; i < off + n; i += stride) {
		for (int bit = 0; bit < 8; bit++) {
			haven_err rv;
			b[i] ^= (uint8_t) (1u << bit);
			rv = check(f, b, f->len, NULL);
			b[i] ^= (uint8_t) (1u << bit);
			assert_int_not_equal(rv, HAVEN_OK);
			esig += (rv == HAVEN_ESIG);
		}
	}
	free(b);
	return (esig);
}

static void
test_bit_flips(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL;
	size_t hoff, soff, v0, v1, n;

	assert_int_equal(haven_envelope_decode(&env, f->buf, f->len), HAVEN_OK);
	hoff = find(f->buf, f->len, env->header_bytes, env->header_len);
	soff = find(f->buf, f->len, env->sig, HAVEN_SIG_BYTES);
	v0 = find(f->buf, f->len, env->views[0], env->view_len[0]);
	v1 = find(f->buf, f->len, env->views[1], env->view_len[1]);

	/* Header: refused by decode (EDECODE/EINVAL/...) or by ESIG. Most
	 * flips leave a decodable header, and those must all be ESIG. */
	n = flip_range(f, hoff, env->header_len, 1);
	assert_true(n > env->header_len * 8 / 4);
	/* Signature and ciphertexts: always decodable, always ESIG. */
	assert_int_equal(flip_range(f, soff, HAVEN_SIG_BYTES, 1),
	    HAVEN_SIG_BYTES * 8);
	assert_int_equal(flip_range(f, v0, env->view_len[0], 7),
	    8 * ((env->view_len[0] + 6) / 7));
	assert_int_equal(flip_range(f, v1, env->view_len[1], 7),
	    8 * ((env->view_len[1] + 6) / 7));
	haven_envelope_destroy(&env);
}

/* A tampered ciphertext also fails to open on its own (AEAD). */
static void
test_open_tampered(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL;

	assert_int_equal(haven_envelope_decode(&env, f->buf, f->len), HAVEN_OK);
	env->views[0][100] ^= 0x20;
	assert_int_equal(haven_envelope_verify(env, f->dir), HAVEN_ESIG);
	assert_int_equal(try_open(env, f->k[SCHOOL1]), HAVEN_ECRYPTO);
	env->views[0][100] ^= 0x20;
	env->hdr.views[0].nonce[0] ^= 1;
	assert_int_equal(try_open(env, f->k[SCHOOL1]), HAVEN_ECRYPTO);
	haven_envelope_destroy(&env);
}

static void
swap_views(Haven__Envelope *e, void *arg)
{
	ProtobufCBinaryData t = e->views[0];

	(void) arg;
	e->views[0] = e->views[1];
	e->views[1] = t;
}

static void
swap_descs(Haven__Header *h, void *arg)
{
	Haven__ViewDesc *t = h->views[0];

	(void) arg;
	h->views[0] = h->views[1];
	h->views[1] = t;
}

static void
new_msg_id(Haven__Header *h, void *arg)
{
	(void) arg;
	h->msg_id.data[0] ^= 0xff;
}

static void
take_view0(Haven__Envelope *e, void *arg)
{
	haven_envelope *other = arg;

	e->views[0].data = other->views[0];
	e->views[0].len = other->view_len[0];
}

static void
test_view_moved(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL, *other = NULL;
	uint8_t *b = NULL, *b2 = NULL;
	size_t len = 0, len2 = 0;

	/* Swap two views' ciphertexts: hashes no longer match. */
	reshape(f->buf, f->len, NULL, swap_views, NULL, NULL, &b, &len);
	assert_int_equal(check(f, b, len, NULL), HAVEN_ESIG);
	assert_int_equal(haven_envelope_decode(&env, b, len), HAVEN_OK);
	assert_int_equal(try_open(env, f->k[SCHOOL1]), HAVEN_ECRYPTO);
	assert_int_equal(try_open(env, f->k[LA]), HAVEN_ECRYPTO);
	haven_envelope_destroy(&env);
	free(b);

	/* Swap positions and re-sign (even the real sender cannot move a
	 * view): the signature holds, the AEAD binding does not. */
	reshape(f->buf, f->len, swap_descs, swap_views, NULL, f->k[POLICE], &b,
	    &len);
	assert_int_equal(check(f, b, len, &env), HAVEN_OK);
	assert_int_equal(try_open(env, f->k[SCHOOL1]), HAVEN_ECRYPTO);
	assert_int_equal(try_open(env, f->k[LA]), HAVEN_ECRYPTO);
	haven_envelope_destroy(&env);
	free(b);

	/* Same views under another message id, re-signed. */
	reshape(f->buf, f->len, new_msg_id, NULL, NULL, f->k[POLICE], &b, &len);
	assert_int_equal(check(f, b, len, &env), HAVEN_OK);
	assert_int_equal(try_open(env, f->k[SCHOOL2]), HAVEN_ECRYPTO);
	haven_envelope_destroy(&env);
	free(b);

	/* A view taken from another message: hash mismatch. */
	assert_int_equal(seal_with(f, f->k[POLICE], &b2, &len2), HAVEN_OK);
	assert_int_equal(haven_envelope_decode(&other, b2, len2), HAVEN_OK);
	reshape(f->buf, f->len, NULL, take_view0, other, NULL, &b, &len);
	assert_int_equal(check(f, b, len, NULL), HAVEN_ESIG);
	haven_envelope_destroy(&other);
	free(b);
	free(b2);
}

static void
test_sender_key(void **state)
{
	struct fx *f = *state;
	uint8_t *b = NULL;
	size_t len = 0;

	/* Generation 2 is not enrolled. */
	assert_int_equal(seal_with(f, f->k[POLICE_GEN2], &b, &len), HAVEN_OK);
	assert_int_equal(check(f, b, len, NULL), HAVEN_EUNKNOWN);
	free(b);
	/* Right id and generation, wrong key: forged. */
	assert_int_equal(seal_with(f, f->k[FAKE], &b, &len), HAVEN_OK);
	assert_int_equal(check(f, b, len, NULL), HAVEN_ESIG);
	free(b);
	/* Sender not in the directory at all. */
	haven_keys *stranger = NULL;
	assert_int_equal(haven_keys_generate(&stranger, "police.other", 1),
	    HAVEN_OK);
	assert_int_equal(seal_with(f, stranger, &b, &len), HAVEN_OK);
	assert_int_equal(check(f, b, len, NULL), HAVEN_EUNKNOWN);
	haven_keys_destroy(&stranger);
	free(b);
}

static void
truncate_all(struct fx *f, const uint8_t *buf, size_t len)
{
	for (size_t n = 0; n < len; n++) {
		haven_envelope *env = NULL;
		uint8_t *copy = malloc(n + 1);

		assert_non_null(copy);
		memcpy(copy, buf, n); /* exact-size heap copy: ASan sees reads */
		if (haven_envelope_decode(&env, copy, n) == HAVEN_OK) {
			haven_err rv = haven_envelope_verify(env, f->dir);
			haven_envelope_destroy(&env);
			free(copy);
			fail_msg("truncated to %zu of %zu decoded (verify %d)", n,
			    len, rv);
		}
		free(copy);
	}
	assert_int_equal(check(f, buf, len, NULL), HAVEN_OK);
}

static void
test_truncation(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL;
	uint8_t *out = NULL;
	size_t len = 0;

	truncate_all(f, f->buf, f->len);
	assert_int_equal(haven_envelope_decode(&env, f->buf, f->len), HAVEN_OK);
	assert_int_equal(haven_envelope_strip(env, "la.cambs", &out, &len),
	    HAVEN_OK);
	truncate_all(f, out, len);
	haven_envelope_destroy(&env);
	free(out);
}

static void
test_garbage(void **state)
{
	struct fx *f = *state;
	uint8_t junk[2048];
	haven_envelope *env = NULL;

	for (int i = 0; i < 500; i++) {
		size_t n = randombytes_uniform(sizeof(junk));
		randombytes_buf(junk, n);
		assert_int_not_equal(haven_envelope_decode(&env, junk, n),
		    HAVEN_OK);
	}
	/* Valid prefix, garbage tail. */
	uint8_t *b = malloc(f->len + 16);
	assert_non_null(b);
	memcpy(b, f->buf, f->len);
	randombytes_buf(b + f->len, 16);
	if (haven_envelope_decode(&env, b, f->len + 16) == HAVEN_OK) {
		assert_int_not_equal(haven_envelope_verify(env, f->dir),
		    HAVEN_OK);
		haven_envelope_destroy(&env);
	}
	free(b);
	assert_int_equal(haven_envelope_decode(&env, NULL, 0), HAVEN_EDECODE);
}

static void
test_oversize(void **state)
{
	struct fx *f = *state;
	static const char *const one[4][1] = {{"school.urn.1"},
	    {"school.urn.2"}, {"la.cambs"}, {"school.urn.3"}};
	haven_envelope *env = NULL;
	haven_view_in v[4];
	uint8_t *big, *b = NULL;
	size_t len = 0;
	char err[256] = "";

	big = calloc(1, HAVEN_FRAME_MAX + 1);
	assert_non_null(big);
	assert_int_equal(haven_envelope_decode(&env, big, HAVEN_FRAME_MAX + 1),
	    HAVEN_EMSGSIZE);

	/* One payload over the limit. */
	std_header(f->hdr);
	std_views(v);
	v[1].payload = big;
	v[1].payload_len = HAVEN_PAYLOAD_MAX + 1;
	assert_int_equal(haven_envelope_seal(f->hdr, false, v, 2, f->k[POLICE],
	    f->dir, &b, &len, err, sizeof(err)), HAVEN_EMSGSIZE);
	assert_non_null(strstr(err, "payload"));

	/* Exactly the limit works and round-trips. */
	v[1].payload_len = HAVEN_PAYLOAD_MAX;
	big[0] = 0x42;
	big[HAVEN_PAYLOAD_MAX - 1] = 0x24;
	assert_int_equal(haven_envelope_seal(f->hdr, false, v, 2, f->k[POLICE],
	    f->dir, &b, &len, err, sizeof(err)), HAVEN_OK);
	assert_int_equal(check(f, b, len, &env), HAVEN_OK);
	expect_open(env, f->k[LA], "oe.ehe", big, HAVEN_PAYLOAD_MAX);
	haven_envelope_destroy(&env);
	free(b);

	/* Four full views: the envelope itself is over the frame limit. */
	std_header(f->hdr);
	f->hdr->n_recipients = 4;
	(void) snprintf(f->hdr->recipients[3], HAVEN_ID_MAX, "school.urn.3");
	for (int i = 0; i < 4; i++) {
		v[i] = (haven_view_in){"oe.setting", one[i], 1, big,
		    HAVEN_PAYLOAD_MAX};
	}
	assert_int_equal(haven_envelope_seal(f->hdr, false, v, 4, f->k[POLICE],
	    f->dir, &b, &len, err, sizeof(err)), HAVEN_EMSGSIZE);
	free(big);
}

/* Same-block payloads give same-size ciphertexts; blocks are 512. */
static void
test_padding(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = {0, 1, 300, 400, 480, 1000, 5000};
	static uint8_t pay[5000];
	haven_envelope *env = NULL;
	haven_view_in v[2];
	size_t len = 0;
	uint8_t *b = NULL;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		std_header(f->hdr);
		std_views(v);
		v[0].payload = pay;
		v[0].payload_len = sizes[i];
		assert_int_equal(haven_envelope_seal(f->hdr, false, v, 2,
		    f->k[POLICE], f->dir, &b, &len, NULL, 0), HAVEN_OK);
		assert_int_equal(check(f, b, len, &env), HAVEN_OK);
		assert_int_equal((env->view_len[0] - 16) % HAVEN_PAD_BLOCK, 0);
		if (sizes[i] <= 400) {
			assert_int_equal(env->view_len[0], HAVEN_PAD_BLOCK + 16);
		}
		expect_open(env, f->k[SCHOOL2], "oe.setting", pay, sizes[i]);
		haven_envelope_destroy(&env);
		free(b);
	}
}

static void
test_msg_id(void **state)
{
	struct fx *f = *state;
	haven_view_in v[2];
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_envelope *env = NULL;
	uint8_t *b = NULL;
	size_t len = 0;

	memcpy(id, f->hdr->msg_id, sizeof(id));
	assert_int_equal(seal_with(f, f->k[POLICE], &b, &len), HAVEN_OK);
	assert_memory_not_equal(id, f->hdr->msg_id, sizeof(id));
	free(b);
	std_header(f->hdr);
	memcpy(f->hdr->msg_id, id, sizeof(id));
	std_views(v);
	assert_int_equal(haven_envelope_seal(f->hdr, true, v, 2, f->k[POLICE],
	    f->dir, &b, &len, NULL, 0), HAVEN_OK);
	assert_int_equal(check(f, b, len, &env), HAVEN_OK);
	assert_memory_equal(env->hdr.msg_id, id, sizeof(id));
	haven_envelope_destroy(&env);
	free(b);
}

static haven_err
seal_views(struct fx *f, const haven_view_in *v, size_t n, char *err)
{
	uint8_t *b = NULL;
	size_t len = 0;
	haven_err rv;

	rv = haven_envelope_seal(f->hdr, false, v, n, f->k[POLICE], f->dir,
	    &b, &len, err, 256);
	assert_true(rv != HAVEN_OK || b != NULL);
	free(b);
	return (rv);
}

static void
test_seal_refusals(void **state)
{
	struct fx *f = *state;
	static const char *const dup[] = {"school.urn.1", "school.urn.1"};
	static const char *const stranger[] = {"school.urn.3"};
	static const char *const revoked[] = {"school.urn.9"};
	static const char *const unknown[] = {"school.urn.404"};
	haven_view_in v[HAVEN_MAX_VIEWS + 1];
	char err[256];

	std_header(f->hdr);
	std_views(v);
	assert_int_equal(seal_views(f, v, 0, err), HAVEN_EINVAL);
	f->hdr->n_recipients = 0;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	f->hdr->n_recipients = HAVEN_MAX_RECIPIENTS + 1;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);

	std_header(f->hdr); /* duplicate header recipient */
	(void) snprintf(f->hdr->recipients[1], HAVEN_ID_MAX, "school.urn.1");
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	assert_non_null(strstr(err, "duplicate"));

	std_header(f->hdr); /* duplicate within a view */
	v[0].recipients = dup;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	std_views(v); /* view recipient not in the header */
	v[1].recipients = stranger;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	assert_non_null(strstr(err, "not a header recipient"));
	std_views(v); /* header recipient in no view */
	assert_int_equal(seal_views(f, v, 1, err), HAVEN_EINVAL);
	assert_non_null(strstr(err, "not in any view"));
	v[1].recipients = va_rc; /* in two views */
	v[1].n_recipients = 1;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	std_views(v);
	v[0].profile = "bad\nprofile";
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	std_views(v);
	f->hdr->type = HAVEN_MSG_TYPE_COUNT;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	std_header(f->hdr);
	f->hdr->n_tags = 3;
	(void) snprintf(f->hdr->tags[2].key, HAVEN_CODE_MAX, "consent");
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EINVAL);
	std_header(f->hdr);
	for (size_t i = 0; i < HAVEN_MAX_VIEWS + 1; i++) {
		v[i] = v[i % 2];
	}
	assert_int_equal(seal_views(f, v, HAVEN_MAX_VIEWS + 1, err),
	    HAVEN_EINVAL);

	/* Directory refusals. */
	std_header(f->hdr);
	std_views(v);
	(void) snprintf(f->hdr->recipients[2], HAVEN_ID_MAX, "school.urn.9");
	v[1].recipients = revoked;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EREVOKED);
	assert_non_null(strstr(err, "revoked"));
	std_header(f->hdr);
	(void) snprintf(f->hdr->recipients[2], HAVEN_ID_MAX, "school.urn.404");
	v[1].recipients = unknown;
	assert_int_equal(seal_views(f, v, 2, err), HAVEN_EUNKNOWN);
}

/* ------------------------------------------- decode of crafted input */

struct edit {
	int what;
};

static ProtobufCBinaryData short_bin;

static void
edit_header(Haven__Header *h, void *arg)
{
	static char long_code[HAVEN_CODE_MAX + 1];
	static char *many[HAVEN_MAX_RECIPIENTS + 1];
	static char bad_id[] = "School.1";
	static char outsider[] = "school.urn.3";
	int what = ((struct edit *) arg)->what;

	switch (what) {
	case 0: h->msg_id.len = 15; break;
	case 1: h->views[0]->wrapped[1].len = 79; break;
	case 2: h->views[1]->nonce.len = 23; break;
	case 3: h->views[0]->ct_hash.len = 31; break;
	case 4: h->case_pseud.len = 31; break;
	case 5: h->subject_pseuds[1].len = 31; break;
	case 6: h->sender = bad_id; break;
	case 7: h->views[1]->recipients[0] = outsider; break;
	case 8:
		memset(long_code, 'a', HAVEN_CODE_MAX);
		h->legal_basis = long_code;
		break;
	case 9:
		for (int i = 0; i <= HAVEN_MAX_RECIPIENTS; i++) {
			many[i] = h->recipients[0];
		}
		h->recipients = many;
		h->n_recipients = HAVEN_MAX_RECIPIENTS + 1;
		break;
	case 10: h->views[0]->n_wrapped = 1; break;
	case 11: h->n_views = 1; break; /* la.cambs then in no view */
	case 12: h->type = 0; break;
	case 13: h->in_reply_to = short_bin; break;
	case 14: h->views[1]->recipients[0] = h->recipients[0]; break;
	default: break;
	}
}

static void
edit_version(Haven__Header *h, void *arg)
{
	h->version = *(uint32_t *) arg;
}

static void
drop_view(Haven__Envelope *e, void *arg)
{
	(void) arg;
	e->n_views = 1;
}

static void
short_sig(Haven__Envelope *e, void *arg)
{
	(void) arg;
	e->signature.len = 63;
}

static void
odd_view_len(Haven__Envelope *e, void *arg)
{
	(void) arg;
	e->views[0].len -= 1;
}

static haven_err
decode_reshaped(struct fx *f, hdr_edit he, env_edit ee, void *arg)
{
	haven_envelope *env = NULL;
	uint8_t *b = NULL;
	size_t len = 0;
	haven_err rv;

	reshape(f->buf, f->len, he, ee, arg, f->k[POLICE], &b, &len);
	rv = haven_envelope_decode(&env, b, len);
	haven_envelope_destroy(&env);
	free(b);
	return (rv);
}

static void
test_decode_refusals(void **state)
{
	struct fx *f = *state;
	uint32_t ver;

	short_bin.len = 3;
	short_bin.data = (uint8_t *) "abc";
	for (int w = 0; w <= 14; w++) {
		struct edit e = {w};
		haven_err rv = decode_reshaped(f, edit_header, NULL, &e);
		if (rv != HAVEN_EINVAL) {
			fail_msg("edit %d: got %d, want EINVAL", w, rv);
		}
	}
	assert_int_equal(decode_reshaped(f, NULL, drop_view, NULL),
	    HAVEN_EINVAL);
	assert_int_equal(decode_reshaped(f, NULL, short_sig, NULL),
	    HAVEN_EINVAL);
	assert_int_equal(decode_reshaped(f, NULL, odd_view_len, NULL),
	    HAVEN_EINVAL);
	ver = 2;
	assert_int_equal(decode_reshaped(f, edit_version, NULL, &ver),
	    HAVEN_EVERSION);
	ver = 0;
	assert_int_equal(decode_reshaped(f, edit_version, NULL, &ver),
	    HAVEN_EVERSION);
	ver = HAVEN_PROTOCOL_VERSION; /* re-signed, unchanged: accepted */
	assert_int_equal(decode_reshaped(f, edit_version, NULL, &ver),
	    HAVEN_OK);
}

/* Extra bytes after a signed header: unknown or duplicated fields. */
static void
test_noncanonical_header(void **state)
{
	struct fx *f = *state;
	haven_envelope *env = NULL;
	Haven__Envelope e2 = HAVEN__ENVELOPE__INIT;
	Haven__Envelope *e;
	uint8_t *hb, *b, *m, sig[HAVEN_SIG_BYTES];
	static const uint8_t extras[][3] = {
		{0xa0, 0x06, 0x01}, /* field 100 varint 1: unknown */
		{0x28, 0x07, 0x00}, /* seq again: duplicate scalar */
	};

	e = haven__envelope__unpack(NULL, f->len, f->buf);
	assert_non_null(e);
	for (size_t x = 0; x < 2; x++) {
		size_t xl = (x == 0) ? 3 : 2, hl = e->header.len + xl, len;
		hb = malloc(hl);
		m = malloc(15 + hl);
		assert_non_null(hb);
		assert_non_null(m);
		memcpy(hb, e->header.data, e->header.len);
		memcpy(hb + e->header.len, extras[x], xl);
		memcpy(m, "haven-header-v1", 15);
		memcpy(m + 15, hb, hl);
		haven_keys_sign(f->k[POLICE], sig, m, 15 + hl);
		e2.header = (ProtobufCBinaryData){hl, hb};
		e2.signature = (ProtobufCBinaryData){sizeof(sig), sig};
		e2.n_views = e->n_views;
		e2.views = e->views;
		len = haven__envelope__get_packed_size(&e2);
		b = malloc(len);
		assert_non_null(b);
		(void) haven__envelope__pack(&e2, b);
		assert_int_equal(haven_envelope_decode(&env, b, len),
		    HAVEN_EDECODE);
		free(b);
		free(m);
		free(hb);
	}
	haven__envelope__free_unpacked(e, NULL);
}

/*
 * A recipient whose box key in the directory is a low-order point (an
 * admin's enrolment mistake, or a crafted key) makes crypto_box_seal
 * fail. Seal must refuse rather than hand out an envelope that recipient
 * can never open while the sender believes it was sent.
 */
static void
test_seal_low_order_recipient(void **state)
{
	struct fx *f = *state;
	json_t *root = json_object(), *list = json_array(), *bad;
	haven_directory *dir = NULL;
	const char *rc[1] = { "school.urn.1" };
	haven_view_in v;
	uint8_t zero[32] = { 0 }, *buf = NULL;
	size_t len = 0;
	char err[256] = "", *text;

	json_array_append_new(list, agency_json(f->k[POLICE], "POL", false));
	bad = agency_json(f->k[SCHOOL1], "EDU", false);
	json_object_set_new(json_array_get(json_object_get(bad, "keys"), 0),
	    "box_pk", hexj(zero));
	json_array_append_new(list, bad);
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "agencies", list);
	text = json_dumps(root, 0);
	assert_non_null(text);
	assert_int_equal(haven_directory_from_json(&dir, text, strlen(text),
	    err, sizeof(err)), HAVEN_OK);
	memset(f->hdr, 0, sizeof(*f->hdr));
	f->hdr->type = HAVEN_MSG_OE_NOTIFICATION;
	f->hdr->n_recipients = 1;
	(void) snprintf(f->hdr->recipients[0], HAVEN_ID_MAX, "%s", rc[0]);
	v.profile = "oe.setting";
	v.recipients = rc;
	v.n_recipients = 1;
	v.payload = pay_a;
	v.payload_len = sizeof(pay_a);
	assert_int_equal(haven_envelope_seal(f->hdr, false, &v, 1,
	    f->k[POLICE], dir, &buf, &len, err, sizeof(err)), HAVEN_ECRYPTO);
	assert_non_null(strstr(err, "box key"));
	assert_null(buf);
	free(text);
	json_decref(root);
	haven_directory_destroy(&dir);
}

static void
test_hash(void **state)
{
	uint8_t a[HAVEN_HASH_BYTES], b[HAVEN_HASH_BYTES];

	(void) state;
	haven_hash(a, (const uint8_t *) "abc", 3);
	assert_int_equal(crypto_generichash(b, sizeof(b),
	    (const uint8_t *) "abc", 3, NULL, 0), 0);
	assert_memory_equal(a, b, sizeof(a));
	haven_hash(b, (const uint8_t *) "abd", 3);
	assert_memory_not_equal(a, b, sizeof(a));
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_wrong_key_cannot_open),
		T(test_strip),
		T(test_bit_flips),
		T(test_open_tampered),
		T(test_view_moved),
		T(test_sender_key),
		T(test_truncation),
		T(test_garbage),
		T(test_oversize),
		T(test_padding),
		T(test_msg_id),
		T(test_seal_refusals),
		T(test_decode_refusals),
		T(test_noncanonical_header),
		T(test_seal_low_order_recipient),
		cmocka_unit_test(test_hash),
	};
#undef T

	return (cmocka_run_group_tests_name("envelope", tests, NULL, NULL));
}
