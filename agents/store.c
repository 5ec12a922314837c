/*
 * agents/store.c: the agent's LMDB store, sealed at rest (see agent_store.h).
 *
 * Sealed value layout:  ver(1) | flags(1) | nonce(24) | ciphertext+tag
 * AD = label | table(1) | LMDB key | ver | flags, where the label is
 * "haven-agent-rec-v1" and the key the msg id (16) for inbox, outbox and
 * the keycheck, and "haven-agent-case-v1" with the case pseudonym (32)
 * for the case index (one seal/unseal for all, parameterised by `kind`).
 * The brief asks for AD = msg id; we bind the table and flags as well, so
 * an outbox record cannot be replayed as an inbox record and the
 * "verified" flag (bit 0) cannot be flipped by someone with disk access.
 *
 * Threat model: a thief of the agent's disk without the key file learns
 * record counts, sizes and msg ids (the LMDB keys), nothing else, and
 * cannot alter, move or forge a record undetected. Rolling the whole store
 * back to an older copy is not detected here (LMDB file-level rollback).
 *
 * Every write is a single transaction committed with fsync; a crash leaves
 * the previous committed state. Plaintext buffers are wiped before free.
 */
#include "agent_store.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lmdbutil.h"
#include "out.h"
#include "record.h"
#include "util.h"

#define SEAL_VER 1
#define FLAG_VERIFIED 0x01
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define HDR_LEN (2 + NONCE_LEN)
#define AD_MAX 64

_Static_assert(sizeof("haven-agent-case-v1") + 1 + HAVEN__CASE_KEY_BYTES +
    2 <= AD_MAX, "AD_MAX too small");

/*
 * What a sealed value is bound to besides its flags: an AD label, a table
 * byte and the LMDB key it is stored under (a msg id, or a case's
 * pseudonym), with the plaintext cap for that table.
 */
typedef struct kind {
	const char *label;
	uint8_t table;
	size_t key_len;
	size_t max;
} kind;

static const kind K_INBOX = { "haven-agent-rec-v1", 'i', HAVEN_MSGID_BYTES,
	HAVEN__REC_MAX };
static const kind K_OUTBOX = { "haven-agent-rec-v1", 'o', HAVEN_MSGID_BYTES,
	HAVEN__REC_MAX };
static const kind K_KEYCHECK = { "haven-agent-rec-v1", 'k',
	HAVEN_MSGID_BYTES, HAVEN__REC_MAX };
static const kind K_CASE = { "haven-agent-case-v1", 'c',
	HAVEN__CASE_KEY_BYTES, HAVEN__CASE_REC_MAX };

struct haven__agent_store {
	MDB_env *env;
	MDB_dbi inbox;
	MDB_dbi outbox;
	MDB_dbi outpend;
	MDB_dbi meta;
	MDB_dbi cases;    /* case index (agents/cases.h) */
	MDB_dbi caseseen; /* msg ids already indexed */
	uint8_t *key; /* sodium_malloc'd store key */
};

/* AD = label | table | key | ver | flags; returns its length. */
static size_t
ad_make(uint8_t ad[AD_MAX], const kind *k, const uint8_t *key,
    uint8_t flags)
{
	size_t o = strlen(k->label);

	memcpy(ad, k->label, o);
	ad[o++] = k->table;
	memcpy(ad + o, key, k->key_len);
	o += k->key_len;
	ad[o++] = SEAL_VER;
	ad[o++] = flags;
	return (o);
}

/* Seal plain into *out (malloc'd); caller frees. */
static haven_err
seal(const haven__agent_store *st, const kind *k, const uint8_t *key,
    uint8_t flags, const uint8_t *plain, size_t plen, uint8_t **out,
    size_t *olen)
{
	uint8_t ad[AD_MAX];
	unsigned long long clen = 0;
	size_t adlen;
	uint8_t *buf;

	if (plen > k->max) {
		return (HAVEN_EMSGSIZE);
	}
	if ((buf = malloc(HDR_LEN + plen + TAG_LEN)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	buf[0] = SEAL_VER;
	buf[1] = flags;
	randombytes_buf(buf + 2, NONCE_LEN);
	adlen = ad_make(ad, k, key, flags);
	(void) crypto_aead_xchacha20poly1305_ietf_encrypt(buf + HDR_LEN, &clen,
	    plain, plen, ad, adlen, NULL, buf + 2, st->key);
	*out = buf;
	*olen = HDR_LEN + (size_t) clen;
	return (HAVEN_OK);
}

/* Open a sealed value; *plain malloc'd (wipe + free), flags out. */
static haven_err
unseal(const haven__agent_store *st, const kind *k, const uint8_t *key,
    const MDB_val *v, uint8_t **plain, size_t *plen, uint8_t *flags)
{
	const uint8_t *b = v->mv_data;
	unsigned long long n = 0;
	uint8_t ad[AD_MAX];
	size_t adlen;
	uint8_t *buf;

	if (v->mv_size < HDR_LEN + TAG_LEN ||
	    v->mv_size > HDR_LEN + TAG_LEN + k->max || b[0] != SEAL_VER) {
		return (HAVEN_ECORRUPT);
	}
	if ((buf = malloc(v->mv_size - HDR_LEN - TAG_LEN + 1)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	adlen = ad_make(ad, k, key, b[1]);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(buf, &n, NULL,
	    b + HDR_LEN, v->mv_size - HDR_LEN, ad, adlen, b + 2,
	    st->key) != 0) {
		free(buf);
		return (HAVEN_ECORRUPT);
	}
	*plain = buf;
	*plen = (size_t) n;
	*flags = b[1];
	return (HAVEN_OK);
}

/* Seal and store under `key` (k->key_len bytes) in `dbi`. */
static haven_err
put_sealed(haven__agent_store *st, MDB_txn *txn, MDB_dbi dbi, const kind *k,
    const uint8_t *key, uint8_t flags, const uint8_t *plain, size_t plen,
    unsigned pflags)
{
	MDB_val mk = { k->key_len, (void *) key };
	MDB_val v;
	uint8_t *sealed = NULL;
	size_t slen = 0;
	haven_err rv;
	int rc;

	if ((rv = seal(st, k, key, flags, plain, plen, &sealed, &slen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	v.mv_size = slen;
	v.mv_data = sealed;
	rc = mdb_put(txn, dbi, &mk, &v, pflags);
	free(sealed);
	return (haven__mdb_err(rc)); /* MDB_KEYEXIST: HAVEN_EEXIST */
}

/* Fetch and unseal the value under `key` in `dbi` (see unseal). */
static haven_err
get_sealed(haven__agent_store *st, MDB_txn *txn, MDB_dbi dbi, const kind *k,
    const uint8_t *key, uint8_t **plain, size_t *plen, uint8_t *flags)
{
	MDB_val mk = { k->key_len, (void *) key };
	MDB_val v;
	int rc;

	if ((rc = mdb_get(txn, dbi, &mk, &v)) != 0) {
		return (haven__mdb_err(rc));
	}
	return (unseal(st, k, key, &v, plain, plen, flags));
}

/* A record that unseals but does not decode is corruption, not input. */
static haven_err
rec_err(haven_err rv)
{
	return (rv == HAVEN_EDECODE || rv == HAVEN_EMSGSIZE ? HAVEN_ECORRUPT :
	    rv);
}

/* ------------------------------------------------------------ open */

static haven_err
keycheck(haven__agent_store *st, MDB_txn *txn)
{
	static const uint8_t zero[HAVEN_MSGID_BYTES];
	MDB_val k = { 8, (void *) "keycheck" };
	MDB_val v;
	uint8_t *plain = NULL, *sealed = NULL, flags;
	size_t plen = 0, slen = 0;
	haven_err rv;
	int rc;

	rc = mdb_get(txn, st->meta, &k, &v);
	if (rc == 0) {
		rv = unseal(st, &K_KEYCHECK, zero, &v, &plain, &plen, &flags);
		haven__agt_free_wiped(plain, plen);
		return (rv == HAVEN_ECORRUPT ? HAVEN_EAUTH : rv);
	}
	if (rc != MDB_NOTFOUND) {
		return (haven__mdb_err(rc));
	}
	if ((rv = seal(st, &K_KEYCHECK, zero, 0, zero, 0, &sealed, &slen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	v.mv_size = slen;
	v.mv_data = sealed;
	rc = mdb_put(txn, st->meta, &k, &v, 0);
	free(sealed);
	return (rc == 0 ? HAVEN_OK : haven__mdb_err(rc));
}

static haven_err
open_dbs(haven__agent_store *st)
{
	MDB_txn *txn = NULL;
	haven_err rv;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		return (haven__mdb_err(rc));
	}
	if ((rc = mdb_dbi_open(txn, "inbox", MDB_CREATE, &st->inbox)) != 0 ||
	    (rc = mdb_dbi_open(txn, "outbox", MDB_CREATE, &st->outbox)) != 0 ||
	    (rc = mdb_dbi_open(txn, "outpend", MDB_CREATE, &st->outpend)) !=
	        0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cases", MDB_CREATE, &st->cases)) != 0 ||
	    (rc = mdb_dbi_open(txn, "caseseen", MDB_CREATE,
	    &st->caseseen)) != 0) {
		mdb_txn_abort(txn);
		return (haven__mdb_err(rc));
	}
	if ((rv = keycheck(st, txn)) != HAVEN_OK) {
		mdb_txn_abort(txn);
		return (rv);
	}
	rc = mdb_txn_commit(txn);
	return (rc == 0 ? HAVEN_OK : haven__mdb_err(rc));
}

haven_err
haven__agt_store_open(haven__agent_store **out, const char *dir,
    const uint8_t key[HAVEN_KEY_BYTES])
{
	haven__agent_store *st;
	haven_err rv;

	if (sodium_init() < 0) {
		return (HAVEN_ENOMEM);
	}
	if ((rv = haven__mkdirs(dir)) != HAVEN_OK) {
		return (rv);
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((st->key = sodium_malloc(HAVEN_KEY_BYTES)) == NULL) {
		rv = HAVEN_ENOMEM;
		goto out;
	}
	memcpy(st->key, key, HAVEN_KEY_BYTES);
	if ((rv = haven__lmdb_open(&st->env, dir, 8, HAVEN__STORE_MAP_BYTES,
	    NULL, 0)) != HAVEN_OK ||
	    (rv = open_dbs(st)) != HAVEN_OK) {
		goto out;
	}
	*out = st;
	st = NULL;
out:
	haven__agt_store_close(&st);
	return (rv);
}

void
haven__agt_store_close(haven__agent_store **stp)
{
	haven__agent_store *st;

	if (stp == NULL || (st = *stp) == NULL) {
		return;
	}
	if (st->env != NULL) {
		mdb_env_close(st->env);
	}
	sodium_free(st->key); /* wipes */
	free(st);
	*stp = NULL;
}

/* ------------------------------------------------------------ meta */

static haven_err
meta_get64(haven__agent_store *st, MDB_txn *txn, const char *name,
    uint64_t *v, bool *found)
{
	MDB_val k = { strlen(name), (void *) name };
	MDB_val d;
	int rc;

	*found = false;
	if ((rc = mdb_get(txn, st->meta, &k, &d)) == MDB_NOTFOUND) {
		return (HAVEN_OK);
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	if (d.mv_size != 8) {
		return (HAVEN_ECORRUPT);
	}
	*v = haven__be64_get(d.mv_data);
	*found = true;
	return (HAVEN_OK);
}

static haven_err
meta_put64(haven__agent_store *st, MDB_txn *txn, const char *name,
    uint64_t v)
{
	MDB_val k = { strlen(name), (void *) name };
	uint8_t b[8];
	MDB_val d = { 8, b };
	int rc;

	haven__be64_put(b, v);
	rc = mdb_put(txn, st->meta, &k, &d, 0);
	return (rc == 0 ? HAVEN_OK : haven__mdb_err(rc));
}

static haven_err
finish(MDB_txn *txn, haven_err rv)
{
	int rc;

	if (rv != HAVEN_OK) {
		mdb_txn_abort(txn);
		return (rv);
	}
	rc = mdb_txn_commit(txn);
	return (rc == 0 ? HAVEN_OK : haven__mdb_err(rc));
}

static haven_err
wbegin(haven__agent_store *st, MDB_txn **txn, unsigned flags)
{
	int rc = mdb_txn_begin(st->env, NULL, flags, txn);

	return (rc == 0 ? HAVEN_OK : haven__mdb_err(rc));
}

haven_err
haven__agt_store_reserve_seq(haven__agent_store *st, uint64_t n,
    uint64_t *first)
{
	MDB_txn *txn;
	uint64_t cur = 1;
	bool found;
	haven_err rv;

	if (n == 0 || n > 1024) {
		return (HAVEN_EINVAL);
	}
	if ((rv = wbegin(st, &txn, 0)) != HAVEN_OK) {
		return (rv);
	}
	rv = meta_get64(st, txn, "seq", &cur, &found);
	if (rv == HAVEN_OK && cur > UINT64_MAX - n) {
		rv = HAVEN_EOVERFLOW;
	}
	if (rv == HAVEN_OK) {
		rv = meta_put64(st, txn, "seq", cur + n);
	}
	if ((rv = finish(txn, rv)) == HAVEN_OK) {
		*first = cur;
	}
	return (rv);
}

haven_err
haven__agt_store_dir_version(haven__agent_store *st, uint64_t version)
{
	MDB_txn *txn;
	uint64_t have = 0;
	bool found;
	haven_err rv;

	if ((rv = wbegin(st, &txn, 0)) != HAVEN_OK) {
		return (rv);
	}
	rv = meta_get64(st, txn, "dirver", &have, &found);
	if (rv == HAVEN_OK && found && have > version) {
		rv = HAVEN_ESTALE;
	}
	if (rv == HAVEN_OK && (!found || version > have)) {
		rv = meta_put64(st, txn, "dirver", version);
	}
	return (finish(txn, rv));
}

/* Called per entry of a scan with a key of the expected length; return
 * false to stop. The values are valid until the scan's txn ends. */
typedef bool (*scan_fn)(haven__agent_store *st, MDB_txn *txn,
    const MDB_val *k, const MDB_val *v, void *ctx);

/* Visit the keys of `dbi` that are `key_len` long, in key order, in one
 * read-only transaction. */
static haven_err
scan(haven__agent_store *st, MDB_dbi dbi, size_t key_len, scan_fn fn,
    void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	haven_err rv;
	int rc;

	if ((rv = wbegin(st, &txn, MDB_RDONLY)) != HAVEN_OK) {
		return (rv);
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return (haven__mdb_err(rc));
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == key_len && !fn(st, txn, &k, &v, ctx)) {
			break;
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return (rc == 0 || rc == MDB_NOTFOUND ? HAVEN_OK : haven__mdb_err(rc));
}

/* ------------------------------------------------------------ inbox */

static haven_err
inbox_read(haven__agent_store *st, MDB_txn *txn, const uint8_t *id,
    haven__inbox_rec *rec)
{
	uint8_t *plain = NULL, flags = 0;
	size_t plen = 0;
	haven_err rv;

	memset(rec, 0, sizeof(*rec));
	if ((rv = get_sealed(st, txn, st->inbox, &K_INBOX, id, &plain, &plen,
	         &flags)) != HAVEN_OK) {
		return (rv);
	}
	rv = rec_err(haven__agt_rec_inbox_decode(plain, plen, rec));
	haven__agt_free_wiped(plain, plen);
	rec->verified = (flags & FLAG_VERIFIED) != 0;
	return (rv);
}

static haven_err
inbox_write(haven__agent_store *st, MDB_txn *txn, const uint8_t *id,
    const haven__inbox_rec *rec)
{
	uint8_t *plain = NULL;
	size_t plen = 0;
	haven_err rv;

	if ((rv = haven__agt_rec_inbox_encode(rec, &plain,
	    &plen)) != HAVEN_OK) {
		return (rv);
	}
	rv = put_sealed(st, txn, st->inbox, &K_INBOX, id,
	    rec->verified ? FLAG_VERIFIED : 0, plain, plen, 0);
	haven__agt_free_wiped(plain, plen);
	return (rv);
}

haven_err
haven__agt_store_inbox_put(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], const haven__inbox_rec *rec)
{
	haven__inbox_rec old;
	MDB_txn *txn;
	haven_err rv;

	if ((rv = wbegin(st, &txn, 0)) != HAVEN_OK) {
		return (rv);
	}
	rv = inbox_read(st, txn, id, &old);
	if (rv == HAVEN_OK && (old.verified || !rec->verified)) {
		rv = HAVEN_EEXIST;
	} else if (rv == HAVEN_OK || rv == HAVEN_ENOTFOUND) {
		rv = inbox_write(st, txn, id, rec);
	}
	haven__agt_inbox_rec_release(&old);
	return (finish(txn, rv));
}

haven_err
haven__agt_store_inbox_get(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], haven__inbox_rec *rec)
{
	MDB_txn *txn;
	haven_err rv;

	if ((rv = wbegin(st, &txn, MDB_RDONLY)) != HAVEN_OK) {
		return (rv);
	}
	rv = inbox_read(st, txn, id, rec);
	mdb_txn_abort(txn);
	if (rv != HAVEN_OK) {
		haven__agt_inbox_rec_release(rec);
	}
	return (rv);
}

haven_err
haven__agt_store_inbox_has(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], bool *verified, bool *present)
{
	haven__inbox_rec rec;
	haven_err rv;

	*verified = *present = false;
	rv = haven__agt_store_inbox_get(st, id, &rec);
	if (rv == HAVEN_ENOTFOUND) {
		return (HAVEN_OK);
	}
	if (rv == HAVEN_OK) {
		*present = true;
		*verified = rec.verified;
	}
	haven__agt_inbox_rec_release(&rec);
	return (rv);
}

typedef struct inbox_scan {
	haven__inbox_fn fn;
	void *ctx;
} inbox_scan;

static bool
inbox_step(haven__agent_store *st, MDB_txn *txn, const MDB_val *k,
    const MDB_val *v, void *vctx)
{
	inbox_scan *s = vctx;
	haven__inbox_rec rec;
	haven_err r;
	bool go;

	(void) v;
	r = inbox_read(st, txn, k->mv_data, &rec);
	go = s->fn(s->ctx, k->mv_data, r == HAVEN_OK ? &rec : NULL, r);
	haven__agt_inbox_rec_release(&rec);
	return (go);
}

haven_err
haven__agt_store_inbox_each(haven__agent_store *st, haven__inbox_fn fn,
    void *ctx)
{
	inbox_scan s = { fn, ctx };

	return (scan(st, st->inbox, HAVEN_MSGID_BYTES, inbox_step, &s));
}

/* ------------------------------------------------------------ outbox */

static haven_err
outbox_new(haven__agent_store *st, MDB_txn *txn,
    const haven__outbox_item *it)
{
	haven__outbox_rec rec;
	MDB_val k = { HAVEN_MSGID_BYTES, (void *) it->msg_id };
	MDB_val empty = { 0, (void *) "" };
	uint8_t *plain = NULL;
	size_t plen = 0;
	haven_err rv;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.envelope = (uint8_t *) it->envelope;
	rec.envelope_len = it->envelope_len;
	rec.state = HAVEN__OUT_PENDING;
	if ((rv = haven__agt_rec_outbox_encode(&rec, &plain,
	    &plen)) != HAVEN_OK) {
		return (rv);
	}
	rv = put_sealed(st, txn, st->outbox, &K_OUTBOX, it->msg_id, 0, plain,
	    plen, MDB_NOOVERWRITE);
	haven__agt_free_wiped(plain, plen);
	if (rv == HAVEN_OK &&
	    (rc = mdb_put(txn, st->outpend, &k, &empty, 0)) != 0) {
		rv = haven__mdb_err(rc);
	}
	return (rv);
}

haven_err
haven__agt_store_outbox_add(haven__agent_store *st,
    const haven__outbox_item *items, size_t n)
{
	MDB_txn *txn;
	haven_err rv;

	if ((rv = wbegin(st, &txn, 0)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < n && rv == HAVEN_OK; i++) {
		rv = outbox_new(st, txn, &items[i]);
	}
	return (finish(txn, rv));
}

static haven_err
outbox_read(haven__agent_store *st, MDB_txn *txn, const uint8_t *id,
    haven__outbox_rec *rec)
{
	uint8_t *plain = NULL, flags = 0;
	size_t plen = 0;
	haven_err rv;

	memset(rec, 0, sizeof(*rec));
	if ((rv = get_sealed(st, txn, st->outbox, &K_OUTBOX, id, &plain, &plen,
	         &flags)) != HAVEN_OK) {
		return (rv);
	}
	rv = haven__agt_rec_outbox_decode(plain, plen, rec);
	haven__agt_free_wiped(plain, plen);
	return (rec_err(rv));
}

haven_err
haven__agt_store_outbox_get(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], haven__outbox_rec *rec)
{
	MDB_txn *txn;
	haven_err rv;

	if ((rv = wbegin(st, &txn, MDB_RDONLY)) != HAVEN_OK) {
		return (rv);
	}
	rv = outbox_read(st, txn, id, rec);
	mdb_txn_abort(txn);
	if (rv != HAVEN_OK) {
		haven__agt_outbox_rec_release(rec);
	}
	return (rv);
}

static haven_err
settle_rec(haven__outbox_rec *rec, haven__out_state state,
    const haven_receipt *receipt, const haven_reject *reject)
{
	if (rec->state == state) {
		return (HAVEN_EEXIST); /* already settled the same way */
	}
	if (rec->state != HAVEN__OUT_PENDING) {
		return (HAVEN_ESTATE);
	}
	if (state == HAVEN__OUT_RECEIPTED && receipt != NULL) {
		rec->receipt = *receipt;
	} else if (state == HAVEN__OUT_REJECTED && reject != NULL) {
		rec->reject = *reject;
	} else {
		return (HAVEN_EINVAL);
	}
	rec->state = state;
	return (HAVEN_OK);
}

static haven_err
settle_txn(haven__agent_store *st, MDB_txn *txn, const uint8_t *id,
    haven__out_state state, const haven_receipt *receipt,
    const haven_reject *reject)
{
	MDB_val k = { HAVEN_MSGID_BYTES, (void *) id };
	haven__outbox_rec rec;
	uint8_t *plain = NULL;
	size_t plen = 0;
	haven_err rv;
	int rc;

	if ((rv = outbox_read(st, txn, id, &rec)) != HAVEN_OK ||
	    (rv = settle_rec(&rec, state, receipt, reject)) != HAVEN_OK ||
	    (rv = haven__agt_rec_outbox_encode(&rec, &plain,
	    &plen)) != HAVEN_OK) {
		goto out;
	}
	rv = put_sealed(st, txn, st->outbox, &K_OUTBOX, id, 0, plain, plen, 0);
	rc = mdb_del(txn, st->outpend, &k, NULL);
	if (rv == HAVEN_OK && rc != 0 && rc != MDB_NOTFOUND) {
		rv = haven__mdb_err(rc);
	}
out:
	haven__agt_free_wiped(plain, plen);
	haven__agt_outbox_rec_release(&rec);
	return (rv);
}

haven_err
haven__agt_store_outbox_settle(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], haven__out_state state,
    const haven_receipt *receipt, const haven_reject *reject)
{
	MDB_txn *txn;
	haven_err rv;

	if (state == HAVEN__OUT_PENDING) {
		return (HAVEN_EINVAL);
	}
	if ((rv = wbegin(st, &txn, 0)) != HAVEN_OK) {
		return (rv);
	}
	rv = settle_txn(st, txn, id, state, receipt, reject);
	if (rv == HAVEN_EEXIST) {
		mdb_txn_abort(txn);
		return (HAVEN_OK);
	}
	return (finish(txn, rv));
}

typedef struct pend_scan {
	uint8_t (*ids)[HAVEN_MSGID_BYTES];
	size_t max;
	size_t *n;
} pend_scan;

static bool
pend_step(haven__agent_store *st, MDB_txn *txn, const MDB_val *k,
    const MDB_val *v, void *vctx)
{
	pend_scan *p = vctx;

	(void) st, (void) txn, (void) v;
	memcpy(p->ids[(*p->n)++], k->mv_data, HAVEN_MSGID_BYTES);
	return (*p->n < p->max);
}

haven_err
haven__agt_store_outbox_pending(haven__agent_store *st,
    uint8_t (*ids)[HAVEN_MSGID_BYTES], size_t max, size_t *n)
{
	pend_scan p = { ids, max, n };

	*n = 0;
	if (max == 0) {
		return (HAVEN_OK);
	}
	return (scan(st, st->outpend, HAVEN_MSGID_BYTES, pend_step, &p));
}

/* ------------------------------------------------------------ read */

static haven_err
mark_txn(haven__agent_store *st, MDB_txn *txn, const uint8_t *id,
    int64_t read_ms, const char *reader, const char *role,
    const haven__outbox_item *reply)
{
	haven__inbox_rec rec;
	haven_err rv;

	if ((rv = inbox_read(st, txn, id, &rec)) != HAVEN_OK) {
		goto out;
	}
	if (!rec.verified) {
		rv = HAVEN_ESTATE;
	} else if (rec.read_ms != 0) {
		rv = HAVEN_EEXIST;
	} else if (haven__strlcpy(rec.read_by, reader, sizeof(rec.read_by)) !=
	    HAVEN_OK || haven__strlcpy(rec.read_role, role,
	    sizeof(rec.read_role)) != HAVEN_OK) {
		rv = HAVEN_EINVAL;
	}
	if (rv != HAVEN_OK) {
		goto out;
	}
	rec.read_ms = read_ms;
	if ((rv = inbox_write(st, txn, id, &rec)) == HAVEN_OK &&
	    reply != NULL) {
		rv = outbox_new(st, txn, reply);
	}
out:
	haven__agt_inbox_rec_release(&rec);
	return (rv);
}

haven_err
haven__agt_store_inbox_mark_read(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], int64_t read_ms, const char *reader,
    const char *role, const haven__outbox_item *reply)
{
	MDB_txn *txn;
	haven_err rv;

	if ((rv = wbegin(st, &txn, 0)) != HAVEN_OK) {
		return (rv);
	}
	rv = mark_txn(st, txn, id, read_ms, reader, role, reply);
	return (finish(txn, rv));
}

/* ------------------------------------------------------------ cases */

/*
 * Case records (agents/cases.h) are sealed as the other records are
 * (K_CASE: AD "haven-agent-case-v1" | 'c' | the 32-byte pseudonym key |
 * ver | flags), always with flags 0.
 */

/* Open a case value read under `key`; a set flag is corruption. */
static haven_err
case_open(haven__agent_store *st, const uint8_t *key, const MDB_val *v,
    uint8_t **plain, size_t *len)
{
	uint8_t flags = 0;
	haven_err rv;

	if ((rv = unseal(st, &K_CASE, key, v, plain, len, &flags)) ==
	    HAVEN_OK && flags != 0) {
		haven__agt_free_wiped(*plain, *len);
		*plain = NULL;
		*len = 0;
		rv = HAVEN_ECORRUPT;
	}
	return (rv);
}

/* Look `key` up in `dbi` in a new read-only transaction; on HAVEN_OK the
 * caller aborts *txn, and *v lives until then. */
static haven_err
ro_get(haven__agent_store *st, MDB_dbi dbi, const uint8_t *key,
    size_t klen, MDB_txn **txn, MDB_val *v)
{
	MDB_val k = { klen, (void *) key };
	haven_err rv;
	int rc;

	if ((rv = wbegin(st, txn, MDB_RDONLY)) != HAVEN_OK) {
		return (rv);
	}
	if ((rc = mdb_get(*txn, dbi, &k, v)) != 0) {
		mdb_txn_abort(*txn);
		return (haven__mdb_err(rc));
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_store_case_get(haven__agent_store *st,
    const uint8_t key[HAVEN__CASE_KEY_BYTES], uint8_t **plain, size_t *len)
{
	MDB_txn *txn;
	MDB_val v;
	haven_err rv;

	*plain = NULL;
	*len = 0;
	if ((rv = ro_get(st, st->cases, key, HAVEN__CASE_KEY_BYTES, &txn,
	    &v)) != HAVEN_OK) {
		return (rv);
	}
	rv = case_open(st, key, &v, plain, len);
	mdb_txn_abort(txn);
	return (rv);
}

static haven_err
case_put_txn(haven__agent_store *st, MDB_txn *txn, const uint8_t *msg_id,
    const uint8_t *key, const uint8_t *plain, size_t len)
{
	MDB_val mk = { HAVEN_MSGID_BYTES, (void *) msg_id };
	MDB_val empty = { 0, (void *) "" };
	haven_err rv = HAVEN_OK;
	int rc;

	if (plain != NULL && (rv = put_sealed(st, txn, st->cases, &K_CASE,
	    key, 0, plain, len, 0)) != HAVEN_OK) {
		return (rv);
	}
	if (msg_id != NULL &&
	    (rc = mdb_put(txn, st->caseseen, &mk, &empty, 0)) != 0) {
		rv = haven__mdb_err(rc);
	}
	return (rv);
}

haven_err
haven__agt_store_case_put(haven__agent_store *st, const uint8_t *msg_id,
    const uint8_t key[HAVEN__CASE_KEY_BYTES], const uint8_t *plain,
    size_t len)
{
	MDB_txn *txn;
	haven_err rv;

	if ((rv = wbegin(st, &txn, 0)) != HAVEN_OK) {
		return (rv);
	}
	rv = case_put_txn(st, txn, msg_id, key, plain, len);
	return (finish(txn, rv));
}

haven_err
haven__agt_store_case_seen(haven__agent_store *st,
    const uint8_t msg_id[HAVEN_MSGID_BYTES], bool *seen)
{
	MDB_txn *txn;
	MDB_val v;
	haven_err rv;

	*seen = false;
	rv = ro_get(st, st->caseseen, msg_id, HAVEN_MSGID_BYTES, &txn, &v);
	if (rv == HAVEN_OK) {
		mdb_txn_abort(txn);
		*seen = true;
	}
	return (rv == HAVEN_ENOTFOUND ? HAVEN_OK : rv);
}

typedef struct case_scan {
	haven__case_fn fn;
	void *ctx;
} case_scan;

static bool
case_step(haven__agent_store *st, MDB_txn *txn, const MDB_val *k,
    const MDB_val *v, void *vctx)
{
	case_scan *c = vctx;
	uint8_t *plain = NULL;
	size_t plen = 0;
	haven_err r;
	bool go;

	(void) txn;
	r = case_open(st, k->mv_data, v, &plain, &plen);
	go = c->fn(c->ctx, k->mv_data, r == HAVEN_OK ? plain : NULL, plen, r);
	haven__agt_free_wiped(plain, plen);
	return (go);
}

haven_err
haven__agt_store_case_each(haven__agent_store *st, haven__case_fn fn,
    void *ctx)
{
	case_scan c = { fn, ctx };

	return (scan(st, st->cases, HAVEN__CASE_KEY_BYTES, case_step, &c));
}
