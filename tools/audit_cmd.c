/*
 * tools/audit_cmd.c: `havenctl audit verify` (and the group's table:
 * `audit list` is audit_list.c).
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
#include <stdio.h>
#include <string.h>

#include "audit_read.h"
#include "cli.h"
#include "haven/audit.h"
#include "util.h"

static const char group_usage[] =
    "usage: havenctl audit SUBCOMMAND [OPTIONS] [--json]\n\n"
    "Check and query the broker's tamper-evident audit chain.\n";

static const char verify_usage[] =
    "havenctl audit verify (--config broker.json | --data-dir DIR\n"
    "    --broker-pub broker.pub) [--json]\n"
    "  Recompute the audit hash chain and check every signed checkpoint.\n"
    "  With --config, the store is the config's data_dir and the broker's\n"
    "  public key is the .pub file next to its \"keys\" file.\n"
    "  Exit 0 verified, 2 chain broken, 1 store cannot be read.\n";

enum { A_CONFIG, A_DATA, A_PUB, A_COUNT };

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
	haven__audit_src src;
	haven_err e;
	int rv;

	if ((rv = haven__cli_start(cli, verify_usage, argc, argv, o, A_COUNT,
	    0)) >= 0 || (rv = haven__ctl_audit_source(cli, &o[A_CONFIG],
	    &o[A_DATA], &o[A_PUB], &src)) != HAVEN__CLI_OK ||
	    (rv = haven__ctl_audit_open(cli, &src, "--data-dir", false)) !=
	    HAVEN__CLI_OK) {
		return (rv);
	}
	memset(&rep, 0, sizeof(rep));
	if ((e = haven_audit_verify(src.store, src.broker_pk, &rep)) !=
	    HAVEN_OK) {
		return (haven__cli_fail(cli, e, "%s: cannot read the audit "
		    "store (%s)", src.store, haven_strerror(e)));
	}
	rep.reason[sizeof(rep.reason) - 1] = '\0';
	print_report(cli, &rep);
	return (rep.ok ? HAVEN__CLI_OK : HAVEN__CLI_REFUSED);
}

static const haven__cli_sub subs[] = {
	{"verify", cmd_verify, verify_usage},
	{"list", haven__ctl_audit_list, haven__audit_list_usage},
};

int
haven__ctl_audit(int argc, char **argv)
{
	return (haven__cli_dispatch("audit", group_usage, subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv));
}
