/*
 * haven/audit.h: the tamper-evident audit chain (DESIGN §8).
 *
 * Entries live in the broker's LMDB environment in the named database
 * "audit" (key: big-endian u64 sequence from 1; value: serialised
 * AuditEntry). entry_hash = BLAKE2b-256(prev_hash || entry bytes), with
 * prev_hash of entry 1 all zero, and prev_hash is also inside the entry.
 * The head (last seq and hash) is in database "audit_head". Every
 * checkpoint (database "checkpoint", key be64 seq) is the broker's Ed25519
 * signature over "haven-checkpoint-v1" || be64(seq) || hash || be64(time).
 *
 * Entries hold agency ids, message ids, type codes, pseudonyms and reason
 * codes; never names, addresses or dates of birth.
 *
 * Appends happen inside the caller's write transaction, so an entry commits
 * (or not) with the change it describes.
 */
#ifndef HAVEN_AUDIT_H
#define HAVEN_AUDIT_H

#include <lmdb.h>

#include "haven/common.h"
#include "haven/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	HAVEN_AUDIT_START = 1,     /* broker started (reason: version info) */
	HAVEN_AUDIT_SUBMIT = 2,    /* message accepted and stored */
	HAVEN_AUDIT_REJECT = 3,    /* submission refused (reason: rule/code) */
	HAVEN_AUDIT_DELIVER = 4,   /* sent to a recipient (recipients[0]) */
	HAVEN_AUDIT_ACK = 5,       /* recipient stored it durably */
	HAVEN_AUDIT_READ = 6,      /* a person at the recipient opened it */
	HAVEN_AUDIT_ESCALATE = 7,
	HAVEN_AUDIT_EXPIRE = 8,
	HAVEN_AUDIT_PURGE = 9,
	HAVEN_AUDIT_DIRECTORY = 10, /* directory version loaded */
	HAVEN_AUDIT_POLICY = 11,    /* policy version loaded */
	HAVEN_AUDIT_REVOKE = 12,    /* live connection of a revoked agency cut */
	HAVEN_AUDIT_AUTH_FAIL = 13, /* handshake refused by ZAP */
	HAVEN_AUDIT_ESCALATE_CLOSED = 14, /* escalated message read late */
	HAVEN_AUDIT_CONSENT = 15,   /* consent given/refused/withdrawn */
	HAVEN_AUDIT_EVENT_COUNT = 16
} haven_audit_event;

/** "SUBMIT" etc.; "UNKNOWN" for values out of range. Static storage. */
HAVEN_API const char *haven_audit_event_name(uint32_t event);

/** Largest serialised entry accepted by haven_audit_decode (a full entry
 * with every list at its limit is about 3.2 KiB). */
#define HAVEN_AUDIT_ENTRY_MAX 8192u

typedef struct haven_audit_entry {
	uint64_t seq;
	int64_t time_ms;
	uint32_t event;
	char actor[HAVEN_ID_MAX];
	bool has_msg;
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	uint32_t type;
	size_t n_recipients;
	char recipients[HAVEN_MAX_RECIPIENTS][HAVEN_ID_MAX];
	bool has_case;
	uint8_t case_pseud[HAVEN_HASH_BYTES];
	size_t n_subjects;
	uint8_t subject_pseuds[HAVEN_MAX_SUBJECTS][HAVEN_HASH_BYTES];
	char legal_basis[HAVEN_CODE_MAX];
	char purpose[HAVEN_CODE_MAX];
	uint32_t outcome; /* haven_err */
	char reason[160];
	uint8_t prev_hash[HAVEN_HASH_BYTES];
	int64_t deadline_ms; /* SUBMIT: the message's deadline; 0 = none */
	int64_t occurred_ms; /* SUBMIT: the incident's time; 0 = not stated */
} haven_audit_entry;

/**
 * Serialise `e` (AuditEntry). `e` must pass the checks decode applies:
 * event in 1..HAVEN_AUDIT_EVENT_COUNT-1, type < HAVEN_MSG_TYPE_COUNT, actor
 * empty or a valid agency id, every recipient a valid agency id, counts
 * within HAVEN_MAX_RECIPIENTS / HAVEN_MAX_SUBJECTS, strings NUL-terminated
 * in their fields and free of control characters. msg_id and case_pseud
 * are written only when has_msg / has_case.
 * @param[out] out malloc'd bytes owned by the caller (free()); NULL on error.
 * @return HAVEN_OK, HAVEN_EINVAL, HAVEN_EMSGSIZE, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_encode(
    const haven_audit_entry *e, uint8_t **out, size_t *out_len);

/**
 * Decode into `e` (zeroed first, and zeroed again on any error).
 * Refused: len > HAVEN_AUDIT_ENTRY_MAX or a count over its limit
 * (HAVEN_EMSGSIZE); bytes that do not unpack or are not the canonical
 * encoding of what they decode to (HAVEN_EDECODE); msg_id not 0 or 16
 * bytes, case pseudonym not 0 or 32, a subject pseudonym not 32, prev_hash
 * not 32, or anything encode would refuse (HAVEN_EINVAL).
 * @return HAVEN_OK, HAVEN_EDECODE, HAVEN_EINVAL, HAVEN_EMSGSIZE. */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_decode(haven_audit_entry *e,
    const uint8_t *buf, size_t len);

HAVEN_API void haven_audit_chain_hash(uint8_t out[HAVEN_HASH_BYTES],
    const uint8_t prev[HAVEN_HASH_BYTES], const uint8_t *entry,
    size_t entry_len);

typedef struct haven_audit_log haven_audit_log;

/** Open (creating if needed) the audit databases inside `txn` (a write
 * txn). `env` must allow at least 16 named databases. The handle holds only
 * LMDB dbi numbers: it stays valid for the environment once `txn` commits
 * (if `txn` aborts, close it and open again). Free with haven_audit_close.
 * @return HAVEN_OK, HAVEN_ENOMEM, or the mapped LMDB error (HAVEN_EFULL,
 *   HAVEN_EIO, ...). */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_open(haven_audit_log **out,
    MDB_txn *txn);

/** Free the handle (the databases are untouched); NULL-tolerant, sets
 * *log to NULL. */
HAVEN_API void haven_audit_close(haven_audit_log **log);

/**
 * Append `e` inside write txn `txn`: sets e->seq and e->prev_hash from the
 * head, writes the entry and the new head, returns the entry hash
 * (`hash_out` may be NULL). On error the caller must abort `txn` (an entry
 * may be half written) and `e->seq`/`e->prev_hash` may have been changed.
 * @return HAVEN_OK, HAVEN_EFULL (map full), HAVEN_EIO, HAVEN_ENOMEM,
 *   HAVEN_EINVAL / HAVEN_EMSGSIZE (`e` fails the encode checks),
 *   HAVEN_ECORRUPT (head and entries disagree).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_append(haven_audit_log *log,
    MDB_txn *txn, haven_audit_entry *e, uint8_t hash_out[HAVEN_HASH_BYTES]);

/** Sign and store a checkpoint of the current head inside `txn`, under
 * key be64(head seq). An empty chain has nothing to checkpoint and a head
 * already checkpointed keeps its first checkpoint: both return HAVEN_OK
 * without writing. @return HAVEN_OK, HAVEN_EFULL, HAVEN_EIO,
 * HAVEN_ECORRUPT. */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_checkpoint(
    haven_audit_log *log, MDB_txn *txn, const haven_keys *broker,
    int64_t now_ms);

/** Head of the chain as seen by `txn` (seq 0 and zero hash if empty).
 * @return HAVEN_OK, HAVEN_ECORRUPT (malformed head), HAVEN_EIO. */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_head(haven_audit_log *log,
    MDB_txn *txn, uint64_t *seq, uint8_t hash[HAVEN_HASH_BYTES]);

/** Read one entry (by seq) and its chain hash (`hash` may be NULL). The
 * entry is copied out of LMDB. @return HAVEN_OK, HAVEN_ENOTFOUND,
 * HAVEN_ECORRUPT (does not decode or its seq field differs), HAVEN_EIO. */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_get(haven_audit_log *log,
    MDB_txn *txn, uint64_t seq, haven_audit_entry *e,
    uint8_t hash[HAVEN_HASH_BYTES]);

typedef struct haven_audit_report {
	uint64_t entries;
	uint64_t checkpoints;
	bool ok;
	uint64_t first_bad_seq; /* 0 if ok */
	char reason[160];
	uint8_t head_hash[HAVEN_HASH_BYTES];
} haven_audit_report;

/**
 * Recompute the whole chain of the broker store in directory `db_dir`
 * (opened read-only; safe while the broker runs) and check every
 * checkpoint's signature with `broker_sign_pk` and its hash against the
 * chain. Sequences must be contiguous from 1, each prev_hash must equal the
 * previous entry's hash, and the head must match the last entry.
 * Checkpoints are checked as the walk reaches their sequence, so
 * rep->first_bad_seq and rep->reason name the first problem in sequence
 * order (e.g. "entry 17: prev_hash does not match entry 16", "entry 50
 * missing (next is 51)", "checkpoint 64: bad signature", "checkpoint 64:
 * hash does not match the chain", "head does not match last entry"). An
 * empty or audit-less store is ok with 0 entries.
 * Must not be called in a process that has `db_dir` open as an LMDB
 * environment (LMDB forbids opening one environment twice per process).
 * @return HAVEN_OK with rep->ok telling the verdict, HAVEN_EIO when the
 *   store cannot be opened, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_verify(const char *db_dir,
    const uint8_t broker_sign_pk[HAVEN_KEY_BYTES], haven_audit_report *rep);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_AUDIT_H */
