/*
 * tools/main.c: havenctl, the partnership administrator's tool.
 *
 * Dispatches to one command module per area (keygen, directory, policy,
 * audit, report, pseudonym). It holds no state of its own: every command
 * reads its inputs from files named on the command line and writes its
 * outputs atomically, so a crash or a refused input never leaves a
 * half-written key, directory or policy. Exit codes: 0 ok, 2 the input or
 * a sharing rule refused it (the message names the field or rule), 1 any
 * other error.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} command;

static const command commands[] = {
	{"keygen", haven__ctl_keygen,
	    "generate an agency's keys or the partnership pseudonym key"},
	{"directory", haven__ctl_directory,
	    "edit, sign and show the directory of agencies"},
	{"policy", haven__ctl_policy,
	    "validate, query and sign the sharing policy"},
	{"audit", haven__ctl_audit,
	    "verify and list the broker's audit chain"},
	{"report", haven__ctl_report,
	    "compliance reports from the audit (report encompass)"},
	{"pseudonym", haven__ctl_pseudonym,
	    "a case's or person's pseudonym, to find them in the audit"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	(void) fprintf(f,
	    "usage: havenctl COMMAND [ARGS...] [--json] [--help]\n\n"
	    "The administrator's tool for a Haven partnership.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		(void) fprintf(f, "  %-10s %s\n", commands[i].name,
		    commands[i].summary);
	}
	(void) fprintf(f,
	    "\nRun 'havenctl COMMAND --help' for a command's options.\n"
	    "Exit status: 0 ok; 2 input or a sharing rule refused it (the\n"
	    "message names the field or rule); 1 any other error.\n");
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		(void) fprintf(stderr, "havenctl: libsodium failed to start\n");
		return (HAVEN__CLI_ERROR);
	}
	if (argc < 2) {
		usage(stderr);
		return (HAVEN__CLI_REFUSED);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return (HAVEN__CLI_OK);
	}
	if (strcmp(argv[1], "--version") == 0) {
		(void) printf("havenctl 0.1.0\n");
		return (HAVEN__CLI_OK);
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			return (commands[i].run(argc - 1, argv + 1));
		}
	}
	(void) fprintf(stderr, "havenctl: command: unknown command '%.32s'\n",
	    argv[1]);
	usage(stderr);
	return (HAVEN__CLI_REFUSED);
}
