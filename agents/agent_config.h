/*
 * agents/agent_config.h: the agent's JSON config file (docs/architecture.md).
 *
 *   {"agency": "school.urn.110123", "broker": "tcp://127.0.0.1:7450",
 *    "keys": "/etc/haven/agency.key",
 *    "pseudonym_key": "/etc/haven/partnership.pseudonym",
 *    "admin_pub": "/etc/haven/admin.pub",
 *    "directory": "/etc/haven/directory.signed",
 *    "data_dir": "/var/lib/haven/agent", "spoc": "police.cambs.spoc",
 *    "timeout_ms": 10000, "credit": 64}
 *
 * Optional "policy": the signed policy (verified under admin_pub), whose
 * settings the agent follows (Encompass holiday duty contacts, MARAC
 * thresholds and meeting days); without it the defaults apply.
 *
 * Unknown keys are refused. pseudonym_key and spoc are optional (a school
 * needs neither); the reader checks shapes only, the files are loaded later.
 */
#ifndef HAVEN_AGENTS_AGENT_CONFIG_H
#define HAVEN_AGENTS_AGENT_CONFIG_H

#include <limits.h>

#include "haven/common.h"

#define HAVEN__AGENT_TIMEOUT_DEFAULT 10000
#define HAVEN__AGENT_CREDIT_DEFAULT 64
#define HAVEN__AGENT_CREDIT_MAX 1024
#define HAVEN__AGENT_ENDPOINT_MAX 256

typedef struct haven__agent_config {
	char agency[HAVEN_ID_MAX];
	char broker[HAVEN__AGENT_ENDPOINT_MAX];
	char keys[PATH_MAX];
	char pseudonym_key[PATH_MAX]; /* "" when absent */
	char admin_pub[PATH_MAX];
	char directory[PATH_MAX];
	char data_dir[PATH_MAX];
	char spoc[HAVEN_ID_MAX]; /* "" when absent */
	char policy[PATH_MAX];   /* signed policy; "" when absent */
	int timeout_ms;
	uint32_t credit;
} haven__agent_config;

/**
 * Parse a config document of `len` bytes (<= HAVEN_JSON_MAX).
 * On failure `field` names the offending key ("" for the document as a
 * whole) and `why` says what is wrong; neither echoes a value.
 * @return HAVEN_OK, HAVEN_EINVAL, HAVEN_EMSGSIZE.
 */
HAVEN_NODISCARD haven_err haven__agent_config_parse(haven__agent_config *cfg,
    const char *json, size_t len, char *field, size_t fieldlen, char *why,
    size_t whylen);

/** Read `path` (capped) and parse it as above. An unreadable file gives
 * HAVEN_ESYSERR|errno (field "config"). */
HAVEN_NODISCARD haven_err haven__agent_config_load(haven__agent_config *cfg,
    const char *path, char *field, size_t fieldlen, char *why, size_t whylen);

#endif /* HAVEN_AGENTS_AGENT_CONFIG_H */
