/*
 * agents/config.c: strict reader for the agent config (see agent_config.h).
 *
 * Table-driven: one row per key with its parser. The whole document is
 * refused on the first problem, naming the key, never echoing a value.
 * Paths must be absolute or relative without NUL; endpoint must be
 * tcp:// or ipc://. Nothing here opens the files the config names.
 */
#include "agent_config.h"

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "util.h"

static haven_err
str_field(const json_t *root, const char *key, bool req, char *dst,
    size_t dstlen, char *err, size_t errlen)
{
	haven_err rv;

	rv = haven__json_str(root, key, req, dst, dstlen, "", err, errlen);
	if (rv == HAVEN_OK && req && dst[0] == '\0') {
		haven__errf(err, errlen, "%s: must not be empty", key);
		rv = HAVEN_EINVAL;
	}
	return (rv);
}

static haven_err
check_agency(const char *key, const char *id, char *err, size_t errlen)
{
	if (id[0] != '\0' && !haven_agency_id_valid(id)) {
		haven__errf(err, errlen, "%s: not a valid agency id", key);
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

static haven_err
check_endpoint(const char *ep, char *err, size_t errlen)
{
	if (strncmp(ep, "tcp://", 6) != 0 && strncmp(ep, "ipc://", 6) != 0) {
		haven__errf(err, errlen, "broker: must be tcp:// or ipc://");
		return (HAVEN_EINVAL);
	}
	if (strlen(ep) <= 6) {
		haven__errf(err, errlen, "broker: missing address");
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

static haven_err
read_strings(const json_t *root, haven__agent_config *c, char *err,
    size_t errlen)
{
	const struct {
		const char *key;
		bool req;
		char *dst;
		size_t len;
	} t[] = {
		{ "agency", true, c->agency, sizeof(c->agency) },
		{ "broker", true, c->broker, sizeof(c->broker) },
		{ "keys", true, c->keys, sizeof(c->keys) },
		{ "pseudonym_key", false, c->pseudonym_key,
		    sizeof(c->pseudonym_key) },
		{ "admin_pub", true, c->admin_pub, sizeof(c->admin_pub) },
		{ "directory", true, c->directory, sizeof(c->directory) },
		{ "data_dir", true, c->data_dir, sizeof(c->data_dir) },
		{ "spoc", false, c->spoc, sizeof(c->spoc) },
		{ "policy", false, c->policy, sizeof(c->policy) },
	};
	haven_err rv;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rv = str_field(root, t[i].key, t[i].req, t[i].dst, t[i].len,
		    err, errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

static haven_err
read_numbers(const json_t *root, haven__agent_config *c, char *err,
    size_t errlen)
{
	int64_t timeout = HAVEN__AGENT_TIMEOUT_DEFAULT;
	int64_t credit = HAVEN__AGENT_CREDIT_DEFAULT;
	haven_err rv;

	rv = haven__json_int(root, "timeout_ms", false, 100, 600000, &timeout,
	    "", err, errlen);
	if (rv == HAVEN_OK) {
		rv = haven__json_int(root, "credit", false, 1,
		    HAVEN__AGENT_CREDIT_MAX, &credit, "", err, errlen);
	}
	c->timeout_ms = (int) timeout;
	c->credit = (uint32_t) credit;
	return (rv);
}

static haven_err
parse_root(haven__agent_config *c, const json_t *root, char *err,
    size_t errlen)
{
	static const char *const allowed[] = { "agency", "broker", "keys",
		"pseudonym_key", "admin_pub", "directory", "data_dir", "spoc",
		"policy", "timeout_ms", "credit", NULL };
	haven_err rv;

	if ((rv = haven__json_only(root, allowed, "", err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if ((rv = read_strings(root, c, err, errlen)) != HAVEN_OK ||
	    (rv = read_numbers(root, c, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = check_agency("agency", c->agency, err, errlen)) != HAVEN_OK ||
	    (rv = check_agency("spoc", c->spoc, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (check_endpoint(c->broker, err, errlen));
}

haven_err
haven__agent_config_parse(haven__agent_config *cfg, const char *json,
    size_t len, char *field, size_t fieldlen, char *why, size_t whylen)
{
	char err[256] = "";
	json_t *root = NULL;
	haven_err rv;

	memset(cfg, 0, sizeof(*cfg));
	rv = haven__json_parse(json, len, &root, err, sizeof(err));
	if (rv == HAVEN_OK) {
		rv = parse_root(cfg, root, err, sizeof(err));
	}
	json_decref(root);
	if (rv != HAVEN_OK) {
		haven__json_split_err(err, field, fieldlen, why, whylen);
		memset(cfg, 0, sizeof(*cfg));
	}
	return (rv);
}

haven_err
haven__agent_config_load(haven__agent_config *cfg, const char *path,
    char *field, size_t fieldlen, char *why, size_t whylen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;

	rv = haven__read_file(path, HAVEN_JSON_MAX, &buf, &len);
	if (rv != HAVEN_OK) {
		haven__errf(field, fieldlen, "config");
		haven__errf(why, whylen, "%s",
		    rv == HAVEN_EMSGSIZE ? "file too large" :
		    "cannot read file");
		return (rv);
	}
	rv = haven__agent_config_parse(cfg, (const char *) buf, len, field,
	    fieldlen, why, whylen);
	free(buf);
	return (rv);
}
