/*
 * lib/util.h: small internal helpers shared by libhaven, the broker, the
 * agent and havenctl (haven__ prefix: internal, cross-module).
 *
 * File reads are capped before allocation; writes of secrets and state go
 * through a temporary file, fsync and rename so a crash leaves either the
 * old or the new file, never a torn one.
 */
#ifndef HAVEN_LIB_UTIL_H
#define HAVEN_LIB_UTIL_H

#include <stdarg.h>
#include <time.h>
#include <stdio.h>

#include "haven/common.h"

/** snprintf into err (if non-NULL), always NUL-terminated. */
void haven__errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Copy a string into a fixed buffer; HAVEN_EMSGSIZE if it does not fit
 * (dst is then set to ""). */
HAVEN_NODISCARD haven_err haven__strlcpy(char *dst, const char *src,
    size_t dstlen);

/** Read a whole file, at most `max` bytes, NUL-terminated (the NUL is not
 * counted in *len). HAVEN_EMSGSIZE if larger, HAVEN_ESYSERR|errno on I/O. */
HAVEN_NODISCARD haven_err haven__read_file(const char *path, size_t max,
    uint8_t **out, size_t *len);

/** Write atomically (tmp + fsync + rename + fsync dir) with `mode`.
 * If `excl`, fail with HAVEN_EEXIST when `path` exists. */
HAVEN_NODISCARD haven_err haven__write_file(const char *path,
    const void *buf, size_t len, unsigned mode, bool excl);

/** Lowercase hex; out must hold 2*len+1. */
void haven__hex_encode(char *out, const uint8_t *in, size_t len);

/** Exactly `len` bytes from exactly 2*len hex digits; HAVEN_EINVAL else. */
HAVEN_NODISCARD haven_err haven__hex_decode(uint8_t *out, size_t len,
    const char *hex);

/** Big-endian integer codecs for LMDB keys. */
void haven__be64_put(uint8_t out[8], uint64_t v);
uint64_t haven__be64_get(const uint8_t in[8]);
void haven__be32_put(uint8_t out[4], uint32_t v);
uint32_t haven__be32_get(const uint8_t in[4]);

/**
 * Wall-clock milliseconds since the epoch (CLOCK_REALTIME), or the
 * controlled test clock (lib/clock.c): in a build configured with
 * HAVEN_TEST_CLOCK=ON, when the environment names a clock file in
 * HAVEN_TEST_CLOCK_FILE, the time is read from that file on every call.
 * A release build has no test clock at all.
 */
int64_t haven__now_ms(void);

/** True when haven__now_ms reads the test clock (to log a warning). */
bool haven__test_clock_active(void);

/** clock_gettime(id) in milliseconds. */
int64_t haven__clock_ms(clockid_t id);

/** Monotonic milliseconds (CLOCK_MONOTONIC). */
int64_t haven__mono_ms(void);

/** Checked size arithmetic: HAVEN_EOVERFLOW on overflow. */
HAVEN_NODISCARD haven_err haven__size_add(size_t a, size_t b, size_t *out);
HAVEN_NODISCARD haven_err haven__size_mul(size_t a, size_t b, size_t *out);

/** Make a directory and parents with mode 0700 (existing is fine). */
HAVEN_NODISCARD haven_err haven__mkdirs(const char *path);

/** Map an LMDB return code to haven_err (MDB_MAP_FULL -> HAVEN_EFULL,
 * MDB_NOTFOUND -> HAVEN_ENOTFOUND, corruption -> HAVEN_ECORRUPT, errno ->
 * HAVEN_ESYSERR|errno, else HAVEN_EIO). */
haven_err haven__mdb_err(int rc);

/** True if `s` is well-formed UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF). */
bool haven__utf8_valid(const char *s);

/** Text that may reach a log: NUL-terminated within `cap` bytes and free
 * of C0 control characters and DEL (no log or terminal injection). */
bool haven__text_ok(const char *s, size_t cap);

#endif /* HAVEN_LIB_UTIL_H */
