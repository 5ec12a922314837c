/*
 * tools/directory_cmd.c: `havenctl directory init|add|revoke|calendar|sign|
 * show` (calendar lives in tools/dircal_cmd.c).
 *
 * The administrator edits a JSON source (directory.json) only through
 * these commands, so every edit is validated by libhaven before it is
 * written back (atomically). Signing bumps the version in the source first
 * and then writes the signed form: a crash between the two leaves a gap in
 * version numbers, never two different documents with one version, which
 * the broker and agents would otherwise not tell apart. `show` verifies the
 * signature before printing anything, so what it lists is what the broker
 * would load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dircal_cmd.h"
#include "haven/directory.h"
#include "haven/keys.h"
#include "util.h"

#define ERRLEN 256

static const char group_usage[] =
    "usage: havenctl directory SUBCOMMAND [OPTIONS] [--json]\n\n"
    "Edit, sign and show the partnership's directory of agencies and its\n"
    "school calendars.\n";

static const char init_usage[] =
    "havenctl directory init --out directory.json [--force]\n"
    "  Write an empty version-1 directory source.\n";
static const char add_usage[] =
    "havenctl directory add --dir directory.json --pub ID.pub --role ROLE\n"
    "    --name NAME [--attr key=value]...\n"
    "  Enrol a new agency from its public key file, or a new key generation\n"
    "  of an existing agency (rotation; --role and --name may be omitted).\n"
    "  Roles: POL EDU LA IDVA MCO CSC ASC HLT HSG PRB DAS REF DAPC ADMIN BRK\n";
static const char revoke_usage[] =
    "havenctl directory revoke --dir directory.json ID\n"
    "  Mark an agency revoked (takes effect once signed and loaded).\n";
static const char sign_usage[] =
    "havenctl directory sign --dir directory.json --admin-key admin.key\n"
    "    --out directory.signed\n"
    "  Bump the version (in the source too) and sign with the admin key.\n";
static const char show_usage[] =
    "havenctl directory show --signed directory.signed --admin-pub admin.pub"
    " [--json]\n"
    "  Verify a signed directory and list agencies, roles, key generations\n"
    "  and status.\n";

static int
load_src(const haven__cli *cli, const char *path, haven_directory **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[ERRLEN] = "";
	haven_err rv;

	int xc;

	if ((xc = haven__cli_read_doc(cli, "--dir", path, &buf, &len)) !=
	    HAVEN__CLI_OK) {
		return (xc);
	}
	rv = haven_directory_from_json(out, (const char *) buf, len, err,
	    sizeof(err));
	free(buf);
	if (rv != HAVEN_OK) {
		return (haven__cli_report(cli, rv, path, err));
	}
	return (HAVEN__CLI_OK);
}

static int
save_src(const haven__cli *cli, const haven_directory *dir, const char *path,
    bool excl)
{
	char *json = NULL;
	haven_err rv;

	if ((rv = haven_directory_to_json(dir, &json)) == HAVEN_OK) {
		rv = haven__write_file(path, json, strlen(json), 0644, excl);
	}
	free(json);
	return (haven__cli_written(cli, rv, path));
}

/* ------------------------------------------------------------- init */

static int
cmd_init(haven__cli *cli, int argc, char **argv)
{
	static const char empty[] = "{\"version\":1,\"agencies\":[]}";
	haven__cli_opt o[] = {
		{.name = "out", .kind = HAVEN__CLI_VALUE},
		{.name = "force", .kind = HAVEN__CLI_FLAG},
	};
	static const char *const req[] = {"out", NULL};
	haven_directory *dir = NULL;
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if ((rv = haven__cli_start(cli, init_usage, argc, argv, o, 2, 0)) >=
	    0 || (rv = haven__cli_require(cli, o, 2, req)) != 0) {
		return (rv);
	}
	e = haven_directory_from_json(&dir, empty, strlen(empty), err,
	    sizeof(err));
	if (e != HAVEN_OK) {
		return (haven__cli_fail(cli, e, "empty directory: %s", err));
	}
	rv = save_src(cli, dir, o[0].value, !o[1].set);
	haven_directory_destroy(&dir);
	if (rv == HAVEN__CLI_OK) {
		haven__cli_emit(cli, json_pack("{s:b, s:s, s:i}", "ok", 1,
		    "directory", o[0].value, "version", 1));
	}
	return (rv);
}

/* -------------------------------------------------------------- add */

/* Attributes from --attr k=v, or the agency's current ones on rotation. */
static int
gather_attrs(const haven__cli *cli, const haven__cli_opt *attr,
    const haven_agency *old, haven_tag *tags, size_t *n)
{
	*n = 0;
	if (attr->n_list == 0 && old != NULL) {
		memcpy(tags, old->attrs, old->n_attrs * sizeof(tags[0]));
		*n = old->n_attrs;
		return (HAVEN__CLI_OK);
	}
	if (attr->n_list > HAVEN_MAX_ATTRS) {
		return (haven__cli_refuse(cli, "--attr",
		    "at most %d attributes", HAVEN_MAX_ATTRS));
	}
	for (size_t i = 0; i < attr->n_list; i++) {
		if (haven__cli_kv(attr->list[i], tags[i].key,
		    sizeof(tags[i].key), tags[i].value,
		    sizeof(tags[i].value)) != HAVEN_OK) {
			return (haven__cli_refuse(cli, "--attr",
			    "attribute %zu: want key=value (key < %d, value "
			    "< %d characters)", i + 1, HAVEN_CODE_MAX,
			    HAVEN_TAGVAL_MAX));
		}
	}
	*n = attr->n_list;
	return (HAVEN__CLI_OK);
}

typedef struct enrol {
	haven_pubkey pk;
	char role[HAVEN_ROLE_MAX];
	char name[HAVEN_NAME_MAX];
	haven_tag tags[HAVEN_MAX_ATTRS];
	size_t n_tags;
	bool rotation;
} enrol;

/* Fill `en` from the options and, on rotation, the existing entry. */
static int
prepare(const haven__cli *cli, haven_directory *dir, haven__cli_opt *o,
    enrol *en)
{
	const haven_agency *old = haven_directory_find(dir, en->pk.agency);

	en->rotation = old != NULL;
	if (old == NULL && (!o[2].set || !o[3].set)) {
		return (haven__cli_refuse(cli, o[2].set ? "--name" : "--role",
		    "a new agency needs --role and --name"));
	}
	if (haven__strlcpy(en->role, o[2].set ? o[2].value : old->role,
	    sizeof(en->role)) != HAVEN_OK) {
		return (haven__cli_refuse(cli, "--role", "not a role code"));
	}
	if (haven__strlcpy(en->name, o[3].set ? o[3].value : old->name,
	    sizeof(en->name)) != HAVEN_OK) {
		return (haven__cli_refuse(cli, "--name",
		    "longer than %d characters", HAVEN_NAME_MAX - 1));
	}
	return (gather_attrs(cli, &o[4], old, en->tags, &en->n_tags));
}

static void
report_add(const haven__cli *cli, const haven_directory *dir, const enrol *en)
{
	const haven_agency *a = haven_directory_find(dir, en->pk.agency);

	if (!cli->json) {
		(void) printf("%s %s (%s) key generation %u; %zu key(s) "
		    "enrolled. Sign the directory to publish it.\n",
		    en->rotation ? "rotated" : "enrolled", en->pk.agency,
		    en->role, (unsigned) en->pk.generation,
		    a != NULL ? a->n_keys : 0);
	}
	haven__cli_emit(cli, json_pack("{s:b, s:s, s:s, s:I, s:b}", "ok", 1,
	    "agency", en->pk.agency, "role", en->role, "generation",
	    (json_int_t) en->pk.generation, "rotation", en->rotation));
}

static int
do_add(const haven__cli *cli, haven_directory *dir, haven__cli_opt *o)
{
	char err[ERRLEN] = "";
	haven_err e;
	enrol en;
	int rv;

	memset(&en, 0, sizeof(en));
	if ((e = haven_pubkey_load(&en.pk, o[1].value, err, sizeof(err))) !=
	    HAVEN_OK) {
		return (haven__cli_report(cli, e, "--pub", err));
	}
	if ((rv = prepare(cli, dir, o, &en)) != HAVEN__CLI_OK) {
		return (rv);
	}
	e = haven_directory_add(dir, &en.pk, en.role, en.name, en.tags,
	    en.n_tags, err, sizeof(err));
	if (e != HAVEN_OK) {
		return (haven__cli_report(cli, e, en.pk.agency, err));
	}
	if ((rv = save_src(cli, dir, o[0].value, false)) == HAVEN__CLI_OK) {
		report_add(cli, dir, &en);
	}
	return (rv);
}

static int
cmd_add(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[] = {
		{.name = "dir", .kind = HAVEN__CLI_VALUE},
		{.name = "pub", .kind = HAVEN__CLI_VALUE},
		{.name = "role", .kind = HAVEN__CLI_VALUE},
		{.name = "name", .kind = HAVEN__CLI_VALUE},
		{.name = "attr", .kind = HAVEN__CLI_LIST},
	};
	static const char *const req[] = {"dir", "pub", NULL};
	haven_directory *dir = NULL;
	int rv;

	if ((rv = haven__cli_start(cli, add_usage, argc, argv, o, 5, 0)) >=
	    0 || (rv = haven__cli_require(cli, o, 5, req)) != 0) {
		return (rv);
	}
	if ((rv = load_src(cli, o[0].value, &dir)) == HAVEN__CLI_OK) {
		rv = do_add(cli, dir, o);
	}
	haven_directory_destroy(&dir);
	return (rv);
}

/* ----------------------------------------------------------- revoke */

static int
cmd_revoke(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[] = {{.name = "dir", .kind = HAVEN__CLI_VALUE}};
	static const char *const req[] = {"dir", NULL};
	haven_directory *dir = NULL;
	const char *id;
	haven_err e;
	int rv;

	if ((rv = haven__cli_start(cli, revoke_usage, argc, argv, o, 1, 1)) >=
	    0 || (rv = haven__cli_require(cli, o, 1, req)) != 0) {
		return (rv);
	}
	if (cli->n_pos != 1) {
		return (haven__cli_refuse(cli, "ID", "the agency id to revoke "
		    "is required"));
	}
	id = cli->pos[0];
	if ((rv = load_src(cli, o[0].value, &dir)) != HAVEN__CLI_OK) {
		return (rv);
	}
	if ((e = haven_directory_revoke(dir, id)) != HAVEN_OK) {
		rv = haven__cli_report(cli, e, "ID", e == HAVEN_ENOTFOUND ?
		    "no such agency in the directory" : NULL);
	} else if ((rv = save_src(cli, dir, o[0].value, false)) ==
	    HAVEN__CLI_OK) {
		if (!cli->json) {
			(void) printf("revoked %s. Sign the directory and "
			    "reload the broker for it to take effect.\n", id);
		}
		haven__cli_emit(cli, json_pack("{s:b, s:s, s:s}", "ok", 1,
		    "agency", id, "status", "revoked"));
	}
	haven_directory_destroy(&dir);
	return (rv);
}

/* ------------------------------------------------------------- sign */

static int
write_signed(const haven__cli *cli, const haven_directory *dir,
    const haven_keys *admin, const char *out)
{
	uint8_t *doc = NULL;
	size_t len = 0;
	haven_err e = haven_directory_sign(dir, admin, &doc, &len);
	int rv;

	if ((rv = haven__cli_write_signed(cli, e, doc, len, out)) !=
	    HAVEN__CLI_OK) {
		return (rv);
	}
	if (!cli->json) {
		(void) printf("signed directory version %llu (%zu agencies) "
		    "-> %s\n", (unsigned long long) haven_directory_version(dir),
		    haven_directory_count(dir), out);
	}
	haven__cli_emit(cli, json_pack("{s:b, s:s, s:I, s:I}", "ok", 1,
	    "signed", out, "version", (json_int_t) haven_directory_version(dir),
	    "agencies", (json_int_t) haven_directory_count(dir)));
	return (HAVEN__CLI_OK);
}

static int
cmd_sign(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[] = {
		{.name = "dir", .kind = HAVEN__CLI_VALUE},
		{.name = "admin-key", .kind = HAVEN__CLI_VALUE},
		{.name = "out", .kind = HAVEN__CLI_VALUE},
	};
	static const char *const req[] = {"dir", "admin-key", "out", NULL};
	haven_directory *dir = NULL;
	haven_keys *admin = NULL;
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if ((rv = haven__cli_start(cli, sign_usage, argc, argv, o, 3, 0)) >=
	    0 || (rv = haven__cli_require(cli, o, 3, req)) != 0) {
		return (rv);
	}
	if ((e = haven_keys_load(&admin, o[1].value, err, sizeof(err))) !=
	    HAVEN_OK) {
		return (haven__cli_report(cli, e, "--admin-key", err));
	}
	if ((rv = load_src(cli, o[0].value, &dir)) != HAVEN__CLI_OK) {
		goto out;
	}
	haven_directory_bump(dir);
	if ((rv = save_src(cli, dir, o[0].value, false)) != HAVEN__CLI_OK) {
		goto out;
	}
	rv = write_signed(cli, dir, admin, o[2].value);
out:
	haven_directory_destroy(&dir);
	haven_keys_destroy(&admin);
	return (rv);
}

/* ------------------------------------------------------------- show */

static json_t *
agency_json(const haven_agency *a)
{
	json_t *keys = json_array(), *attrs = json_object();

	for (size_t i = 0; i < a->n_keys; i++) {
		const haven_agency_key *k = &a->keys[i];

		(void) json_array_append_new(keys, json_pack("{s:I, s:b, s:o}",
		    "generation", (json_int_t) k->generation, "retired",
		    k->retired, "sign_pk",
		    haven__cli_hex(k->sign_pk, HAVEN_KEY_BYTES)));
	}
	for (size_t i = 0; i < a->n_attrs; i++) {
		(void) json_object_set_new(attrs, a->attrs[i].key,
		    json_string(a->attrs[i].value));
	}
	return (json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", a->id,
	    "role", a->role, "name", a->name, "status",
	    a->revoked ? "revoked" : "active", "keys", keys, "attrs", attrs));
}

static void
print_agency(const haven_agency *a)
{
	char gens[64] = "";
	size_t used = 0;

	for (size_t i = 0; i < a->n_keys && used < sizeof(gens); i++) {
		int n = snprintf(gens + used, sizeof(gens) - used, "%s%u%s",
		    i > 0 ? "," : "", (unsigned) a->keys[i].generation,
		    a->keys[i].retired ? "r" : "");

		used += n > 0 ? (size_t) n : 0;
	}
	(void) printf("%-28s %-5s %-8s %-10s %s\n", a->id, a->role,
	    a->revoked ? "revoked" : "active", gens, a->name);
}

static void
show_dir(const haven__cli *cli, const haven_directory *dir)
{
	size_t n = haven_directory_count(dir);
	json_t *list = json_array();

	if (!cli->json) {
		(void) printf("directory version %llu, %zu agencies, "
		    "signature verified\n", (unsigned long long)
		    haven_directory_version(dir), n);
		(void) printf("%-28s %-5s %-8s %-10s %s\n", "ID", "ROLE",
		    "STATUS", "KEYS", "NAME");
	}
	for (size_t i = 0; i < n; i++) {
		const haven_agency *a = haven_directory_at(dir, i);

		if (!cli->json) {
			print_agency(a);
		}
		(void) json_array_append_new(list, agency_json(a));
	}
	if (!cli->json) {
		(void) printf("(KEYS: generations; 'r' = retired, verify "
		    "only)\n");
	}
	haven__cli_emit(cli, json_pack("{s:b, s:b, s:I, s:o}", "ok", 1,
	    "verified", 1, "version", (json_int_t) haven_directory_version(dir),
	    "agencies", list));
}

static int
cmd_show(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[] = {
		{.name = "signed", .kind = HAVEN__CLI_VALUE},
		{.name = "admin-pub", .kind = HAVEN__CLI_VALUE},
	};
	static const char *const req[] = {"signed", "admin-pub", NULL};
	uint8_t admin_pk[HAVEN_KEY_BYTES];
	haven_directory *dir = NULL;
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if ((rv = haven__cli_start(cli, show_usage, argc, argv, o, 2, 0)) >=
	    0 || (rv = haven__cli_require(cli, o, 2, req)) != 0) {
		return (rv);
	}
	if ((rv = haven__cli_admin_pub(cli, "--admin-pub", o[1].value,
	    admin_pk)) != HAVEN__CLI_OK) {
		return (rv);
	}
	e = haven_directory_load(&dir, o[0].value, admin_pk, err, sizeof(err));
	if (e != HAVEN_OK) {
		return (haven__cli_report(cli, e, "--signed", err[0] != '\0' ?
		    err : e == HAVEN_ESIG ? "signature does not verify with "
		    "this admin key (tampered or signed by another key)" :
		    NULL));
	}
	show_dir(cli, dir);
	haven_directory_destroy(&dir);
	return (HAVEN__CLI_OK);
}

static const haven__cli_sub subs[] = {
	{"init", cmd_init, init_usage},
	{"add", cmd_add, add_usage},
	{"revoke", cmd_revoke, revoke_usage},
	{"calendar", haven__ctl_directory_calendar, haven__dircal_usage},
	{"sign", cmd_sign, sign_usage},
	{"show", cmd_show, show_usage},
};

int
haven__ctl_directory(int argc, char **argv)
{
	return (haven__cli_dispatch("directory", group_usage, subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv));
}
