/*
 * agents/main.c: haven-agent, an agency's connection to the Haven broker.
 *
 * Dispatches to one command from a table; every command loads the config
 * (agency keys, signed directory, sealed store) first. See docs/agent.md.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"

#define DEFAULT_CONFIG "/etc/haven/agent.json"

typedef int (*cmd_fn)(haven__agent *, const haven__args *);

typedef struct cmd {
	const char *name;
	const char *sub; /* second word, or NULL */
	size_t n_args;   /* positional arguments after the name */
	bool reader_opts;
	cmd_fn fn;
	const char *usage;
	const char *help;
} cmd;

static const cmd cmds[] = {
	{ "encompass", "submit", 1, false, haven__agt_cmd_encompass_submit,
	    "encompass submit INCIDENT.json",
	    "Validate a police incident (R2 ages, fields), then send one\n"
	    "Operation Encompass message per school (M1), per local authority\n"
	    "EHE officer (M2) and, for a child whose setting is unknown, not a\n"
	    "school or revoked, an escalation to the SPOC (M4). Everything is\n"
	    "written to the outbox before anything is sent.\n"
	    "Prints one entry per message: id, type, recipient, children (by\n"
	    "index in the incident, never names), deadline, and the broker's\n"
	    "signed receipt (audit_seq, accepted), REJECTED, or PENDING (not\n"
	    "sent as far as anyone can prove; 'sync' or 'run' resends it).\n"
	    "Exit 0 all receipted, 2 input or a rule refused, 1 otherwise." },
	{ "sync", NULL, 0, false, haven__agt_cmd_sync, "sync",
	    "Connect, resend pending outbox entries (the stored bytes), take\n"
	    "every queued delivery into the inbox, then exit.\n"
	    "Exit 0 when the broker's queue drained and the outbox holds\n"
	    "nothing pending; 1 otherwise (within timeout_ms of no progress)." },
	{ "run", NULL, 0, false, haven__agt_cmd_run, "run",
	    "Stay connected: take deliveries, resend pending outbox entries,\n"
	    "reload the directory file when it changes, reconnect when the\n"
	    "broker is silent or restarts, until SIGTERM or SIGINT (exit 0)." },
	{ "inbox", NULL, 0, false, haven__agt_cmd_inbox, "inbox",
	    "List the inbox: id, type, sender, received, deadline, read or\n"
	    "UNREAD, and UNVERIFIED for a message that failed verification." },
	{ "show", NULL, 1, false, haven__agt_cmd_show, "show MSGID",
	    "Show one message's decrypted content and its provenance: sender\n"
	    "and key generation, signature verified (now and on receipt), the\n"
	    "broker receipt (audit_seq, accepted, signature verified).\n"
	    "An unverified message's content is never shown (exit 1).\n"
	    "Exit 2 for an id not in the inbox." },
	{ "read", NULL, 1, true, haven__agt_cmd_read,
	    "read MSGID --reader STAFFREF --role DSL|DDSL|EHE-OFFICER",
	    "Record that a member of staff opened a notification and send the\n"
	    "read receipt (M3) to the sender, through the outbox.\n"
	    "STAFFREF is a staff reference (letters, digits, '.', '_', '-'),\n"
	    "never a name. Exit 2 if already read, unverified or unknown;\n"
	    "exit codes for the receipt as for 'encompass submit'." },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *fp)
{
	(void) fprintf(fp, "usage: haven-agent [--config FILE] [--json] "
	    "COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_CMDS; i++) {
		(void) fprintf(fp, "  %s\n", cmds[i].usage);
	}
	(void) fprintf(fp, "\nEvery command takes --config FILE (default "
	    "$HAVEN_AGENT_CONFIG or " DEFAULT_CONFIG ") and --json.\n"
	    "Exit codes: 0 ok, 2 input or rule refused, 1 other error.\n"
	    "Run 'haven-agent COMMAND --help' for details.\n");
}

static const cmd *
find_cmd(const haven__args *args)
{
	for (size_t i = 0; i < N_CMDS; i++) {
		const cmd *c = &cmds[i];

		if (strcmp(args->pos[0], c->name) != 0) {
			continue;
		}
		if (c->sub == NULL) {
			return (c);
		}
		if ((args->n_pos >= 2 && strcmp(args->pos[1], c->sub) == 0) ||
		    (args->n_pos == 1 && args->help)) {
			return (c); /* "encompass --help" asks about the group */
		}
	}
	return (NULL);
}

static int
check_shape(const cmd *c, const haven__args *args, const haven__out *o)
{
	size_t want = c->n_args + (c->sub != NULL ? 2 : 1);

	if (args->n_pos != want) {
		return (haven__agt_out_fail(o, HAVEN_EINVAL, 2, "arguments",
		    NULL,
		    "usage: haven-agent %s", c->usage));
	}
	if (!c->reader_opts && (args->reader != NULL || args->role != NULL)) {
		return (haven__agt_out_fail(o, HAVEN_EINVAL, 2, "arguments",
		    NULL,
		    "--reader and --role belong to 'read'"));
	}
	return (0);
}

static int
run_cmd(const cmd *c, const haven__args *args, haven__out *o)
{
	haven__agent a;
	const char *config = args->config;
	int ec = 0;

	if (c->help != NULL && args->help) {
		(void) printf("usage: haven-agent %s [--config FILE] "
		    "[--json]\n\n"
		    "%s\n", c->usage, c->help);
		return (0);
	}
	if ((ec = check_shape(c, args, o)) != 0) {
		return (ec);
	}
	if (config == NULL && (config = getenv("HAVEN_AGENT_CONFIG")) == NULL) {
		config = DEFAULT_CONFIG;
	}
	memset(&a, 0, sizeof(a));
	a.out = *o;
	if (haven__agent_open(&a, config, &ec) != HAVEN_OK) {
		return (ec);
	}
	ec = c->fn(&a, args);
	haven__agent_close(&a);
	return (ec);
}

int
main(int argc, char **argv)
{
	haven__out o = { "haven-agent", false };
	haven__args args;
	const cmd *c;
	char err[160] = "";

	if (sodium_init() < 0) {
		(void) fprintf(stderr, "haven-agent: libsodium init failed\n");
		return (1);
	}
	haven__agt_json_wipe_on_free();
	if (haven__agt_args_parse(&args, argc - 1, argv + 1, err,
	    sizeof(err)) !=
	    HAVEN_OK) {
		o.json = args.json;
		return (haven__agt_out_fail(&o, HAVEN_EINVAL, 2, "arguments",
		    NULL,
		    "%s", err));
	}
	o.json = args.json;
	if (args.n_pos == 0) {
		usage_all(args.help ? stdout : stderr);
		return (args.help ? 0 : 2);
	}
	if ((c = find_cmd(&args)) == NULL) {
		usage_all(stderr);
		return (haven__agt_out_fail(&o, HAVEN_EINVAL, 2, "command",
		    NULL,
		    "unknown command"));
	}
	o.cmd = c->sub != NULL ? "encompass submit" : c->name;
	return (run_cmd(c, &args, &o));
}
