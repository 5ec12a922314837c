/*
 * lib/jsonutil.c: strict jansson field readers (see jsonutil.h).
 *
 * Messages name fields, never values: a refused incident must not put a
 * child's name into a log or a terminal scrollback.
 */
#include "jsonutil.h"

#include <string.h>

#include <stdlib.h>

#include "util.h"

static void
field_name(char *buf, size_t len, const char *where, const char *key)
{
	if (where == NULL || where[0] == '\0') {
		(void) snprintf(buf, len, "%s", key);
	} else {
		(void) snprintf(buf, len, "%s.%s", where, key);
	}
}

haven_err
haven__json_parse(const char *text, size_t len, json_t **out, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *root;

	if (len > HAVEN_JSON_MAX) {
		haven__errf(err, errlen, "JSON input over %u bytes",
		    HAVEN_JSON_MAX);
		return (HAVEN_EMSGSIZE);
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		/* jansson's text may quote the input ("near 'Alice'"): keep
		 * only the part before the quote, never the value itself. */
		char *near = strstr(je.text, " near ");
		if (near != NULL) {
			*near = '\0';
		}
		haven__errf(err, errlen, "malformed JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
		return (HAVEN_EINVAL);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		haven__errf(err, errlen, "JSON input must be an object");
		return (HAVEN_EINVAL);
	}
	*out = root;
	return (HAVEN_OK);
}

haven_err
haven__json_load(const char *path, json_t **out, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;

	rv = haven__read_file(path, HAVEN_JSON_MAX, &buf, &len);
	if (rv == HAVEN_EMSGSIZE) {
		haven__errf(err, errlen, "%s: larger than %u bytes", path,
		    HAVEN_JSON_MAX);
		return (rv);
	}
	if (rv != HAVEN_OK) {
		haven__errf(err, errlen, "%s: cannot read", path);
		return (rv);
	}
	rv = haven__json_parse((const char *) buf, len, out, err, errlen);
	free(buf);
	return (rv);
}

haven_err
haven__json_only(const json_t *obj, const char *const *allowed,
    const char *where, char *err, size_t errlen)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *) obj, key, val) {
		bool ok = false;
		char name[160];

		(void) val;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++) {
			ok = strcmp(key, allowed[i]) == 0;
		}
		if (!ok) {
			field_name(name, sizeof(name), where, key);
			haven__errf(err, errlen, "%s: unknown field", name);
			return (HAVEN_EINVAL);
		}
	}
	return (HAVEN_OK);
}

static haven_err
member(const json_t *obj, const char *key, bool required, json_t **val,
    const char *where, char *err, size_t errlen)
{
	char name[160];

	*val = json_object_get(obj, key);
	if (*val == NULL || json_is_null(*val)) {
		*val = NULL;
		if (required) {
			field_name(name, sizeof(name), where, key);
			haven__errf(err, errlen, "%s: missing", name);
			return (HAVEN_EINVAL);
		}
	}
	return (HAVEN_OK);
}

static haven_err
wrong(const char *where, const char *key, const char *what, char *err,
    size_t errlen)
{
	char name[160];

	field_name(name, sizeof(name), where, key);
	haven__errf(err, errlen, "%s: %s", name, what);
	return (HAVEN_EINVAL);
}

haven_err
haven__json_str(const json_t *obj, const char *key, bool required, char *dst,
    size_t dstlen, const char *where, char *err, size_t errlen)
{
	json_t *v;
	haven_err rv;
	size_t n;

	if ((rv = member(obj, key, required, &v, where, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if (v == NULL) {
		dst[0] = '\0';
		return (HAVEN_OK);
	}
	if (!json_is_string(v)) {
		return (wrong(where, key, "must be a string", err, errlen));
	}
	n = json_string_length(v);
	if (memchr(json_string_value(v), '\0', n) != NULL) {
		return (wrong(where, key, "contains a NUL byte", err, errlen));
	}
	if (n >= dstlen) {
		char what[64];
		(void) snprintf(what, sizeof(what), "longer than %zu bytes",
		    dstlen - 1);
		return (wrong(where, key, what, err, errlen));
	}
	memcpy(dst, json_string_value(v), n + 1);
	return (HAVEN_OK);
}

haven_err
haven__json_bool(const json_t *obj, const char *key, bool required, bool *out,
    const char *where, char *err, size_t errlen)
{
	json_t *v;
	haven_err rv;

	if ((rv = member(obj, key, required, &v, where, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if (v == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_boolean(v)) {
		return (wrong(where, key, "must be true or false", err, errlen));
	}
	*out = json_is_true(v);
	return (HAVEN_OK);
}

haven_err
haven__json_int(const json_t *obj, const char *key, bool required,
    int64_t min, int64_t max, int64_t *out, const char *where, char *err,
    size_t errlen)
{
	json_t *v;
	haven_err rv;
	json_int_t n;

	if ((rv = member(obj, key, required, &v, where, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if (v == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_integer(v)) {
		return (wrong(where, key, "must be an integer", err, errlen));
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		char what[96];
		(void) snprintf(what, sizeof(what), "out of range [%lld, %lld]",
		    (long long) min, (long long) max);
		return (wrong(where, key, what, err, errlen));
	}
	*out = (int64_t) n;
	return (HAVEN_OK);
}

haven_err
haven__json_hex(const json_t *obj, const char *key, uint8_t *dst, size_t len,
    const char *where, char *err, size_t errlen)
{
	json_t *v;
	haven_err rv;

	if ((rv = member(obj, key, true, &v, where, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if (!json_is_string(v) ||
	    haven__hex_decode(dst, len, json_string_value(v)) != HAVEN_OK) {
		char what[64];
		(void) snprintf(what, sizeof(what), "must be %zu hex digits",
		    2 * len);
		return (wrong(where, key, what, err, errlen));
	}
	return (HAVEN_OK);
}

void
haven__json_split_err(const char *err, char *field, size_t fieldlen,
    char *why, size_t whylen)
{
	const char *colon = strstr(err, ": ");
	const char *space = strchr(err, ' ');

	if (colon == NULL || (space != NULL && space < colon)) {
		haven__errf(field, fieldlen, "%s", "");
		haven__errf(why, whylen, "%s", err);
		return;
	}
	haven__errf(field, fieldlen, "%.*s", (int) (colon - err), err);
	haven__errf(why, whylen, "%s", colon + 2);
}
