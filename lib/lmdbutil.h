/*
 * lib/lmdbutil.h: opening an LMDB environment the one way Haven does it
 * (internal, haven__ prefix; used by the broker and agent stores).
 */
#ifndef HAVEN_LIB_LMDBUTIL_H
#define HAVEN_LIB_LMDBUTIL_H

#include <lmdb.h>

#include "haven/common.h"

/**
 * Create an environment with room for `maxdbs` named databases and a map of
 * `map_bytes`, open it read-write at the existing directory `dir` (mode
 * 0600, default flags: never MDB_NOSYNC/NOMETASYNC, so every commit is
 * fsync'd), then clear the reader slots of dead processes.
 *
 * On success *env is the open environment (close it with mdb_env_close).
 * On failure *env is NULL, everything is closed, `err` (if non-NULL) names
 * the failing step, and the LMDB code is mapped with haven__mdb_err.
 */
HAVEN_NODISCARD haven_err haven__lmdb_open(MDB_env **env, const char *dir,
    unsigned int maxdbs, size_t map_bytes, char *err, size_t errlen);

#endif /* HAVEN_LIB_LMDBUTIL_H */
