/*
 * tests/unit/test_havenctl.c: the real havenctl binary, end to end.
 *
 * Every test runs the built <build>/havenctl (found next to this test's
 * executable) in a fresh mkdtemp directory with real libsodium keys and,
 * for audit verify, a real LMDB store written through libhaven's audit
 * API. It checks exit codes (0 ok, 2 refused naming the field or rule,
 * 1 other error), file modes, and the --json output, and it tampers with
 * signed documents and the audit chain the way someone with disk access
 * would. The demo partnership script is run too, and its layout checked
 * against tests/integration/support_harness.h.
 */
#define _XOPEN_SOURCE 700 /* nftw FTW_DEPTH | FTW_PHYS */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <lmdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haven/audit.h"
#include "haven/keys.h"
#include "haven/pseudonym.h"
#include "util.h"

#include "ctl_tu.h"

static json_t *
out_json(const fx *f)
{
	json_t *j = json_loads(f->out, 0, NULL);

	if (j == NULL) {
		print_error("not JSON: %s\n", f->out);
	}
	assert_non_null(j);
	return (j);
}

static unsigned
file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return ((unsigned) (st.st_mode & 07777));
}

static void
keygen(fx *f, const char *agency, const char *subdir)
{
	assert_int_equal(ctl(f, "keygen", "--agency", agency, "--out",
	    P(f, subdir), NULL), 0);
}

/* admin, police.cambs, school.urn.110123 keys; a signed directory. */
static void
make_directory(fx *f)
{
	keygen(f, "admin", ".");
	keygen(f, "police.cambs", "k");
	keygen(f, "school.urn.110123", "k");
	assert_int_equal(ctl(f, "directory", "init", "--out",
	    P(f, "directory.json"), NULL), 0);
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/police.cambs.pub"),
	    "--role", "POL", "--name", "Cambridgeshire Constabulary", "--attr",
	    "spoc=police.cambs.spoc", NULL), 0);
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/school.urn.110123.pub"),
	    "--role", "EDU", "--name", "Riverside Primary School", NULL), 0);
	assert_int_equal(ctl(f, "directory", "sign", "--dir",
	    P(f, "directory.json"), "--admin-key", P(f, "admin.key"), "--out",
	    P(f, "directory.signed"), NULL), 0);
}

static json_t *
show(fx *f, const char *signed_path)
{
	assert_int_equal(ctl(f, "directory", "show", "--signed", signed_path,
	    "--admin-pub", P(f, "admin.pub"), "--json", NULL), 0);
	return (out_json(f));
}

static json_t *
find_agency(json_t *shown, const char *id)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(shown, "agencies"), i, a) {
		if (strcmp(json_string_value(json_object_get(a, "id")), id) ==
		    0) {
			return (a);
		}
	}
	return (NULL);
}

/* -------------------------------------------------------------- keygen */

static void
test_keygen_files_and_modes(void **state)
{
	fx *f = *state;
	haven_keys *k = NULL;
	haven_pubkey pub;
	char err[128];
	json_t *j;

	assert_int_equal(ctl(f, "keygen", "--agency", "police.cambs", "--out",
	    P(f, "keys"), "--json", NULL), 0);
	assert_int_equal(file_mode(P(f, "keys/police.cambs.key")), 0600);
	assert_int_equal(file_mode(P(f, "keys/police.cambs.pub")), 0644);
	assert_int_equal(haven_keys_load(&k, P(f, "keys/police.cambs.key"), err,
	    sizeof(err)), HAVEN_OK);
	assert_string_equal(haven_keys_agency(k), "police.cambs");
	assert_int_equal(haven_keys_generation(k), 1);
	haven_keys_destroy(&k);
	assert_int_equal(haven_pubkey_load(&pub, P(f, "keys/police.cambs.pub"),
	    err, sizeof(err)), HAVEN_OK);
	j = out_json(f);
	{
		char hex[65];

		haven__hex_encode(hex, pub.sign_pk, sizeof(pub.sign_pk));
		assert_string_equal(json_string_value(json_object_get(j,
		    "sign_pk")), hex);
	}
	json_decref(j);
	assert_null(strstr(f->out, "sign_sk"));
}

static void
test_keygen_refusals(void **state)
{
	fx *f = *state;

	keygen(f, "police.cambs", "keys");
	assert_int_equal(ctl(f, "keygen", "--agency", "police.cambs", "--out",
	    P(f, "keys"), NULL), 2);
	assert_contains(f->err, "--force");
	assert_int_equal(ctl(f, "keygen", "--agency", "police.cambs", "--out",
	    P(f, "keys"), "--force", "--generation", "2", NULL), 0);
	assert_int_equal(ctl(f, "keygen", "--agency", "Police_Cambs", "--out",
	    P(f, "keys"), NULL), 2);
	assert_contains(f->err, "--agency");
	assert_int_equal(ctl(f, "keygen", "--agency", "x.y", "--out",
	    P(f, "keys"), "--generation", "0", NULL), 2);
	assert_contains(f->err, "--generation");
	assert_int_equal(ctl(f, "keygen", "--agency", "x.y", NULL), 2);
	assert_contains(f->err, "--out");
	assert_int_equal(ctl(f, "keygen", "--agnecy", "x.y", NULL), 2);
	assert_contains(f->err, "unknown option");
	assert_int_equal(ctl(f, "keygen", "--help", NULL), 0);
	assert_contains(f->out, "usage");
	assert_int_equal(ctl(f, "--help", NULL), 0);
	assert_contains(f->out, "keygen");
	assert_int_equal(ctl(f, "frobnicate", NULL), 2);
}

static void
test_keygen_pseudonym(void **state)
{
	fx *f = *state;
	haven_pseudonym_key *k = NULL;
	char err[128];

	assert_int_equal(ctl(f, "keygen", "--pseudonym", "--out",
	    P(f, "partnership.pseudonym"), NULL), 0);
	assert_int_equal(file_mode(P(f, "partnership.pseudonym")), 0600);
	assert_int_equal(haven_pseudonym_key_load(&k,
	    P(f, "partnership.pseudonym"), err, sizeof(err)), HAVEN_OK);
	haven_pseudonym_key_destroy(&k);
	assert_int_equal(ctl(f, "keygen", "--pseudonym", "--out",
	    P(f, "partnership.pseudonym"), NULL), 2);
	assert_int_equal(ctl(f, "keygen", "--pseudonym", "--agency", "a.b",
	    "--out", P(f, "x"), NULL), 2);
}

/* ----------------------------------------------------------- directory */

static void
test_directory_round_trip(void **state)
{
	fx *f = *state;
	json_t *j, *a;

	make_directory(f);
	j = show(f, P(f, "directory.signed"));
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "agencies")), 2);
	a = find_agency(j, "police.cambs");
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "role")),
	    "POL");
	assert_string_equal(json_string_value(json_object_get(a, "status")),
	    "active");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    a, "attrs"), "spoc")), "police.cambs.spoc");
	assert_int_equal(json_array_size(json_object_get(a, "keys")), 1);
	json_decref(j);

	/* The source carries the bumped version: the next signing is newer. */
	assert_int_equal(ctl(f, "directory", "sign", "--dir",
	    P(f, "directory.json"), "--admin-key", P(f, "admin.key"), "--out",
	    P(f, "directory2.signed"), NULL), 0);
	j = show(f, P(f, "directory2.signed"));
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 3);
	json_decref(j);
	assert_int_equal(ctl(f, "directory", "show", "--signed",
	    P(f, "directory.signed"), "--admin-pub", P(f, "admin.pub"), NULL),
	    0);
	assert_contains(f->out, "Riverside Primary School");
}

static void
test_directory_add_refusals(void **state)
{
	fx *f = *state;

	make_directory(f);
	keygen(f, "housing.cambs", "k");
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/housing.cambs.pub"),
	    "--role", "XYZ", "--name", "Housing", NULL), 2);
	assert_contains(f->err, "role");
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/housing.cambs.pub"),
	    "--role", "HSG", NULL), 2);
	assert_contains(f->err, "--name");
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/housing.cambs.pub"),
	    "--role", "HSG", "--name", "Housing", "--attr", "novalue", NULL), 2);
	assert_contains(f->err, "--attr");
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/nope.pub"), "--role",
	    "HSG", "--name", "Housing", NULL), 1);
	assert_int_equal(ctl(f, "directory", "init", "--out",
	    P(f, "directory.json"), NULL), 2);
	assert_contains(f->err, "--force");
}

static void
flip_byte(const char *path, long from_end)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, -from_end, SEEK_END), 0);
	c = fgetc(fp);
	assert_int_equal(fseek(fp, -from_end, SEEK_END), 0);
	assert_int_not_equal(fputc(c ^ 0x01, fp), EOF);
	assert_int_equal(fclose(fp), 0);
}

static void
test_directory_tampered_refused(void **state)
{
	fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;

	make_directory(f);
	assert_int_equal(haven__read_file(P(f, "directory.signed"), 1u << 20,
	    &buf, &len), HAVEN_OK);
	/* A byte in the signed body (well before the trailing signature). */
	assert_int_equal(haven__write_file(P(f, "t1.signed"), buf, len, 0644,
	    false), HAVEN_OK);
	flip_byte(P(f, "t1.signed"), (long) len / 2);
	assert_int_equal(ctl(f, "directory", "show", "--signed",
	    P(f, "t1.signed"), "--admin-pub", P(f, "admin.pub"), "--json",
	    NULL), 2);
	assert_contains(f->err, "--signed");
	assert_contains(f->out, "\"ok\":false");
	/* Truncated. */
	assert_int_equal(haven__write_file(P(f, "t2.signed"), buf, len - 10,
	    0644, false), HAVEN_OK);
	assert_int_equal(ctl(f, "directory", "show", "--signed",
	    P(f, "t2.signed"), "--admin-pub", P(f, "admin.pub"), NULL), 2);
	free(buf);
	/* Signed by someone else's key (police posing as the admin). */
	assert_int_equal(ctl(f, "directory", "show", "--signed",
	    P(f, "directory.signed"), "--admin-pub", P(f, "k/police.cambs.pub"),
	    NULL), 2);
	assert_int_equal(ctl(f, "directory", "show", "--signed",
	    P(f, "missing.signed"), "--admin-pub", P(f, "admin.pub"), NULL), 1);
}

static void
test_directory_revoke_and_rotate(void **state)
{
	fx *f = *state;
	json_t *j, *a, *keys;

	make_directory(f);
	assert_int_equal(ctl(f, "directory", "revoke", "--dir",
	    P(f, "directory.json"), "school.urn.110123", NULL), 0);
	assert_int_equal(ctl(f, "directory", "revoke", "--dir",
	    P(f, "directory.json"), "school.urn.999999", NULL), 2);
	assert_contains(f->err, "ID");
	assert_int_equal(ctl(f, "keygen", "--agency", "police.cambs",
	    "--generation", "2", "--out", P(f, "k2"), NULL), 0);
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k2/police.cambs.pub"),
	    "--json", NULL), 0);
	assert_contains(f->out, "\"rotation\":true");
	assert_int_equal(ctl(f, "directory", "sign", "--dir",
	    P(f, "directory.json"), "--admin-key", P(f, "admin.key"), "--out",
	    P(f, "directory.signed"), NULL), 0);
	j = show(f, P(f, "directory.signed"));
	a = find_agency(j, "school.urn.110123");
	assert_string_equal(json_string_value(json_object_get(a, "status")),
	    "revoked");
	a = find_agency(j, "police.cambs");
	assert_string_equal(json_string_value(json_object_get(a, "status")),
	    "active");
	keys = json_object_get(a, "keys");
	assert_int_equal(json_array_size(keys), 2);
	/* Rotation keeps the agency's attributes. */
	assert_non_null(json_object_get(json_object_get(a, "attrs"), "spoc"));
	json_decref(j);
}

/* -------------------------------------------------------------- policy */

static const char *
default_policy(void)
{
	return (HAVEN_SOURCE_DIR "/deploy/policy.json");
}

/* Decision for one role query against the default policy: exit code, and
 * the deciding rule copied into `rule`. */
static int
decide(fx *f, const char *from, const char *to, const char *type,
    const char *basis, const char *profile, char *rule, size_t rulelen)
{
	json_t *j;
	int rc;

	rc = ctl(f, "policy", "check", "--policy", default_policy(), "--from",
	    from, "--to", to, "--type", type, "--basis", basis, "--profile",
	    profile, "--json", NULL);
	j = out_json(f);
	(void) snprintf(rule, rulelen, "%s",
	    json_string_value(json_object_get(j, "rule")));
	assert_int_equal(json_is_true(json_object_get(j, "allow")), rc == 0);
	json_decref(j);
	return (rc);
}

static void
test_policy_default_scenarios(void **state)
{
	fx *f = *state;
	const char *b = "DAA2021-S49A";
	char rule[64];

	assert_int_equal(ctl(f, "policy", "check", "--policy",
	    default_policy(), NULL), 0);
	assert_contains(f->out, "valid");
	assert_int_equal(decide(f, "POL", "EDU", "OE_NOTIFICATION", b,
	    "oe.setting", rule, sizeof(rule)), 0);
	assert_string_equal(rule, "R3");
	assert_int_equal(decide(f, "EDU", "EDU", "OE_NOTIFICATION", b,
	    "oe.setting", rule, sizeof(rule)), 2);
	assert_string_equal(rule, "R1");
	assert_int_equal(decide(f, "POL", "HSG", "OE_NOTIFICATION", b,
	    "oe.setting", rule, sizeof(rule)), 2);
	assert_string_equal(rule, "R8-oe-setting-only");
	assert_int_equal(decide(f, "POL", "LA", "OE_EHE_NOTIFICATION", b,
	    "oe.ehe", rule, sizeof(rule)), 0);
	assert_string_equal(rule, "R4");
	assert_int_equal(decide(f, "POL", "CSC", "OE_EHE_NOTIFICATION", b,
	    "oe.ehe", rule, sizeof(rule)), 0);
	assert_int_equal(decide(f, "POL", "EDU", "OE_EHE_NOTIFICATION", b,
	    "oe.ehe", rule, sizeof(rule)), 2);
	assert_int_equal(decide(f, "POL", "POL", "OE_ESCALATION", b,
	    "oe.escalation", rule, sizeof(rule)), 0);
	assert_string_equal(rule, "R5");
	assert_int_equal(decide(f, "EDU", "POL", "OE_RECEIPT", b, "oe.receipt",
	    rule, sizeof(rule)), 0);
	assert_string_equal(rule, "R7");
	assert_int_equal(decide(f, "EDU", "HSG", "OE_RECEIPT", b, "oe.receipt",
	    rule, sizeof(rule)), 2);
	assert_int_equal(decide(f, "POL", "EDU", "OE_NOTIFICATION",
	    "UKGDPR-6-1-e", "oe.setting", rule, sizeof(rule)), 2);
	assert_string_equal(rule, "R18-legal-basis");
	assert_int_equal(decide(f, "POL", "EDU", "OE_NOTIFICATION", b, "oe.ehe",
	    rule, sizeof(rule)), 2);
	assert_int_equal(decide(f, "POL", "HSG", "MARAC_REFERRAL", b, "x",
	    rule, sizeof(rule)), 2);
	assert_string_equal(rule, "R18-marac-legal-basis");
}

static void
test_policy_query_refusals(void **state)
{
	fx *f = *state;

	assert_int_equal(ctl(f, "policy", "check", "--policy",
	    default_policy(), "--from", "POL", "--to", "EDU", "--type",
	    "OE_NOTICE", NULL), 2);
	assert_contains(f->err, "--type");
	assert_int_equal(ctl(f, "policy", "check", "--policy",
	    default_policy(), "--from", "police.cambs", "--to", "EDU",
	    "--type", "OE_NOTIFICATION", NULL), 2);
	assert_contains(f->err, "--from");
	assert_int_equal(ctl(f, "policy", "check", "--policy",
	    default_policy(), "--from", "POL", "--type", "OE_NOTIFICATION",
	    NULL), 2);
	assert_contains(f->err, "--to");
	assert_int_equal(ctl(f, "policy", "check", "--policy",
	    P(f, "absent.json"), NULL), 1);
}

/* Write the default policy with one change made by `edit`. */
static void
write_variant(fx *f, const char *name, void (*edit)(json_t *))
{
	json_error_t je;
	json_t *root = json_load_file(default_policy(), 0, &je);

	assert_non_null(root);
	edit(root);
	assert_int_equal(json_dump_file(root, P(f, name), 0), 0);
	json_decref(root);
}

static json_t *
rule_at(json_t *root, size_t i)
{
	return (json_array_get(json_object_get(root, "rules"), i));
}

static void
bad_effect(json_t *root)
{
	(void) json_object_set_new(rule_at(root, 2), "effect",
	    json_string("perhaps"));
}

static void
bad_type(json_t *root)
{
	json_t *t = json_array();

	(void) json_array_append_new(t, json_string("OE_NOTIFICATON"));
	(void) json_object_set_new(rule_at(root, 4), "types", t);
}

static void
dup_id(json_t *root)
{
	(void) json_object_set_new(rule_at(root, 5), "id", json_string("R3"));
}

static void
unknown_field(json_t *root)
{
	(void) json_object_set_new(rule_at(root, 0), "sender", json_string("x"));
}

static void
check_bad(fx *f, const char *name, void (*edit)(json_t *), const char *want)
{
	write_variant(f, name, edit);
	assert_int_equal(ctl(f, "policy", "check", "--policy", P(f, name),
	    "--json", NULL), 2);
	assert_contains(f->err, want);
	assert_contains(f->out, "\"ok\":false");
}

static void
test_policy_malformed_names_rule(void **state)
{
	fx *f = *state;

	check_bad(f, "p1.json", bad_effect, "rule R8-oe-setting-only");
	check_bad(f, "p2.json", bad_type, "rule R3");
	check_bad(f, "p3.json", dup_id, "rules[5]");
	check_bad(f, "p4.json", unknown_field, "rule R1");
	assert_int_equal(haven__write_file(P(f, "p5.json"), "{\"version\":",
	    11, 0644, false), HAVEN_OK);
	assert_int_equal(ctl(f, "policy", "check", "--policy", P(f, "p5.json"),
	    NULL), 2);
	assert_contains(f->err, "malformed JSON");
}

static void
test_policy_sign_and_check_signed(void **state)
{
	fx *f = *state;

	make_directory(f);
	assert_int_equal(ctl(f, "policy", "sign", "--policy", default_policy(),
	    "--admin-key", P(f, "admin.key"), "--out", P(f, "policy.signed"),
	    NULL), 0);
	assert_int_equal(ctl(f, "policy", "check", "--signed",
	    P(f, "policy.signed"), "--admin-pub", P(f, "admin.pub"), NULL), 0);
	/* Agency ids resolve through the signed directory. */
	assert_int_equal(ctl(f, "policy", "check", "--signed",
	    P(f, "policy.signed"), "--admin-pub", P(f, "admin.pub"),
	    "--directory", P(f, "directory.signed"), "--from", "police.cambs",
	    "--to", "school.urn.110123", "--type", "OE_NOTIFICATION", "--basis",
	    "DAA2021-S49A", "--profile", "oe.setting", NULL), 0);
	assert_contains(f->out, "R3");
	assert_int_equal(ctl(f, "policy", "check", "--signed",
	    P(f, "policy.signed"), "--admin-pub", P(f, "admin.pub"),
	    "--directory", P(f, "directory.signed"), "--from", "police.cambs",
	    "--to", "school.urn.999", "--type", "OE_NOTIFICATION", NULL), 2);
	assert_contains(f->out, "directory");
	flip_byte(P(f, "policy.signed"), 70);
	assert_int_equal(ctl(f, "policy", "check", "--signed",
	    P(f, "policy.signed"), "--admin-pub", P(f, "admin.pub"), NULL), 2);
	/* A group-readable admin key is refused before anything is signed. */
	assert_int_equal(chmod(P(f, "admin.key"), 0644), 0);
	assert_int_equal(ctl(f, "policy", "sign", "--policy", default_policy(),
	    "--admin-key", P(f, "admin.key"), "--out", P(f, "p2.signed"),
	    NULL), 2);
	assert_int_equal(access(P(f, "p2.signed"), F_OK), -1);
}

/* --------------------------------------------------------------- audit */

static void
build_chain(fx *f, size_t n)
{
	haven_audit_log *log = NULL;
	haven_keys *broker = NULL;
	uint8_t hash[HAVEN_HASH_BYTES];
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	char err[128];

	assert_int_equal(haven_keys_load(&broker, P(f, "broker.key"), err,
	    sizeof(err)), HAVEN_OK);
	ctl_store_begin(f->store, &env, &txn);
	assert_int_equal(haven_audit_open(&log, txn), HAVEN_OK);
	for (size_t i = 0; i < n; i++) {
		haven_audit_entry e;

		memset(&e, 0, sizeof(e));
		e.time_ms = 1700000000000 + (int64_t) i;
		e.event = HAVEN_AUDIT_SUBMIT;
		(void) snprintf(e.actor, sizeof(e.actor), "police.cambs");
		assert_int_equal(haven_audit_append(log, txn, &e, hash),
		    HAVEN_OK);
	}
	assert_int_equal(haven_audit_checkpoint(log, txn, broker,
	    1700000001000), HAVEN_OK);
	haven_audit_close(&log);
	ctl_store_end(env, txn);
	haven_keys_destroy(&broker);
}

/* Another actor for an entry, as a disk-level attacker would write. */
static void
other_actor(haven_audit_entry *e)
{
	(void) snprintf(e->actor, sizeof(e->actor), "housing.cambs");
}

static void
test_audit_verify_missing_store(void **state)
{
	fx *f = *state;

	keygen(f, "broker", ".");
	assert_int_equal(ctl(f, "audit", "verify", "--data-dir",
	    P(f, "nonexistent"), "--broker-pub", P(f, "broker.pub"), NULL), 1);
	assert_contains(f->err, "no such directory");
	assert_int_equal(haven__mkdirs(P(f, "empty")), HAVEN_OK);
	assert_int_equal(ctl(f, "audit", "verify", "--data-dir", P(f, "empty"),
	    "--broker-pub", P(f, "broker.pub"), "--json", NULL), 1);
	assert_contains(f->out, "\"ok\":false");
	assert_int_equal(ctl(f, "audit", "verify", "--data-dir", P(f, "empty"),
	    NULL), 2);
	assert_contains(f->err, "--broker-pub");
	/* A store that exists but has no audit yet verifies, with 0 entries. */
	{
		MDB_env *env = NULL;

		assert_int_equal(mdb_env_create(&env), 0);
		assert_int_equal(mdb_env_open(env, P(f, "empty"), 0, 0600), 0);
		mdb_env_close(env);
	}
	assert_int_equal(ctl(f, "audit", "verify", "--data-dir", P(f, "empty"),
	    "--broker-pub", P(f, "broker.pub"), NULL), 0);
	assert_contains(f->out, "entries: 0");
	assert_contains(f->out, "audit chain verified");
	assert_int_equal(ctl(f, "audit", "verify", "--config",
	    P(f, "nope.json"), NULL), 1);
}

static void
write_config(fx *f, const char *keys)
{
	char text[2 * PATH_MAX + 128];
	int n = snprintf(text, sizeof(text), "{\"listen\":\"tcp://127.0.0.1:1\","
	    "\"data_dir\":\"%s\",\"keys\":\"%s\"}", P(f, "store"), keys);

	assert_true(n > 0 && (size_t) n < sizeof(text));
	assert_int_equal(haven__write_file(P(f, "broker.json"), text,
	    (size_t) n, 0600, false), HAVEN_OK);
}

static void
test_audit_verify_chain(void **state)
{
	fx *f = *state;
	json_t *j;
	uint64_t bad;

	keygen(f, "broker", ".");
	keygen(f, "other", ".");
	build_chain(f, 5);
	write_config(f, P(f, "broker.key"));
	assert_int_equal(ctl(f, "audit", "verify", "--config",
	    P(f, "broker.json"), NULL), 0);
	assert_contains(f->out, "audit chain verified");
	assert_contains(f->out, "entries: 5");
	assert_contains(f->out, "checkpoints: 1");
	/* A checkpoint checked with the wrong broker key fails. */
	assert_int_equal(ctl(f, "audit", "verify", "--data-dir", P(f, "store"),
	    "--broker-pub", P(f, "other.pub"), NULL), 2);
	/* A config whose key path is not a .key file is refused. */
	write_config(f, P(f, "broker.pem"));
	assert_int_equal(ctl(f, "audit", "verify", "--config",
	    P(f, "broker.json"), NULL), 2);
	assert_contains(f->err, "keys");
	ctl_audit_tamper(f->store, 3, other_actor);
	assert_int_equal(ctl(f, "audit", "verify", "--data-dir", P(f, "store"),
	    "--broker-pub", P(f, "broker.pub"), "--json", NULL), 2);
	j = out_json(f);
	assert_true(json_is_false(json_object_get(j, "verified")));
	bad = (uint64_t) json_integer_value(json_object_get(j,
	    "first_bad_seq"));
	assert_true(bad == 3 || bad == 4);
	json_decref(j);
}

/* --------------------------------------------------------- partnership */

/* Every agency partnership.sh enrols, and its role (same order). */
static const char *const agencies[] = {"police.cambs", "police.cambs.spoc",
    "school.urn.110123", "school.urn.110123.deputy", "school.urn.110456",
    "school.urn.110456.deputy", "la.cambs", "la.cambs.ehe", "la.cambs.eds",
    "housing.cambs", "housing.peterborough", "idva.cambs", "marac.cambs",
    "gp.riverside", "probation.cambs", "das.cambs", "refuge.cambs",
    "dapp.north", "dapp.south"};

#define N_AGENCIES (sizeof(agencies) / sizeof(agencies[0]))

static void
check_agent_config(fx *f, const char *id)
{
	char rel[256];
	json_t *j;

	(void) snprintf(rel, sizeof(rel), "demo/agents/%s/%s.key", id, id);
	assert_int_equal(file_mode(P(f, rel)), 0600);
	(void) snprintf(rel, sizeof(rel), "demo/agents/%s/%s.pub", id, id);
	assert_int_equal(access(P(f, rel), R_OK), 0);
	(void) snprintf(rel, sizeof(rel), "demo/agents/%s/data", id);
	assert_int_equal(access(P(f, rel), W_OK), 0);
	(void) snprintf(rel, sizeof(rel), "demo/agents/%s/agent.json", id);
	j = json_load_file(P(f, rel), JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "agency")), id);
	assert_string_equal(json_string_value(json_object_get(j, "broker")),
	    "tcp://127.0.0.1:7461");
	assert_string_equal(json_string_value(json_object_get(j, "spoc")),
	    "police.cambs.spoc");
	assert_int_equal(json_integer_value(json_object_get(j, "credit")), 64);
	assert_int_equal(access(json_string_value(json_object_get(j, "keys")),
	    R_OK), 0);
	json_decref(j);
}

/* The signed directory verifies with the demo admin key and lists every
 * agency (and the broker) with its role. */
static void
check_demo_directory(fx *f)
{
	static const char *const roles[] = {"POL", "POL", "EDU", "EDU", "EDU",
	    "EDU", "LA", "LA", "LA", "HSG", "HSG", "IDVA", "MCO", "HLT", "PRB",
	    "DAS", "REF", "DAPC", "DAPC"};
	json_t *j, *a;

	assert_int_equal(ctl(f, "directory", "show", "--signed",
	    P(f, "demo/directory.signed"), "--admin-pub", P(f, "demo/admin.pub"),
	    "--json", NULL), 0);
	j = out_json(f);
	assert_int_equal(json_array_size(json_object_get(j, "agencies")),
	    N_AGENCIES + 1);
	for (size_t i = 0; i < N_AGENCIES; i++) {
		a = find_agency(j, agencies[i]);
		assert_non_null(a);
		assert_string_equal(json_string_value(json_object_get(a,
		    "role")), roles[i]);
	}
	a = find_agency(j, "broker");
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "role")),
	    "BRK");
	a = find_agency(j, "police.cambs");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    a, "attrs"), "spoc")), "police.cambs.spoc");
	a = find_agency(j, "school.urn.110456");
	assert_string_equal(json_string_value(json_object_get(a, "name")),
	    "Fenland Academy");
	json_decref(j);
}

static int
run_script(fx *f, const char *dir)
{
	char script[] = HAVEN_SOURCE_DIR "/deploy/demo/partnership.sh";
	char sh[] = "/bin/sh", port[] = "7461";
	char d[PATH_MAX];
	char *argv[] = {sh, script, d, port, NULL};

	(void) snprintf(d, sizeof(d), "%s", dir);
	return (run_prog(f, sh, argv));
}

static void
test_partnership_script(void **state)
{
	fx *f = *state;
	static const char *const top[] = {"admin.pub", "broker.pub",
	    "directory.json", "directory.signed", "policy.json",
	    "policy.signed", "broker.json"};
	struct timespec t0, t1;
	json_t *j;

	(void) clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run_script(f, P(f, "demo")), 0);
	(void) clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	assert_string_equal(f->out, "");
	assert_int_equal(file_mode(P(f, "demo/admin.key")), 0600);
	assert_int_equal(file_mode(P(f, "demo/broker.key")), 0600);
	assert_int_equal(file_mode(P(f, "demo/partnership.pseudonym")), 0600);
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		char rel[64];

		(void) snprintf(rel, sizeof(rel), "demo/%s", top[i]);
		assert_int_equal(access(P(f, rel), R_OK), 0);
	}
	for (size_t i = 0; i < N_AGENCIES; i++) {
		check_agent_config(f, agencies[i]);
	}
	assert_int_equal(access(P(f, "demo/agents/broker"), F_OK), -1);
	j = json_load_file(P(f, "demo/broker.json"), 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "listen")),
	    "tcp://127.0.0.1:7461");
	assert_string_equal(json_string_value(json_object_get(j, "data_dir")),
	    P(f, "demo/broker-data"));
	assert_int_equal(json_integer_value(json_object_get(j,
	    "redeliver_ms")), 2000);
	json_decref(j);
	check_demo_directory(f);
	/* A second run into the same directory is refused, not merged. */
	assert_int_not_equal(run_script(f, P(f, "demo")), 0);
}

/* ---------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_keygen_files_and_modes),
		CTL_TEST(test_keygen_refusals),
		CTL_TEST(test_keygen_pseudonym),
		CTL_TEST(test_directory_round_trip),
		CTL_TEST(test_directory_add_refusals),
		CTL_TEST(test_directory_tampered_refused),
		CTL_TEST(test_directory_revoke_and_rotate),
		CTL_TEST(test_policy_default_scenarios),
		CTL_TEST(test_policy_query_refusals),
		CTL_TEST(test_policy_malformed_names_rule),
		CTL_TEST(test_policy_sign_and_check_signed),
		CTL_TEST(test_audit_verify_missing_store),
		CTL_TEST(test_audit_verify_chain),
		CTL_TEST(test_partnership_script),
	};

	(void) argc;
	if (sodium_init() < 0) {
		return (1);
	}
	ctl_find(argv[0]);
	if (access(g_ctl, X_OK) != 0) {
		(void) fprintf(stderr, "test_havenctl: %s not found (build the "
		    "havenctl target)\n", g_ctl);
		return (1);
	}
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
