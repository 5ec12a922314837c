/*
 * lib/document.c: generic admin-signed documents (see document.h).
 *
 * Threat model: the signed bytes arrive from disk or from another process
 * and may be anything. The length is capped before protobuf-c sees it, every
 * field length is checked before use, and the signature is verified against
 * the configured admin key, not the key the document claims. The signed
 * message is rebuilt here ("haven-doc-v1" || kind || 0x00 || body) so that
 * the domain label and the kind are always covered.
 */
#include "document.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "util.h"

#define DOMAIN_LEN (sizeof(HAVEN__DOC_DOMAIN) - 1)

static bool
kind_ok(const char *kind)
{
	size_t n = strlen(kind);

	return (n > 0 && n < HAVEN__DOC_KIND_MAX);
}

/* The signed message: domain || kind || 0x00 || body, malloc'd. */
static haven_err
signed_msg(const char *kind, const uint8_t *body, size_t len, uint8_t **out,
    size_t *out_len)
{
	size_t klen = strlen(kind);
	size_t total;
	uint8_t *m;

	if (len > HAVEN_DOC_MAX) {
		return (HAVEN_EMSGSIZE);
	}
	total = DOMAIN_LEN + klen + 1 + len;
	if ((m = malloc(total)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	memcpy(m, HAVEN__DOC_DOMAIN, DOMAIN_LEN);
	memcpy(m + DOMAIN_LEN, kind, klen);
	m[DOMAIN_LEN + klen] = 0x00;
	if (len > 0) {
		memcpy(m + DOMAIN_LEN + klen + 1, body, len);
	}
	*out = m;
	*out_len = total;
	return (HAVEN_OK);
}

static haven_err
pack_doc(const char *kind, const uint8_t *body, size_t len,
    const haven_pubkey *pk, const uint8_t sig[HAVEN_SIG_BYTES], uint8_t **out,
    size_t *out_len)
{
	Haven__SignedDoc doc = HAVEN__SIGNED_DOC__INIT;
	uint8_t *buf;
	size_t n;

	doc.kind = (char *) kind;
	doc.body.data = (uint8_t *) body;
	doc.body.len = len;
	doc.signer_pk.data = (uint8_t *) pk->sign_pk;
	doc.signer_pk.len = HAVEN_KEY_BYTES;
	doc.signature.data = (uint8_t *) sig;
	doc.signature.len = HAVEN_SIG_BYTES;
	n = haven__signed_doc__get_packed_size(&doc);
	if (n > HAVEN_DOC_MAX) {
		return (HAVEN_EMSGSIZE);
	}
	if ((buf = malloc(n)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	(void) haven__signed_doc__pack(&doc, buf);
	*out = buf;
	*out_len = n;
	return (HAVEN_OK);
}

haven_err
haven__doc_sign(const char *kind, const uint8_t *body, size_t len,
    const haven_keys *admin, uint8_t **out, size_t *out_len)
{
	uint8_t sig[HAVEN_SIG_BYTES];
	haven_pubkey pk;
	uint8_t *m = NULL;
	size_t mlen = 0;
	haven_err rv;

	if (kind == NULL || !kind_ok(kind) || (body == NULL && len > 0)) {
		return (HAVEN_EINVAL);
	}
	if ((rv = signed_msg(kind, body, len, &m, &mlen)) != HAVEN_OK) {
		return (rv);
	}
	haven_keys_sign(admin, sig, m, mlen);
	haven_keys_public(admin, &pk);
	rv = pack_doc(kind, body, len, &pk, sig, out, out_len);
	free(m);
	return (rv);
}

/* Field checks on a decoded SignedDoc, before any cryptography. */
static haven_err
check_doc(const Haven__SignedDoc *doc, const char *kind,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err, size_t errlen)
{
	if (strcmp(doc->kind, kind) != 0) {
		haven__errf(err, errlen, "signed document is not a %s", kind);
		return (HAVEN_ESIG);
	}
	if (doc->signature.len != HAVEN_SIG_BYTES ||
	    doc->signer_pk.len != HAVEN_KEY_BYTES) {
		haven__errf(err, errlen, "%s is not signed", kind);
		return (HAVEN_ESIG);
	}
	if (sodium_memcmp(doc->signer_pk.data, admin_pk, HAVEN_KEY_BYTES) !=
	    0) {
		haven__errf(err, errlen,
		    "not signed by the partnership admin key");
		return (HAVEN_ESIG);
	}
	return (HAVEN_OK);
}

static haven_err
copy_body(const ProtobufCBinaryData *b, uint8_t **body, size_t *body_len)
{
	uint8_t *copy;

	if ((copy = malloc(b->len + 1)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if (b->len > 0) {
		memcpy(copy, b->data, b->len);
	}
	copy[b->len] = 0;
	*body = copy;
	*body_len = b->len;
	return (HAVEN_OK);
}

haven_err
haven__doc_verify(const char *kind, const uint8_t *buf, size_t len,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], uint8_t **body, size_t *body_len,
    char *err, size_t errlen)
{
	Haven__SignedDoc *doc = NULL;
	uint8_t *m = NULL;
	size_t mlen = 0;
	haven_err rv;

	if (len > HAVEN_DOC_MAX) {
		haven__errf(err, errlen, "signed %s over %u bytes", kind,
		    HAVEN_DOC_MAX);
		return (HAVEN_EMSGSIZE);
	}
	if (buf == NULL && len > 0) {
		return (HAVEN_EINVAL);
	}
	doc = haven__signed_doc__unpack(NULL, len, buf);
	if (doc == NULL) {
		haven__errf(err, errlen, "signed %s does not decode", kind);
		return (HAVEN_EDECODE);
	}
	if ((rv = check_doc(doc, kind, admin_pk, err, errlen)) != HAVEN_OK) {
		goto out;
	}
	rv = signed_msg(kind, doc->body.data, doc->body.len, &m, &mlen);
	if (rv != HAVEN_OK) {
		goto out;
	}
	if (haven_sig_verify(doc->signature.data, m, mlen, admin_pk) !=
	    HAVEN_OK) {
		haven__errf(err, errlen, "signature does not verify");
		rv = HAVEN_ESIG;
		goto out;
	}
	rv = copy_body(&doc->body, body, body_len);
out:
	free(m);
	haven__signed_doc__free_unpacked(doc, NULL);
	return (rv);
}


haven_err
haven__doc_sign_msg(const char *kind, const ProtobufCMessage *msg,
    const haven_keys *admin, uint8_t **out, size_t *out_len)
{
	uint8_t *body = NULL;
	size_t len = 0;
	haven_err rv;

	if ((rv = haven__pb_pack(msg, HAVEN_DOC_MAX, &body, &len)) !=
	    HAVEN_OK) {
		return (rv);
	}
	rv = haven__doc_sign(kind, body, len, admin, out, out_len);
	free(body);
	return (rv);
}

haven_err
haven__doc_open(const char *kind, const ProtobufCMessageDescriptor *desc,
    const uint8_t *buf, size_t len, const uint8_t admin_pk[HAVEN_KEY_BYTES],
    ProtobufCMessage **msg, char *err, size_t errlen)
{
	uint8_t *body = NULL;
	size_t body_len = 0;
	haven_err rv;

	rv = haven__doc_verify(kind, buf, len, admin_pk, &body, &body_len, err,
	    errlen);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if ((*msg = protobuf_c_message_unpack(desc, NULL, body_len, body)) ==
	    NULL) {
		haven__errf(err, errlen, "%s body does not decode", kind);
		rv = HAVEN_EDECODE;
	}
	free(body);
	return (rv);
}

haven_err
haven__doc_read(const char *path, uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
	haven_err rv = haven__read_file(path, HAVEN_DOC_MAX, buf, len);

	if (rv == HAVEN_EMSGSIZE) {
		haven__errf(err, errlen, "%s: larger than %u bytes", path,
		    HAVEN_DOC_MAX);
	} else if (rv != HAVEN_OK) {
		haven__errf(err, errlen, "%s: cannot read", path);
	}
	return (rv);
}
