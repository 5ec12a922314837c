/*
 * broker/log.h: one line per event on stderr, with a stable id.
 *
 * Every line starts with an id such as HAVEN-BRK-REJECT followed by
 * key=value fields. Callers pass agency ids, message ids (hex), codes and
 * rule ids only: never payload content or personal data.
 */
#ifndef HAVEN_BROKER_LOG_H
#define HAVEN_BROKER_LOG_H

#include <stdint.h>

#include "haven/common.h"

/** Write "<id> <formatted fields>\n" to stderr in one write. */
void haven__blog(const char *id, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Lowercase hex of a message id; out must hold 33 bytes. */
void haven__msgid_hex(char out[2 * HAVEN_MSGID_BYTES + 1],
    const uint8_t id[HAVEN_MSGID_BYTES]);

/** Copy `src` into dst[cap], truncating (always NUL-terminated). For
 * fixed text fields (reasons, ids already validated by their decoder). */
void haven__bcopy(char *dst, size_t cap, const char *src);

#endif /* HAVEN_BROKER_LOG_H */
