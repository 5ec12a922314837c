/*
 * broker/zap.h: the ZAP handler (RFC 27) that authenticates CURVE clients.
 *
 * Bound at inproc://zeromq.zap.01 in the broker's ZeroMQ context before
 * the ROUTER binds, and served from the broker's own loop thread (polled
 * with the ROUTER). Policy: mechanism CURVE, domain "haven", client key
 * known in the CURRENT directory, agency not revoked, key generation not
 * retired -> 200 with User-Id = agency id and the metadata property
 * HAVEN_ZAP_GEN_PROP = the key's generation (decimal), which libzmq
 * attaches to every message of the connection, so the loop can refuse a
 * live connection whose key has since been retired; anything else,
 * including any malformed request, -> 400 (fail closed). ZAP properties
 * take precedence over any the peer sends in its handshake.
 *
 * Refusals are collected as AUTH_FAIL audit entries for the loop to write
 * in its next transaction, at most one per client key per minute, and
 * refusals of keys not in the directory at most 60 per minute in all (the
 * rest are summarised by haven__zap_tick in one entry, reason
 * "flood suppressed=N").
 */
#ifndef HAVEN_BROKER_ZAP_H
#define HAVEN_BROKER_ZAP_H

#include "haven/audit.h"
#include "haven/directory.h"

#define HAVEN_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define HAVEN_ZAP_DOMAIN "haven"
#define HAVEN_ZAP_PENDING_MAX 64
#define HAVEN_ZAP_GEN_PROP "X-Haven-Gen"

typedef struct haven_zap haven_zap;

/**
 * Create the handler socket in `zctx` and bind it.
 * @return HAVEN_OK, HAVEN_EEXIST (another handler is bound),
 *   HAVEN_ESYSERR|errno, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__zap_open(haven_zap **out, void *zctx);

/** Close (linger 0); NULL-tolerant; sets *z to NULL. */
void haven__zap_close(haven_zap **z);

/** The socket, for zmq_poll. */
void *haven__zap_socket(haven_zap *z);

/**
 * Serve every request waiting on the socket (without blocking) against
 * `dir`. `now_ms` is wall-clock time for the rate limiter and audit.
 */
void haven__zap_serve(haven_zap *z, const haven_directory *dir,
    int64_t now_ms);

/**
 * Queue the summary entry of refusals that were not audited individually,
 * once their minute is over (or at once if `force`, at shutdown). The
 * count is forgotten when the entry is queued: call it only when pending
 * entries are about to be written and committed.
 */
void haven__zap_tick(haven_zap *z, int64_t now_ms, bool force);

/** Number of AUTH_FAIL entries waiting to be audited. */
size_t haven__zap_pending(const haven_zap *z);

/** Entry i of the pending AUTH_FAIL entries (i < haven__zap_pending). */
const haven_audit_entry *haven__zap_pending_at(const haven_zap *z,
    size_t i);

/** Forget the pending entries (after they were committed). */
void haven__zap_pending_clear(haven_zap *z);

#endif /* HAVEN_BROKER_ZAP_H */
