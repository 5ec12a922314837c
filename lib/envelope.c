/*
 * lib/envelope.c: the signed, end-to-end encrypted envelope (DESIGN §5,
 * haven/envelope.h).
 *
 * Wire form: protobuf Envelope{header bytes, Ed25519 signature over
 * "haven-header-v1" || header bytes, one ciphertext per view (empty where
 * stripped)}. The Header carries each view's profile, recipients, wrapped
 * content keys, nonce and ciphertext hash, so the one signature covers every
 * view, including views a recipient never receives.
 *
 * View crypto: plaintext = packed ViewPlain, sodium_pad'ed to
 * HAVEN_PAD_BLOCK; XChaCha20-Poly1305 under a fresh key and random nonce;
 * AD = binding hash = BLAKE2b-256("haven-view-v1" || msg_id ||
 * sender NUL || be32(type) || each header recipient NUL || view index
 * (one byte, < 8, never the first byte of an id) || profile NUL || each
 * view recipient NUL). Ids and codes contain no NUL, so the encoding is
 * unambiguous. The content key is crypto_box_seal'ed to every recipient
 * of the view.
 *
 * Invariants kept by seal and enforced by decode:
 *  - every header recipient is in exactly one view, and a view's
 *    recipients are distinct header recipients (stored as indices);
 *  - every count and string is within the limits of common.h, ids are
 *    valid agency ids and codes are printable ASCII;
 *  - the header bytes are canonical: re-packing the decoded Header gives
 *    the same bytes, and no unknown field is accepted, so what the
 *    signature covers is exactly what the C struct says.
 *
 * Threat assumptions: everything handed to decode is hostile until verify
 * has checked the sender's signature; decode allocates only after the size
 * cap and validates every field before anything reads it. Content keys and
 * plaintext are wiped as soon as they are no longer needed. Nothing here
 * logs.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "haven.pb-c.h"
#include "haven/envelope.h"
#include "pbutil.h"
#include "util.h"

#include "secret.h"

#define SIG_LABEL "haven-header-v1"
#define VIEW_LABEL "haven-view-v1"
#define CKEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
/* A packed ViewPlain: payload, profile and a few tag/length bytes. */
#define PLAIN_MAX (HAVEN_PAYLOAD_MAX + HAVEN_CODE_MAX + 16)
/* sodium_pad always adds at least one byte. */
#define PADDED_MAX ((PLAIN_MAX / HAVEN_PAD_BLOCK + 1) * HAVEN_PAD_BLOCK)
#define CT_MAX (PADDED_MAX + ABYTES)
/* Headroom so that a sealed envelope still fits a Frame with a Receipt. */
#define SEAL_MAX (HAVEN_FRAME_MAX - 4096)

_Static_assert(CKEY_BYTES + crypto_box_SEALBYTES == HAVEN_WRAPPED_BYTES,
    "wrapped key size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ==
    HAVEN_NONCE_BYTES, "nonce size");
_Static_assert(HAVEN_MAX_RECIPIENTS <= 255, "recipient index is a byte");

/* ------------------------------------------------------------- helpers */

void
haven_hash(uint8_t out[HAVEN_HASH_BYTES], const uint8_t *m, size_t mlen)
{
	(void) crypto_generichash(out, HAVEN_HASH_BYTES, m, mlen, NULL, 0);
}

/* Printable ASCII, shorter than cap, non-empty if `need`. */
static bool
text_ok(const char *s, size_t cap, bool need)
{
	size_t n = strnlen(s, cap);

	if (n >= cap || (need && n == 0)) {
		return (false);
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e) {
			return (false);
		}
	}
	return (true);
}

static bool
id_ok(const char *s)
{
	return (strnlen(s, HAVEN_ID_MAX) < HAVEN_ID_MAX &&
	    haven_agency_id_valid(s));
}

static int
recipient_index(const haven_header *hdr, const char *id)
{
	for (size_t i = 0; i < hdr->n_recipients && i < HAVEN_MAX_RECIPIENTS;
	    i++) {
		if (strcmp(hdr->recipients[i], id) == 0) {
			return ((int) i);
		}
	}
	return (-1);
}

bool
haven_header_has_recipient(const haven_header *hdr, const char *id)
{
	return (recipient_index(hdr, id) >= 0);
}

const char *
haven_header_tag(const haven_header *hdr, const char *key)
{
	for (size_t i = 0; i < hdr->n_tags && i < HAVEN_MAX_TAGS; i++) {
		if (strcmp(hdr->tags[i].key, key) == 0) {
			return (hdr->tags[i].value);
		}
	}
	return (NULL);
}

/* Position of header recipient `r` in view `v`, or -1. */
static int
view_position(const haven_view_desc *v, size_t r)
{
	for (size_t j = 0; j < v->n_recipients; j++) {
		if (v->recipients[j] == r) {
			return ((int) j);
		}
	}
	return (-1);
}

/* Header recipients are distinct (checked before views refer to them). */
static haven_err
check_distinct(const haven_header *hdr, char *err, size_t errlen)
{
	for (size_t i = 0; i < hdr->n_recipients; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(hdr->recipients[i], hdr->recipients[j]) == 0) {
				haven__errf(err, errlen,
				    "recipients[%zu]: duplicate", i);
				return (HAVEN_EINVAL);
			}
		}
	}
	return (HAVEN_OK);
}

/*
 * Every header recipient in exactly one view and no duplicate within a
 * view. Views' indices must already be in range.
 */
static haven_err
check_coverage(const haven_header *hdr, char *err, size_t errlen)
{
	int owner[HAVEN_MAX_RECIPIENTS];

	for (size_t i = 0; i < hdr->n_recipients; i++) {
		owner[i] = -1;
	}
	for (size_t v = 0; v < hdr->n_views; v++) {
		const haven_view_desc *d = &hdr->views[v];
		for (size_t j = 0; j < d->n_recipients; j++) {
			if (owner[d->recipients[j]] != -1) {
				haven__errf(err, errlen, "views[%zu].recipients"
				    "[%zu]: already in a view", v, j);
				return (HAVEN_EINVAL);
			}
			owner[d->recipients[j]] = (int) v;
		}
	}
	for (size_t i = 0; i < hdr->n_recipients; i++) {
		if (owner[i] == -1) {
			haven__errf(err, errlen,
			    "recipients[%zu]: not in any view", i);
			return (HAVEN_EINVAL);
		}
	}
	return (HAVEN_OK);
}

static void
hash_str(crypto_generichash_state *st, const char *s)
{
	(void) crypto_generichash_update(st, (const unsigned char *) s,
	    strlen(s) + 1);
}

/* The view's AEAD associated data; see the note at the top. */
static void
binding_hash(const haven_header *hdr, size_t v, uint8_t out[HAVEN_HASH_BYTES])
{
	const haven_view_desc *d = &hdr->views[v];
	crypto_generichash_state st;
	uint8_t be[4], idx = (uint8_t) v;

	(void) crypto_generichash_init(&st, NULL, 0, HAVEN_HASH_BYTES);
	(void) crypto_generichash_update(&st, (const unsigned char *) VIEW_LABEL,
	    strlen(VIEW_LABEL));
	(void) crypto_generichash_update(&st, hdr->msg_id, HAVEN_MSGID_BYTES);
	hash_str(&st, hdr->sender);
	haven__be32_put(be, hdr->type);
	(void) crypto_generichash_update(&st, be, sizeof(be));
	for (size_t i = 0; i < hdr->n_recipients; i++) {
		hash_str(&st, hdr->recipients[i]);
	}
	(void) crypto_generichash_update(&st, &idx, 1);
	hash_str(&st, d->profile);
	for (size_t j = 0; j < d->n_recipients; j++) {
		hash_str(&st, hdr->recipients[d->recipients[j]]);
	}
	(void) crypto_generichash_final(&st, out, HAVEN_HASH_BYTES);
}

/* "haven-header-v1" || header: the bytes the signature covers. */
static haven_err
signed_input(const uint8_t *hb, size_t hlen, uint8_t **out, size_t *len)
{
	size_t n;

	if (haven__size_add(hlen, strlen(SIG_LABEL), &n) != HAVEN_OK) {
		return (HAVEN_EOVERFLOW);
	}
	if ((*out = malloc(n)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	memcpy(*out, SIG_LABEL, strlen(SIG_LABEL));
	memcpy(*out + strlen(SIG_LABEL), hb, hlen);
	*len = n;
	return (HAVEN_OK);
}

static void
wipe_free(uint8_t *p, size_t len)
{
	if (p != NULL) {
		sodium_memzero(p, len);
		free(p);
	}
}

/* ------------------------------------------------------ encode header */

/* Storage for the protobuf-c view of a haven_header (pointers into it). */
struct pb_header {
	Haven__Header h;
	char *rcpt[HAVEN_MAX_RECIPIENTS];
	ProtobufCBinaryData subj[HAVEN_MAX_SUBJECTS];
	Haven__Tag tag[HAVEN_MAX_TAGS];
	Haven__Tag *tagp[HAVEN_MAX_TAGS];
	Haven__ViewDesc vd[HAVEN_MAX_VIEWS];
	Haven__ViewDesc *vdp[HAVEN_MAX_VIEWS];
	char *vrcpt[HAVEN_MAX_VIEWS][HAVEN_MAX_RECIPIENTS];
	ProtobufCBinaryData wrapped[HAVEN_MAX_VIEWS][HAVEN_MAX_RECIPIENTS];
};

static void
pb_view(struct pb_header *pb, const haven_header *hdr, size_t v)
{
	const haven_view_desc *d = &hdr->views[v];
	Haven__ViewDesc *o = &pb->vd[v];

	haven__view_desc__init(o);
	o->profile = (char *) d->profile;
	for (size_t j = 0; j < d->n_recipients; j++) {
		pb->vrcpt[v][j] = (char *) hdr->recipients[d->recipients[j]];
		pb->wrapped[v][j] = haven__pb_bin(d->wrapped[j],
		    HAVEN_WRAPPED_BYTES);
	}
	o->n_recipients = o->n_wrapped = d->n_recipients;
	o->recipients = pb->vrcpt[v];
	o->wrapped = pb->wrapped[v];
	o->ct_hash = haven__pb_bin(d->ct_hash, HAVEN_HASH_BYTES);
	o->nonce = haven__pb_bin(d->nonce, HAVEN_NONCE_BYTES);
	pb->vdp[v] = o;
}

static void
pb_lists(struct pb_header *pb, const haven_header *hdr)
{
	Haven__Header *h = &pb->h;

	for (size_t i = 0; i < hdr->n_recipients; i++) {
		pb->rcpt[i] = (char *) hdr->recipients[i];
	}
	h->n_recipients = hdr->n_recipients;
	h->recipients = pb->rcpt;
	for (size_t i = 0; i < hdr->n_subjects; i++) {
		pb->subj[i] = haven__pb_bin(hdr->subject_pseuds[i],
		    HAVEN_HASH_BYTES);
	}
	h->n_subject_pseuds = hdr->n_subjects;
	h->subject_pseuds = pb->subj;
	for (size_t i = 0; i < hdr->n_tags; i++) {
		haven__tag__init(&pb->tag[i]);
		pb->tag[i].key = (char *) hdr->tags[i].key;
		pb->tag[i].value = (char *) hdr->tags[i].value;
		pb->tagp[i] = &pb->tag[i];
	}
	h->n_tags = hdr->n_tags;
	h->tags = pb->tagp;
	for (size_t v = 0; v < hdr->n_views; v++) {
		pb_view(pb, hdr, v);
	}
	h->n_views = hdr->n_views;
	h->views = pb->vdp;
}

static void
pb_fill(struct pb_header *pb, const haven_header *hdr)
{
	Haven__Header *h = &pb->h;

	haven__header__init(h);
	h->version = hdr->version;
	h->msg_id = haven__pb_bin(hdr->msg_id, HAVEN_MSGID_BYTES);
	h->sender = (char *) hdr->sender;
	h->sender_gen = hdr->sender_gen;
	h->seq = hdr->seq;
	h->type = hdr->type;
	if (hdr->has_case) {
		h->case_pseud = haven__pb_bin(hdr->case_pseud,
		    HAVEN_HASH_BYTES);
	}
	h->legal_basis = (char *) hdr->legal_basis;
	h->purpose = (char *) hdr->purpose;
	h->created_ms = hdr->created_ms;
	h->deadline_ms = hdr->deadline_ms;
	h->expires_ms = hdr->expires_ms;
	h->occurred_ms = hdr->occurred_ms;
	if (hdr->has_reply_to) {
		h->in_reply_to = haven__pb_bin(hdr->in_reply_to,
		    HAVEN_MSGID_BYTES);
	}
	pb_lists(pb, hdr);
}

/* Serialise a validated header; *out is malloc'd. */
static haven_err
encode_header(const haven_header *hdr, uint8_t **out, size_t *len)
{
	struct pb_header *pb;
	haven_err rv;

	if ((pb = calloc(1, sizeof(*pb))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	pb_fill(pb, hdr);
	rv = haven__pb_pack(&pb->h.base, SEAL_MAX, out, len);
	free(pb);
	return (rv);
}

/* ------------------------------------------------------ decode header */

static haven_err
dec_scalars(const Haven__Header *h, haven_header *o)
{
	if (h->msg_id.len != HAVEN_MSGID_BYTES || !id_ok(h->sender) ||
	    h->sender_gen == 0 || !haven_msg_type_valid(h->type) ||
	    !text_ok(h->legal_basis, HAVEN_CODE_MAX, false) ||
	    !text_ok(h->purpose, HAVEN_CODE_MAX, false) ||
	    (h->case_pseud.len != 0 && h->case_pseud.len != HAVEN_HASH_BYTES) ||
	    (h->in_reply_to.len != 0 &&
	        h->in_reply_to.len != HAVEN_MSGID_BYTES)) {
		return (HAVEN_EINVAL);
	}
	o->version = h->version;
	memcpy(o->msg_id, h->msg_id.data, HAVEN_MSGID_BYTES);
	(void) strcpy(o->sender, h->sender); /* length checked by id_ok */
	o->sender_gen = h->sender_gen;
	o->seq = h->seq;
	o->type = h->type;
	(void) strcpy(o->legal_basis, h->legal_basis);
	(void) strcpy(o->purpose, h->purpose);
	o->has_case = h->case_pseud.len != 0;
	if (o->has_case) {
		memcpy(o->case_pseud, h->case_pseud.data, HAVEN_HASH_BYTES);
	}
	o->has_reply_to = h->in_reply_to.len != 0;
	if (o->has_reply_to) {
		memcpy(o->in_reply_to, h->in_reply_to.data, HAVEN_MSGID_BYTES);
	}
	o->created_ms = h->created_ms;
	o->deadline_ms = h->deadline_ms;
	o->expires_ms = h->expires_ms;
	o->occurred_ms = h->occurred_ms;
	return (HAVEN_OK);
}

static haven_err
dec_lists(const Haven__Header *h, haven_header *o)
{
	if (h->n_recipients == 0 || h->n_recipients > HAVEN_MAX_RECIPIENTS ||
	    h->n_subject_pseuds > HAVEN_MAX_SUBJECTS ||
	    h->n_tags > HAVEN_MAX_TAGS) {
		return (HAVEN_EINVAL);
	}
	for (size_t i = 0; i < h->n_recipients; i++) {
		if (!id_ok(h->recipients[i])) {
			return (HAVEN_EINVAL);
		}
		(void) strcpy(o->recipients[i], h->recipients[i]);
	}
	o->n_recipients = h->n_recipients;
	for (size_t i = 0; i < h->n_subject_pseuds; i++) {
		if (h->subject_pseuds[i].len != HAVEN_HASH_BYTES) {
			return (HAVEN_EINVAL);
		}
		memcpy(o->subject_pseuds[i], h->subject_pseuds[i].data,
		    HAVEN_HASH_BYTES);
	}
	o->n_subjects = h->n_subject_pseuds;
	for (size_t i = 0; i < h->n_tags; i++) {
		const Haven__Tag *t = h->tags[i];
		if (t->base.n_unknown_fields != 0 ||
		    !text_ok(t->key, HAVEN_CODE_MAX, true) ||
		    !text_ok(t->value, HAVEN_TAGVAL_MAX, false) ||
		    haven_header_tag(o, t->key) != NULL) {
			return (HAVEN_EINVAL);
		}
		(void) strcpy(o->tags[i].key, t->key);
		(void) strcpy(o->tags[i].value, t->value);
		o->n_tags = i + 1;
	}
	return (HAVEN_OK);
}

static haven_err
dec_view(const Haven__ViewDesc *d, const haven_header *hdr,
    haven_view_desc *o)
{
	if (d->base.n_unknown_fields != 0 ||
	    !text_ok(d->profile, HAVEN_CODE_MAX, true) ||
	    d->n_recipients == 0 || d->n_recipients > HAVEN_MAX_RECIPIENTS ||
	    d->n_wrapped != d->n_recipients ||
	    d->ct_hash.len != HAVEN_HASH_BYTES ||
	    d->nonce.len != HAVEN_NONCE_BYTES) {
		return (HAVEN_EINVAL);
	}
	(void) strcpy(o->profile, d->profile);
	for (size_t j = 0; j < d->n_recipients; j++) {
		int r = recipient_index(hdr, d->recipients[j]);
		if (r < 0 || d->wrapped[j].len != HAVEN_WRAPPED_BYTES) {
			return (HAVEN_EINVAL);
		}
		o->recipients[j] = (uint8_t) r;
		memcpy(o->wrapped[j], d->wrapped[j].data, HAVEN_WRAPPED_BYTES);
	}
	o->n_recipients = d->n_recipients;
	memcpy(o->ct_hash, d->ct_hash.data, HAVEN_HASH_BYTES);
	memcpy(o->nonce, d->nonce.data, HAVEN_NONCE_BYTES);
	return (HAVEN_OK);
}

/* Re-pack and compare: refuses non-canonical or duplicated encodings. */
static haven_err
check_canonical(const Haven__Header *h, const uint8_t *hb, size_t hlen)
{
	uint8_t *again;
	haven_err rv = HAVEN_OK;

	if (!haven__pb_canonical(&h->base, hlen)) {
		return (HAVEN_EDECODE);
	}
	if ((again = malloc(hlen)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if (haven__header__pack(h, again) != hlen ||
	    memcmp(again, hb, hlen) != 0) {
		rv = HAVEN_EDECODE;
	}
	free(again);
	return (rv);
}

static haven_err
decode_header(const uint8_t *hb, size_t hlen, haven_header *o)
{
	ProtobufCMessage *m;
	const Haven__Header *h;
	haven_err rv;

	if (hlen == 0) {
		return (HAVEN_EDECODE);
	}
	if ((rv = haven__pb_unpack(&haven__header__descriptor,
	    HAVEN_FRAME_MAX, hb, hlen, &m)) != HAVEN_OK) {
		return (rv);
	}
	h = (const Haven__Header *) m;
	if (h->version != HAVEN_PROTOCOL_VERSION) {
		rv = HAVEN_EVERSION;
	} else if ((rv = check_canonical(h, hb, hlen)) == HAVEN_OK &&
	    (rv = dec_scalars(h, o)) == HAVEN_OK &&
	    (rv = dec_lists(h, o)) == HAVEN_OK &&
	    (rv = check_distinct(o, NULL, 0)) == HAVEN_OK) {
		if (h->n_views == 0 || h->n_views > HAVEN_MAX_VIEWS) {
			rv = HAVEN_EINVAL;
		}
		for (size_t v = 0; rv == HAVEN_OK && v < h->n_views; v++) {
			rv = dec_view(h->views[v], o, &o->views[v]);
			o->n_views = v + 1;
		}
	}
	if (rv == HAVEN_OK) {
		rv = check_coverage(o, NULL, 0);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return (rv);
}

/* ------------------------------------------------------------- decode */

/* A present view: padded plaintext (>= one block) plus the tag. */
static bool
ct_len_ok(size_t len)
{
	return (len == 0 || (len >= HAVEN_PAD_BLOCK + ABYTES &&
	    len <= CT_MAX && (len - ABYTES) % HAVEN_PAD_BLOCK == 0));
}

static haven_err
check_outer(const Haven__Envelope *e)
{
	if (e->base.n_unknown_fields != 0 || e->header.len == 0) {
		return (HAVEN_EDECODE);
	}
	if (e->signature.len != HAVEN_SIG_BYTES ||
	    e->n_views > HAVEN_MAX_VIEWS) {
		return (HAVEN_EINVAL);
	}
	for (size_t v = 0; v < e->n_views; v++) {
		if (!ct_len_ok(e->views[v].len)) {
			return (HAVEN_EINVAL);
		}
	}
	return (HAVEN_OK);
}

static haven_err
copy_bytes(uint8_t **dst, const ProtobufCBinaryData *src)
{
	if (src->len == 0) {
		*dst = NULL;
		return (HAVEN_OK);
	}
	if ((*dst = malloc(src->len)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	memcpy(*dst, src->data, src->len);
	return (HAVEN_OK);
}

static haven_err
fill_envelope(haven_envelope *env, const Haven__Envelope *e)
{
	haven_err rv;

	if ((rv = decode_header(e->header.data, e->header.len, &env->hdr)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if (e->n_views != env->hdr.n_views) {
		return (HAVEN_EINVAL);
	}
	if ((rv = copy_bytes(&env->header_bytes, &e->header)) != HAVEN_OK) {
		return (rv);
	}
	env->header_len = e->header.len;
	memcpy(env->sig, e->signature.data, HAVEN_SIG_BYTES);
	for (size_t v = 0; v < e->n_views; v++) {
		if ((rv = copy_bytes(&env->views[v], &e->views[v])) !=
		    HAVEN_OK) {
			return (rv);
		}
		env->view_len[v] = e->views[v].len;
		env->n_views = v + 1;
	}
	return (HAVEN_OK);
}

haven_err
haven_envelope_decode(haven_envelope **out, const uint8_t *buf, size_t len)
{
	ProtobufCMessage *m;
	const Haven__Envelope *e;
	haven_envelope *env = NULL;
	haven_err rv;

	if (out == NULL || (buf == NULL && len != 0)) {
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__pb_unpack(&haven__envelope__descriptor,
	    HAVEN_FRAME_MAX, buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	e = (const Haven__Envelope *) m;
	if ((rv = check_outer(e)) != HAVEN_OK) {
		goto out;
	}
	if ((env = calloc(1, sizeof(*env))) == NULL) {
		rv = HAVEN_ENOMEM;
		goto out;
	}
	if ((rv = fill_envelope(env, e)) == HAVEN_OK) {
		*out = env;
		env = NULL;
	}
out:
	protobuf_c_message_free_unpacked(m, NULL);
	haven_envelope_destroy(&env);
	return (rv);
}

void
haven_envelope_destroy(haven_envelope **envp)
{
	haven_envelope *env;

	if (envp == NULL || (env = *envp) == NULL) {
		return;
	}
	free(env->header_bytes);
	for (size_t v = 0; v < HAVEN_MAX_VIEWS; v++) {
		free(env->views[v]);
	}
	free(env);
	*envp = NULL;
}

/* Pack an Envelope of at most `cap` bytes; *out is malloc'd. */
static haven_err
pack_envelope(const uint8_t *hb, size_t hlen, const uint8_t *sig,
    uint8_t *const *views, const size_t *lens, size_t n, size_t cap,
    uint8_t **out, size_t *out_len)
{
	Haven__Envelope e = HAVEN__ENVELOPE__INIT;
	ProtobufCBinaryData vb[HAVEN_MAX_VIEWS];

	e.header = haven__pb_bin(hb, hlen);
	e.signature = haven__pb_bin(sig, HAVEN_SIG_BYTES);
	for (size_t v = 0; v < n; v++) {
		vb[v] = haven__pb_bin(views[v], lens[v]);
	}
	e.n_views = n;
	e.views = vb;
	return (haven__pb_pack(&e.base, cap, out, out_len));
}

/* ------------------------------------------------------------- verify */

static haven_err
verify_sig(const haven_envelope *env, const uint8_t pk[HAVEN_KEY_BYTES])
{
	uint8_t *m = NULL;
	size_t mlen = 0;
	haven_err rv;

	if ((rv = signed_input(env->header_bytes, env->header_len, &m,
	    &mlen)) != HAVEN_OK) {
		return (rv);
	}
	rv = haven_sig_verify(env->sig, m, mlen, pk);
	free(m);
	return (rv);
}

haven_err
haven_envelope_verify(const haven_envelope *env, const haven_directory *dir)
{
	const haven_agency_key *key;
	const haven_agency *a;
	uint8_t h[HAVEN_HASH_BYTES];
	haven_err rv;

	if (env == NULL || dir == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((a = haven_directory_find(dir, env->hdr.sender)) == NULL ||
	    (key = haven_agency_key_gen(a, env->hdr.sender_gen)) == NULL) {
		return (HAVEN_EUNKNOWN);
	}
	if ((rv = verify_sig(env, key->sign_pk)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t v = 0; v < env->n_views; v++) {
		if (env->view_len[v] == 0) {
			continue;
		}
		haven_hash(h, env->views[v], env->view_len[v]);
		if (sodium_memcmp(h, env->hdr.views[v].ct_hash, sizeof(h)) != 0) {
			return (HAVEN_ESIG);
		}
	}
	return (HAVEN_OK);
}

/* --------------------------------------------------------------- open */

static haven_err
decrypt_view(const haven_envelope *env, size_t v, size_t pos,
    const haven_keys *me, uint8_t *plain, unsigned long long *plain_len)
{
	const haven_view_desc *d = &env->hdr.views[v];
	uint8_t key[CKEY_BYTES], ad[HAVEN_HASH_BYTES];
	haven_err rv;

	if ((rv = haven_keys_unseal(me, key, d->wrapped[pos],
	    HAVEN_WRAPPED_BYTES)) != HAVEN_OK) {
		return (rv);
	}
	binding_hash(&env->hdr, v, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, plain_len, NULL,
	    env->views[v], env->view_len[v], ad, sizeof(ad), d->nonce,
	    key) != 0) {
		rv = HAVEN_ECRYPTO;
	}
	sodium_memzero(key, sizeof(key));
	return (rv);
}

/* Unpack a ViewPlain, check its profile, copy its payload out. */
static haven_err
parse_plain(const uint8_t *p, size_t len, const char *profile,
    uint8_t **payload, size_t *payload_len)
{
	Haven__ViewPlain *vp;
	haven_err rv = HAVEN_OK;

	if ((vp = haven__view_plain__unpack(NULL, len, p)) == NULL) {
		return (HAVEN_EDECODE);
	}
	if (vp->base.n_unknown_fields != 0 ||
	    strcmp(vp->profile, profile) != 0 ||
	    vp->payload.len > HAVEN_PAYLOAD_MAX) {
		rv = HAVEN_EDECODE;
	} else if ((*payload = malloc(vp->payload.len + 1)) == NULL) {
		rv = HAVEN_ENOMEM;
	} else {
		if (vp->payload.len > 0) {
			memcpy(*payload, vp->payload.data, vp->payload.len);
		}
		*payload_len = vp->payload.len;
	}
	if (vp->payload.len > 0) {
		sodium_memzero(vp->payload.data, vp->payload.len);
	}
	haven__view_plain__free_unpacked(vp, NULL);
	return (rv);
}

/* Which view holds `me`, and at what position among its recipients. */
static haven_err
find_my_view(const haven_envelope *env, const char *me, size_t *v,
    size_t *pos)
{
	int r = recipient_index(&env->hdr, me);

	if (r < 0) {
		return (HAVEN_ENOTFOUND);
	}
	for (size_t i = 0; i < env->hdr.n_views; i++) {
		int j = view_position(&env->hdr.views[i], (size_t) r);
		if (j >= 0) {
			*v = i;
			*pos = (size_t) j;
			/* Stripped away: nothing here for me to read. */
			return (env->view_len[i] == 0 ? HAVEN_ENOTFOUND :
			    HAVEN_OK);
		}
	}
	return (HAVEN_ENOTFOUND);
}

haven_err
haven_envelope_open(const haven_envelope *env, const haven_keys *me,
    char profile[HAVEN_CODE_MAX], uint8_t **payload, size_t *payload_len)
{
	unsigned long long plen = 0;
	uint8_t *plain = NULL;
	size_t v = 0, pos = 0, unpadded = 0, cap = 0;
	haven_err rv;

	if (env == NULL || me == NULL || payload == NULL ||
	    payload_len == NULL || haven__sodium_init() != HAVEN_OK) {
		return (HAVEN_EINVAL);
	}
	if ((rv = find_my_view(env, haven_keys_agency(me), &v, &pos)) !=
	    HAVEN_OK) {
		return (rv);
	}
	cap = env->view_len[v] - ABYTES; /* decode ensured >= one block */
	if ((plain = malloc(cap)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((rv = decrypt_view(env, v, pos, me, plain, &plen)) != HAVEN_OK) {
		goto out;
	}
	if (sodium_unpad(&unpadded, plain, (size_t) plen, HAVEN_PAD_BLOCK) !=
	    0) {
		rv = HAVEN_EDECODE;
		goto out;
	}
	rv = parse_plain(plain, unpadded, env->hdr.views[v].profile, payload,
	    payload_len);
	if (rv == HAVEN_OK && profile != NULL) {
		(void) strcpy(profile, env->hdr.views[v].profile);
	}
out:
	wipe_free(plain, cap);
	return (rv);
}

/* -------------------------------------------------------------- strip */

haven_err
haven_envelope_strip(const haven_envelope *env, const char *recipient,
    uint8_t **out, size_t *out_len)
{
	uint8_t *views[HAVEN_MAX_VIEWS];
	size_t lens[HAVEN_MAX_VIEWS];
	int r;

	if (env == NULL || recipient == NULL || out == NULL ||
	    out_len == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((r = recipient_index(&env->hdr, recipient)) < 0) {
		return (HAVEN_ENOTFOUND);
	}
	for (size_t v = 0; v < env->n_views; v++) {
		bool mine = view_position(&env->hdr.views[v], (size_t) r) >= 0;
		views[v] = mine ? env->views[v] : NULL;
		lens[v] = mine ? env->view_len[v] : 0;
	}
	return (pack_envelope(env->header_bytes, env->header_len, env->sig,
	    views, lens, env->n_views, HAVEN_FRAME_MAX, out, out_len));
}

/* --------------------------------------------------------------- seal */

static haven_err
check_header_in(const haven_header *hdr, char *err, size_t errlen)
{
	if (hdr->n_recipients == 0 ||
	    hdr->n_recipients > HAVEN_MAX_RECIPIENTS) {
		haven__errf(err, errlen, "recipients: need 1 to %d",
		    HAVEN_MAX_RECIPIENTS);
		return (HAVEN_EINVAL);
	}
	for (size_t i = 0; i < hdr->n_recipients; i++) {
		if (!id_ok(hdr->recipients[i])) {
			haven__errf(err, errlen,
			    "recipients[%zu]: not a valid agency id", i);
			return (HAVEN_EINVAL);
		}
	}
	if (check_distinct(hdr, err, errlen) != HAVEN_OK) {
		return (HAVEN_EINVAL);
	}
	if (!haven_msg_type_valid(hdr->type) ||
	    hdr->n_subjects > HAVEN_MAX_SUBJECTS ||
	    hdr->n_tags > HAVEN_MAX_TAGS ||
	    !text_ok(hdr->legal_basis, HAVEN_CODE_MAX, false) ||
	    !text_ok(hdr->purpose, HAVEN_CODE_MAX, false)) {
		haven__errf(err, errlen, "header: type, subjects, tags, "
		    "legal_basis or purpose invalid");
		return (HAVEN_EINVAL);
	}
	for (size_t i = 0; i < hdr->n_tags; i++) {
		const haven_tag *t = &hdr->tags[i];
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++) {
			dup = strncmp(hdr->tags[j].key, t->key,
			    HAVEN_CODE_MAX) == 0;
		}
		if (dup || !text_ok(t->key, HAVEN_CODE_MAX, true) ||
		    !text_ok(t->value, HAVEN_TAGVAL_MAX, false)) {
			haven__errf(err, errlen, "tags[%zu]: invalid", i);
			return (HAVEN_EINVAL);
		}
	}
	return (HAVEN_OK);
}

/* Check one view to seal and record its recipients as indices. */
static haven_err
view_in_desc(haven_header *hdr, size_t v, const haven_view_in *in,
    char *err, size_t errlen)
{
	haven_view_desc *d = &hdr->views[v];

	if (in->profile == NULL || !text_ok(in->profile, HAVEN_CODE_MAX, true) ||
	    (in->payload == NULL && in->payload_len != 0) ||
	    in->n_recipients == 0 || in->n_recipients > HAVEN_MAX_RECIPIENTS ||
	    in->recipients == NULL) {
		haven__errf(err, errlen, "views[%zu]: profile, payload or "
		    "recipients invalid", v);
		return (HAVEN_EINVAL);
	}
	if (in->payload_len > HAVEN_PAYLOAD_MAX) {
		haven__errf(err, errlen, "views[%zu]: payload over %u bytes", v,
		    HAVEN_PAYLOAD_MAX);
		return (HAVEN_EMSGSIZE);
	}
	memset(d, 0, sizeof(*d));
	(void) strcpy(d->profile, in->profile);
	for (size_t j = 0; j < in->n_recipients; j++) {
		int r = in->recipients[j] == NULL ? -1 :
		    recipient_index(hdr, in->recipients[j]);
		if (r < 0) {
			haven__errf(err, errlen, "views[%zu].recipients[%zu]: "
			    "not a header recipient", v, j);
			return (HAVEN_EINVAL);
		}
		d->recipients[j] = (uint8_t) r;
	}
	d->n_recipients = in->n_recipients;
	return (HAVEN_OK);
}

static haven_err
check_views_in(haven_header *hdr, const haven_view_in *views, size_t n,
    char *err, size_t errlen)
{
	haven_err rv;

	if (views == NULL || n == 0 || n > HAVEN_MAX_VIEWS) {
		haven__errf(err, errlen, "views: need 1 to %d", HAVEN_MAX_VIEWS);
		return (HAVEN_EINVAL);
	}
	hdr->n_views = 0;
	for (size_t v = 0; v < n; v++) {
		if ((rv = view_in_desc(hdr, v, &views[v], err, errlen)) !=
		    HAVEN_OK) {
			return (rv);
		}
		hdr->n_views = v + 1;
	}
	return (check_coverage(hdr, err, errlen));
}

/* Each recipient's current box key: known, not revoked. */
static haven_err
recipient_keys(const haven_header *hdr, const haven_directory *dir,
    uint8_t pks[][HAVEN_KEY_BYTES], char *err, size_t errlen)
{
	for (size_t i = 0; i < hdr->n_recipients; i++) {
		const haven_agency *a;
		const haven_agency_key *k;

		if ((a = haven_directory_find(dir, hdr->recipients[i])) ==
		    NULL) {
			haven__errf(err, errlen, "recipient %s: not in the "
			    "directory", hdr->recipients[i]);
			return (HAVEN_EUNKNOWN);
		}
		if (a->revoked) {
			haven__errf(err, errlen, "recipient %s: revoked",
			    hdr->recipients[i]);
			return (HAVEN_EREVOKED);
		}
		if ((k = haven_agency_key_current(a)) == NULL) {
			haven__errf(err, errlen, "recipient %s: no current key",
			    hdr->recipients[i]);
			return (HAVEN_EUNKNOWN);
		}
		memcpy(pks[i], k->box_pk, HAVEN_KEY_BYTES);
	}
	return (HAVEN_OK);
}

/* Packed, padded ViewPlain in a malloc'd buffer of *cap bytes. */
static haven_err
pad_plain(const haven_view_in *in, uint8_t **out, size_t *len, size_t *cap)
{
	Haven__ViewPlain vp = HAVEN__VIEW_PLAIN__INIT;
	size_t n;

	vp.profile = (char *) in->profile;
	vp.payload = haven__pb_bin(in->payload, in->payload_len);
	n = haven__view_plain__get_packed_size(&vp);
	*cap = (n / HAVEN_PAD_BLOCK + 1) * HAVEN_PAD_BLOCK;
	if ((*out = malloc(*cap)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	(void) haven__view_plain__pack(&vp, *out);
	if (sodium_pad(len, *out, n, HAVEN_PAD_BLOCK, *cap) != 0) {
		wipe_free(*out, *cap);
		*out = NULL;
		return (HAVEN_EOVERFLOW);
	}
	return (HAVEN_OK);
}

/* Encrypt view v under a fresh key and wrap the key to its recipients. */
static haven_err
seal_view(haven_header *hdr, size_t v, const haven_view_in *in,
    uint8_t pks[][HAVEN_KEY_BYTES], uint8_t **ct, size_t *ct_len)
{
	haven_view_desc *d = &hdr->views[v];
	uint8_t key[CKEY_BYTES], ad[HAVEN_HASH_BYTES];
	uint8_t *plain = NULL;
	size_t plen = 0, pcap = 0;
	haven_err rv;

	if ((rv = pad_plain(in, &plain, &plen, &pcap)) != HAVEN_OK) {
		return (rv);
	}
	if ((*ct = malloc(plen + ABYTES)) == NULL) {
		wipe_free(plain, pcap);
		return (HAVEN_ENOMEM);
	}
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	randombytes_buf(d->nonce, sizeof(d->nonce));
	binding_hash(hdr, v, ad);
	(void) crypto_aead_xchacha20poly1305_ietf_encrypt(*ct, NULL, plain,
	    plen, ad, sizeof(ad), NULL, d->nonce, key);
	*ct_len = plen + ABYTES;
	haven_hash(d->ct_hash, *ct, *ct_len);
	/* crypto_box_seal fails for a low-order recipient key: that recipient
	 * could never open the view, so the whole seal is refused. */
	for (size_t j = 0; j < d->n_recipients && rv == HAVEN_OK; j++) {
		if (crypto_box_seal(d->wrapped[j], key, sizeof(key),
		    pks[d->recipients[j]]) != 0) {
			rv = HAVEN_ECRYPTO;
		}
	}
	sodium_memzero(key, sizeof(key));
	wipe_free(plain, pcap);
	return (rv);
}

static void
set_identity(haven_header *hdr, const haven_keys *sender, bool keep_msg_id)
{
	hdr->version = HAVEN_PROTOCOL_VERSION;
	/* haven_keys guarantees a valid id shorter than HAVEN_ID_MAX. */
	(void) strcpy(hdr->sender, haven_keys_agency(sender));
	hdr->sender_gen = haven_keys_generation(sender);
	if (!keep_msg_id) {
		randombytes_buf(hdr->msg_id, sizeof(hdr->msg_id));
	}
}

/* Encode and sign the header, then pack the envelope. */
static haven_err
finish_seal(const haven_header *hdr, const haven_keys *sender,
    uint8_t *const *cts, const size_t *ct_lens, uint8_t **out,
    size_t *out_len)
{
	uint8_t *hb = NULL, *m = NULL;
	size_t hlen = 0, mlen = 0;
	uint8_t sig[HAVEN_SIG_BYTES];
	haven_err rv;

	if ((rv = encode_header(hdr, &hb, &hlen)) != HAVEN_OK ||
	    (rv = signed_input(hb, hlen, &m, &mlen)) != HAVEN_OK) {
		goto out;
	}
	haven_keys_sign(sender, sig, m, mlen);
	rv = pack_envelope(hb, hlen, sig, cts, ct_lens, hdr->n_views,
	    SEAL_MAX, out, out_len);
out:
	free(m);
	free(hb);
	return (rv);
}

haven_err
haven_envelope_seal(haven_header *hdr, bool keep_msg_id,
    const haven_view_in *views, size_t n_views, const haven_keys *sender,
    const haven_directory *dir, uint8_t **out, size_t *out_len, char *err,
    size_t errlen)
{
	uint8_t pks[HAVEN_MAX_RECIPIENTS][HAVEN_KEY_BYTES];
	uint8_t *cts[HAVEN_MAX_VIEWS] = {NULL};
	size_t ct_lens[HAVEN_MAX_VIEWS] = {0};
	haven_err rv;

	if (hdr == NULL || sender == NULL || dir == NULL || out == NULL ||
	    out_len == NULL || haven__sodium_init() != HAVEN_OK) {
		haven__errf(err, errlen, "missing argument");
		return (HAVEN_EINVAL);
	}
	set_identity(hdr, sender, keep_msg_id);
	if ((rv = check_header_in(hdr, err, errlen)) != HAVEN_OK ||
	    (rv = check_views_in(hdr, views, n_views, err, errlen)) !=
	        HAVEN_OK ||
	    (rv = recipient_keys(hdr, dir, pks, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t v = 0; v < n_views; v++) {
		if ((rv = seal_view(hdr, v, &views[v], pks, &cts[v],
		    &ct_lens[v])) != HAVEN_OK) {
			if (rv == HAVEN_ECRYPTO) {
				haven__errf(err, errlen, "views[%zu]: a "
				    "recipient's box key is unusable", v);
			}
			goto out;
		}
	}
	rv = finish_seal(hdr, sender, cts, ct_lens, out, out_len);
	if (rv == HAVEN_EMSGSIZE) {
		haven__errf(err, errlen, "envelope over %u bytes", SEAL_MAX);
	}
out:
	for (size_t v = 0; v < n_views; v++) {
		free(cts[v]);
	}
	return (rv);
}
