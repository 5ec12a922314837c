/*
 * lib/pbutil.h: strict protobuf-c helpers shared by the modules that adapt
 * generated structs (internal, haven__ prefix).
 *
 * Every decoder in libhaven follows the same order: cap the length before
 * protobuf-c allocates, unpack, copy each field with an exact length (bytes)
 * or a refusal when it does not fit (strings, never truncated), and insist on
 * the canonical encoding (no unknown fields, re-encodes to the same length)
 * so that one buffer has one meaning. These helpers are those steps.
 */
#ifndef HAVEN_LIB_PBUTIL_H
#define HAVEN_LIB_PBUTIL_H

#include <protobuf-c/protobuf-c.h>

#include "haven/common.h"

/** A ProtobufCBinaryData that borrows `n` bytes at `p` (for packing). */
ProtobufCBinaryData haven__pb_bin(const uint8_t *p, size_t n);

/** Bytes field of exactly `n` bytes into `dst`; HAVEN_EINVAL otherwise. */
HAVEN_NODISCARD haven_err haven__pb_bytes(uint8_t *dst, size_t n,
    const ProtobufCBinaryData *b);

/** String field into dst[cap] (NULL reads as ""); HAVEN_EINVAL, and dst
 * untouched, if it does not fit. */
HAVEN_NODISCARD haven_err haven__pb_str(char *dst, size_t cap,
    const char *src);

/**
 * Unpack `len` bytes as a `desc` message: HAVEN_EMSGSIZE over `max` (before
 * any allocation), HAVEN_EINVAL for a NULL buffer with a length,
 * HAVEN_EDECODE if protobuf-c refuses. Free `*out` with
 * protobuf_c_message_free_unpacked(*out, NULL).
 */
HAVEN_NODISCARD haven_err haven__pb_unpack(
    const ProtobufCMessageDescriptor *desc, size_t max, const uint8_t *buf,
    size_t len, ProtobufCMessage **out);

/** True if `m` has no unknown top-level fields and packs to exactly `len`
 * bytes (no repeated, non-canonical or NUL-cut fields). */
bool haven__pb_canonical(const ProtobufCMessage *m, size_t len);

/** Pack `m` into a malloc'd buffer (never NULL, even when empty);
 * HAVEN_EMSGSIZE if it packs to more than `max` bytes, HAVEN_ENOMEM. */
HAVEN_NODISCARD haven_err haven__pb_pack(const ProtobufCMessage *m,
    size_t max, uint8_t **out, size_t *out_len);

#endif /* HAVEN_LIB_PBUTIL_H */
