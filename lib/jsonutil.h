/*
 * lib/jsonutil.h: strict field readers over jansson objects.
 *
 * Every JSON input (key files, directory and policy sources, incidents,
 * configs) goes through these, so every reader refuses the same way: the
 * error names the field path ("children[1].dob") and what was wrong, and
 * never echoes the value (it may be personal data).
 */
#ifndef HAVEN_LIB_JSONUTIL_H
#define HAVEN_LIB_JSONUTIL_H

#include <jansson.h>

#include "haven/common.h"

/** Parse text (<= HAVEN_JSON_MAX) that must be a JSON object; rejects
 * duplicate keys. On HAVEN_EINVAL `err` gives line and column. */
HAVEN_NODISCARD haven_err haven__json_parse(const char *text, size_t len,
    json_t **out, char *err, size_t errlen);

/** Read `path` (<= HAVEN_JSON_MAX) and parse it as above. */
HAVEN_NODISCARD haven_err haven__json_load(const char *path, json_t **out,
    char *err, size_t errlen);

/** Refuse any key of `obj` not in the NULL-terminated `allowed` list.
 * `where` is the path prefix used in the message ("" for the root). */
HAVEN_NODISCARD haven_err haven__json_only(const json_t *obj,
    const char *const *allowed, const char *where, char *err, size_t errlen);

/**
 * Copy string member `key` into dst (dstlen incl. NUL). If `required` and
 * absent: HAVEN_EINVAL "missing". Absent and optional: dst = "" and OK.
 * Wrong type, embedded NUL or too long: HAVEN_EINVAL naming the field.
 */
HAVEN_NODISCARD haven_err haven__json_str(const json_t *obj, const char *key,
    bool required, char *dst, size_t dstlen, const char *where, char *err,
    size_t errlen);

/** Boolean member; absent and optional leaves *out unchanged. */
HAVEN_NODISCARD haven_err haven__json_bool(const json_t *obj, const char *key,
    bool required, bool *out, const char *where, char *err, size_t errlen);

/** Integer member in [min, max]; absent and optional leaves *out. */
HAVEN_NODISCARD haven_err haven__json_int(const json_t *obj, const char *key,
    bool required, int64_t min, int64_t max, int64_t *out, const char *where,
    char *err, size_t errlen);

/** Fixed-size binary member given as exactly 2*len hex digits. */
HAVEN_NODISCARD haven_err haven__json_hex(const json_t *obj, const char *key,
    uint8_t *dst, size_t len, const char *where, char *err, size_t errlen);

/** Split a reader's "field: what" message into its halves; a message with
 * no field part (or whose first space comes before ": ") goes whole into
 * `why` and `field` is "". */
void haven__json_split_err(const char *err, char *field, size_t fieldlen,
    char *why, size_t whylen);

#endif /* HAVEN_LIB_JSONUTIL_H */
