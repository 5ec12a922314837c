/*
 * lib/document.h: documents signed by the partnership admin key (internal).
 *
 * The directory and the policy travel as a protobuf SignedDoc:
 *   kind      "directory" or "policy" (any short tag: see HAVEN__DOC_KIND_MAX)
 *   body      the serialised Directory or Policy
 *   signer_pk the admin's Ed25519 public key
 *   signature Ed25519 over "haven-doc-v1" || kind || 0x00 || body
 *
 * The kind is inside the signed bytes, so a signed policy cannot be passed
 * off as a directory. signer_pk is informative only: the verifier compares it
 * with the admin key it was configured with and verifies against that key,
 * never against the key the document names.
 */
#ifndef HAVEN_LIB_DOCUMENT_H
#define HAVEN_LIB_DOCUMENT_H

#include "haven/common.h"
#include "haven/keys.h"
#include "pbutil.h"
#include "util.h"

#define HAVEN__DOC_DOMAIN "haven-doc-v1"
#define HAVEN__DOC_KIND_MAX 32 /* kind incl. NUL */

/**
 * Sign `body` as a document of `kind` (1..31 chars, no NUL) with the admin
 * keys. `*out` is a malloc'd serialised SignedDoc; the caller frees it.
 * @return HAVEN_OK, HAVEN_EINVAL (bad kind), HAVEN_EMSGSIZE (body over
 *   HAVEN_DOC_MAX less the envelope overhead), HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__doc_sign(const char *kind,
    const uint8_t *body, size_t len, const haven_keys *admin, uint8_t **out,
    size_t *out_len);

/**
 * Verify a serialised SignedDoc: at most HAVEN_DOC_MAX bytes, decodes, its
 * kind is `kind`, signer_pk equals `admin_pk` (constant time) and the
 * signature verifies under `admin_pk`. On success `*body` is a malloc'd
 * copy of the body (the caller frees it; a NUL follows the last byte so an
 * empty body is still a valid pointer). `err` (may be NULL) says why on
 * failure, without echoing document content.
 * @return HAVEN_OK, HAVEN_EMSGSIZE, HAVEN_EDECODE, HAVEN_ESIG (wrong kind,
 *   unsigned, other signer, tampered), HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__doc_verify(const char *kind,
    const uint8_t *buf, size_t len, const uint8_t admin_pk[HAVEN_KEY_BYTES],
    uint8_t **body, size_t *body_len, char *err, size_t errlen);

/**
 * Pack `msg` (at most HAVEN_DOC_MAX bytes) and sign it as a document of
 * `kind` (see haven__doc_sign).
 * @return as haven__doc_sign.
 */
HAVEN_NODISCARD haven_err haven__doc_sign_msg(const char *kind,
    const ProtobufCMessage *msg, const haven_keys *admin, uint8_t **out,
    size_t *out_len);

/**
 * Verify a serialised SignedDoc of `kind` (as haven__doc_verify) and unpack
 * its body as a `desc` message into `*msg`; the caller frees it with
 * protobuf_c_message_free_unpacked. `err` says "<kind> body does not decode"
 * when the signed body is not a `desc` message.
 * @return as haven__doc_verify.
 */
HAVEN_NODISCARD haven_err haven__doc_open(const char *kind,
    const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], ProtobufCMessage **msg,
    char *err, size_t errlen);

/**
 * Read a signed document file (at most HAVEN_DOC_MAX bytes) into a malloc'd
 * buffer. `err` names the path and says "larger than" or "cannot read".
 * @return HAVEN_OK, HAVEN_EMSGSIZE, HAVEN_ESYSERR|errno, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__doc_read(const char *path, uint8_t **buf,
    size_t *len, char *err, size_t errlen);

#endif /* HAVEN_LIB_DOCUMENT_H */
