/*
 * tools/cli.c: option parsing and reporting for havenctl (see cli.h).
 *
 * The parser is table-driven and allocation-free: option values are
 * borrowed argv pointers, repeated options are capped at
 * HAVEN__CLI_LIST_MAX, and anything not in the table is refused, so a typo
 * in an administrator's command never silently changes what is signed.
 * Reports go to stderr as prose and, with --json, to stdout as one object
 * naming the field or rule; they never contain key material.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/keys.h"
#include "util.h"

haven__cli_opt *
haven__cli_get(haven__cli_opt *opts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(opts[i].name, name) == 0) {
			return (&opts[i]);
		}
	}
	return (NULL);
}

static haven__cli_opt *
lookup(haven__cli_opt *opts, size_t n, const char *arg, const char **inline_val,
    size_t *namelen)
{
	const char *eq = strchr(arg, '=');

	*namelen = eq != NULL ? (size_t) (eq - arg) : strlen(arg);
	*inline_val = eq != NULL ? eq + 1 : NULL;
	for (size_t i = 0; i < n; i++) {
		if (strlen(opts[i].name) == *namelen &&
		    strncmp(opts[i].name, arg, *namelen) == 0) {
			return (&opts[i]);
		}
	}
	return (NULL);
}

static int
store(const haven__cli *cli, haven__cli_opt *o, const char *val)
{
	if (o->kind == HAVEN__CLI_FLAG) {
		if (val != NULL) {
			return (haven__cli_refuse(cli, o->name,
			    "--%s takes no value", o->name));
		}
		o->set = true;
		return (HAVEN__CLI_OK);
	}
	if (val == NULL) {
		return (haven__cli_refuse(cli, o->name, "--%s needs a value",
		    o->name));
	}
	if (o->kind == HAVEN__CLI_LIST) {
		if (o->n_list >= HAVEN__CLI_LIST_MAX) {
			return (haven__cli_refuse(cli, o->name,
			    "--%s given more than %d times", o->name,
			    HAVEN__CLI_LIST_MAX));
		}
		o->list[o->n_list++] = val;
	}
	o->set = true;
	o->value = val;
	return (HAVEN__CLI_OK);
}

/* One "--name[=value]" at argv[*i]; advances *i past a separate value. */
static int
option(haven__cli *cli, int argc, char **argv, int *i, haven__cli_opt *opts,
    size_t n, bool *help)
{
	const char *arg = argv[*i] + 2;
	const char *val;
	haven__cli_opt *o;
	size_t nl;

	if (strcmp(arg, "json") == 0) {
		cli->json = true;
		return (HAVEN__CLI_OK);
	}
	if (strcmp(arg, "help") == 0) {
		*help = true;
		return (HAVEN__CLI_OK);
	}
	if ((o = lookup(opts, n, arg, &val, &nl)) == NULL) {
		return (haven__cli_refuse(cli, "option",
		    "unknown option --%.*s (try --help)", (int) nl, arg));
	}
	if (val == NULL && o->kind != HAVEN__CLI_FLAG && *i + 1 < argc) {
		val = argv[++(*i)];
	}
	return (store(cli, o, val));
}

int
haven__cli_parse(haven__cli *cli, int argc, char **argv, haven__cli_opt *opts,
    size_t n, size_t max_pos, bool *help)
{
	bool only_pos = false;
	int rv;

	*help = false;
	for (int i = 1; i < argc; i++) {
		if (!only_pos && strcmp(argv[i], "--") == 0) {
			only_pos = true;
		} else if (!only_pos && strncmp(argv[i], "--", 2) == 0) {
			if ((rv = option(cli, argc, argv, &i, opts, n, help)) !=
			    HAVEN__CLI_OK) {
				return (rv);
			}
		} else if (cli->n_pos >= max_pos ||
		    cli->n_pos >= HAVEN__CLI_POS_MAX) {
			return (haven__cli_refuse(cli, "argument",
			    "unexpected argument (try --help)"));
		} else {
			cli->pos[cli->n_pos++] = argv[i];
		}
	}
	return (HAVEN__CLI_OK);
}

int
haven__cli_require(haven__cli *cli, haven__cli_opt *opts, size_t n,
    const char *const *names)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		haven__cli_opt *o = haven__cli_get(opts, n, names[i]);

		if (o == NULL || !o->set) {
			return (haven__cli_refuse(cli, names[i],
			    "--%s is required (try --help)", names[i]));
		}
	}
	return (HAVEN__CLI_OK);
}

static void vreport(const haven__cli *cli, const char *code,
    const char *field, int xc, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void report_err(const haven__cli *cli, haven_err err,
    const char *field, int xc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
vreport(const haven__cli *cli, const char *code, const char *field, int xc,
    const char *fmt, va_list ap)
{
	char msg[512];

	(void) vsnprintf(msg, sizeof(msg), fmt, ap);
	if (field != NULL) {
		(void) fprintf(stderr, "havenctl %s: %s: %s\n", cli->cmd, field,
		    msg);
	} else {
		(void) fprintf(stderr, "havenctl %s: %s\n", cli->cmd, msg);
	}
	if (cli->json) {
		json_t *o = json_pack("{s:b, s:i, s:s, s:s, s:s?}", "ok", 0,
		    "exit", xc, "error", code, "message", msg, "field", field);

		haven__cli_emit(cli, o);
	}
}

int
haven__cli_refuse(const haven__cli *cli, const char *field, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, "EINVAL", field, HAVEN__CLI_REFUSED, fmt, ap);
	va_end(ap);
	return (HAVEN__CLI_REFUSED);
}

int
haven__cli_fail(const haven__cli *cli, haven_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, haven_err_name(err), NULL, HAVEN__CLI_ERROR, fmt, ap);
	va_end(ap);
	return (HAVEN__CLI_ERROR);
}

int
haven__cli_exit_for(haven_err err)
{
	switch ((int) err) {
	case HAVEN_OK:
		return (HAVEN__CLI_OK);
	case HAVEN_EINVAL:
	case HAVEN_EMSGSIZE:
	case HAVEN_EDECODE:
	case HAVEN_EVERSION:
	case HAVEN_ESIG:
	case HAVEN_EAUTH:
	case HAVEN_EREVOKED:
	case HAVEN_EUNKNOWN:
	case HAVEN_EPOLICY:
	case HAVEN_EVALIDATE:
	case HAVEN_ENOTFOUND:
	case HAVEN_EEXIST:
	case HAVEN_ESTALE:
		return (HAVEN__CLI_REFUSED);
	default:
		return (HAVEN__CLI_ERROR);
	}
}

static void
report_err(const haven__cli *cli, haven_err err, const char *field, int xc,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, haven_err_name(err), field, xc, fmt, ap);
	va_end(ap);
}

int
haven__cli_report(const haven__cli *cli, haven_err err, const char *field,
    const char *detail)
{
	int xc = haven__cli_exit_for(err);

	if (xc == HAVEN__CLI_OK) {
		return (xc);
	}
	if (detail == NULL || detail[0] == '\0') {
		detail = haven_strerror(err);
	}
	report_err(cli, err, field, xc, "%s (%s)", detail,
	    haven_err_name(err));
	return (xc);
}

void
haven__cli_emit(const haven__cli *cli, json_t *obj)
{
	if (obj == NULL) {
		return;
	}
	if (cli->json) {
		char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);

		if (s != NULL) {
			(void) printf("%s\n", s);
			free(s);
		}
	}
	json_decref(obj);
}

haven_err
haven__cli_kv(const char *arg, char *key, size_t keylen, char *val,
    size_t vallen)
{
	const char *eq = strchr(arg, '=');
	size_t kl;

	if (eq == NULL || eq == arg) {
		return (HAVEN_EINVAL);
	}
	kl = (size_t) (eq - arg);
	if (kl >= keylen || strlen(eq + 1) >= vallen) {
		return (HAVEN_EINVAL);
	}
	memcpy(key, arg, kl);
	key[kl] = '\0';
	(void) snprintf(val, vallen, "%s", eq + 1);
	return (HAVEN_OK);
}

json_t *
haven__cli_hex(const uint8_t *buf, size_t len)
{
	char hex[2 * 64 + 1];

	if (len > 64) {
		return (NULL);
	}
	haven__hex_encode(hex, buf, len);
	return (json_string(hex));
}

int
haven__cli_admin_pub(const haven__cli *cli, const char *field,
    const char *path, uint8_t pk[HAVEN_KEY_BYTES])
{
	haven_pubkey pub;
	char err[256] = "";
	haven_err rv;

	if ((rv = haven_pubkey_load(&pub, path, err, sizeof(err))) !=
	    HAVEN_OK) {
		return (haven__cli_report(cli, rv, field, err));
	}
	memcpy(pk, pub.sign_pk, HAVEN_KEY_BYTES);
	return (HAVEN__CLI_OK);
}

int
haven__cli_read_doc(const haven__cli *cli, const char *field,
    const char *path, uint8_t **buf, size_t *len)
{
	haven_err rv = haven__read_file(path, HAVEN_DOC_MAX, buf, len);

	if (rv == HAVEN_EMSGSIZE) {
		return (haven__cli_refuse(cli, field,
		    "%s: larger than %u bytes", path, HAVEN_DOC_MAX));
	}
	if (rv != HAVEN_OK) {
		return (haven__cli_fail(cli, rv, "%s: cannot read (%s)", path,
		    haven_strerror(rv)));
	}
	return (HAVEN__CLI_OK);
}

int
haven__cli_written(const haven__cli *cli, haven_err rv, const char *path)
{
	if (rv == HAVEN_EEXIST) {
		return (haven__cli_refuse(cli, "--out",
		    "%s exists (use --force to replace it)", path));
	}
	if (rv != HAVEN_OK) {
		return (haven__cli_fail(cli, rv, "%s: cannot write (%s)", path,
		    haven_strerror(rv)));
	}
	return (HAVEN__CLI_OK);
}

int
haven__cli_write_signed(const haven__cli *cli, haven_err e, uint8_t *doc,
    size_t len, const char *out)
{
	if (e == HAVEN_OK) {
		e = haven__write_file(out, doc, len, 0644, false);
	}
	free(doc);
	if (e != HAVEN_OK) {
		return (haven__cli_fail(cli, e, "%s: cannot sign or write (%s)",
		    out, haven_strerror(e)));
	}
	return (HAVEN__CLI_OK);
}

static void
list_subs(FILE *f, const char *group_usage, const haven__cli_sub *subs,
    size_t n)
{
	(void) fputs(group_usage, f);
	for (size_t i = 0; i < n; i++) {
		(void) fprintf(f, "\n%s", subs[i].usage);
	}
}

int
haven__cli_dispatch(const char *group, const char *group_usage,
    const haven__cli_sub *subs, size_t n, int argc, char **argv)
{
	char cmd[64];
	haven__cli cli = {.cmd = group};

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		list_subs(argc < 2 ? stderr : stdout, group_usage, subs, n);
		return (argc < 2 ? HAVEN__CLI_REFUSED : HAVEN__CLI_OK);
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], subs[i].name) == 0) {
			(void) snprintf(cmd, sizeof(cmd), "%s %s", group,
			    subs[i].name);
			cli.cmd = cmd;
			return (subs[i].run(&cli, argc - 1, argv + 1));
		}
	}
	return (haven__cli_refuse(&cli, "command",
	    "unknown subcommand (try 'havenctl %s --help')", group));
}

int
haven__cli_start(haven__cli *cli, const char *usage, int argc,
    char **argv, haven__cli_opt *opts, size_t n, size_t max_pos)
{
	bool help = false;
	int rv;

	rv = haven__cli_parse(cli, argc, argv, opts, n, max_pos, &help);
	if (help) {
		(void) fputs(usage, stdout);
		return (HAVEN__CLI_OK);
	}
	return (rv == HAVEN__CLI_OK ? -1 : rv);
}
