/*
 * agents/args.c: command-line parsing (see args.h).
 *
 * A small table of value options instead of getopt_long, so the parser
 * behaves the same everywhere and can be fuzzed; nothing is echoed back
 * except option names.
 */
#include "args.h"

#include <stddef.h>
#include <string.h>

#include "util.h"

static const struct {
	const char *name;
	size_t off;
} value_opts[] = {
	{ "--config", offsetof(haven__args, config) },
	{ "--reader", offsetof(haven__args, reader) },
	{ "--role", offsetof(haven__args, role) },
	{ "--case", offsetof(haven__args, case_id) },
	{ "--out", offsetof(haven__args, out) },
	{ "--meeting", offsetof(haven__args, meeting) },
};

/* 1 if handled, 0 if not a value option, -1 on error. */
static int
value_opt(haven__args *a, int argc, char *const *argv, int *i, char *err,
    size_t errlen)
{
	const char *arg = argv[*i];

	for (size_t k = 0; k < sizeof(value_opts) / sizeof(value_opts[0]);
	    k++) {
		size_t n = strlen(value_opts[k].name);
		const char **slot = (const char **) (void *) ((char *) a +
		    value_opts[k].off);
		const char *val;

		if (strncmp(arg, value_opts[k].name, n) != 0 ||
		    (arg[n] != '\0' && arg[n] != '=')) {
			continue;
		}
		if (arg[n] == '=') {
			val = arg + n + 1;
		} else if (*i + 1 < argc) {
			val = argv[++*i];
		} else {
			haven__errf(err, errlen, "%s: needs a value",
			    value_opts[k].name);
			return (-1);
		}
		if (*slot != NULL || val[0] == '\0') {
			haven__errf(err, errlen, "%s: given twice or empty",
			    value_opts[k].name);
			return (-1);
		}
		*slot = val;
		return (1);
	}
	return (0);
}

static haven_err
positional(haven__args *a, const char *arg, char *err, size_t errlen)
{
	if (a->n_pos >= HAVEN__ARGS_POS_MAX) {
		haven__errf(err, errlen, "too many arguments");
		return (HAVEN_EINVAL);
	}
	a->pos[a->n_pos++] = arg;
	return (HAVEN_OK);
}

haven_err
haven__agt_args_parse(haven__args *a, int argc, char *const *argv, char *err,
    size_t errlen)
{
	bool opts = true;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		int r;

		if (!opts || arg[0] != '-' || arg[1] == '\0') {
			if (positional(a, arg, err, errlen) != HAVEN_OK) {
				return (HAVEN_EINVAL);
			}
		} else if (strcmp(arg, "--") == 0) {
			opts = false;
		} else if (strcmp(arg, "--json") == 0) {
			a->json = true;
		} else if (strcmp(arg, "--check") == 0) {
			a->check = true;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg,
		    "-h") == 0) {
			a->help = true;
		} else if ((r = value_opt(a, argc, argv, &i, err,
		    errlen)) < 0) {
			return (HAVEN_EINVAL);
		} else if (r == 0) {
			haven__errf(err, errlen, "unknown option (see --help)");
			return (HAVEN_EINVAL);
		}
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_args_msgid(const char *hex, uint8_t id[HAVEN_MSGID_BYTES])
{
	if (strlen(hex) != 2 * HAVEN_MSGID_BYTES) {
		return (HAVEN_EINVAL);
	}
	return (haven__hex_decode(id, HAVEN_MSGID_BYTES, hex));
}
