/*
 * broker/store.c: LMDB layout of the broker (see store.h for the schema).
 *
 * Invariants:
 *  - A message is in `queue` for R iff it is in `pending` for R; both are
 *    written and removed together in one transaction.
 *  - Keys are big-endian where ordered, so a cursor walk of R's queue is
 *    admission order.
 *  - Every value read from the database is length-checked before use: a
 *    corrupt record is HAVEN_ECORRUPT, never an out-of-bounds read.
 *  - The environment is never opened with MDB_NOSYNC/NOMETASYNC.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmdbutil.h"
#include "util.h"

#define HAVEN_PEEK_PATH_MAX 4096
#define QKEY_MAX (HAVEN_ID_MAX + 1 + 8)
#define PKEY_MAX (HAVEN_ID_MAX + 1 + HAVEN_MSGID_BYTES)
#define DEDUP_LEN (HAVEN_HASH_BYTES + HAVEN_RECEIPT_BYTES)
#define META_MAX (4 + 1 + HAVEN_ID_MAX * (HAVEN_MAX_RECIPIENTS + 1))

enum { DB_MSG, DB_MSGMETA, DB_QUEUE, DB_PENDING, DB_DEDUP, DB_SEQ, DB_META,
	DB_OWNED, DB_COUNT = DB_OWNED + HAVEN_STORE_OWNED_COUNT };

/* The first DB_OWNED are this file's; the rest belong to the modules of
 * haven_store_owned (store.h) and are only handed out by number. */
static const char *const db_names[DB_COUNT] = {"msg", "msgmeta", "queue",
    "pending", "dedup", "seq", "meta",
    [DB_OWNED + HAVEN_STORE_DEADLINE] = "deadline",
    [DB_OWNED + HAVEN_STORE_DEADLINE_DUE] = "deadline_due",
    [DB_OWNED + HAVEN_STORE_LASTSEEN] = "lastseen",
    [DB_OWNED + HAVEN_STORE_CONSENT] = "consent"};

struct haven_store {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	haven_audit_log *audit;
};

MDB_dbi
haven__store_dbi(haven_store *s, haven_store_owned which)
{
	return (s->dbi[DB_OWNED + (int) which]);
}

static haven_err
dbs_open(haven_store *s, char *err, size_t errlen)
{
	MDB_txn *txn = NULL;
	haven_err rv;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		haven__errf(err, errlen, "mdb_txn_begin: %s", mdb_strerror(rc));
		return (haven__mdb_err(rc));
	}
	for (int i = 0; i < DB_COUNT; i++) {
		if ((rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE,
		    &s->dbi[i])) != 0) {
			haven__errf(err, errlen, "open db %s: %s", db_names[i],
			    mdb_strerror(rc));
			mdb_txn_abort(txn);
			return (haven__mdb_err(rc));
		}
	}
	if ((rv = haven_audit_open(&s->audit, txn)) != HAVEN_OK) {
		haven__errf(err, errlen, "open audit: %s", haven_strerror(rv));
		mdb_txn_abort(txn);
		return (rv);
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		haven__errf(err, errlen, "commit: %s", mdb_strerror(rc));
		return (haven__mdb_err(rc));
	}
	return (HAVEN_OK);
}

haven_err
haven__store_open(haven_store **out, const char *dir, size_t map_bytes,
    char *err, size_t errlen)
{
	haven_store *s;
	haven_err rv;

	*out = NULL;
	if ((rv = haven__mkdirs(dir)) != HAVEN_OK) {
		haven__errf(err, errlen, "%s: cannot create data_dir", dir);
		return (rv);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((rv = haven__lmdb_open(&s->env, dir, 32, map_bytes, err,
	    errlen)) != HAVEN_OK ||
	    (rv = dbs_open(s, err, errlen)) != HAVEN_OK) {
		haven__store_close(&s);
		return (rv);
	}
	*out = s;
	return (HAVEN_OK);
}

static haven_err
peek(MDB_env *env, const char *key, uint64_t *v)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = haven__store_val(key, strlen(key)), d;
	int rc;

	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
		return (haven__mdb_err(rc));
	}
	rc = mdb_dbi_open(txn, db_names[DB_META], 0, &dbi);
	if (rc == 0) {
		rc = mdb_get(txn, dbi, &k, &d);
	}
	if (rc == 0 && d.mv_size == 8) {
		*v = haven__be64_get(d.mv_data);
	} else if (rc == 0) {
		rc = MDB_CORRUPTED;
	}
	mdb_txn_abort(txn);
	return (rc == MDB_NOTFOUND ? HAVEN_OK : haven__mdb_err(rc));
}

haven_err
haven__store_peek_meta(const char *dir, const char *key, uint64_t *v)
{
	char path[HAVEN_PEEK_PATH_MAX];
	MDB_env *env = NULL;
	haven_err rv;
	int rc;

	*v = 0;
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    (int) sizeof(path)) {
		return (HAVEN_EINVAL);
	}
	if (access(path, F_OK) != 0) {
		return (HAVEN_OK);
	}
	if ((rc = mdb_env_create(&env)) != 0) {
		return (haven__mdb_err(rc));
	}
	if ((rc = mdb_env_set_maxdbs(env, 32)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_RDONLY, 0600)) != 0) {
		mdb_env_close(env);
		return (haven__mdb_err(rc));
	}
	rv = peek(env, key, v);
	mdb_env_close(env);
	return (rv);
}

void
haven__store_close(haven_store **sp)
{
	haven_store *s;

	if (sp == NULL || (s = *sp) == NULL) {
		return;
	}
	haven_audit_close(&s->audit);
	if (s->env != NULL) {
		mdb_env_close(s->env);
	}
	free(s);
	*sp = NULL;
}

haven_audit_log *
haven__store_audit(haven_store *s)
{
	return (s->audit);
}

haven_err
haven__store_begin(haven_store *s, bool rdonly, MDB_txn **txn)
{
	int rc;

	rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0, txn);
	if (rc != 0) {
		*txn = NULL;
		return (haven__mdb_err(rc));
	}
	return (HAVEN_OK);
}

haven_err
haven__store_commit(MDB_txn **txn)
{
	int rc = mdb_txn_commit(*txn);

	*txn = NULL;
	return (rc == 0 ? HAVEN_OK : haven__mdb_err(rc));
}

void
haven__store_abort(MDB_txn **txn)
{
	if (txn != NULL && *txn != NULL) {
		mdb_txn_abort(*txn);
		*txn = NULL;
	}
}

/* ------------------------------------------------------------- meta */

haven_err
haven__store_meta_get(haven_store *s, MDB_txn *txn, const char *key,
    uint64_t *v)
{
	MDB_val k = haven__store_val(key, strlen(key)), d;
	int rc = mdb_get(txn, s->dbi[DB_META], &k, &d);

	*v = 0;
	if (rc == MDB_NOTFOUND) {
		return (HAVEN_OK);
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	if (d.mv_size != 8) {
		return (HAVEN_ECORRUPT);
	}
	*v = haven__be64_get(d.mv_data);
	return (HAVEN_OK);
}

haven_err
haven__store_meta_put(haven_store *s, MDB_txn *txn, const char *key,
    uint64_t v)
{
	uint8_t b[8];
	MDB_val k = haven__store_val(key, strlen(key));
	MDB_val d = haven__store_val(b, sizeof(b));

	haven__be64_put(b, v);
	return (haven__mdb_err(mdb_put(txn, s->dbi[DB_META], &k, &d, 0)));
}

/* ------------------------------------------------------------ dedup */

haven_err
haven__store_dedup_get(haven_store *s, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], uint8_t env_hash[HAVEN_HASH_BYTES],
    haven_receipt *r)
{
	MDB_val k = haven__store_val(id, HAVEN_MSGID_BYTES), d;
	int rc = mdb_get(txn, s->dbi[DB_DEDUP], &k, &d);

	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	if (d.mv_size != DEDUP_LEN) {
		return (HAVEN_ECORRUPT);
	}
	memcpy(env_hash, d.mv_data, HAVEN_HASH_BYTES);
	return (haven_receipt_unpack(r,
	    (const uint8_t *) d.mv_data + HAVEN_HASH_BYTES,
	    HAVEN_RECEIPT_BYTES) == HAVEN_OK ? HAVEN_OK : HAVEN_ECORRUPT);
}

/* ----------------------------------------------------------- msgmeta */

static haven_err
meta_pack(uint8_t *out, size_t *len, const haven_msgmeta *m)
{
	size_t off = 5, n;

	if (m->n_recipients > HAVEN_MAX_RECIPIENTS) {
		return (HAVEN_EINVAL);
	}
	haven__be32_put(out, m->type);
	out[4] = (uint8_t) m->n_recipients;
	for (size_t i = 0; i <= m->n_recipients; i++) {
		const char *id = i == 0 ? m->sender : m->recipients[i - 1];
		if ((n = strnlen(id, HAVEN_ID_MAX)) >= HAVEN_ID_MAX) {
			return (HAVEN_EINVAL);
		}
		memcpy(out + off, id, n + 1);
		off += n + 1;
	}
	*len = off;
	return (HAVEN_OK);
}

/* Copy one NUL-terminated string out of [*p, end); bounds-checked. */
static haven_err
take_str(char dst[HAVEN_ID_MAX], const uint8_t **p, const uint8_t *end)
{
	size_t avail = (size_t) (end - *p);
	const uint8_t *nul = memchr(*p, '\0', avail);
	size_t n;

	if (nul == NULL || (n = (size_t) (nul - *p)) >= HAVEN_ID_MAX) {
		return (HAVEN_ECORRUPT);
	}
	memcpy(dst, *p, n + 1);
	*p = nul + 1;
	return (HAVEN_OK);
}

static haven_err
meta_unpack(haven_msgmeta *m, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf + 5, *end = buf + len;

	memset(m, 0, sizeof(*m));
	if (len < 5 || buf[4] > HAVEN_MAX_RECIPIENTS) {
		return (HAVEN_ECORRUPT);
	}
	m->type = haven__be32_get(buf);
	m->n_recipients = buf[4];
	if (take_str(m->sender, &p, end) != HAVEN_OK) {
		return (HAVEN_ECORRUPT);
	}
	for (size_t i = 0; i < m->n_recipients; i++) {
		if (take_str(m->recipients[i], &p, end) != HAVEN_OK) {
			return (HAVEN_ECORRUPT);
		}
	}
	return (p == end ? HAVEN_OK : HAVEN_ECORRUPT);
}

haven_err
haven__store_msgmeta_get(haven_store *s, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], haven_msgmeta *m)
{
	MDB_val k = haven__store_val(id, HAVEN_MSGID_BYTES), d;
	int rc = mdb_get(txn, s->dbi[DB_MSGMETA], &k, &d);

	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	return (meta_unpack(m, d.mv_data, d.mv_size));
}

haven_err
haven__store_msg_get(haven_store *s, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], const uint8_t **env, size_t *env_len)
{
	MDB_val k = haven__store_val(id, HAVEN_MSGID_BYTES), d;
	int rc = mdb_get(txn, s->dbi[DB_MSG], &k, &d);

	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	*env = d.mv_data;
	*env_len = d.mv_size;
	return (HAVEN_OK);
}

/* ------------------------------------------------------------- queue */

static size_t
prefix(uint8_t *out, const char *recipient)
{
	size_t n = strnlen(recipient, HAVEN_ID_MAX - 1);

	memcpy(out, recipient, n);
	out[n] = 0x00;
	return (n + 1);
}

/* One queue + pending entry; a recipient listed twice is queued once. */
static haven_err
enqueue(haven_store *s, MDB_txn *txn, const char *rcpt,
    const uint8_t id[HAVEN_MSGID_BYTES], uint64_t order)
{
	uint8_t qk[QKEY_MAX], pk[PKEY_MAX];
	size_t qn = prefix(qk, rcpt), pn = prefix(pk, rcpt);
	MDB_val k, d;
	int rc;

	haven__be64_put(qk + qn, order);
	qn += 8;
	memcpy(pk + pn, id, HAVEN_MSGID_BYTES);
	pn += HAVEN_MSGID_BYTES;
	k = haven__store_val(pk, pn);
	d = haven__store_val(qk, qn);
	rc = mdb_put(txn, s->dbi[DB_PENDING], &k, &d, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		return (HAVEN_OK);
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	k = haven__store_val(qk, qn);
	d = haven__store_val(id, HAVEN_MSGID_BYTES);
	return (haven__mdb_err(mdb_put(txn, s->dbi[DB_QUEUE], &k, &d, 0)));
}

static haven_err
put_blobs(haven_store *s, MDB_txn *txn, const uint8_t id[HAVEN_MSGID_BYTES],
    const haven_msgmeta *m, const uint8_t *env, size_t env_len,
    const uint8_t env_hash[HAVEN_HASH_BYTES], const haven_receipt *r)
{
	uint8_t meta[META_MAX], dd[DEDUP_LEN];
	size_t mlen;
	MDB_val k = haven__store_val(id, HAVEN_MSGID_BYTES), d;
	haven_err rv;
	int rc;

	if ((rv = meta_pack(meta, &mlen, m)) != HAVEN_OK) {
		return (rv);
	}
	d = haven__store_val(env, env_len);
	rc = mdb_put(txn, s->dbi[DB_MSG], &k, &d, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		return (HAVEN_EEXIST);
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	d = haven__store_val(meta, mlen);
	if ((rc = mdb_put(txn, s->dbi[DB_MSGMETA], &k, &d, 0)) != 0) {
		return (haven__mdb_err(rc));
	}
	memcpy(dd, env_hash, HAVEN_HASH_BYTES);
	haven_receipt_pack(r, dd + HAVEN_HASH_BYTES);
	d = haven__store_val(dd, sizeof(dd));
	return (haven__mdb_err(mdb_put(txn, s->dbi[DB_DEDUP], &k, &d, 0)));
}

haven_err
haven__store_put_msg(haven_store *s, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], const haven_msgmeta *m,
    const uint8_t *env, size_t env_len,
    const uint8_t env_hash[HAVEN_HASH_BYTES], const haven_receipt *r)
{
	uint64_t order;
	haven_err rv;

	if ((rv = put_blobs(s, txn, id, m, env, env_len, env_hash, r)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if ((rv = haven__store_meta_get(s, txn, "qorder", &order)) !=
	    HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < m->n_recipients; i++) {
		if ((rv = enqueue(s, txn, m->recipients[i], id, ++order)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	return (haven__store_meta_put(s, txn, "qorder", order));
}

haven_err
haven__store_seq_record(haven_store *s, MDB_txn *txn, const char *sender,
    uint64_t seq, uint64_t *prev)
{
	MDB_val k = haven__store_val(sender, strnlen(sender,
	    HAVEN_ID_MAX - 1)), d;
	uint8_t b[8];
	int rc = mdb_get(txn, s->dbi[DB_SEQ], &k, &d);

	*prev = 0;
	if (rc == 0 && d.mv_size == 8) {
		*prev = haven__be64_get(d.mv_data);
	} else if (rc == 0) {
		return (HAVEN_ECORRUPT);
	} else if (rc != MDB_NOTFOUND) {
		return (haven__mdb_err(rc));
	}
	if (seq <= *prev) {
		return (HAVEN_OK);
	}
	haven__be64_put(b, seq);
	d = haven__store_val(b, sizeof(b));
	return (haven__mdb_err(mdb_put(txn, s->dbi[DB_SEQ], &k, &d, 0)));
}

haven_err
haven__store_queue_walk(haven_store *s, MDB_txn *txn, const char *recipient,
    haven_queue_fn fn, void *arg)
{
	uint8_t pre[HAVEN_ID_MAX + 1];
	size_t pn = prefix(pre, recipient);
	MDB_cursor *cur = NULL;
	MDB_val k = haven__store_val(pre, pn), d;
	haven_err rv = HAVEN_OK;
	bool stop = false;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[DB_QUEUE], &cur)) != 0) {
		return (haven__mdb_err(rc));
	}
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && !stop && k.mv_size == pn + 8 &&
	    memcmp(k.mv_data, pre, pn) == 0) {
		if (d.mv_size != HAVEN_MSGID_BYTES) {
			rv = HAVEN_ECORRUPT;
			break;
		}
		if ((rv = fn(arg, d.mv_data, &stop)) != HAVEN_OK) {
			break;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	if (rv == HAVEN_OK && rc != 0 && rc != MDB_NOTFOUND) {
		rv = haven__mdb_err(rc);
	}
	mdb_cursor_close(cur);
	return (rv);
}

typedef struct counter {
	uint64_t n;
	uint64_t max;
} counter;

static haven_err
count_one(void *arg, const uint8_t id[HAVEN_MSGID_BYTES], bool *stop)
{
	counter *c = arg;

	(void) id;
	*stop = ++c->n >= c->max;
	return (HAVEN_OK);
}

haven_err
haven__store_queue_count(haven_store *s, MDB_txn *txn, const char *recipient,
    uint64_t max, uint64_t *n)
{
	counter c = {0, max};
	haven_err rv = HAVEN_OK;

	if (max > 0) {
		rv = haven__store_queue_walk(s, txn, recipient, count_one, &c);
	}
	*n = c.n;
	return (rv);
}

haven_err
haven__store_ack(haven_store *s, MDB_txn *txn, const char *recipient,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	uint8_t pk[PKEY_MAX], qcopy[QKEY_MAX];
	size_t pn = prefix(pk, recipient);
	MDB_val k, d, qk;
	int rc;

	memcpy(pk + pn, id, HAVEN_MSGID_BYTES);
	pn += HAVEN_MSGID_BYTES;
	k = haven__store_val(pk, pn);
	if ((rc = mdb_get(txn, s->dbi[DB_PENDING], &k, &d)) != 0) {
		return (haven__mdb_err(rc));
	}
	if (d.mv_size > QKEY_MAX) {
		return (HAVEN_ECORRUPT);
	}
	/* d is borrowed and dies with the first write: copy it out. */
	memcpy(qcopy, d.mv_data, d.mv_size);
	qk = haven__store_val(qcopy, d.mv_size);
	rc = mdb_del(txn, s->dbi[DB_QUEUE], &qk, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return (haven__mdb_err(rc));
	}
	return (haven__mdb_err(mdb_del(txn, s->dbi[DB_PENDING], &k, NULL)));
}

haven_err
haven__store_pending_has(haven_store *s, MDB_txn *txn, const char *recipient,
    const uint8_t id[HAVEN_MSGID_BYTES], bool *yes)
{
	uint8_t pk[PKEY_MAX];
	size_t pn = prefix(pk, recipient);
	MDB_val k, d;
	int rc;

	memcpy(pk + pn, id, HAVEN_MSGID_BYTES);
	k = haven__store_val(pk, pn + HAVEN_MSGID_BYTES);
	rc = mdb_get(txn, s->dbi[DB_PENDING], &k, &d);
	*yes = rc == 0;
	return (rc == 0 || rc == MDB_NOTFOUND ? HAVEN_OK : haven__mdb_err(rc));
}
