/*
 * lib/pseudonym.c: keyed pseudonyms for people and cases (haven/pseudonym.h).
 *
 * pseudonym = BLAKE2b-256, keyed with the 32-byte partnership key, over
 *   person: "haven-person-v1\0" || normalised name || "\0" || dob
 *   case:   "haven-case-v1\0"   || normalised case reference
 * The domain labels keep a case reference from ever colliding with a
 * person. Normalisation (ASCII lowercase, whitespace runs collapsed to one
 * space, ends trimmed, other bytes passed through) is streamed into the
 * hash through a small stack buffer that is wiped afterwards, as is the
 * hash state: names and dates of birth are personal data.
 *
 * The key lives in sodium_malloc memory, read-only once filled; its file
 * is 0600 and refused if group or other can read it (the same check as the
 * agency key file, shared from keys.c).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "haven/pseudonym.h"
#include "jsonutil.h"
#include "util.h"

#include "secret.h"

#define PERSON_LABEL "haven-person-v1"
#define CASE_LABEL "haven-case-v1"

struct haven_pseudonym_key {
	uint8_t *key; /* sodium_malloc, HAVEN_KEY_BYTES, read-only */
};

static const char *const key_fields[] = {"format", "key", NULL};

static haven_err
key_alloc(haven_pseudonym_key **out)
{
	haven_pseudonym_key *k;

	if (haven__sodium_init() != HAVEN_OK) {
		return (HAVEN_ENOMEM);
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((k->key = sodium_malloc(HAVEN_KEY_BYTES)) == NULL) {
		free(k);
		return (HAVEN_ENOMEM);
	}
	*out = k;
	return (HAVEN_OK);
}

haven_err
haven_pseudonym_key_generate(haven_pseudonym_key **out)
{
	haven_pseudonym_key *k = NULL;
	haven_err rv;

	if (out == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((rv = key_alloc(&k)) != HAVEN_OK) {
		return (rv);
	}
	randombytes_buf(k->key, HAVEN_KEY_BYTES);
	(void) sodium_mprotect_readonly(k->key);
	*out = k;
	return (HAVEN_OK);
}

void
haven_pseudonym_key_destroy(haven_pseudonym_key **kp)
{
	haven_pseudonym_key *k;

	if (kp == NULL || (k = *kp) == NULL) {
		return;
	}
	sodium_free(k->key); /* unprotects, wipes, frees */
	free(k);
	*kp = NULL;
}

/* Scratch for the key file text, kept in sodium_malloc memory. */
struct save_buf {
	char hex[2 * HAVEN_KEY_BYTES + 1];
	char json[160];
};

haven_err
haven_pseudonym_key_save(const haven_pseudonym_key *k, const char *path,
    bool overwrite)
{
	struct save_buf *b;
	haven_err rv;
	int n;

	if (k == NULL || path == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((b = sodium_malloc(sizeof(*b))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	haven__hex_encode(b->hex, k->key, HAVEN_KEY_BYTES);
	n = snprintf(b->json, sizeof(b->json),
	    "{\"format\":\"haven-pseudonym-v1\",\"key\":\"%s\"}\n", b->hex);
	if (n < 0 || (size_t) n >= sizeof(b->json)) {
		rv = HAVEN_EOVERFLOW;
	} else {
		rv = haven__write_file(path, b->json, (size_t) n, 0600,
		    !overwrite);
	}
	sodium_free(b);
	return (rv);
}

static haven_err
key_from_json(haven_pseudonym_key **out, const json_t *root, char *err,
    size_t errlen)
{
	haven_pseudonym_key *k = NULL;
	char fmt[32];
	haven_err rv;

	if ((rv = haven__json_only(root, key_fields, "", err, errlen)) !=
	        HAVEN_OK ||
	    (rv = haven__json_str(root, "format", true, fmt, sizeof(fmt), "",
	        err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if (strcmp(fmt, "haven-pseudonym-v1") != 0) {
		haven__errf(err, errlen, "format: must be \"haven-pseudonym-v1\"");
		return (HAVEN_EINVAL);
	}
	if ((rv = key_alloc(&k)) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = haven__json_hex(root, "key", k->key, HAVEN_KEY_BYTES, "",
	    err, errlen)) != HAVEN_OK) {
		haven_pseudonym_key_destroy(&k);
		return (rv);
	}
	(void) sodium_mprotect_readonly(k->key);
	*out = k;
	return (HAVEN_OK);
}

haven_err
haven_pseudonym_key_load(haven_pseudonym_key **out, const char *path,
    char *err, size_t errlen)
{
	json_t *root = NULL;
	haven_err rv;

	if (out == NULL || path == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__secret_json_load(path, &root, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	rv = key_from_json(out, root, err, errlen);
	haven__json_wipe_str(root, "key");
	json_decref(root);
	return (rv);
}

/* ------------------------------------------------------- normalisation */

static bool
is_space(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f');
}

/*
 * Hash the normalised form of s. A whitespace run is emitted as one space
 * only when a non-space byte follows it, which drops leading (nothing
 * emitted yet) and trailing runs.
 */
static void
hash_normalised(crypto_generichash_state *st, const char *s)
{
	unsigned char buf[128];
	size_t n = 0;
	bool pending = false, started = false;

	for (const unsigned char *p = (const unsigned char *) s; *p != '\0';
	    p++) {
		if (is_space(*p)) {
			pending = started;
			continue;
		}
		if (n + 2 > sizeof(buf)) {
			(void) crypto_generichash_update(st, buf, n);
			n = 0;
		}
		if (pending) {
			buf[n++] = ' ';
			pending = false;
		}
		buf[n++] = (*p >= 'A' && *p <= 'Z') ? (unsigned char) (*p + 32) :
		    *p;
		started = true;
	}
	(void) crypto_generichash_update(st, buf, n);
	sodium_memzero(buf, sizeof(buf));
}

static void
hash_start(crypto_generichash_state *st, const haven_pseudonym_key *k,
    const char *label)
{
	(void) crypto_generichash_init(st, k->key, HAVEN_KEY_BYTES,
	    HAVEN_HASH_BYTES);
	/* The label's NUL is part of the domain separation. */
	(void) crypto_generichash_update(st, (const unsigned char *) label,
	    strlen(label) + 1);
}

static void
hash_finish(crypto_generichash_state *st, uint8_t out[HAVEN_HASH_BYTES])
{
	(void) crypto_generichash_final(st, out, HAVEN_HASH_BYTES);
	sodium_memzero(st, sizeof(*st));
}

void
haven_pseudonym_person(uint8_t out[HAVEN_HASH_BYTES],
    const haven_pseudonym_key *k, const char *name, const char *dob)
{
	static const unsigned char nul = 0;
	crypto_generichash_state st;

	hash_start(&st, k, PERSON_LABEL);
	hash_normalised(&st, name);
	(void) crypto_generichash_update(&st, &nul, 1);
	(void) crypto_generichash_update(&st, (const unsigned char *) dob,
	    strlen(dob));
	hash_finish(&st, out);
}

void
haven_pseudonym_case(uint8_t out[HAVEN_HASH_BYTES],
    const haven_pseudonym_key *k, const char *case_ref)
{
	crypto_generichash_state st;

	hash_start(&st, k, CASE_LABEL);
	hash_normalised(&st, case_ref);
	hash_finish(&st, out);
}
