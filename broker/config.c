/*
 * broker/config.c: strict reader for broker.json.
 *
 * The config is trusted operator input but is still parsed defensively (it
 * is also a fuzz target): size capped before parsing, duplicate and unknown
 * keys refused, every string length-checked, every number range-checked.
 * Keys are read from a {key, reader} table so each key has one place that
 * says what it accepts.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "util.h"

#define MB_MAX 1048576
#define REDELIVER_MAX 86400000
#define REDELIVER_MAX_DEFAULT 600000

typedef struct num_key {
	const char *name;
	int64_t min;
	int64_t max;
	size_t off;
	bool wide; /* uint64_t field, else uint32_t */
} num_key;

static const num_key nums[] = {
	{"map_size_mb", 1, MB_MAX, offsetof(haven_bconf, map_size_mb), true},
	{"max_frame_bytes", 4096, HAVEN_FRAME_MAX,
	    offsetof(haven_bconf, max_frame_bytes), false},
	{"redeliver_ms", 100, REDELIVER_MAX, offsetof(haven_bconf,
	    redeliver_ms), false},
	{"redeliver_max_ms", 100, REDELIVER_MAX, offsetof(haven_bconf,
	    redeliver_max_ms), false},
	{"checkpoint_every", 1, 1000000,
	    offsetof(haven_bconf, checkpoint_every), false},
	{"batch_max", 1, 4096, offsetof(haven_bconf, batch_max), false},
	{"heartbeat_ms", 100, 600000, offsetof(haven_bconf, heartbeat_ms),
	    false},
};

typedef struct str_key {
	const char *name;
	size_t off;
	size_t cap;
} str_key;

static const str_key strs[] = {
	{"listen", offsetof(haven_bconf, listen), HAVEN_BCONF_ENDPOINT_MAX},
	{"data_dir", offsetof(haven_bconf, data_dir), HAVEN_BCONF_PATH_MAX},
	{"keys", offsetof(haven_bconf, keys), HAVEN_BCONF_PATH_MAX},
	{"admin_pub", offsetof(haven_bconf, admin_pub), HAVEN_BCONF_PATH_MAX},
	{"directory", offsetof(haven_bconf, directory), HAVEN_BCONF_PATH_MAX},
	{"policy", offsetof(haven_bconf, policy), HAVEN_BCONF_PATH_MAX},
};

static const char *const allowed[] = {"listen", "data_dir", "keys",
    "admin_pub", "directory", "policy", "map_size_mb", "max_frame_bytes",
    "redeliver_ms", "redeliver_max_ms", "checkpoint_every", "batch_max",
    "heartbeat_ms", NULL};

#define N_NUMS (sizeof(nums) / sizeof(nums[0]))
#define N_STRS (sizeof(strs) / sizeof(strs[0]))

void
haven__bconf_defaults(haven_bconf *c)
{
	memset(c, 0, sizeof(*c));
	c->map_size_mb = 1024;
	c->max_frame_bytes = HAVEN_FRAME_MAX;
	c->redeliver_ms = 30000;
	c->redeliver_max_ms = REDELIVER_MAX_DEFAULT;
	c->checkpoint_every = 64;
	c->batch_max = 256;
	c->heartbeat_ms = 5000;
}

static haven_err
read_num(haven_bconf *c, const json_t *root, const num_key *k, char *err,
    size_t errlen)
{
	uint8_t *base = (uint8_t *) c;
	int64_t v;
	haven_err rv;

	if (k->wide) {
		memcpy(&v, base + k->off, sizeof(uint64_t));
	} else {
		uint32_t v32;
		memcpy(&v32, base + k->off, sizeof(v32));
		v = v32;
	}
	rv = haven__json_int(root, k->name, false, k->min, k->max, &v, "",
	    err, errlen);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if (k->wide) {
		uint64_t u = (uint64_t) v;
		memcpy(base + k->off, &u, sizeof(u));
	} else {
		uint32_t u = (uint32_t) v;
		memcpy(base + k->off, &u, sizeof(u));
	}
	return (HAVEN_OK);
}

/* Endpoints: CURVE over tcp:// or ipc:// only (inproc has no security). */
static haven_err
check_listen(const char *ep, char *err, size_t errlen)
{
	if (strncmp(ep, "tcp://", 6) != 0 && strncmp(ep, "ipc://", 6) != 0) {
		haven__errf(err, errlen,
		    "listen: must start with tcp:// or ipc://");
		return (HAVEN_EINVAL);
	}
	if (strlen(ep) <= 6) {
		haven__errf(err, errlen, "listen: no address");
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

static haven_err
read_strs(haven_bconf *c, const json_t *root, char *err, size_t errlen)
{
	haven_err rv;

	for (size_t i = 0; i < N_STRS; i++) {
		char *dst = (char *) c + strs[i].off;
		rv = haven__json_str(root, strs[i].name, true, dst,
		    strs[i].cap, "", err, errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
		if (dst[0] == '\0') {
			haven__errf(err, errlen, "%s: empty", strs[i].name);
			return (HAVEN_EINVAL);
		}
	}
	return (check_listen(c->listen, err, errlen));
}

/* The backoff cap may not be below the first wait. Left out, it is the
 * default, raised to redeliver_ms if that is larger. */
static haven_err
check_redeliver(haven_bconf *c, const json_t *root, char *err, size_t errlen)
{
	if (c->redeliver_max_ms >= c->redeliver_ms) {
		return (HAVEN_OK);
	}
	if (json_object_get(root, "redeliver_max_ms") == NULL) {
		c->redeliver_max_ms = c->redeliver_ms;
		return (HAVEN_OK);
	}
	haven__errf(err, errlen,
	    "redeliver_max_ms: must not be less than redeliver_ms (%u)",
	    c->redeliver_ms);
	return (HAVEN_EINVAL);
}

haven_err
haven__bconf_parse(haven_bconf *c, const char *text, size_t len, char *err,
    size_t errlen)
{
	json_t *root = NULL;
	haven_err rv;

	haven__bconf_defaults(c);
	if (len > HAVEN_JSON_MAX) {
		haven__errf(err, errlen, "config larger than %u bytes",
		    HAVEN_JSON_MAX);
		return (HAVEN_EMSGSIZE);
	}
	if ((rv = haven__json_parse(text, len, &root, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if ((rv = haven__json_only(root, allowed, "", err, errlen)) !=
	    HAVEN_OK) {
		goto out;
	}
	if ((rv = read_strs(c, root, err, errlen)) != HAVEN_OK) {
		goto out;
	}
	for (size_t i = 0; i < N_NUMS; i++) {
		if ((rv = read_num(c, root, &nums[i], err, errlen)) !=
		    HAVEN_OK) {
			goto out;
		}
	}
	rv = check_redeliver(c, root, err, errlen);
out:
	json_decref(root);
	return (rv);
}

/* Prefix a relative path with the config file's directory. */
static haven_err
resolve(char *p, size_t cap, const char *base, size_t base_len,
    const char *name, char *err, size_t errlen)
{
	char tmp[HAVEN_BCONF_PATH_MAX];
	int n;

	if (p[0] == '/' || base_len == 0 || strncmp(p, "ipc://", 6) == 0) {
		return (HAVEN_OK);
	}
	n = snprintf(tmp, sizeof(tmp), "%.*s/%s", (int) base_len, base, p);
	if (n < 0 || (size_t) n >= cap) {
		haven__errf(err, errlen, "%s: path too long", name);
		return (HAVEN_EINVAL);
	}
	memcpy(p, tmp, (size_t) n + 1);
	return (HAVEN_OK);
}

haven_err
haven__bconf_load(haven_bconf *c, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *slash;
	haven_err rv;

	rv = haven__read_file(path, HAVEN_JSON_MAX, &buf, &len);
	if (rv != HAVEN_OK) {
		haven__errf(err, errlen, "%s: cannot read (%s)", path,
		    rv == HAVEN_EMSGSIZE ? "too large" :
		    strerror((int) (rv & ~HAVEN_ESYSERR)));
		return (rv);
	}
	rv = haven__bconf_parse(c, (const char *) buf, len, err, errlen);
	free(buf);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	slash = strrchr(path, '/');
	for (size_t i = 1; i < N_STRS && slash != NULL; i++) {
		rv = resolve((char *) c + strs[i].off, strs[i].cap, path,
		    (size_t) (slash - path), strs[i].name, err, errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}
