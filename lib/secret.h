/*
 * lib/secret.h: internal helpers for secret material (defined in keys.c).
 *
 * Key files and the pseudonym key file are read through here so every
 * secret file gets the same permission check, size cap and wiping.
 */
#ifndef HAVEN_LIB_SECRET_H
#define HAVEN_LIB_SECRET_H

#include <jansson.h>

#include "haven/common.h"

/** sodium_init() once; HAVEN_EIO if libsodium cannot initialise. */
HAVEN_NODISCARD haven_err haven__sodium_init(void);

/** Open a secret JSON file: refuse group/other permissions (HAVEN_EAUTH),
 * read into sodium_malloc memory, parse, wipe the text. The caller must
 * wipe secret members with haven__json_wipe_str before json_decref. */
HAVEN_NODISCARD haven_err haven__secret_json_load(const char *path,
    json_t **root, char *err, size_t errlen);

/** Overwrite a string member's bytes in place (jansson owns the memory). */
void haven__json_wipe_str(json_t *obj, const char *key);

#endif /* HAVEN_LIB_SECRET_H */
