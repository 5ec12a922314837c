/*
 * haven/keys.h: an agency's keys and their files.
 *
 * Every agency (and the broker, and the partnership admin) has an Ed25519
 * signing key, an X25519 key for payload encryption, a CurveZMQ transport
 * key, and a 32-byte store key that encrypts its local inbox at rest.
 *
 * Secret key file (mode 0600, refused if group/other can read it), JSON:
 *   {"format":"haven-key-v1","agency":"police.cambs","generation":1,
 *    "sign_sk":"<hex 64 bytes>","box_sk":"<hex 32>","curve_sk":"<hex 32>",
 *    "store_key":"<hex 32>"}
 * Public key file (mode 0644), JSON:
 *   {"format":"haven-pub-v1","agency":"police.cambs","generation":1,
 *    "sign_pk":"<hex 32>","box_pk":"<hex 32>","curve_pk":"<hex 32>"}
 *
 * Secrets are held in sodium_malloc memory, read-only when not in use
 * where practical, and wiped by haven_keys_destroy. The opaque handle is not
 * thread-safe for concurrent destroy; concurrent reads are fine.
 */
#ifndef HAVEN_KEYS_H
#define HAVEN_KEYS_H

#include "haven/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct haven_keys haven_keys;

/** Public half of an agency's keys, plain data. */
typedef struct haven_pubkey {
	char agency[HAVEN_ID_MAX];
	uint32_t generation;
	uint8_t sign_pk[HAVEN_KEY_BYTES];
	uint8_t box_pk[HAVEN_KEY_BYTES];
	uint8_t curve_pk[HAVEN_KEY_BYTES];
} haven_pubkey;

/**
 * Generate fresh keys for `agency` (must pass haven_agency_id_valid, or be
 * "admin"/"broker") at `generation` (>= 1).
 * @return HAVEN_OK, HAVEN_EINVAL (bad id or generation), HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_keys_generate(haven_keys **out,
    const char *agency, uint32_t generation);

/**
 * Write the secret file (created 0600, O_EXCL unless `overwrite`) and the
 * public file (0644). Files are written to a temporary name, fsync'd and
 * renamed. @return HAVEN_OK, HAVEN_EEXIST, HAVEN_EIO | errno.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_keys_save(const haven_keys *k,
    const char *secret_path, const char *public_path, bool overwrite);

/**
 * Load a secret key file. Refuses a file readable by group or other
 * (HAVEN_EAUTH), over 8 KiB (HAVEN_EMSGSIZE), malformed (HAVEN_EINVAL, and
 * `err` names the field), or whose derived public keys are inconsistent.
 * `err` may be NULL.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_keys_load(haven_keys **out,
    const char *path, char *err, size_t errlen);

/** Wipe and free; NULL-tolerant; sets *k to NULL. */
HAVEN_API void haven_keys_destroy(haven_keys **k);

/** Borrowed accessors; valid until haven_keys_destroy. */
HAVEN_API const char *haven_keys_agency(const haven_keys *k);
HAVEN_API uint32_t haven_keys_generation(const haven_keys *k);
HAVEN_API void haven_keys_public(const haven_keys *k, haven_pubkey *out);

/** The CurveZMQ secret key (32 bytes), for zmq_setsockopt only. */
HAVEN_API const uint8_t *haven_keys_curve_sk(const haven_keys *k);

/** The 32-byte at-rest store key. */
HAVEN_API const uint8_t *haven_keys_store_key(const haven_keys *k);

/** Ed25519 detached signature of m. Never fails on valid arguments. */
HAVEN_API void haven_keys_sign(const haven_keys *k,
    uint8_t sig[HAVEN_SIG_BYTES], const uint8_t *m, size_t mlen);

/**
 * crypto_box_seal_open of `sealed` (sealed_len = plain_len + 48) with the
 * box key; writes sealed_len - 48 bytes to out.
 * @return HAVEN_OK or HAVEN_ECRYPTO.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_keys_unseal(const haven_keys *k,
    uint8_t *out, const uint8_t *sealed, size_t sealed_len);

/** Load a public key file. HAVEN_EINVAL with `err` naming the field. */
HAVEN_NODISCARD HAVEN_API haven_err haven_pubkey_load(haven_pubkey *out,
    const char *path, char *err, size_t errlen);

/** Ed25519 verification; HAVEN_OK or HAVEN_ESIG. */
HAVEN_NODISCARD HAVEN_API haven_err haven_sig_verify(
    const uint8_t sig[HAVEN_SIG_BYTES], const uint8_t *m, size_t mlen,
    const uint8_t pk[HAVEN_KEY_BYTES]);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_KEYS_H */
