/*
 * agents/agent.h: one haven-agent invocation's loaded state.
 *
 * haven__agent_open loads, in order: the config, the agency's secret keys
 * (agency must match the config), the admin public key, the signed
 * directory (refused if older than one this store accepted before), the
 * signed policy if the config names one, the broker's keys from the directory entry "broker", and the sealed store.
 * The connection is opened lazily by commands that talk to the broker.
 */
#ifndef HAVEN_AGENTS_AGENT_H
#define HAVEN_AGENTS_AGENT_H

#include <sys/stat.h>
#include <sys/types.h>

#include "client.h"
#include "agent_config.h"
#include "haven/directory.h"
#include "haven/keys.h"
#include "haven/policy.h"
#include "haven/pseudonym.h"
#include "haven/wire.h"
#include "out.h"
#include "agent_store.h"

/* What the directory file looked like when it was loaded. */
typedef struct haven__file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} haven__file_id;

typedef struct haven__agent {
	haven__out out;
	haven__agent_config cfg;
	haven_keys *keys;
	uint8_t admin_pk[HAVEN_KEY_BYTES];
	haven_directory *dir;
	haven__file_id dir_file;
	haven_policy *policy; /* NULL: no "policy" in the config (defaults) */
	haven_pseudonym_key *pseudonym; /* NULL: no "pseudonym_key" */
	uint8_t broker_curve_pk[HAVEN_KEY_BYTES];
	haven__agent_store *store;
	haven__agent_client *cl;
} haven__agent;

/**
 * Load everything from `config_path`. On failure the error has been
 * reported (stderr, and JSON when a->out.json) and *exit_code is set.
 */
HAVEN_NODISCARD haven_err haven__agent_open(haven__agent *a,
    const char *config_path, int *exit_code);

/** Release everything; safe on a partly opened agent. */
void haven__agent_close(haven__agent *a);

/** Open the broker connection if not open. */
HAVEN_NODISCARD haven_err haven__agent_connect(haven__agent *a);

/** Drop and reopen the connection (a fresh CURVE handshake). */
HAVEN_NODISCARD haven_err haven__agent_reconnect(haven__agent *a);

/**
 * Reload the signed directory if its file changed since it was loaded
 * (a long-lived `run` learns new agencies, rotated keys and revocations
 * without a restart). The new one must verify under the admin key and
 * not be older than one already accepted; otherwise the current one is
 * kept and the error returned. If the broker's transport key changed the
 * connection is closed (the caller reconnects).
 * @return HAVEN_OK (*changed says whether a new directory is in use), or
 *   the load error (HAVEN_ESTALE for a rollback); never loses the current.
 */
HAVEN_NODISCARD haven_err haven__agent_dir_refresh(haven__agent *a,
    bool *changed);

/** Verify a broker receipt against any of the broker's keys in the
 * directory (rotation: old receipts stay verifiable). */
HAVEN_NODISCARD haven_err haven__agent_receipt_verify(const haven__agent *a,
    const haven_receipt *r);

#endif /* HAVEN_AGENTS_AGENT_H */
