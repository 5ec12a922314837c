/*
 * lib/keys.c: an agency's key pair set and its files (haven/keys.h).
 *
 * Invariants:
 *  - Every secret (Ed25519 sign_sk, X25519 box_sk, CurveZMQ curve_sk and
 *    the inbox store key) lives in one sodium_malloc block (guard pages,
 *    canary, never swapped where mlock works), made read-only as soon as it
 *    is filled and wiped by sodium_free in haven_keys_destroy. Reads after
 *    that are plain loads, so concurrent readers need no lock.
 *  - A loaded key set is consistent: the Ed25519 public half embedded in
 *    sign_sk equals the one derived from its seed, and every public key is
 *    derived here from its secret, never read from the file.
 *  - Text that held hex secrets (the file buffer, jansson's copies of the
 *    secret strings, the save buffer) is wiped before it is freed.
 *    Residual: jansson's lexer keeps a scratch buffer we cannot reach; it
 *    is freed inside json_loadb. A process-wide wiping allocator for
 *    jansson (json_set_alloc_funcs) would close that; it is global state,
 *    so it is not set from a library module.
 *
 * Threat assumptions: the secret file is on a local disk owned by the
 * agency's service user; a file that group or other can read is treated
 * as already leaked and refused, so an operator notices.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "haven/keys.h"
#include "jsonutil.h"
#include "util.h"

#define KEYFILE_MAX 8192
#define SECRET_JSON_MAX 1024

#include "secret.h"

struct secrets {
	uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t box_sk[crypto_box_SECRETKEYBYTES];
	uint8_t curve_sk[HAVEN_KEY_BYTES];
	uint8_t store_key[HAVEN_KEY_BYTES];
};

struct haven_keys {
	char agency[HAVEN_ID_MAX];
	uint32_t generation;
	uint8_t sign_pk[HAVEN_KEY_BYTES];
	uint8_t box_pk[HAVEN_KEY_BYTES];
	uint8_t curve_pk[HAVEN_KEY_BYTES];
	struct secrets *sec; /* sodium_malloc, read-only once filled */
};

static const char *const secret_fields[] = {"format", "agency", "generation",
    "sign_sk", "box_sk", "curve_sk", "store_key", NULL};
static const char *const public_fields[] = {"format", "agency", "generation",
    "sign_pk", "box_pk", "curve_pk", NULL};

/* ------------------------------------------------------ shared helpers */

haven_err
haven__sodium_init(void)
{
	/* sodium_init is idempotent and thread-safe: 0 first time, 1 after. */
	return (sodium_init() < 0 ? HAVEN_ENOMEM : HAVEN_OK);
}

/* A secret file: regular, no group/other bits, at most KEYFILE_MAX. */
static haven_err
check_secret_stat(const struct stat *st, const char *path, char *err,
    size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		haven__errf(err, errlen, "%s: not a regular file", path);
		return (HAVEN_EINVAL);
	}
	if ((st->st_mode & 077) != 0) {
		haven__errf(err, errlen, "%s: permissions %04o: must be 0600",
		    path, (unsigned) (st->st_mode & 07777));
		return (HAVEN_EAUTH);
	}
	if (st->st_size > KEYFILE_MAX) {
		haven__errf(err, errlen, "%s: larger than %d bytes", path,
		    KEYFILE_MAX);
		return (HAVEN_EMSGSIZE);
	}
	return (HAVEN_OK);
}

/* Read a secret file into sodium_malloc memory after checking its mode
 * on the open descriptor (no race with a chmod or rename by path). */
static haven_err
secret_read_fd(int fd, const char *path, char **out, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	haven_err rv;
	char *buf;
	size_t have = 0;

	if (fstat(fd, &st) != 0) {
		haven__errf(err, errlen, "%s: cannot stat", path);
		return (HAVEN_ESYSERR | errno);
	}
	if ((rv = check_secret_stat(&st, path, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if ((buf = sodium_malloc((size_t) st.st_size + 1)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	while (have < (size_t) st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t) st.st_size - have);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			int e = (n < 0) ? errno : EIO;
			sodium_free(buf);
			haven__errf(err, errlen, "%s: cannot read", path);
			return (HAVEN_ESYSERR | e);
		}
		have += (size_t) n;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return (HAVEN_OK);
}

/*
 * Open, mode-check, read and parse a secret JSON file. The text buffer is
 * sodium_malloc'd and wiped before it is freed; the caller wipes the secret
 * members of *root with haven__json_wipe_str before json_decref.
 */
haven_err
haven__secret_json_load(const char *path, json_t **root, char *err,
    size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	haven_err rv;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		haven__errf(err, errlen, "%s: cannot open", path);
		return (HAVEN_ESYSERR | errno);
	}
	rv = secret_read_fd(fd, path, &text, &len, err, errlen);
	(void) close(fd);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	rv = haven__json_parse(text, len, root, err, errlen);
	sodium_memzero(text, len);
	sodium_free(text);
	return (rv);
}

/*
 * Overwrite the characters of string member `key` inside jansson's own
 * buffer. jansson never hashes or caches string values, so writing to them
 * before json_decref is safe; it keeps hex secrets out of freed heap.
 */
void
haven__json_wipe_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v != NULL && json_is_string(v)) {
		sodium_memzero((char *) json_string_value(v),
		    json_string_length(v));
	}
}

/* ------------------------------------------------------------ creation */

static bool
agency_ok(const char *agency)
{
	return (agency != NULL && (haven_agency_id_valid(agency) ||
	    strcmp(agency, "admin") == 0 || strcmp(agency, "broker") == 0));
}

static haven_err
keys_alloc(haven_keys **out, const char *agency, uint32_t generation)
{
	haven_keys *k;

	if (!agency_ok(agency) || generation == 0) {
		return (HAVEN_EINVAL);
	}
	if (haven__sodium_init() != HAVEN_OK) {
		return (HAVEN_ENOMEM);
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((k->sec = sodium_malloc(sizeof(*k->sec))) == NULL) {
		free(k);
		return (HAVEN_ENOMEM);
	}
	sodium_memzero(k->sec, sizeof(*k->sec));
	/* Cannot fail: agency_ok bounds the length below HAVEN_ID_MAX. */
	if (haven__strlcpy(k->agency, agency, sizeof(k->agency)) != HAVEN_OK) {
		sodium_free(k->sec);
		free(k);
		return (HAVEN_EINVAL);
	}
	k->generation = generation;
	*out = k;
	return (HAVEN_OK);
}

/* Derive every public key from the secrets and check they agree. */
static haven_err
derive_public(haven_keys *k)
{
	uint8_t seed_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk2[crypto_sign_SECRETKEYBYTES];
	haven_err rv = HAVEN_OK;

	(void) crypto_sign_ed25519_sk_to_pk(k->sign_pk, k->sec->sign_sk);
	(void) crypto_sign_seed_keypair(seed_pk, sk2, k->sec->sign_sk);
	if (sodium_memcmp(sk2, k->sec->sign_sk, sizeof(sk2)) != 0) {
		rv = HAVEN_EINVAL;
	}
	if (crypto_scalarmult_base(k->box_pk, k->sec->box_sk) != 0 ||
	    crypto_scalarmult_base(k->curve_pk, k->sec->curve_sk) != 0) {
		rv = HAVEN_EINVAL;
	}
	sodium_memzero(sk2, sizeof(sk2));
	return (rv);
}

haven_err
haven_keys_generate(haven_keys **out, const char *agency,
    uint32_t generation)
{
	haven_keys *k = NULL;
	haven_err rv;

	if ((rv = keys_alloc(&k, agency, generation)) != HAVEN_OK) {
		return (rv);
	}
	(void) crypto_sign_keypair(k->sign_pk, k->sec->sign_sk);
	(void) crypto_box_keypair(k->box_pk, k->sec->box_sk);
	(void) crypto_box_keypair(k->curve_pk, k->sec->curve_sk);
	randombytes_buf(k->sec->store_key, sizeof(k->sec->store_key));
	(void) sodium_mprotect_readonly(k->sec);
	*out = k;
	return (HAVEN_OK);
}

void
haven_keys_destroy(haven_keys **kp)
{
	haven_keys *k;

	if (kp == NULL || (k = *kp) == NULL) {
		return;
	}
	sodium_free(k->sec); /* unprotects, wipes, frees */
	sodium_memzero(k, sizeof(*k));
	free(k);
	*kp = NULL;
}

/* ---------------------------------------------------------------- save */

/* Scratch for the secret file text, kept in sodium_malloc memory. */
struct save_buf {
	char hex[4][2 * crypto_sign_SECRETKEYBYTES + 1];
	char json[SECRET_JSON_MAX];
};

static haven_err
save_secret(const haven_keys *k, const char *path, bool overwrite)
{
	struct save_buf *b;
	haven_err rv;
	int n;

	if ((b = sodium_malloc(sizeof(*b))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	haven__hex_encode(b->hex[0], k->sec->sign_sk, sizeof(k->sec->sign_sk));
	haven__hex_encode(b->hex[1], k->sec->box_sk, sizeof(k->sec->box_sk));
	haven__hex_encode(b->hex[2], k->sec->curve_sk, sizeof(k->sec->curve_sk));
	haven__hex_encode(b->hex[3], k->sec->store_key,
	    sizeof(k->sec->store_key));
	n = snprintf(b->json, sizeof(b->json),
	    "{\"format\":\"haven-key-v1\",\"agency\":\"%s\",\"generation\":%u,"
	    "\"sign_sk\":\"%s\",\"box_sk\":\"%s\",\"curve_sk\":\"%s\","
	    "\"store_key\":\"%s\"}\n",
	    k->agency, (unsigned) k->generation, b->hex[0], b->hex[1],
	    b->hex[2], b->hex[3]);
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
save_public(const haven_keys *k, const char *path, bool overwrite)
{
	char hex[3][2 * HAVEN_KEY_BYTES + 1];
	char json[512];
	int n;

	haven__hex_encode(hex[0], k->sign_pk, sizeof(k->sign_pk));
	haven__hex_encode(hex[1], k->box_pk, sizeof(k->box_pk));
	haven__hex_encode(hex[2], k->curve_pk, sizeof(k->curve_pk));
	n = snprintf(json, sizeof(json),
	    "{\"format\":\"haven-pub-v1\",\"agency\":\"%s\",\"generation\":%u,"
	    "\"sign_pk\":\"%s\",\"box_pk\":\"%s\",\"curve_pk\":\"%s\"}\n",
	    k->agency, (unsigned) k->generation, hex[0], hex[1], hex[2]);
	if (n < 0 || (size_t) n >= sizeof(json)) {
		return (HAVEN_EOVERFLOW);
	}
	return (haven__write_file(path, json, (size_t) n, 0644, !overwrite));
}

haven_err
haven_keys_save(const haven_keys *k, const char *secret_path,
    const char *public_path, bool overwrite)
{
	haven_err rv;

	if (k == NULL || secret_path == NULL || public_path == NULL) {
		return (HAVEN_EINVAL);
	}
	/* Refuse before writing either file, so no half-written pair. */
	if (!overwrite && (access(secret_path, F_OK) == 0 ||
	    access(public_path, F_OK) == 0)) {
		return (HAVEN_EEXIST);
	}
	if ((rv = save_secret(k, secret_path, overwrite)) != HAVEN_OK) {
		return (rv);
	}
	return (save_public(k, public_path, overwrite));
}

/* ---------------------------------------------------------------- load */

/* format, agency and generation: common to both key file kinds. */
static haven_err
read_ident(const json_t *root, const char *format, char agency[HAVEN_ID_MAX],
    uint32_t *gen, char *err, size_t errlen)
{
	char fmt[32];
	int64_t g = 0;
	haven_err rv;

	if ((rv = haven__json_str(root, "format", true, fmt, sizeof(fmt), "",
	    err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if (strcmp(fmt, format) != 0) {
		haven__errf(err, errlen, "format: must be \"%s\"", format);
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__json_str(root, "agency", true, agency, HAVEN_ID_MAX,
	    "", err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if (!agency_ok(agency)) {
		haven__errf(err, errlen, "agency: not a valid agency id");
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__json_int(root, "generation", true, 1, UINT32_MAX, &g,
	    "", err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	*gen = (uint32_t) g;
	return (HAVEN_OK);
}

static haven_err
read_secrets(const json_t *root, struct secrets *s, char *err, size_t errlen)
{
	haven_err rv;

	if ((rv = haven__json_hex(root, "sign_sk", s->sign_sk,
	    sizeof(s->sign_sk), "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(root, "box_sk", s->box_sk, sizeof(s->box_sk),
	    "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(root, "curve_sk", s->curve_sk,
	    sizeof(s->curve_sk), "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(root, "store_key", s->store_key,
	    sizeof(s->store_key), "", err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (HAVEN_OK);
}

static haven_err
keys_from_json(haven_keys **out, const json_t *root, char *err,
    size_t errlen)
{
	char agency[HAVEN_ID_MAX];
	haven_keys *k = NULL;
	uint32_t gen = 0;
	haven_err rv;

	if ((rv = haven__json_only(root, secret_fields, "", err, errlen)) !=
	        HAVEN_OK ||
	    (rv = read_ident(root, "haven-key-v1", agency, &gen, err,
	        errlen)) != HAVEN_OK ||
	    (rv = keys_alloc(&k, agency, gen)) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = read_secrets(root, k->sec, err, errlen)) != HAVEN_OK) {
		goto out;
	}
	if ((rv = derive_public(k)) != HAVEN_OK) {
		haven__errf(err, errlen,
		    "sign_sk: public half does not match its seed");
		goto out;
	}
	(void) sodium_mprotect_readonly(k->sec);
	*out = k;
	k = NULL;
out:
	haven_keys_destroy(&k);
	return (rv);
}

static void
wipe_secret_json(json_t *root)
{
	haven__json_wipe_str(root, "sign_sk");
	haven__json_wipe_str(root, "box_sk");
	haven__json_wipe_str(root, "curve_sk");
	haven__json_wipe_str(root, "store_key");
}

haven_err
haven_keys_load(haven_keys **out, const char *path, char *err,
    size_t errlen)
{
	json_t *root = NULL;
	haven_err rv;

	if (out == NULL || path == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__sodium_init()) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = haven__secret_json_load(path, &root, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	rv = keys_from_json(out, root, err, errlen);
	wipe_secret_json(root);
	json_decref(root);
	return (rv);
}

static haven_err
pubkey_from_json(haven_pubkey *pk, const json_t *root, char *err,
    size_t errlen)
{
	haven_err rv;

	if ((rv = haven__json_only(root, public_fields, "", err, errlen)) !=
	        HAVEN_OK ||
	    (rv = read_ident(root, "haven-pub-v1", pk->agency, &pk->generation,
	        err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(root, "sign_pk", pk->sign_pk,
	        sizeof(pk->sign_pk), "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(root, "box_pk", pk->box_pk,
	        sizeof(pk->box_pk), "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(root, "curve_pk", pk->curve_pk,
	        sizeof(pk->curve_pk), "", err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if (crypto_core_ed25519_is_valid_point(pk->sign_pk) != 1) {
		haven__errf(err, errlen, "sign_pk: not an Ed25519 public key");
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

haven_err
haven_pubkey_load(haven_pubkey *out, const char *path, char *err,
    size_t errlen)
{
	haven_pubkey pk;
	json_t *root = NULL;
	haven_err rv;

	if (out == NULL || path == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__sodium_init()) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = haven__json_load(path, &root, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	memset(&pk, 0, sizeof(pk));
	if ((rv = pubkey_from_json(&pk, root, err, errlen)) == HAVEN_OK) {
		*out = pk;
	}
	json_decref(root);
	return (rv);
}

/* ------------------------------------------------------------ accessors */

const char *
haven_keys_agency(const haven_keys *k)
{
	return (k->agency);
}

uint32_t
haven_keys_generation(const haven_keys *k)
{
	return (k->generation);
}

void
haven_keys_public(const haven_keys *k, haven_pubkey *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->agency, k->agency, sizeof(out->agency));
	out->generation = k->generation;
	memcpy(out->sign_pk, k->sign_pk, sizeof(out->sign_pk));
	memcpy(out->box_pk, k->box_pk, sizeof(out->box_pk));
	memcpy(out->curve_pk, k->curve_pk, sizeof(out->curve_pk));
}

const uint8_t *
haven_keys_curve_sk(const haven_keys *k)
{
	return (k->sec->curve_sk);
}

const uint8_t *
haven_keys_store_key(const haven_keys *k)
{
	return (k->sec->store_key);
}

/* ----------------------------------------------------------- operations */

void
haven_keys_sign(const haven_keys *k, uint8_t sig[HAVEN_SIG_BYTES],
    const uint8_t *m, size_t mlen)
{
	(void) crypto_sign_detached(sig, NULL, m, mlen, k->sec->sign_sk);
}

haven_err
haven_keys_unseal(const haven_keys *k, uint8_t *out, const uint8_t *sealed,
    size_t sealed_len)
{
	if (sealed_len < crypto_box_SEALBYTES) {
		return (HAVEN_ECRYPTO);
	}
	if (crypto_box_seal_open(out, sealed, sealed_len, k->box_pk,
	    k->sec->box_sk) != 0) {
		return (HAVEN_ECRYPTO);
	}
	return (HAVEN_OK);
}

haven_err
haven_sig_verify(const uint8_t sig[HAVEN_SIG_BYTES], const uint8_t *m,
    size_t mlen, const uint8_t pk[HAVEN_KEY_BYTES])
{
	if (haven__sodium_init() != HAVEN_OK) {
		return (HAVEN_ESIG);
	}
	if (crypto_sign_verify_detached(sig, m, mlen, pk) != 0) {
		return (HAVEN_ESIG);
	}
	return (HAVEN_OK);
}
