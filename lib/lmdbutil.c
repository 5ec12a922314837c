/*
 * lib/lmdbutil.c: LMDB environment open (see lmdbutil.h).
 *
 * Invariant: an environment is opened with default flags only, so no store
 * ever trades durability for speed. Error text names the step and the
 * directory (configuration, not personal data) and LMDB's own message.
 */
#include "lmdbutil.h"

#include "util.h"

haven_err
haven__lmdb_open(MDB_env **env, const char *dir, unsigned int maxdbs,
    size_t map_bytes, char *err, size_t errlen)
{
	MDB_env *e = NULL;
	int rc, dead = 0;

	*env = NULL;
	if ((rc = mdb_env_create(&e)) != 0) {
		haven__errf(err, errlen, "mdb_env_create: %s",
		    mdb_strerror(rc));
		return (haven__mdb_err(rc));
	}
	if ((rc = mdb_env_set_maxdbs(e, (MDB_dbi) maxdbs)) != 0 ||
	    (rc = mdb_env_set_mapsize(e, map_bytes)) != 0 ||
	    (rc = mdb_env_open(e, dir, 0, 0600)) != 0) {
		haven__errf(err, errlen, "%s: cannot open LMDB: %s", dir,
		    mdb_strerror(rc));
		mdb_env_close(e);
		return (haven__mdb_err(rc));
	}
	if ((rc = mdb_reader_check(e, &dead)) != 0) {
		haven__errf(err, errlen, "mdb_reader_check: %s",
		    mdb_strerror(rc));
		mdb_env_close(e);
		return (haven__mdb_err(rc));
	}
	*env = e;
	return (HAVEN_OK);
}
