/*
 * agents/agent_store.h: the agent's local LMDB store, encrypted at rest.
 *
 * Named databases in one environment under the config's data_dir:
 *   inbox   msg id -> sealed InboxRecord (proto/haven.proto)
 *   outbox  msg id -> sealed OutboxRecord
 *   outpend msg id -> "" for outbox entries still pending (an index, so a
 *           resend pass does not unseal the whole outbox)
 *   meta    "seq" -> be64 next sequence number; "dirver" -> be64 highest
 *           directory version accepted; "keycheck" -> sealed empty record
 *   cases   case pseudonym (32 bytes) -> sealed case record (the MARAC
 *           coordinator's case index, agents/cases.h; opaque here)
 *   caseseen msg id -> "" for inbox messages already folded into the
 *           case index (so indexing is idempotent)
 *
 * Every record is sealed with XChaCha20-Poly1305 under the agency's store
 * key (haven_keys_store_key), a fresh random nonce per write, and associated
 * data binding it to its table, its msg id and its flags byte, so a record
 * cannot be altered, moved to another key or table, or have its "verified"
 * flag flipped without the open failing (HAVEN_ECORRUPT). Every write is one
 * LMDB transaction committed with fsync (no MDB_NOSYNC).
 *
 * Not thread-safe: one store handle per thread. Several processes may open
 * the same store (LMDB serialises writers).
 */
#ifndef HAVEN_AGENTS_AGENT_STORE_H
#define HAVEN_AGENTS_AGENT_STORE_H

#include "haven/common.h"
#include "haven/wire.h"

#define HAVEN__STORE_MAP_BYTES (256u * 1024u * 1024u)
#define HAVEN__READER_MAX 64
#define HAVEN__ROLE_MAX 16

typedef struct haven__agent_store haven__agent_store;

/** One inbox entry. `envelope` is malloc'd by the store on reads. */
typedef struct haven__inbox_rec {
	bool verified; /* signature, recipient and view checked on receipt */
	uint8_t *envelope;
	size_t envelope_len;
	bool has_receipt;
	haven_receipt receipt;
	int64_t received_ms;
	int64_t read_ms; /* 0 = unread */
	char read_by[HAVEN__READER_MAX];
	char read_role[HAVEN__ROLE_MAX];
} haven__inbox_rec;

typedef enum {
	HAVEN__OUT_PENDING = 0,
	HAVEN__OUT_RECEIPTED = 1,
	HAVEN__OUT_REJECTED = 2
} haven__out_state;

typedef struct haven__outbox_rec {
	uint8_t *envelope;
	size_t envelope_len;
	haven__out_state state;
	haven_receipt receipt; /* RECEIPTED */
	haven_reject reject;   /* REJECTED */
} haven__outbox_rec;

/** A new outbox entry; borrowed for the call. */
typedef struct haven__outbox_item {
	const uint8_t *msg_id;
	const uint8_t *envelope;
	size_t envelope_len;
} haven__outbox_item;

/** Called per inbox entry by haven__agt_store_inbox_each. `rec` is NULL when
 * the record failed to open (`rv` says why). Return false to stop. */
typedef bool (*haven__inbox_fn)(void *ctx,
    const uint8_t id[HAVEN_MSGID_BYTES], const haven__inbox_rec *rec,
    haven_err rv);

/**
 * Open (creating if needed, mode 0700/0600) the store in `dir` with the
 * 32-byte store key (copied into guarded memory). Runs mdb_reader_check.
 * @return HAVEN_OK, HAVEN_EAUTH (the store was made with another key),
 *   HAVEN_ECORRUPT, HAVEN_EIO, HAVEN_ESYSERR|errno, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__agt_store_open(haven__agent_store **out,
    const char *dir, const uint8_t key[HAVEN_KEY_BYTES]);

/** Close, wipe the key; NULL-tolerant; sets *st to NULL. */
void haven__agt_store_close(haven__agent_store **st);

/** Reserve `n` consecutive sequence numbers (first is *first); durable,
 * monotonic across reopen and crashes (gaps are possible, reuse is not). */
HAVEN_NODISCARD haven_err haven__agt_store_reserve_seq(haven__agent_store *st,
    uint64_t n, uint64_t *first);

/** Record directory `version`; HAVEN_ESTALE if a higher one was accepted
 * before (a rollback), else stores the maximum. */
HAVEN_NODISCARD haven_err haven__agt_store_dir_version(haven__agent_store *st,
    uint64_t version);

/**
 * Store an inbox record. If `id` is present and verified, or present and
 * `rec` is not verified: HAVEN_EEXIST and nothing changes (exactly once).
 * A verified record replaces an unverified one (a forged delivery cannot
 * squat on a msg id).
 */
HAVEN_NODISCARD haven_err haven__agt_store_inbox_put(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], const haven__inbox_rec *rec);

/** Read one record into `rec` (release with haven__agt_inbox_rec_release).
 * @return HAVEN_OK, HAVEN_ENOTFOUND, HAVEN_ECORRUPT, HAVEN_EIO. */
HAVEN_NODISCARD haven_err haven__agt_store_inbox_get(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], haven__inbox_rec *rec);

/** True if `id` is in the inbox as a verified record. */
HAVEN_NODISCARD haven_err haven__agt_store_inbox_has(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], bool *verified, bool *present);

/** Visit every inbox record in msg id order (read-only transaction). */
HAVEN_NODISCARD haven_err haven__agt_store_inbox_each(haven__agent_store *st,
    haven__inbox_fn fn, void *ctx);

/**
 * In one transaction: mark inbox record `id` read (time, reader, role) and
 * add `reply` (the M3 read receipt; may be NULL for types that take no
 * receipt) to the outbox as pending.
 * @return HAVEN_OK, HAVEN_ENOTFOUND, HAVEN_ESTATE (record unverified),
 *   HAVEN_EEXIST (already read; nothing changed), HAVEN_EINVAL (reader or
 *   role too long), HAVEN_ECORRUPT, HAVEN_EIO, HAVEN_EFULL.
 */
HAVEN_NODISCARD haven_err haven__agt_store_inbox_mark_read(
    haven__agent_store *st, const uint8_t id[HAVEN_MSGID_BYTES],
    int64_t read_ms, const char *reader, const char *role,
    const haven__outbox_item *reply);

/** Add `n` new pending outbox entries in one transaction (all or none).
 * HAVEN_EEXIST if an id is already in the outbox. */
HAVEN_NODISCARD haven_err haven__agt_store_outbox_add(haven__agent_store *st,
    const haven__outbox_item *items, size_t n);

/** Read one outbox record. HAVEN_OK, HAVEN_ENOTFOUND, HAVEN_ECORRUPT. */
HAVEN_NODISCARD haven_err haven__agt_store_outbox_get(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], haven__outbox_rec *rec);

/**
 * Settle a pending entry: PENDING -> RECEIPTED (with `receipt`) or
 * PENDING -> REJECTED (with `reject`). Settling again with the same state
 * is a no-op (HAVEN_OK, the first answer is kept); a different terminal
 * state is HAVEN_ESTATE; PENDING as the target is HAVEN_EINVAL.
 */
HAVEN_NODISCARD haven_err haven__agt_store_outbox_settle(haven__agent_store *st,
    const uint8_t id[HAVEN_MSGID_BYTES], haven__out_state state,
    const haven_receipt *receipt, const haven_reject *reject);

/** Up to `max` pending outbox ids, oldest key order. */
HAVEN_NODISCARD haven_err haven__agt_store_outbox_pending(
    haven__agent_store *st,
    uint8_t (*ids)[HAVEN_MSGID_BYTES], size_t max, size_t *n);

/* ---- case index (MARAC coordinator; agents/cases.h) ----
 * Values are sealed like inbox records, with associated data binding the
 * table and the full 32-byte pseudonym key, so a case record cannot be
 * moved to another case or table unnoticed. Keys are pseudonyms (no
 * personal data); the values hold pseudonyms, times and states. */

#define HAVEN__CASE_KEY_BYTES HAVEN_HASH_BYTES
#define HAVEN__CASE_REC_MAX 4096u

/** Called per case by haven__agt_store_case_each. `plain` is NULL when
 * the record failed to open (`rv` says why). Return false to stop. */
typedef bool (*haven__case_fn)(void *ctx,
    const uint8_t key[HAVEN__CASE_KEY_BYTES], const uint8_t *plain,
    size_t len, haven_err rv);

/** Read the case record `key` (*plain malloc'd: wipe and free).
 * @return HAVEN_OK, HAVEN_ENOTFOUND, HAVEN_ECORRUPT, HAVEN_EIO. */
HAVEN_NODISCARD haven_err haven__agt_store_case_get(haven__agent_store *st,
    const uint8_t key[HAVEN__CASE_KEY_BYTES], uint8_t **plain, size_t *len);

/**
 * In one fsync'd transaction: write case record `key` (when `plain` is
 * not NULL; <= HAVEN__CASE_REC_MAX bytes) and mark inbox message `msg_id`
 * as indexed (when not NULL).
 */
HAVEN_NODISCARD haven_err haven__agt_store_case_put(haven__agent_store *st,
    const uint8_t *msg_id, const uint8_t key[HAVEN__CASE_KEY_BYTES],
    const uint8_t *plain, size_t len);

/** True in *seen if inbox message `msg_id` is already indexed. */
HAVEN_NODISCARD haven_err haven__agt_store_case_seen(haven__agent_store *st,
    const uint8_t msg_id[HAVEN_MSGID_BYTES], bool *seen);

/** Visit every case record in key order (read-only transaction). */
HAVEN_NODISCARD haven_err haven__agt_store_case_each(haven__agent_store *st,
    haven__case_fn fn, void *ctx);

void haven__agt_inbox_rec_release(haven__inbox_rec *rec);
void haven__agt_outbox_rec_release(haven__outbox_rec *rec);

#endif /* HAVEN_AGENTS_AGENT_STORE_H */
