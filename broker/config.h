/*
 * broker/config.h: the broker's JSON configuration (docs/broker.md).
 *
 *   {"listen": "tcp://127.0.0.1:7450", "data_dir": "/var/lib/haven/broker",
 *    "keys": "/etc/haven/broker.key", "admin_pub": "/etc/haven/admin.pub",
 *    "directory": "/etc/haven/directory.signed",
 *    "policy": "/etc/haven/policy.signed", "map_size_mb": 1024,
 *    "max_frame_bytes": 1048576, "redeliver_ms": 30000,
 *    "redeliver_max_ms": 600000, "checkpoint_every": 64, "batch_max": 256,
 *    "heartbeat_ms": 5000}
 *
 * Unknown keys are refused; every refusal names the key. The six paths are
 * required; the numbers are optional with the defaults above and bounded
 * (see the fields below); redeliver_max_ms may not be less than
 * redeliver_ms (left out, it defaults to the larger of 600000 and
 * redeliver_ms). Relative paths are taken relative to the
 * directory of the config file (haven__bconf_load only).
 */
#ifndef HAVEN_BROKER_CONFIG_H
#define HAVEN_BROKER_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "haven/common.h"

#define HAVEN_BCONF_ENDPOINT_MAX 256
#define HAVEN_BCONF_PATH_MAX 1024

typedef struct haven_bconf {
	char listen[HAVEN_BCONF_ENDPOINT_MAX];
	char data_dir[HAVEN_BCONF_PATH_MAX];
	char keys[HAVEN_BCONF_PATH_MAX];
	char admin_pub[HAVEN_BCONF_PATH_MAX];
	char directory[HAVEN_BCONF_PATH_MAX];
	char policy[HAVEN_BCONF_PATH_MAX];
	uint64_t map_size_mb;      /* [1, 1048576], default 1024 */
	uint32_t max_frame_bytes;  /* [4096, HAVEN_FRAME_MAX], default max */
	uint32_t redeliver_ms;     /* [100, 86400000], default 30000 */
	uint32_t redeliver_max_ms; /* [redeliver_ms, 86400000], 600000 */
	uint32_t checkpoint_every; /* [1, 1000000], default 64 */
	uint32_t batch_max;        /* [1, 4096], default 256 */
	uint32_t heartbeat_ms;     /* [100, 600000], default 5000 */
} haven_bconf;

/** Fill `c` with the defaults and empty paths. */
void haven__bconf_defaults(haven_bconf *c);

/**
 * Parse config text (at most HAVEN_JSON_MAX bytes; need not be
 * NUL-terminated). Paths are taken as written.
 * @return HAVEN_OK, or HAVEN_EINVAL / HAVEN_EMSGSIZE with `err` naming the
 *   key ("map_size_mb: must be between 1 and 1048576"). `c` is unspecified
 *   on error.
 */
HAVEN_NODISCARD haven_err haven__bconf_parse(haven_bconf *c,
    const char *text, size_t len, char *err, size_t errlen);

/**
 * Read and parse the file at `path`, then resolve relative paths against
 * the file's directory.
 * @return as haven__bconf_parse, or HAVEN_ESYSERR|errno / HAVEN_EMSGSIZE
 *   when the file cannot be read.
 */
HAVEN_NODISCARD haven_err haven__bconf_load(haven_bconf *c,
    const char *path, char *err, size_t errlen);

#endif /* HAVEN_BROKER_CONFIG_H */
