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
	HAVEN_AUDIT_EVENT_COUNT = 14
} haven_audit_event;

HAVEN_API const char *haven_audit_event_name(uint32_t event);

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
} haven_audit_entry;

HAVEN_NODISCARD HAVEN_API haven_err haven_audit_encode(
    const haven_audit_entry *e, uint8_t **out, size_t *out_len);

/** HAVEN_OK, HAVEN_EDECODE, HAVEN_EINVAL, HAVEN_EMSGSIZE. */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_decode(haven_audit_entry *e,
    const uint8_t *buf, size_t len);

HAVEN_API void haven_audit_chain_hash(uint8_t out[HAVEN_HASH_BYTES],
    const uint8_t prev[HAVEN_HASH_BYTES], const uint8_t *entry,
    size_t entry_len);

typedef struct haven_audit_log haven_audit_log;

/** Open (creating if needed) the audit databases inside `txn` (a write
 * txn). `env` must allow at least 16 named databases. */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_open(haven_audit_log **out,
    MDB_txn *txn);

HAVEN_API void haven_audit_close(haven_audit_log **log);

/**
 * Append `e` inside write txn `txn`: sets e->seq and e->prev_hash from the
 * head, writes the entry and the new head, returns the entry hash.
 * @return HAVEN_OK, HAVEN_EFULL (map full), HAVEN_EIO, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_append(haven_audit_log *log,
    MDB_txn *txn, haven_audit_entry *e, uint8_t hash_out[HAVEN_HASH_BYTES]);

/** Sign and store a checkpoint of the current head inside `txn`. */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_checkpoint(
    haven_audit_log *log, MDB_txn *txn, const haven_keys *broker,
    int64_t now_ms);

/** Head of the chain as seen by `txn` (seq 0 and zero hash if empty). */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_head(haven_audit_log *log,
    MDB_txn *txn, uint64_t *seq, uint8_t hash[HAVEN_HASH_BYTES]);

/** Read one entry (by seq) and its chain hash. */
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
 * @return HAVEN_OK with rep->ok telling the verdict, or HAVEN_EIO when the
 *   store cannot be opened.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_audit_verify(const char *db_dir,
    const uint8_t broker_sign_pk[HAVEN_KEY_BYTES], haven_audit_report *rep);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_AUDIT_H */
