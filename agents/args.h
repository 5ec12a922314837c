/*
 * agents/args.h: haven-agent's command line.
 *
 *   haven-agent [--config FILE] [--json] COMMAND [ARGS] [OPTIONS]
 *
 * Options may come before or after the command; "--" ends them. Values
 * are borrowed from argv.
 */
#ifndef HAVEN_AGENTS_ARGS_H
#define HAVEN_AGENTS_ARGS_H

#include "haven/common.h"

#define HAVEN__ARGS_POS_MAX 4

typedef struct haven__args {
	const char *config; /* NULL: $HAVEN_AGENT_CONFIG or the default */
	bool json;
	bool help;
	const char *reader;
	const char *role;
	const char *case_id; /* --case CASE: a MARAC/panel case reference */
	const char *out;     /* --out DIR */
	const char *meeting; /* --meeting YYYY-MM-DD: a MARAC meeting date */
	bool check;          /* --check: MARAC/panel: validate, send nothing */
	const char *pos[HAVEN__ARGS_POS_MAX];
	size_t n_pos;
} haven__args;

/** Parse argv[0..argc) (without the program name). HAVEN_EINVAL with
 * `err` naming the option on an unknown option, a missing value, a
 * repeated option or too many positional arguments. */
HAVEN_NODISCARD haven_err haven__agt_args_parse(haven__args *a, int argc,
    char *const *argv, char *err, size_t errlen);

/** A message id given as exactly 32 hex digits. HAVEN_EINVAL else. */
HAVEN_NODISCARD haven_err haven__agt_args_msgid(const char *hex,
    uint8_t id[HAVEN_MSGID_BYTES]);

#endif /* HAVEN_AGENTS_ARGS_H */
