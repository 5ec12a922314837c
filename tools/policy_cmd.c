/*
 * tools/policy_cmd.c: `havenctl policy check|sign`.
 *
 * `check` validates a policy source with the same parser the broker's
 * signed copy goes through (so an error here names the rule the broker
 * would refuse), and answers "may A send T to B on basis C with view P?"
 * with the evaluator the broker runs: the decision printed is exactly the
 * broker's, including the deciding rule. A query may name roles directly
 * or, given a signed directory, agency ids (resolved to their roles; an
 * unknown or revoked agency is a deny by rule "directory", as in the
 * broker). A deny exits 2, like every other refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "haven/directory.h"
#include "haven/keys.h"
#include "haven/policy.h"
#include "util.h"

#define ERRLEN 256

static const char group_usage[] =
    "usage: havenctl policy SUBCOMMAND [OPTIONS] [--json]\n\n"
    "Validate, query and sign the partnership's sharing policy.\n";

static const char check_usage[] =
    "havenctl policy check (--policy policy.json | --signed policy.signed\n"
    "    --admin-pub admin.pub) [--directory directory.signed --admin-pub\n"
    "    admin.pub] [--from A --to B --type TYPE [--basis CODE]\n"
    "    [--profile P] [--tag key=value]...] [--json]\n"
    "  Validate the policy (errors name the rule) and, given a query,\n"
    "  print the decision and the deciding rule (exit 0 allow, 2 deny).\n"
    "  A and B are role codes (POL, EDU...) or, with --directory, agency\n"
    "  ids. TYPE is a message type such as OE_NOTIFICATION.\n";
static const char sign_usage[] =
    "havenctl policy sign --policy policy.json --admin-key admin.key\n"
    "    --out policy.signed\n"
    "  Validate and sign. Raise \"version\" in the source before signing a\n"
    "  changed policy: the broker refuses one older than it holds.\n";

enum { P_POLICY, P_SIGNED, P_ADMIN_PUB, P_DIR, P_FROM, P_TO, P_TYPE,
	P_BASIS, P_PROFILE, P_TAG, P_COUNT };

/*
 * The library names a bad rule by position ("rules[4].types: ..."); an
 * administrator thinks in rule ids, so add the id when the source has one.
 */
static void
name_rule(const char *src, size_t len, const char *err, char *field,
    size_t fieldlen)
{
	unsigned long idx;
	json_t *root, *rule;
	char *end = NULL;
	const char *id;

	if (strncmp(err, "rules[", 6) != 0) {
		return;
	}
	idx = strtoul(err + 6, &end, 10);
	if (end == err + 6 || *end != ']' ||
	    (root = json_loadb(src, len, 0, NULL)) == NULL) {
		return;
	}
	rule = json_array_get(json_object_get(root, "rules"), idx);
	id = json_string_value(json_object_get(rule, "id"));
	if (id != NULL && strlen(id) < HAVEN_RULE_ID_MAX) {
		(void) snprintf(field, fieldlen, "rule %s", id);
	}
	json_decref(root);
}

static int
load_src(const haven__cli *cli, const char *path, haven_policy **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[ERRLEN] = "";
	char field[HAVEN_RULE_ID_MAX + 8];
	haven_err rv;

	int xc;

	if ((xc = haven__cli_read_doc(cli, "--policy", path, &buf, &len)) !=
	    HAVEN__CLI_OK) {
		return (xc);
	}
	rv = haven_policy_from_json(out, (const char *) buf, len, err,
	    sizeof(err));
	(void) snprintf(field, sizeof(field), "%s", "--policy");
	if (rv != HAVEN_OK) {
		name_rule((const char *) buf, len, err, field, sizeof(field));
	}
	free(buf);
	return (haven__cli_report(cli, rv, field, err));
}

/* The policy from --policy (source) or --signed (+ --admin-pub). */
static int
load_any(const haven__cli *cli, haven__cli_opt *o, haven_policy **out)
{
	uint8_t pk[HAVEN_KEY_BYTES];
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if (o[P_POLICY].set == o[P_SIGNED].set) {
		return (haven__cli_refuse(cli, "--policy",
		    "give exactly one of --policy and --signed"));
	}
	if (o[P_POLICY].set) {
		return (load_src(cli, o[P_POLICY].value, out));
	}
	if (!o[P_ADMIN_PUB].set) {
		return (haven__cli_refuse(cli, "--admin-pub",
		    "--signed needs --admin-pub"));
	}
	if ((rv = haven__cli_admin_pub(cli, "--admin-pub",
	    o[P_ADMIN_PUB].value, pk)) != HAVEN__CLI_OK) {
		return (rv);
	}
	e = haven_policy_load(out, o[P_SIGNED].value, pk, err, sizeof(err));
	return (haven__cli_report(cli, e, "--signed", err));
}

static int
load_dir(const haven__cli *cli, haven__cli_opt *o, haven_directory **out)
{
	uint8_t pk[HAVEN_KEY_BYTES];
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if (!o[P_DIR].set) {
		return (HAVEN__CLI_OK);
	}
	if (!o[P_ADMIN_PUB].set) {
		return (haven__cli_refuse(cli, "--admin-pub",
		    "--directory needs --admin-pub"));
	}
	if ((rv = haven__cli_admin_pub(cli, "--admin-pub",
	    o[P_ADMIN_PUB].value, pk)) != HAVEN__CLI_OK) {
		return (rv);
	}
	e = haven_directory_load(out, o[P_DIR].value, pk, err, sizeof(err));
	return (haven__cli_report(cli, e, "--directory", err));
}

/* One side of the query. On a directory deny, *why is set and rv is OK. */
typedef struct party {
	char role[HAVEN_ROLE_MAX];
	const char *why; /* non-NULL: the directory refuses this party */
	const haven_agency *agency; /* from the directory; NULL for a role */
} party;

static int
resolve(const haven__cli *cli, const haven_directory *dir,
    const char *field, const char *value, party *p)
{
	const haven_agency *a = dir != NULL ?
	    haven_directory_find(dir, value) : NULL;

	p->why = NULL;
	p->agency = a;
	if (a != NULL) {
		(void) snprintf(p->role, sizeof(p->role), "%s", a->role);
		p->why = a->revoked ? "is revoked" : NULL;
		return (HAVEN__CLI_OK);
	}
	if (haven_role_valid(value)) {
		(void) snprintf(p->role, sizeof(p->role), "%s", value);
		return (HAVEN__CLI_OK);
	}
	if (dir != NULL) {
		p->role[0] = '\0';
		p->why = "is not in the directory";
		return (HAVEN__CLI_OK);
	}
	return (haven__cli_refuse(cli, field, "not a role code (POL, EDU, "
	    "LA...); give --directory and --admin-pub to use agency ids"));
}

typedef struct query_in {
	party from, to;
	uint32_t type;
	haven_tag tags[HAVEN_MAX_TAGS];
	size_t n_tags;
} query_in;

static int
parse_tags(const haven__cli *cli, const haven__cli_opt *t, query_in *q)
{
	if (t->n_list > HAVEN_MAX_TAGS) {
		return (haven__cli_refuse(cli, "--tag", "at most %d tags",
		    HAVEN_MAX_TAGS));
	}
	for (size_t i = 0; i < t->n_list; i++) {
		if (haven__cli_kv(t->list[i], q->tags[i].key,
		    sizeof(q->tags[i].key), q->tags[i].value,
		    sizeof(q->tags[i].value)) != HAVEN_OK) {
			return (haven__cli_refuse(cli, "--tag",
			    "tag %zu: want key=value", i + 1));
		}
	}
	q->n_tags = t->n_list;
	return (HAVEN__CLI_OK);
}

static int
parse_query(const haven__cli *cli, const haven_directory *dir,
    haven__cli_opt *o, query_in *q)
{
	int rv;

	if (!o[P_FROM].set || !o[P_TO].set || !o[P_TYPE].set) {
		return (haven__cli_refuse(cli, !o[P_FROM].set ? "--from" :
		    !o[P_TO].set ? "--to" : "--type",
		    "a query needs --from, --to and --type"));
	}
	if (haven_msg_type_parse(o[P_TYPE].value, &q->type) != HAVEN_OK) {
		return (haven__cli_refuse(cli, "--type",
		    "unknown message type (e.g. OE_NOTIFICATION)"));
	}
	if ((rv = resolve(cli, dir, "--from", o[P_FROM].value, &q->from)) !=
	    HAVEN__CLI_OK || (rv = resolve(cli, dir, "--to", o[P_TO].value,
	    &q->to)) != HAVEN__CLI_OK) {
		return (rv);
	}
	if ((o[P_BASIS].set && strlen(o[P_BASIS].value) >= HAVEN_CODE_MAX) ||
	    (o[P_PROFILE].set &&
	    strlen(o[P_PROFILE].value) >= HAVEN_CODE_MAX)) {
		return (haven__cli_refuse(cli, o[P_BASIS].set ? "--basis" :
		    "--profile", "longer than %d characters",
		    HAVEN_CODE_MAX - 1));
	}
	return (parse_tags(cli, &o[P_TAG], q));
}

/* Evaluate, or deny by "directory" when a party is unknown or revoked. */
static void
decide(const haven_policy *p, haven__cli_opt *o, const query_in *q,
    haven_policy_decision *d)
{
	haven_policy_query pq = {
		.sender_role = q->from.role,
		.recipient_role = q->to.role,
		.type = q->type,
		.legal_basis = o[P_BASIS].set ? o[P_BASIS].value : "",
		.profile = o[P_PROFILE].set ? o[P_PROFILE].value : "",
		.tags = q->tags,
		.n_tags = q->n_tags,
		/* Rules on recipient attrs (R14 ISP, R17 panels) need the
		 * agency: a bare role has none, as an unknown agency would. */
		.recipient_attrs = q->to.agency != NULL ? q->to.agency->attrs :
		    NULL,
		.n_recipient_attrs = q->to.agency != NULL ?
		    q->to.agency->n_attrs : 0,
	};
	const party *bad = q->from.why != NULL ? &q->from :
	    q->to.why != NULL ? &q->to : NULL;

	memset(d, 0, sizeof(*d));
	if (bad != NULL) {
		(void) snprintf(d->rule, sizeof(d->rule), "directory");
		(void) snprintf(d->reason, sizeof(d->reason), "%s %s",
		    bad == &q->from ? "sender" : "recipient", bad->why);
		return;
	}
	haven_policy_evaluate(p, &pq, d);
}

static int
answer(const haven__cli *cli, const haven_policy *p, haven__cli_opt *o,
    const query_in *q)
{
	haven_policy_decision d;

	decide(p, o, q, &d);
	if (!cli->json) {
		(void) printf("%s %s from %s (%s) to %s (%s)\nrule: %s\n"
		    "reason: %s\n", d.allow ? "ALLOW" : "DENY",
		    o[P_TYPE].value, o[P_FROM].value,
		    q->from.role[0] ? q->from.role : "?", o[P_TO].value,
		    q->to.role[0] ? q->to.role : "?", d.rule,
		    d.reason[0] ? d.reason : "-");
	}
	haven__cli_emit(cli, json_pack("{s:b, s:b, s:I, s:s, s:b, s:s, s:s, "
	    "s:s, s:s}", "ok", d.allow, "valid", 1, "version",
	    (json_int_t) haven_policy_version(p), "decision",
	    d.allow ? "allow" : "deny", "allow", d.allow, "rule", d.rule,
	    "reason", d.reason, "from_role", q->from.role, "to_role",
	    q->to.role));
	return (d.allow ? HAVEN__CLI_OK : HAVEN__CLI_REFUSED);
}

static int
validated(const haven__cli *cli, const haven_policy *p)
{
	long long skew = (long long) (haven_policy_skew_ms(p) / 1000);

	if (!cli->json) {
		(void) printf("policy version %llu is valid (clock skew "
		    "allowed: %lld s)\n", (unsigned long long)
		    haven_policy_version(p), skew);
	}
	haven__cli_emit(cli, json_pack("{s:b, s:b, s:I, s:I}", "ok", 1,
	    "valid", 1, "version", (json_int_t) haven_policy_version(p),
	    "skew_seconds", (json_int_t) skew));
	return (HAVEN__CLI_OK);
}

static int
cmd_check(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[P_COUNT] = {
		[P_POLICY] = {.name = "policy", .kind = HAVEN__CLI_VALUE},
		[P_SIGNED] = {.name = "signed", .kind = HAVEN__CLI_VALUE},
		[P_ADMIN_PUB] = {.name = "admin-pub", .kind = HAVEN__CLI_VALUE},
		[P_DIR] = {.name = "directory", .kind = HAVEN__CLI_VALUE},
		[P_FROM] = {.name = "from", .kind = HAVEN__CLI_VALUE},
		[P_TO] = {.name = "to", .kind = HAVEN__CLI_VALUE},
		[P_TYPE] = {.name = "type", .kind = HAVEN__CLI_VALUE},
		[P_BASIS] = {.name = "basis", .kind = HAVEN__CLI_VALUE},
		[P_PROFILE] = {.name = "profile", .kind = HAVEN__CLI_VALUE},
		[P_TAG] = {.name = "tag", .kind = HAVEN__CLI_LIST},
	};
	haven_directory *dir = NULL;
	haven_policy *p = NULL;
	query_in q;
	int rv;

	memset(&q, 0, sizeof(q));
	if ((rv = haven__cli_start(cli, check_usage, argc, argv, o, P_COUNT,
	    0)) >= 0) {
		return (rv);
	}
	if ((rv = load_any(cli, o, &p)) != HAVEN__CLI_OK ||
	    (rv = load_dir(cli, o, &dir)) != HAVEN__CLI_OK) {
		goto out;
	}
	if (!o[P_FROM].set && !o[P_TO].set && !o[P_TYPE].set) {
		rv = validated(cli, p);
	} else if ((rv = parse_query(cli, dir, o, &q)) == HAVEN__CLI_OK) {
		rv = answer(cli, p, o, &q);
	}
out:
	haven_directory_destroy(&dir);
	haven_policy_destroy(&p);
	return (rv);
}

static int
write_signed(const haven__cli *cli, const haven_policy *p,
    const haven_keys *admin, const char *out)
{
	uint8_t *doc = NULL;
	size_t len = 0;
	haven_err e = haven_policy_sign(p, admin, &doc, &len);
	int rv;

	if ((rv = haven__cli_write_signed(cli, e, doc, len, out)) !=
	    HAVEN__CLI_OK) {
		return (rv);
	}
	if (!cli->json) {
		(void) printf("signed policy version %llu -> %s\n",
		    (unsigned long long) haven_policy_version(p), out);
	}
	haven__cli_emit(cli, json_pack("{s:b, s:s, s:I}", "ok", 1, "signed",
	    out, "version", (json_int_t) haven_policy_version(p)));
	return (HAVEN__CLI_OK);
}

static int
cmd_sign(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[] = {
		{.name = "policy", .kind = HAVEN__CLI_VALUE},
		{.name = "admin-key", .kind = HAVEN__CLI_VALUE},
		{.name = "out", .kind = HAVEN__CLI_VALUE},
	};
	static const char *const req[] = {"policy", "admin-key", "out", NULL};
	haven_policy *p = NULL;
	haven_keys *admin = NULL;
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if ((rv = haven__cli_start(cli, sign_usage, argc, argv, o, 3, 0)) >=
	    0 || (rv = haven__cli_require(cli, o, 3, req)) != 0) {
		return (rv);
	}
	if ((rv = load_src(cli, o[0].value, &p)) != HAVEN__CLI_OK) {
		return (rv);
	}
	if ((e = haven_keys_load(&admin, o[1].value, err, sizeof(err))) !=
	    HAVEN_OK) {
		rv = haven__cli_report(cli, e, "--admin-key", err);
	} else {
		rv = write_signed(cli, p, admin, o[2].value);
	}
	haven_keys_destroy(&admin);
	haven_policy_destroy(&p);
	return (rv);
}

static const haven__cli_sub subs[] = {
	{"check", cmd_check, check_usage},
	{"sign", cmd_sign, sign_usage},
};

int
haven__ctl_policy(int argc, char **argv)
{
	return (haven__cli_dispatch("policy", group_usage, subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv));
}
