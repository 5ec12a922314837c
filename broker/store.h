/*
 * broker/store.h: the broker's durable state in one LMDB environment.
 *
 * Named databases (docs/architecture.md "Storage"):
 *   msg      msg id -> envelope bytes as submitted
 *   msgmeta  msg id -> be32 type, u8 n, sender NUL, n x (recipient NUL)
 *   queue    recipient || 0x00 || be64 order -> msg id
 *   pending  recipient || 0x00 || msg id -> queue key
 *   dedup    msg id -> envelope hash (32) || haven_receipt_pack (160)
 *   seq      sender -> be64 last sequence seen
 *   meta     name -> be64 (dir_version, policy_version, qorder)
 * plus the audit databases of haven/audit.h, opened through haven_audit_open.
 *
 * All writes happen inside a caller's write transaction (group commit);
 * nothing here commits except haven__store_commit. The environment is
 * opened without MDB_NOSYNC / MDB_NOMETASYNC: every commit is fsync'd.
 * Values returned by pointer are borrowed until the transaction ends.
 * Single-threaded use only (the broker's loop thread).
 */
#ifndef HAVEN_BROKER_STORE_H
#define HAVEN_BROKER_STORE_H

#include <lmdb.h>

#include "haven/audit.h"
#include "haven/common.h"
#include "haven/wire.h"

typedef struct haven_store haven_store;

/** What the broker keeps about a message after its payload is purged. */
typedef struct haven_msgmeta {
	char sender[HAVEN_ID_MAX];
	uint32_t type;
	size_t n_recipients;
	char recipients[HAVEN_MAX_RECIPIENTS][HAVEN_ID_MAX];
} haven_msgmeta;

/** Called for each queued message id of one recipient, in queue order.
 * Set *stop to end the walk early. A non-OK return ends it too and is
 * passed back by haven__store_queue_walk. */
typedef haven_err (*haven_queue_fn)(void *arg,
    const uint8_t id[HAVEN_MSGID_BYTES], bool *stop);

/* Named databases the store creates for other broker modules, which own
 * their key and value formats (documented where they are used). */
typedef enum {
	HAVEN_STORE_DEADLINE = 0,     /* broker/deadline.c */
	HAVEN_STORE_DEADLINE_DUE = 1, /* broker/deadline.c */
	HAVEN_STORE_LASTSEEN = 2,     /* broker/deadline.c */
	HAVEN_STORE_CONSENT = 3,      /* broker/marac.c */
	HAVEN_STORE_OWNED_COUNT = 4
} haven_store_owned;

/** The dbi of one of those databases (valid for the store's life). */
MDB_dbi haven__store_dbi(haven_store *s, haven_store_owned which);

/** An MDB_val borrowing the `n` bytes at `p` (as a key, or as data for
 * mdb_put, which copies it and never writes through the pointer). */
static inline MDB_val
haven__store_val(const void *p, size_t n)
{
	MDB_val v;

	v.mv_data = (void *) p;
	v.mv_size = n;
	return (v);
}

/**
 * Open (creating `dir` 0700 if needed) the environment with `map_bytes`,
 * 32 named databases, run mdb_reader_check, and create every database.
 * @return HAVEN_OK, HAVEN_EIO / HAVEN_ESYSERR|errno (err says which step),
 *   HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__store_open(haven_store **out,
    const char *dir, size_t map_bytes, char *err, size_t errlen);

/**
 * Read one meta counter from the store in `dir` without creating or
 * writing anything (for --check; safe while the broker runs). *v = 0 when
 * there is no store or no such counter.
 * @return HAVEN_OK, HAVEN_EIO / HAVEN_ECORRUPT when the store is unreadable.
 */
HAVEN_NODISCARD haven_err haven__store_peek_meta(const char *dir,
    const char *key, uint64_t *v);

/** Close; NULL-tolerant; sets *s to NULL. No transaction may be open. */
void haven__store_close(haven_store **s);

/** The audit log living in this environment (borrowed). */
haven_audit_log *haven__store_audit(haven_store *s);

HAVEN_NODISCARD haven_err haven__store_begin(haven_store *s, bool rdonly,
    MDB_txn **txn);

/** Commit (fsync) and clear *txn; on failure the txn is gone too.
 * @return HAVEN_OK, HAVEN_EFULL, HAVEN_EIO, HAVEN_ESYSERR|errno. */
HAVEN_NODISCARD haven_err haven__store_commit(MDB_txn **txn);

/** Abort; NULL-tolerant; clears *txn. */
void haven__store_abort(MDB_txn **txn);

/** meta counter: *v = 0 when absent. */
HAVEN_NODISCARD haven_err haven__store_meta_get(haven_store *s,
    MDB_txn *txn, const char *key, uint64_t *v);
HAVEN_NODISCARD haven_err haven__store_meta_put(haven_store *s,
    MDB_txn *txn, const char *key, uint64_t v);

/** Dedup record of `id`. @return HAVEN_OK, HAVEN_ENOTFOUND,
 * HAVEN_ECORRUPT. */
HAVEN_NODISCARD haven_err haven__store_dedup_get(haven_store *s,
    MDB_txn *txn, const uint8_t id[HAVEN_MSGID_BYTES],
    uint8_t env_hash[HAVEN_HASH_BYTES], haven_receipt *r);

/**
 * Store an admitted message: envelope, metadata, dedup record (env_hash ||
 * receipt) and one queue + pending entry per distinct recipient.
 * @return HAVEN_OK, HAVEN_EEXIST (id already stored), HAVEN_EINVAL,
 *   HAVEN_EFULL, HAVEN_EIO.
 */
HAVEN_NODISCARD haven_err haven__store_put_msg(haven_store *s, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], const haven_msgmeta *m,
    const uint8_t *env, size_t env_len,
    const uint8_t env_hash[HAVEN_HASH_BYTES], const haven_receipt *r);

/** Record `seq` for `sender` if higher than the last; *prev receives the
 * previous value (0 if none). */
HAVEN_NODISCARD haven_err haven__store_seq_record(haven_store *s,
    MDB_txn *txn, const char *sender, uint64_t seq, uint64_t *prev);

/** Borrowed envelope bytes of a stored message. HAVEN_ENOTFOUND if none. */
HAVEN_NODISCARD haven_err haven__store_msg_get(haven_store *s, MDB_txn *txn,
    const uint8_t id[HAVEN_MSGID_BYTES], const uint8_t **env,
    size_t *env_len);

/** HAVEN_OK, HAVEN_ENOTFOUND, HAVEN_ECORRUPT. */
HAVEN_NODISCARD haven_err haven__store_msgmeta_get(haven_store *s,
    MDB_txn *txn, const uint8_t id[HAVEN_MSGID_BYTES], haven_msgmeta *m);

/** Walk `recipient`'s queue in order. */
HAVEN_NODISCARD haven_err haven__store_queue_walk(haven_store *s,
    MDB_txn *txn, const char *recipient, haven_queue_fn fn, void *arg);

/** Number of messages queued for `recipient`, counting at most `max`
 * (a count walks the queue: the cap bounds what one frame can cost). */
HAVEN_NODISCARD haven_err haven__store_queue_count(haven_store *s,
    MDB_txn *txn, const char *recipient, uint64_t max, uint64_t *n);

/** Remove `id` from `recipient`'s queue and pending set.
 * @return HAVEN_OK, HAVEN_ENOTFOUND (not pending for that recipient),
 *   HAVEN_EFULL, HAVEN_EIO. */
HAVEN_NODISCARD haven_err haven__store_ack(haven_store *s, MDB_txn *txn,
    const char *recipient, const uint8_t id[HAVEN_MSGID_BYTES]);

/** Whether `id` is still queued (not acknowledged) for `recipient`.
 * @return HAVEN_OK (*yes set), or a store error. */
HAVEN_NODISCARD haven_err haven__store_pending_has(haven_store *s,
    MDB_txn *txn, const char *recipient, const uint8_t id[HAVEN_MSGID_BYTES],
    bool *yes);

#endif /* HAVEN_BROKER_STORE_H */
