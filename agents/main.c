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
	    "Each M1 carries the incident time and its deadline: the start of\n"
	    "the school's next school day (its calendar in the directory); the\n"
	    "broker refuses a later one (R5-deadline). An incident on a school\n"
	    "holiday also goes to the policy's holiday duty contact.\n"
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
	    "UNREAD, and UNVERIFIED for a message that failed verification.\n"
	    "An escalation from the broker also shows its reason, the\n"
	    "notification it is about, the school and deadline, and whether\n"
	    "a later reading CLOSED it (when, by which role) or it is OPEN." },
	{ "show", NULL, 1, false, haven__agt_cmd_show, "show MSGID",
	    "Show one message's decrypted content and its provenance: sender\n"
	    "and key generation, signature verified (now and on receipt), the\n"
	    "broker receipt (audit_seq, accepted, signature verified), the\n"
	    "incident time, deadline and header tags.\n"
	    "An unverified message's content is never shown (exit 1).\n"
	    "Exit 2 for an id not in the inbox." },
	{ "read", NULL, 1, true, haven__agt_cmd_read,
	    "read MSGID --reader STAFFREF --role DSL|DDSL|EHE-OFFICER",
	    "Record that a member of staff opened a notification and send the\n"
	    "read receipt (M3) to the sender, through the outbox. Only this\n"
	    "command sends it: receiving a notification never does.\n"
	    "Both options are required. STAFFREF is a staff reference\n"
	    "(letters, digits, '.', '_', '-'), never a name; it stays in the\n"
	    "encrypted receipt. ROLE (DSL, DDSL = deputy DSL, EHE-OFFICER) is\n"
	    "also in the receipt's header, for the broker's audit. A holiday\n"
	    "duty copy is marked read without a receipt.\n"
	    "Exit 2 if already read, unverified, unknown or not ours;\n"
	    "exit codes for the receipt as for 'encompass submit'." },
	{ "bundle", NULL, 0, false, haven__agt_cmd_bundle,
	    "bundle --case CASE --out DIR",
	    "The chair's case bundle, from this agency's own inbox (the broker\n"
	    "is not asked): every message about case reference CASE, re-verified\n"
	    "now (sender signature, broker receipt, content against its signed\n"
	    "header), written to DIR/bundle.json (items with provenance) and\n"
	    "DIR/bundle.html (printable), mode 0600, DIR created 0700.\n"
	    "A message that does not verify is listed under 'left out' with the\n"
	    "reason, never included. An existing bundle is never overwritten.\n"
	    "Exit 0 written (even with items left out), 2 bad arguments, an\n"
	    "existing bundle or no message about the case, 1 otherwise." },
	/* MARAC and perpetrator panel (agents/marac_cmd.c, dapp_cmd.c,
	 * cases.c; docs/marac-workflow.md) */
	{ "marac", "refer", 1, false, haven__agt_cmd_marac_refer,
	    "marac refer REFERRAL.json [--check]",
	    "Send a MARAC referral (M5) to the IDVA service and the MARAC\n"
	    "coordinator, with its M6 record (information shared without\n"
	    "consent) when consent is not given. The content is checked here\n"
	    "(fields, sizes, a judgement needs its written rationale); the\n"
	    "partnership's criteria (R9 DASH at or over the threshold, R10\n"
	    "14-16 needs consent, R11 judgement, M6 when consent = no, incident\n"
	    "age) are decided by the broker from the signed header, which\n"
	    "audits a refusal and names the rule (exit 2). --check runs every\n"
	    "rule here and sends nothing (exit 0 valid, 2 refused). Written\n"
	    "to the outbox before sending; receipts, REJECTED or PENDING as\n"
	    "for 'encompass submit'." },
	{ "marac", "consent", 1, false, haven__agt_cmd_marac_consent,
	    "marac consent DECISION.json [--check]",
	    "Record a consent decision (given, refused, withdrawn) for a case\n"
	    "with the coordinator and the IDVA service. After a withdrawal the\n"
	    "broker refuses consent-based sharing for the case; sharing with an\n"
	    "M6 record stays possible. Exit codes as for 'marac refer'." },
	{ "marac", "research", 1, false, haven__agt_cmd_marac_research,
	    "marac research RETURN.json [--check]",
	    "Send a research return (M8) to the coordinator/chair only (R15;\n"
	    "health returns need the Caldicott attestation). Never forwarded.\n"
	    "Exit codes as for 'marac refer'." },
	{ "marac", "plan", 1, false, haven__agt_cmd_marac_plan,
	    "marac plan PLAN.json [--check]",
	    "Publish a MARAC action plan (M9): one view per owning agency with\n"
	    "that agency's actions only; a school gets education actions only\n"
	    "(R8). Sent in envelopes of at most 8 views. Exit codes as for\n"
	    "'marac refer'." },
	{ "marac", "update", 1, false, haven__agt_cmd_marac_update,
	    "marac update UPDATE.json [--check]",
	    "Send an action update (M10) to the coordinator or panel chairs.\n"
	    "Exit codes as for 'marac refer'." },
	{ "marac", "flag", 1, false, haven__agt_cmd_marac_flag,
	    "marac flag FLAG.json [--check]",
	    "Flag a repeat incident (M11) to the coordinator. Exit codes as\n"
	    "for 'marac refer'." },
	{ "marac", "cases", 0, false, haven__agt_cmd_marac_cases,
	    "marac cases [--meeting YYYY-MM-DD]",
	    "Coordinator: bring the case index up to date from the inbox\n"
	    "(referrals, consent decisions, repeat flags), then list the cases:\n"
	    "case pseudonym, received, the meeting it is listed for, REPEAT\n"
	    "(R12: same victim and perpetrator within repeat_days, or an M11),\n"
	    "consent, referrer. No personal data. --meeting lists one meeting." },
	{ "marac", "caselist", 0, false, haven__agt_cmd_marac_caselist,
	    "marac caselist --meeting YYYY-MM-DD [--check]",
	    "Coordinator: send one case list (M7) per case listed for that\n"
	    "meeting to every agency that signed the information-sharing\n"
	    "agreement (R14), built from the stored referral: names, dates of\n"
	    "birth, addresses, repeat flag; never DASH or narrative. A case\n"
	    "already sent for that meeting is skipped. Exit 0 all receipted,\n"
	    "2 refused, 1 otherwise." },
	{ "dapp", "refer", 1, false, haven__agt_cmd_dapp_refer,
	    "dapp refer REFERRAL.json [--check]",
	    "Refer a perpetrator to the panel of their area (M12). Refused\n"
	    "(R16) when open to MAPPA or without MARAC history. Exit codes as\n"
	    "for 'marac refer'." },
	{ "dapp", "bundle", 1, false, haven__agt_cmd_dapp_bundle,
	    "dapp bundle BUNDLE.json [--check]",
	    "Panel co-chairs: send a case bundle (M13) to the members of that\n"
	    "area's panel only (R17). Exit codes as for 'marac refer'." },
	{ "dapp", "plan", 1, false, haven__agt_cmd_dapp_plan,
	    "dapp plan PLAN.json [--check]",
	    "Panel co-chairs: send the panel's action plan (M14) to that\n"
	    "area's panel members (R17). Exit codes as for 'marac refer'." },
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
	if (args->check && strstr(c->usage, "[--check]") == NULL) {
		return (haven__agt_out_fail(o, HAVEN_EINVAL, 2, "--check", NULL,
		    "--check belongs to the MARAC and panel sending commands"));
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
	o.cmd = c->name;
	if (c->sub != NULL) {
		static char full[48];

		(void) snprintf(full, sizeof(full), "%s %s", c->name, c->sub);
		o.cmd = full;
	}
	return (run_cmd(c, &args, &o));
}
