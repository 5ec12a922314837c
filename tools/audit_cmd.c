/*
 * tools/audit_cmd.c: `havenctl audit verify`.
 *
 * Recomputes the broker's audit hash chain and checks every signed
 * checkpoint with the broker's public key (haven_audit_verify opens the
 * store read-only, so it is safe while the broker runs). The broker key is
 * taken from a file the administrator names, never from the store being
 * checked: a store that carried its own verification key could be
 * rewritten and re-signed by whoever rewrote it. Exit 0: the chain
 * verified; 2: it is broken (the first bad entry and why are printed);
 * 1: the store or key cannot be read.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "haven/audit.h"
#include "haven/keys.h"
#include "jsonutil.h"
#include "util.h"

#define ERRLEN 256

static const char group_usage[] =
    "usage: havenctl audit SUBCOMMAND [OPTIONS] [--json]\n\n"
    "Check the broker's tamper-evident audit chain.\n";

static const char verify_usage[] =
    "havenctl audit verify (--config broker.json | --data-dir DIR\n"
    "    --broker-pub broker.pub) [--json]\n"
    "  Recompute the audit hash chain and check every signed checkpoint.\n"
    "  With --config, the store is the config's data_dir and the broker's\n"
    "  public key is the .pub file next to its \"keys\" file.\n"
    "  Exit 0 verified, 2 chain broken, 1 store cannot be read.\n";

enum { A_CONFIG, A_DATA, A_PUB, A_COUNT };

typedef struct target {
	char data_dir[PATH_MAX];
	char pub[PATH_MAX];
} target;

/* data_dir and the broker .pub path from the broker's config file. */
static int
from_config(const haven__cli *cli, const char *path, target *t)
{
	char err[ERRLEN] = "";
	char keys[PATH_MAX];
	json_t *root = NULL;
	haven_err e;
	size_t n;

	if ((e = haven__json_load(path, &root, err, sizeof(err))) != HAVEN_OK) {
		return (haven__cli_report(cli, e, "--config", err));
	}
	if ((e = haven__json_str(root, "data_dir", true, t->data_dir,
	    sizeof(t->data_dir), "", err, sizeof(err))) != HAVEN_OK ||
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
	(void) snprintf(t->pub, sizeof(t->pub), "%.*s.pub", (int) (n - 4),
	    keys);
	return (HAVEN__CLI_OK);
}

static int
pick(const haven__cli *cli, haven__cli_opt *o, target *t)
{
	if (o[A_CONFIG].set) {
		if (o[A_DATA].set || o[A_PUB].set) {
			return (haven__cli_refuse(cli, "--config", "give "
			    "--config or --data-dir with --broker-pub, not both"));
		}
		return (from_config(cli, o[A_CONFIG].value, t));
	}
	if (!o[A_DATA].set || !o[A_PUB].set) {
		return (haven__cli_refuse(cli, o[A_DATA].set ? "--broker-pub" :
		    "--data-dir", "give --config, or --data-dir and "
		    "--broker-pub"));
	}
	if (haven__strlcpy(t->data_dir, o[A_DATA].value,
	    sizeof(t->data_dir)) != HAVEN_OK ||
	    haven__strlcpy(t->pub, o[A_PUB].value, sizeof(t->pub)) !=
	    HAVEN_OK) {
		return (haven__cli_refuse(cli, "--data-dir", "path too long"));
	}
	return (HAVEN__CLI_OK);
}

/* A clearer word than "storage error" for the common cases. */
static int
have_store(const haven__cli *cli, const char *dir)
{
	char path[PATH_MAX + 16];
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		return (haven__cli_fail(cli, HAVEN_EIO, "%s: no such directory",
		    dir));
	}
	(void) snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) != 0) {
		return (haven__cli_fail(cli, HAVEN_EIO, "%s: no broker store "
		    "here (data.mdb missing: has the broker been started?)",
		    dir));
	}
	return (HAVEN__CLI_OK);
}

static void
print_report(const haven__cli *cli, const haven_audit_report *r)
{
	char head[2 * HAVEN_HASH_BYTES + 1];

	haven__hex_encode(head, r->head_hash, sizeof(r->head_hash));
	if (!cli->json) {
		(void) printf("entries: %llu\ncheckpoints: %llu\nhead: %s\n",
		    (unsigned long long) r->entries,
		    (unsigned long long) r->checkpoints, head);
		if (r->ok) {
			(void) printf("audit chain verified\n");
		} else {
			(void) printf("audit chain BROKEN at entry %llu: %s\n",
			    (unsigned long long) r->first_bad_seq, r->reason);
		}
	}
	haven__cli_emit(cli, json_pack("{s:b, s:b, s:I, s:I, s:s, s:I, s:s}",
	    "ok", r->ok, "verified", r->ok, "entries", (json_int_t) r->entries,
	    "checkpoints", (json_int_t) r->checkpoints, "head", head,
	    "first_bad_seq", (json_int_t) r->first_bad_seq, "reason",
	    r->ok ? "" : r->reason));
}

static int
cmd_verify(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[A_COUNT] = {
		[A_CONFIG] = {.name = "config", .kind = HAVEN__CLI_VALUE},
		[A_DATA] = {.name = "data-dir", .kind = HAVEN__CLI_VALUE},
		[A_PUB] = {.name = "broker-pub", .kind = HAVEN__CLI_VALUE},
	};
	haven_audit_report rep;
	haven_pubkey pk;
	char err[ERRLEN] = "";
	haven_err e;
	target t;
	int rv;

	if ((rv = haven__cli_start(cli, verify_usage, argc, argv, o, A_COUNT,
	    0)) >= 0 || (rv = pick(cli, o, &t)) != HAVEN__CLI_OK) {
		return (rv);
	}
	if ((e = haven_pubkey_load(&pk, t.pub, err, sizeof(err))) !=
	    HAVEN_OK) {
		return (haven__cli_fail(cli, e, "broker public key %s: %s",
		    t.pub, err[0] ? err : haven_strerror(e)));
	}
	if ((rv = have_store(cli, t.data_dir)) != HAVEN__CLI_OK) {
		return (rv);
	}
	memset(&rep, 0, sizeof(rep));
	if ((e = haven_audit_verify(t.data_dir, pk.sign_pk, &rep)) !=
	    HAVEN_OK) {
		return (haven__cli_fail(cli, e, "%s: cannot read the audit "
		    "store (%s)", t.data_dir, haven_strerror(e)));
	}
	rep.reason[sizeof(rep.reason) - 1] = '\0';
	print_report(cli, &rep);
	return (rep.ok ? HAVEN__CLI_OK : HAVEN__CLI_REFUSED);
}

static const haven__cli_sub subs[] = {
	{"verify", cmd_verify, verify_usage},
};

int
haven__ctl_audit(int argc, char **argv)
{
	return (haven__cli_dispatch("audit", group_usage, subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv));
}
