/*
 * tests/unit/ctl_tu.h: the harness of the unit tests that run the real
 * havenctl binary (header-only: each tests/unit/test_*.c is its own
 * executable, so shared code lives here as static inline functions).
 *
 * A fixture is a fresh mkdtemp directory, removed with everything in it
 * by ctl_teardown. ctl() runs <build>/havenctl, found next to the test's
 * own executable by ctl_find(argv[0]), with the arguments given, stdout
 * and stderr captured into f->out and f->err; a run that outlives
 * CTL_RUN_TIMEOUT_MS is killed (exit -1). The audit helpers open a
 * broker-layout LMDB store ("audit", "audit_head", "checkpoint" named
 * databases in one environment) as someone with disk access would.
 *
 * Define _XOPEN_SOURCE 700 before the first system header (nftw), and
 * include this after <cmocka.h>. Every helper asserts on failure, so a
 * test still fails at the line that went wrong.
 */
#ifndef HAVEN_TESTS_UNIT_CTL_TU_H
#define HAVEN_TESTS_UNIT_CTL_TU_H

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haven/audit.h"
#include "util.h"

#define CTL_MAX_ARGS 40
#define CTL_RUN_TIMEOUT_MS 20000
#define CTL_PATHS 16

/* A cmocka test with the fixture. */
#define CTL_TEST(fn) cmocka_unit_test_setup_teardown(fn, ctl_setup, \
	ctl_teardown)

static char g_ctl[PATH_MAX];

typedef struct fx {
	char dir[64];
	char store[96]; /* dir/store, for the tests that keep an audit */
	char *out;      /* stdout of the last run */
	char *err;      /* stderr of the last run */
	const char *in; /* stdin of the next run (NULL: inherited) */
} fx;

static inline int
ctl_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return (remove(path));
}

static inline int
ctl_setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void) snprintf(f->dir, sizeof(f->dir), "/tmp/havenctl-tu-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void) snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	*state = f;
	return (0);
}

static inline int
ctl_teardown(void **state)
{
	fx *f = *state;

	(void) nftw(f->dir, ctl_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->out);
	free(f->err);
	free(f);
	return (0);
}

/* Path inside the fixture's directory (CTL_PATHS rotating buffers: use
 * it at once, do not keep it). */
static inline const char *
P(const fx *f, const char *rel)
{
	static char bufs[CTL_PATHS][PATH_MAX];
	static unsigned slot;
	char *b = bufs[slot++ % CTL_PATHS];

	(void) snprintf(b, PATH_MAX, "%s/%s", f->dir, rel);
	return (b);
}

/* A whole file (up to 4 MiB) as a NUL-terminated string, or NULL. */
static inline char *
slurp(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	if (haven__read_file(path, 4u << 20, &buf, &len) != HAVEN_OK) {
		return (NULL);
	}
	return ((char *) buf);
}

/* Write `text` to dir/rel, 0644. */
static inline void
put(const fx *f, const char *rel, const char *text)
{
	assert_int_equal(haven__write_file(P(f, rel), text, strlen(text), 0644,
	    false), HAVEN_OK);
}

static inline int
ctl_wait(pid_t pid)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	int status = 0;

	for (int waited = 0; waited < CTL_RUN_TIMEOUT_MS; waited += 5) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			return (WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status));
		}
		(void) nanosleep(&ts, NULL);
	}
	(void) kill(pid, SIGKILL);
	(void) waitpid(pid, &status, 0);
	return (-1);
}

/* In the child: stdin from the file at `path`. */
static inline int
ctl_stdin(const char *path)
{
	int fi = open(path, O_RDONLY);

	return (fi < 0 || dup2(fi, 0) < 0 ? -1 : 0);
}

/* Run `prog` with argv (NULL-terminated, argv[0] included) and HAVENCTL
 * set, capturing stdout and stderr into f->out / f->err. Returns the
 * exit code (128 + signal if killed by one, -1 on timeout). */
static inline int
run_prog(fx *f, const char *prog, char *const *argv)
{
	const char *o = P(f, ".stdout"), *e = P(f, ".stderr");
	const char *i = P(f, ".stdin");
	pid_t pid;
	int rc;

	free(f->out);
	free(f->err);
	f->out = f->err = NULL;
	if (f->in != NULL) {
		assert_int_equal(haven__write_file(i, f->in, strlen(f->in),
		    0600, false), HAVEN_OK);
	}
	(void) fflush(NULL);
	if ((pid = fork()) == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) {
			_exit(126);
		}
		if (f->in != NULL && ctl_stdin(i) != 0) {
			_exit(126);
		}
		(void) setenv("HAVENCTL", g_ctl, 1);
		execv(prog, argv);
		_exit(127);
	}
	assert_true(pid > 0);
	rc = ctl_wait(pid);
	f->out = slurp(o);
	f->err = slurp(e);
	assert_non_null(f->out);
	assert_non_null(f->err);
	return (rc);
}

/* Run havenctl with the NULL-terminated arguments in `ap`. */
static inline int
ctl_va(fx *f, va_list ap)
{
	char *argv[CTL_MAX_ARGS];
	size_t n = 0;

	argv[n++] = g_ctl;
	while (n < CTL_MAX_ARGS - 1 && (argv[n] = va_arg(ap, char *)) != NULL) {
		n++;
	}
	argv[n] = NULL;
	return (run_prog(f, g_ctl, argv));
}

/* ctl(f, "keygen", "--agency", "x", NULL): run havenctl. */
static inline int
ctl(fx *f, ...)
{
	va_list ap;
	int rc;

	va_start(ap, f);
	rc = ctl_va(f, ap);
	va_end(ap);
	return (rc);
}

/* ctl_in(f, "text", "pseudonym", ..., NULL): run havenctl with `in` on
 * its stdin. */
static inline int
ctl_in(fx *f, const char *in, ...)
{
	va_list ap;
	int rc;

	f->in = in;
	va_start(ap, in);
	rc = ctl_va(f, ap);
	va_end(ap);
	f->in = NULL;
	return (rc);
}

/* g_ctl = the havenctl next to this test's executable. */
static inline void
ctl_find(const char *argv0)
{
	char self[PATH_MAX];
	ssize_t n;

	if (strchr(argv0, '/') != NULL) {
		(void) snprintf(self, sizeof(self), "%s", argv0);
	} else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) >
	    0) {
		self[n] = '\0';
	} else {
		(void) snprintf(self, sizeof(self), "./x");
	}
	(void) snprintf(g_ctl, sizeof(g_ctl), "%s/havenctl", dirname(self));
}

static inline void
assert_contains(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL) {
		print_error("expected \"%s\" in:\n%s\n", needle,
		    hay != NULL ? hay : "(null)");
		fail();
	}
}

/* ------------------------------------------------------ audit stores */

/* Open (creating) the broker-layout store at `path` and begin a write
 * transaction. */
static inline void
ctl_store_begin(const char *path, MDB_env **env, MDB_txn **txn)
{
	assert_int_equal(haven__mkdirs(path), HAVEN_OK);
	assert_int_equal(mdb_env_create(env), 0);
	assert_int_equal(mdb_env_set_maxdbs(*env, 32), 0);
	assert_int_equal(mdb_env_set_mapsize(*env, 8u << 20), 0);
	assert_int_equal(mdb_env_open(*env, path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
}

/* Commit and close what ctl_store_begin opened. */
static inline void
ctl_store_end(MDB_env *env, MDB_txn *txn)
{
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Re-put audit entry `seq` of the store at `path` after `edit` changed
 * it, as someone with disk access would (the chain no longer holds). */
static inline void
ctl_audit_tamper(const char *path, uint64_t seq,
    void (*edit)(haven_audit_entry *))
{
	haven_audit_entry e;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	uint8_t kb[8], *enc = NULL;
	size_t enclen = 0;
	MDB_val k = {sizeof(kb), kb}, v;

	haven__be64_put(kb, seq);
	ctl_store_begin(path, &env, &txn);
	assert_int_equal(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_int_equal(haven_audit_decode(&e, v.mv_data, v.mv_size),
	    HAVEN_OK);
	edit(&e);
	assert_int_equal(haven_audit_encode(&e, &enc, &enclen), HAVEN_OK);
	v.mv_data = enc;
	v.mv_size = enclen;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	ctl_store_end(env, txn);
	free(enc);
}

#endif /* HAVEN_TESTS_UNIT_CTL_TU_H */
