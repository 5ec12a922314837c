/*
 * tools/audit_read.h: reading the broker's audit for havenctl, the one way
 * every command does it (audit verify, audit list, report encompass).
 *
 *   haven__ctl_audit_source(cli, --config, --store|--data-dir, --broker-pub)
 *       which store and which broker key, from the broker's config or
 *       from the command line;
 *   haven__ctl_audit_verified(cli, &src, "report")
 *       the broker key loaded, the store checked, the whole chain and its
 *       checkpoints verified (a broken chain refuses, exit 1, naming the
 *       first bad entry); src.head_* is then the verified head;
 *   haven__audit_walk(src.store, src.head_seq, src.head_hash, fn, arg)
 *       entries 1..head in sequence order, each one re-linked to the chain
 *       as it is read, so a caller sees exactly the entries verified.
 *
 * The broker key always comes from a file the administrator names (or the
 * .pub beside the key its config names), never from the store itself.
 */
#ifndef HAVEN_TOOLS_AUDIT_READ_H
#define HAVEN_TOOLS_AUDIT_READ_H

#include <limits.h>
#include <stdio.h>

#include "cli.h"
#include "haven/audit.h"

typedef struct haven__audit_src {
	char store[PATH_MAX];    /* the broker's data_dir */
	char pub[PATH_MAX];      /* the broker's public key file */
	bool from_config;        /* both came from --config */
	uint8_t broker_pk[HAVEN_KEY_BYTES]; /* set by _open */
	uint64_t head_seq;       /* set by _verified */
	uint8_t head_hash[HAVEN_HASH_BYTES];
} haven__audit_src;

/**
 * Fill `s` from `config` (a broker.json: its data_dir, and the .pub file
 * beside its "keys" file) or from `store` and `pub` (the option names in
 * messages are theirs: --store or --data-dir, --broker-pub). Giving both
 * forms, or neither, or only half of the second, is refused.
 * @return HAVEN__CLI_OK, or the exit code after reporting (2 for a bad
 *   command line or config field, 1 for a config that cannot be read).
 */
int haven__ctl_audit_source(const haven__cli *cli,
    const haven__cli_opt *config, const haven__cli_opt *store,
    const haven__cli_opt *pub, haven__audit_src *s);

/**
 * Load the broker public key (exit 1 if it cannot be read) and check that
 * s->store is a broker store (a directory holding data.mdb). A store
 * missing is refused (exit 2, naming the --store/--data-dir option) when
 * `refuse_missing` and the path came from the command line; otherwise it
 * is a failure (exit 1).
 * @return HAVEN__CLI_OK or the exit code after reporting.
 */
int haven__ctl_audit_open(const haven__cli *cli, haven__audit_src *s,
    const char *store_opt, bool refuse_missing);

/**
 * haven_audit_verify the store with s->broker_pk (call _open first); set
 * s->head_seq / head_hash to the verified head. A broken chain is
 * reported, naming the first bad entry and saying no `what` was produced,
 * and returns 1.
 * @return HAVEN__CLI_OK or HAVEN__CLI_ERROR after reporting.
 */
int haven__ctl_audit_verified(const haven__cli *cli, haven__audit_src *s,
    const char *what);

/** Called once per entry, in sequence order; a non-OK return stops the
 * walk and is returned by it. `e` is valid only during the call. */
typedef haven_err (*haven__audit_visit)(void *arg,
    const haven_audit_entry *e);

/**
 * Open the store in `db_dir` read-only and visit entries 1..head_seq,
 * recomputing the hash chain as it goes: every entry must decode, carry
 * its sequence number and the previous entry's hash, and entry head_seq
 * must hash to `head_hash` (the head haven_audit_verify vouched for).
 * Entries after head_seq are not read. The last entry is visited before
 * the head is compared, so a caller must not act on what it was shown
 * until this returns HAVEN_OK.
 * @return HAVEN_OK, HAVEN_EIO (cannot open), HAVEN_ENOMEM, HAVEN_ECORRUPT
 *   (an entry missing, undecodable or off the chain; `err` names it), or
 *   what `visit` returned.
 */
HAVEN_NODISCARD haven_err haven__audit_walk(const char *db_dir,
    uint64_t head_seq, const uint8_t head_hash[HAVEN_HASH_BYTES],
    haven__audit_visit visit, void *arg, char *err, size_t errlen);

/** One RFC 4180 CSV field and its separator (',' or CRLF when `last`):
 * quoted when it holds a comma, quote, CR or LF or starts or ends with a
 * space; a field starting with = + - @ TAB or CR gets a leading ' so a
 * spreadsheet never runs it as a formula. */
void haven__csv_field(FILE *f, const char *s, bool last);

/** `havenctl audit list` (audit_list.c); argv[0] is "list". */
int haven__ctl_audit_list(haven__cli *cli, int argc, char **argv);

/** Its usage text (for the group's --help). */
extern const char haven__audit_list_usage[];

#endif /* HAVEN_TOOLS_AUDIT_READ_H */
