/*
 * tools/audit_read.c: the verified read of the broker's audit that every
 * havenctl command shares (see audit_read.h).
 *
 * Design notes:
 * - Trust comes from haven_audit_verify alone (chain and signed
 *   checkpoints, with a broker key the administrator names). The walk
 *   then re-links every entry it hands out to that verified head, so a
 *   store rewritten between the two reads is refused, never shown.
 * - The store is opened read-only (MDB_RDONLY): safe while the broker
 *   runs, and nothing here can change the audit.
 * - Entries are decoded by haven_audit_decode (bounded, canonical) into a
 *   heap copy; nothing borrowed from LMDB outlives the transaction.
 */
#include "audit_read.h"

#include <inttypes.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "haven/keys.h"
#include "jsonutil.h"
#include "util.h"

#define ERRLEN 256

/* ------------------------------------------------------------ source */

/* data_dir and the broker .pub path from the broker's config file. */
static int
from_config(const haven__cli *cli, const char *path, haven__audit_src *s)
{
	char err[ERRLEN] = "";
	char keys[PATH_MAX];
	json_t *root = NULL;
	haven_err e;
	size_t n;

	if ((e = haven__json_load(path, &root, err, sizeof(err))) != HAVEN_OK) {
		return (haven__cli_report(cli, e, "--config", err));
	}
	if ((e = haven__json_str(root, "data_dir", true, s->store,
	    sizeof(s->store), "", err, sizeof(err))) != HAVEN_OK ||
	    (e = haven__json_str(root, "keys", true, keys, sizeof(keys), "",
	    err, sizeof(err))) != HAVEN_OK) {
		json_decref(root);
		return (haven__cli_report(cli, e, "--config", err));
	}
	json_decref(root);
	n = strlen(keys);
	if (n < 5 || strcmp(keys + n - 4, ".key") != 0) {
		return (haven__cli_refuse(cli, "keys",
		    "the broker key path must end in .key (the .pub beside it "
		    "is used)"));
	}
	(void) snprintf(s->pub, sizeof(s->pub), "%.*s.pub", (int) (n - 4),
	    keys);
	s->from_config = true;
	return (HAVEN__CLI_OK);
}

int
haven__ctl_audit_source(const haven__cli *cli, const haven__cli_opt *config,
    const haven__cli_opt *store, const haven__cli_opt *pub,
    haven__audit_src *s)
{
	char sf[40], pf[40];

	memset(s, 0, sizeof(*s));
	(void) snprintf(sf, sizeof(sf), "--%s", store->name);
	(void) snprintf(pf, sizeof(pf), "--%s", pub->name);
	if (config->set) {
		if (store->set || pub->set) {
			return (haven__cli_refuse(cli, "--config", "give "
			    "--config or %s with %s, not both", sf, pf));
		}
		return (from_config(cli, config->value, s));
	}
	if (!store->set || !pub->set) {
		return (haven__cli_refuse(cli, store->set ? pf : sf, "give "
		    "--config, or %s and %s", sf, pf));
	}
	if (haven__strlcpy(s->store, store->value, sizeof(s->store)) !=
	    HAVEN_OK || haven__strlcpy(s->pub, pub->value, sizeof(s->pub)) !=
	    HAVEN_OK) {
		return (haven__cli_refuse(cli, sf, "path too long"));
	}
	return (HAVEN__CLI_OK);
}

/* ------------------------------------------------------ open, verify */

/* A missing store in words an operator can act on: a refusal naming the
 * option when it was typed, else a failure. */
static int
no_store(const haven__cli *cli, const char *opt, bool refuse,
    const char *dir, const char *why)
{
	if (refuse) {
		return (haven__cli_refuse(cli, opt, "%s: %s", dir, why));
	}
	return (haven__cli_fail(cli, HAVEN_EIO, "%s: %s", dir, why));
}

int
haven__ctl_audit_open(const haven__cli *cli, haven__audit_src *s,
    const char *store_opt, bool refuse_missing)
{
	char path[PATH_MAX + 16], err[ERRLEN] = "";
	bool refuse = refuse_missing && !s->from_config;
	haven_pubkey pk;
	struct stat st;
	haven_err e;

	if (stat(s->store, &st) != 0 || !S_ISDIR(st.st_mode)) {
		return (no_store(cli, store_opt, refuse, s->store,
		    "no such directory"));
	}
	(void) snprintf(path, sizeof(path), "%s/data.mdb", s->store);
	if (stat(path, &st) != 0) {
		return (no_store(cli, store_opt, refuse, s->store, "not a "
		    "broker store (data.mdb missing: has the broker been "
		    "started?)"));
	}
	if ((e = haven_pubkey_load(&pk, s->pub, err, sizeof(err))) !=
	    HAVEN_OK) {
		return (haven__cli_fail(cli, e, "broker public key %s: %s",
		    s->pub, err[0] ? err : haven_strerror(e)));
	}
	memcpy(s->broker_pk, pk.sign_pk, HAVEN_KEY_BYTES);
	return (HAVEN__CLI_OK);
}

int
haven__ctl_audit_verified(const haven__cli *cli, haven__audit_src *s,
    const char *what)
{
	haven_audit_report rep;
	haven_err e;

	memset(&rep, 0, sizeof(rep));
	if ((e = haven_audit_verify(s->store, s->broker_pk, &rep)) !=
	    HAVEN_OK) {
		return (haven__cli_fail(cli, e, "%s: cannot read the audit "
		    "(%s)", s->store, haven_strerror(e)));
	}
	rep.reason[sizeof(rep.reason) - 1] = '\0';
	if (!rep.ok) {
		return (haven__cli_fail(cli, HAVEN_ECORRUPT, "audit chain "
		    "BROKEN at entry %" PRIu64 ": %s; no %s produced (treat as "
		    "a security incident: docs/admin.md section 7)",
		    rep.first_bad_seq, rep.reason, what));
	}
	s->head_seq = rep.entries;
	memcpy(s->head_hash, rep.head_hash, HAVEN_HASH_BYTES);
	return (HAVEN__CLI_OK);
}

/* -------------------------------------------------------------- walk */

typedef struct chain {
	uint64_t seq; /* next expected */
	uint8_t prev[HAVEN_HASH_BYTES];
	haven_audit_entry e;
	char *err;
	size_t errlen;
} chain;

/* Decode one stored entry and check it continues the chain. */
static haven_err
link_entry(chain *c, const MDB_val *k, const MDB_val *v)
{
	uint8_t hash[HAVEN_HASH_BYTES];

	if (k->mv_size != 8 || haven__be64_get(k->mv_data) != c->seq) {
		haven__errf(c->err, c->errlen, "entry %" PRIu64 " missing",
		    c->seq);
		return (HAVEN_ECORRUPT);
	}
	if (haven_audit_decode(&c->e, v->mv_data, v->mv_size) != HAVEN_OK ||
	    c->e.seq != c->seq ||
	    memcmp(c->e.prev_hash, c->prev, HAVEN_HASH_BYTES) != 0) {
		haven__errf(c->err, c->errlen, "entry %" PRIu64 ": does not "
		    "decode or is off the verified chain", c->seq);
		return (HAVEN_ECORRUPT);
	}
	haven_audit_chain_hash(hash, c->prev, v->mv_data, v->mv_size);
	memcpy(c->prev, hash, HAVEN_HASH_BYTES);
	return (HAVEN_OK);
}

static haven_err
walk_db(MDB_txn *txn, MDB_dbi dbi, uint64_t head_seq, chain *c,
    haven__audit_visit visit, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_cursor_op op = MDB_FIRST;
	haven_err rv = HAVEN_OK;
	int rc;

	if (mdb_cursor_open(txn, dbi, &cur) != 0) {
		return (HAVEN_EIO);
	}
	for (c->seq = 1; c->seq <= head_seq; c->seq++, op = MDB_NEXT) {
		if ((rc = mdb_cursor_get(cur, &k, &v, op)) != 0) {
			haven__errf(c->err, c->errlen, "entry %" PRIu64
			    " missing", c->seq);
			rv = rc == MDB_NOTFOUND ? HAVEN_ECORRUPT : HAVEN_EIO;
			break;
		}
		if ((rv = link_entry(c, &k, &v)) != HAVEN_OK ||
		    (rv = visit(arg, &c->e)) != HAVEN_OK) {
			break;
		}
	}
	mdb_cursor_close(cur);
	return (rv);
}

static haven_err
open_ro(const char *dir, MDB_env **env, MDB_txn **txn, MDB_dbi *dbi,
    bool *have)
{
	int rc;

	*env = NULL;
	*txn = NULL;
	*have = false;
	if (mdb_env_create(env) != 0) {
		return (HAVEN_ENOMEM);
	}
	if (mdb_env_set_maxdbs(*env, 32) != 0 ||
	    mdb_env_open(*env, dir, MDB_RDONLY, 0600) != 0 ||
	    mdb_txn_begin(*env, NULL, MDB_RDONLY, txn) != 0) {
		return (HAVEN_EIO);
	}
	rc = mdb_dbi_open(*txn, "audit", 0, dbi);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return (HAVEN_EIO);
	}
	*have = rc == 0;
	return (HAVEN_OK);
}

haven_err
haven__audit_walk(const char *db_dir, uint64_t head_seq,
    const uint8_t head_hash[HAVEN_HASH_BYTES], haven__audit_visit visit,
    void *arg, char *err, size_t errlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	chain *c;
	bool have;
	haven_err rv;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	c->err = err;
	c->errlen = errlen;
	if ((rv = open_ro(db_dir, &env, &txn, &dbi, &have)) != HAVEN_OK) {
		haven__errf(err, errlen, "cannot open the store read-only");
		goto out;
	}
	if (head_seq > 0 && !have) {
		haven__errf(err, errlen, "the audit database is gone");
		rv = HAVEN_ECORRUPT;
	} else if (head_seq > 0 &&
	    (rv = walk_db(txn, dbi, head_seq, c, visit, arg)) == HAVEN_OK &&
	    memcmp(c->prev, head_hash, HAVEN_HASH_BYTES) != 0) {
		haven__errf(err, errlen, "entry %" PRIu64 ": differs from the "
		    "verified head (the store changed while being read)",
		    head_seq);
		rv = HAVEN_ECORRUPT;
	}
out:
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	if (env != NULL) {
		mdb_env_close(env);
	}
	free(c);
	return (rv);
}

/* --------------------------------------------------------------- CSV */

void
haven__csv_field(FILE *f, const char *s, bool last)
{
	bool formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	size_t n = strlen(s);
	bool quote = strpbrk(s, ",\"\r\n") != NULL || formula ||
	    (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));

	if (quote) {
		(void) fputc('"', f);
	}
	if (formula) {
		(void) fputc('\'', f);
	}
	for (; *s != '\0'; s++) {
		if (*s == '"') {
			(void) fputc('"', f);
		}
		(void) fputc(*s, f);
	}
	if (quote) {
		(void) fputc('"', f);
	}
	(void) fputs(last ? "\r\n" : ",", f);
}
