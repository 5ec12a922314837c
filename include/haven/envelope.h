/*
 * haven/envelope.h: the signed, end-to-end encrypted envelope (DESIGN §5).
 *
 * A notification is a signed header plus one or more encrypted views.
 *
 *  - Each view's plaintext (a ViewPlain: profile + payload) is padded with
 *    sodium_pad to a multiple of HAVEN_PAD_BLOCK and encrypted with a fresh
 *    XChaCha20-Poly1305 key. Its associated data is the "binding hash":
 *    BLAKE2b-256 of "haven-view-v1" || msg_id || sender || be32(type) ||
 *    every header recipient (NUL-terminated) || view index || profile || the
 *    view's recipients. (The full header hash cannot be the AD, because the
 *    header contains each view's ciphertext hash; the binding hash covers
 *    everything that says whose and which message this is.)
 *  - The content key is wrapped with crypto_box_seal to each recipient of
 *    the view (their current X25519 key from the directory).
 *  - The header carries, for each view, its profile, recipients, wrapped
 *    keys, nonce and the BLAKE2b-256 of its ciphertext, and is signed with
 *    Ed25519 over "haven-header-v1" || header bytes.
 *
 * A recipient handed only its own view can verify the signature over the
 * whole header and the hash of its own view; a view cannot be moved to
 * another message or recipient.
 */
#ifndef HAVEN_ENVELOPE_H
#define HAVEN_ENVELOPE_H

#include "haven/common.h"
#include "haven/directory.h"
#include "haven/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAVEN_PAD_BLOCK 512
#define HAVEN_WRAPPED_BYTES 80 /* crypto_box_SEALBYTES + 32 */
#define HAVEN_NONCE_BYTES 24

typedef struct haven_view_desc {
	char profile[HAVEN_CODE_MAX];
	size_t n_recipients;
	uint8_t recipients[HAVEN_MAX_RECIPIENTS]; /* indices into hdr recipients */
	uint8_t wrapped[HAVEN_MAX_RECIPIENTS][HAVEN_WRAPPED_BYTES];
	uint8_t ct_hash[HAVEN_HASH_BYTES];
	uint8_t nonce[HAVEN_NONCE_BYTES];
} haven_view_desc;

typedef struct haven_header {
	uint32_t version; /* HAVEN_PROTOCOL_VERSION */
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	char sender[HAVEN_ID_MAX];
	uint32_t sender_gen;
	uint64_t seq;
	uint32_t type; /* haven_msg_type */
	size_t n_recipients;
	char recipients[HAVEN_MAX_RECIPIENTS][HAVEN_ID_MAX];
	bool has_case;
	uint8_t case_pseud[HAVEN_HASH_BYTES];
	size_t n_subjects;
	uint8_t subject_pseuds[HAVEN_MAX_SUBJECTS][HAVEN_HASH_BYTES];
	char legal_basis[HAVEN_CODE_MAX];
	char purpose[HAVEN_CODE_MAX];
	size_t n_tags;
	haven_tag tags[HAVEN_MAX_TAGS];
	int64_t created_ms;
	int64_t deadline_ms; /* 0 = none */
	int64_t expires_ms;  /* 0 = none */
	int64_t occurred_ms; /* the incident's time; 0 = not stated */
	bool has_reply_to;
	uint8_t in_reply_to[HAVEN_MSGID_BYTES];
	size_t n_views;
	haven_view_desc views[HAVEN_MAX_VIEWS];
} haven_header;

/** A view to seal: payload for a set of recipients (ids that must also be
 * in the header's recipients). Borrowed for the call. */
typedef struct haven_view_in {
	const char *profile;
	const char *const *recipients;
	size_t n_recipients;
	const uint8_t *payload;
	size_t payload_len; /* <= HAVEN_PAYLOAD_MAX */
} haven_view_in;

/** A decoded envelope. Owns its buffers. */
typedef struct haven_envelope {
	haven_header hdr;
	uint8_t *header_bytes; /* exactly the signed bytes */
	size_t header_len;
	uint8_t sig[HAVEN_SIG_BYTES];
	size_t n_views;                  /* == hdr.n_views */
	uint8_t *views[HAVEN_MAX_VIEWS]; /* NULL/0 where stripped */
	size_t view_len[HAVEN_MAX_VIEWS];
} haven_envelope;

/**
 * Seal a message. The caller fills in `hdr` (type, recipients, pseudonyms,
 * legal basis, purpose, tags, seq, created/deadline/expiry, reply-to); this
 * sets version, sender, sender_gen from `sender`, a random msg_id (unless
 * `keep_msg_id`), and the view descriptors. Every view recipient must be a
 * header recipient and every header recipient must be in at least one view.
 * Recipients' box keys come from `dir` (current generation, not revoked).
 * `*out` is a serialised Envelope (malloc'd).
 * @return HAVEN_OK, HAVEN_EINVAL (`err` says why), HAVEN_EUNKNOWN or
 *   HAVEN_EREVOKED (a recipient), HAVEN_EMSGSIZE, HAVEN_ECRYPTO (a recipient key
 *   cannot be sealed to), HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_envelope_seal(haven_header *hdr,
    bool keep_msg_id, const haven_view_in *views, size_t n_views,
    const haven_keys *sender, const haven_directory *dir, uint8_t **out,
    size_t *out_len, char *err, size_t errlen);

/**
 * Decode (no cryptography) a serialised Envelope of at most
 * HAVEN_FRAME_MAX bytes, validating every length and count against the
 * limits, and that views[] lines up with the header's view descriptors.
 * @return HAVEN_OK, HAVEN_EMSGSIZE, HAVEN_EDECODE, HAVEN_EVERSION,
 *   HAVEN_EINVAL, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_envelope_decode(
    haven_envelope **out, const uint8_t *buf, size_t len);

/**
 * Verify the signature with the sender's key of generation hdr.sender_gen
 * from `dir`, and the ciphertext hash of every view present.
 * Revocation is the caller's decision (the broker refuses revoked senders;
 * an agent may still read old messages), so this checks keys only.
 * @return HAVEN_OK, HAVEN_EUNKNOWN (no such agency or generation),
 *   HAVEN_ESIG.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_envelope_verify(
    const haven_envelope *env, const haven_directory *dir);

/**
 * Open the view addressed to `me`: unwrap the content key, decrypt, unpad,
 * decode the ViewPlain. Call only after haven_envelope_verify.
 * `profile` receives the view's profile; `*payload` is malloc'd.
 * @return HAVEN_OK, HAVEN_ENOTFOUND (no view for me), HAVEN_ECRYPTO,
 *   HAVEN_EDECODE, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_envelope_open(
    const haven_envelope *env, const haven_keys *me,
    char profile[HAVEN_CODE_MAX], uint8_t **payload, size_t *payload_len);

/**
 * Re-serialise keeping only the views that include `recipient`; the header
 * bytes and signature are unchanged. `*out` is malloc'd.
 * @return HAVEN_OK, HAVEN_ENOTFOUND (not a recipient), HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_envelope_strip(
    const haven_envelope *env, const char *recipient, uint8_t **out,
    size_t *out_len);

/** True if `id` is one of the header recipients. */
HAVEN_API bool haven_header_has_recipient(const haven_header *hdr,
    const char *id);

/** Tag value in the header or NULL. */
HAVEN_API const char *haven_header_tag(const haven_header *hdr,
    const char *key);

HAVEN_API void haven_envelope_destroy(haven_envelope **env);

/** BLAKE2b-256 of arbitrary bytes (used for envelope and dedup hashes). */
HAVEN_API void haven_hash(uint8_t out[HAVEN_HASH_BYTES], const uint8_t *m,
    size_t mlen);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_ENVELOPE_H */
