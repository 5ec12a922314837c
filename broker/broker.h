/*
 * broker/broker.h: the broker object shared by the loop's modules.
 *
 * One thread owns everything here: the ROUTER and ZAP sockets, the LMDB
 * environment, the session table and the loaded directory and policy.
 * Signal handlers only set the flags passed to haven__broker_run.
 */
#ifndef HAVEN_BROKER_BROKER_H
#define HAVEN_BROKER_BROKER_H

#include <signal.h>
#include <sys/stat.h>

#include "config.h"
#include "deadline.h"
#include "flood.h"
#include "haven/audit.h"
#include "haven/directory.h"
#include "haven/keys.h"
#include "haven/policy.h"
#include "outbox.h"
#include "session.h"
#include "store.h"
#include "zap.h"

#define HAVEN_BROKER_ID "broker"
#define HAVEN_HANDSHAKE_MS 10000
#define HAVEN_RCVHWM 1000
#define HAVEN_SNDHWM_MAX 1000

/** What happened when start-up failed: maps to the exit code. */
typedef enum {
	HAVEN_FAIL_NONE = 0,
	HAVEN_FAIL_REFUSED = 2, /* config, keys or documents refused */
	HAVEN_FAIL_OTHER = 1    /* store, sockets, memory */
} haven_fail;

/** Identity of a watched file, to notice a replaced directory/policy. */
typedef struct haven_filestamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} haven_filestamp;

typedef struct haven_broker {
	haven_bconf cfg;
	haven_keys *keys;
	uint8_t admin_pk[HAVEN_KEY_BYTES];
	haven_directory *dir;
	haven_policy *policy;
	haven_store *store;
	void *zctx;
	void *router;
	haven_zap *zap;
	haven_sessions sessions;
	haven_outbox out;
	haven_flood flood;       /* REJECT audit budget per agency */
	haven_dlstate dl;        /* deadline monitor (deadline.h) */
	uint64_t cp_seq;         /* audit seq of the last checkpoint */
	haven_filestamp dir_stamp;
	haven_filestamp pol_stamp;
	int64_t last_stat_ms;
	char endpoint[HAVEN_BCONF_ENDPOINT_MAX];
} haven_broker;

/** The documents and keys named by `cfg`, loaded and verified. */
typedef struct haven_docs {
	haven_keys *keys;
	uint8_t admin_pk[HAVEN_KEY_BYTES];
	haven_directory *dir;
	haven_policy *policy;
} haven_docs;

/**
 * Load broker keys, admin public key, signed directory and policy. Refuses
 * (HAVEN_ESIG, HAVEN_EINVAL, ...) with `err` naming the file and why.
 */
HAVEN_NODISCARD haven_err haven__docs_load(haven_docs *d,
    const haven_bconf *cfg, char *err, size_t errlen);
void haven__docs_release(haven_docs *d);

/** Refuse (HAVEN_ESTALE, `err` says which) documents older than the
 * versions recorded in the store of cfg->data_dir, if there is one. */
HAVEN_NODISCARD haven_err haven__docs_check_stale(const haven_docs *d,
    const haven_bconf *cfg, char *err, size_t errlen);

/** Start-up (DESIGN §4 order). On failure *fail says refused or other and
 * the reason has been logged. */
HAVEN_NODISCARD haven_err haven__broker_open(haven_broker **out,
    const haven_bconf *cfg, haven_fail *fail);

/** Serve until *stop; *hup requests a reload. Writes a final checkpoint. */
HAVEN_NODISCARD haven_err haven__broker_run(haven_broker *b,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *hup);

/** Close sockets, store, free everything; NULL-tolerant. */
void haven__broker_close(haven_broker **b);

/** Reload directory and policy (SIGHUP or changed file). Keeps the old
 * ones when the new are invalid or stale. */
void haven__broker_reload(haven_broker *b);

/** True if `agency` is in `dir`, not revoked, and its key generation
 * `gen` is known and not retired: what a connection needs, on every frame,
 * to be served at all (a rotation retires the old key's live connections
 * as a revocation cuts the agency's). */
bool haven__identity_allowed(const haven_directory *dir, const char *agency,
    uint32_t gen);

/**
 * The ROUTER's send high-water mark (ZMQ_SNDHWM, per connection, in
 * frames). libzmq holds up to this many frames, each up to
 * max_frame_bytes, for a peer that does not read. One loop iteration sends
 * a connection at most its agency's deliveries in flight
 * (HAVEN_AGENCY_INFLIGHT_MAX) plus one reply per frame of the batch
 * (batch_max), so that is the bound: a peer that reads what it was sent
 * never loses a frame to it, and one that never reads holds no more than
 * that (384 frames by default, at most HAVEN_SNDHWM_MAX, libzmq's own
 * default). Past it a send fails "busy": a delivery is retried after its
 * backoff, a lost reply is recovered by the agent (Hello again, identical
 * resubmission).
 */
int haven__sndhwm(const haven_bconf *c);

/** Stamp of a file (zeroed if it cannot be stat'ed). */
void haven__filestamp(const char *path, haven_filestamp *st);
bool haven__filestamp_eq(const haven_filestamp *a, const haven_filestamp *b);

/** Fill the message fields of an audit entry from a header. */
struct haven_header;
void haven__audit_from_header(haven_audit_entry *e,
    const struct haven_header *h);

/** Append `e` (time set here when 0). */
HAVEN_NODISCARD haven_err haven__audit(haven_broker *b, MDB_txn *txn,
    haven_audit_entry *e, uint64_t *seq, uint8_t hash[HAVEN_HASH_BYTES]);

/** Checkpoint if checkpoint_every entries have passed (or `force`). */
HAVEN_NODISCARD haven_err haven__maybe_checkpoint(haven_broker *b,
    MDB_txn *txn, bool force, uint64_t *new_cp);

#endif /* HAVEN_BROKER_BROKER_H */
