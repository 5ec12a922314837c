/*
 * tools/cli.h: havenctl's shared option parsing, output and exit codes.
 *
 * Every havenctl command parses its arguments with haven__cli_parse against
 * a table of options, and reports through haven__cli_refuse (exit 2: the
 * input or a sharing rule refused it, naming the field or rule) or
 * haven__cli_fail (exit 1: anything else). With --json the same facts go to
 * stdout as one JSON object, so scripts and tests never scrape prose.
 *
 * Nothing here prints a secret or a document's personal content: messages
 * name files, fields, agency ids and codes only.
 */
#ifndef HAVEN_TOOLS_CLI_H
#define HAVEN_TOOLS_CLI_H

#include <jansson.h>

#include "haven/common.h"

#define HAVEN__CLI_OK 0
#define HAVEN__CLI_ERROR 1
#define HAVEN__CLI_REFUSED 2

#define HAVEN__CLI_LIST_MAX 32 /* repeated options (--attr, --tag) */
#define HAVEN__CLI_POS_MAX 4   /* positional arguments */

typedef enum {
	HAVEN__CLI_FLAG,  /* --force */
	HAVEN__CLI_VALUE, /* --out DIR or --out=DIR */
	HAVEN__CLI_LIST   /* --tag k=v, repeatable */
} haven__cli_kind;

typedef struct haven__cli_opt {
	const char *name; /* without the leading "--" */
	haven__cli_kind kind;
	bool set;
	const char *value;
	size_t n_list;
	const char *list[HAVEN__CLI_LIST_MAX];
} haven__cli_opt;

/* What one command invocation is doing; carried to every report. */
typedef struct haven__cli {
	const char *cmd;  /* "directory add", for messages */
	bool json;        /* --json given */
	size_t n_pos;
	const char *pos[HAVEN__CLI_POS_MAX];
} haven__cli;

/**
 * Parse argv[1..argc) against `opts` (n entries). "--json" is always
 * accepted and sets cli->json; "--help" makes the return value
 * HAVEN__CLI_OK with *help set. Unknown options, missing values and too
 * many positionals are refused with a message.
 * @return HAVEN__CLI_OK or HAVEN__CLI_REFUSED.
 */
int haven__cli_parse(haven__cli *cli, int argc, char **argv,
    haven__cli_opt *opts, size_t n, size_t max_pos, bool *help);

/** The option named `name` in `opts` (which must contain it). */
haven__cli_opt *haven__cli_get(haven__cli_opt *opts, size_t n,
    const char *name);

/** Refuse a missing required option: exit 2 naming "--name". */
int haven__cli_require(haven__cli *cli, haven__cli_opt *opts, size_t n,
    const char *const *names);

/** Report a refusal naming `field` (an option, a document field or a
 * rule); returns HAVEN__CLI_REFUSED. */
int haven__cli_refuse(const haven__cli *cli, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Report another error; returns HAVEN__CLI_ERROR. */
int haven__cli_fail(const haven__cli *cli, haven_err err, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/** Report `err` from a library call the way its class deserves: refusal
 * (exit 2) for bad or forged input, failure (exit 1) otherwise. */
int haven__cli_report(const haven__cli *cli, haven_err err,
    const char *field, const char *detail);

/** Exit code that `err` deserves (0, 1 or 2). */
int haven__cli_exit_for(haven_err err);

/** With --json: print `obj` as one line and take ownership of it. Without:
 * just release it. */
void haven__cli_emit(const haven__cli *cli, json_t *obj);

/** Split "key=value" into bounded buffers; HAVEN_EINVAL if no '=', an
 * empty key, or a part that does not fit. */
HAVEN_NODISCARD haven_err haven__cli_kv(const char *arg, char *key,
    size_t keylen, char *val, size_t vallen);

/** Hex of `len` bytes as a new JSON string (NULL on OOM). */
json_t *haven__cli_hex(const uint8_t *buf, size_t len);

/** Load the admin public key file at `path` into `pk` (its Ed25519 signing
 * key); reports and returns the exit code on failure, naming `field`. */
int haven__cli_admin_pub(const haven__cli *cli, const char *field,
    const char *path, uint8_t pk[HAVEN_KEY_BYTES]);

/** Read a document source (at most HAVEN_DOC_MAX bytes, NUL-terminated)
 * into a malloc'd `*buf`; on failure reports it (oversize is a refusal
 * naming `field`) and returns the exit code. */
int haven__cli_read_doc(const haven__cli *cli, const char *field,
    const char *path, uint8_t **buf, size_t *len);

/** Report the result `rv` of writing `path`: an existing file (HAVEN_EEXIST)
 * is a refusal naming --out, anything else a failure. */
int haven__cli_written(const haven__cli *cli, haven_err rv,
    const char *path);

/** Given the result `e` of signing into `doc`, write the signed document
 * to `out` (0644) and free `doc`; reports and returns the exit code. */
int haven__cli_write_signed(const haven__cli *cli, haven_err e, uint8_t *doc,
    size_t len, const char *out);

/* Subcommand table: "directory add" etc. */
typedef struct haven__cli_sub {
	const char *name;
	int (*run)(haven__cli *cli, int argc, char **argv);
	const char *usage;
} haven__cli_sub;

/** Run the subcommand named by argv[1] from `subs` (n entries), with
 * cli->cmd set to "<group> <sub>"; --help lists them. */
int haven__cli_dispatch(const char *group, const char *group_usage,
    const haven__cli_sub *subs, size_t n, int argc, char **argv);

/** Parse for a subcommand and print its usage on --help: returns -1 when
 * the caller should go on, else the exit code to return. */
int haven__cli_start(haven__cli *cli, const char *usage, int argc,
    char **argv, haven__cli_opt *opts, size_t n, size_t max_pos);

/* Command entry points: argv[0] is the command word. */
int haven__ctl_keygen(int argc, char **argv);
int haven__ctl_directory(int argc, char **argv);
int haven__ctl_policy(int argc, char **argv);
int haven__ctl_audit(int argc, char **argv);
int haven__ctl_pseudonym(int argc, char **argv); /* pseudonym_cmd.c */

#endif /* HAVEN_TOOLS_CLI_H */
