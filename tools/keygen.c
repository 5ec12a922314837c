/*
 * tools/keygen.c: `havenctl keygen`: an agency's keys or the partnership
 * pseudonym key.
 *
 * Keys are generated on the machine that will hold them; the secret file is
 * written 0600 (tmp + fsync + rename by libhaven) and an existing key is
 * never overwritten without --force, because losing an agency's secret key
 * loses its inbox. The only thing printed is the public half (hex), so the
 * administrator can compare it out of band with what is enrolled.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "haven/keys.h"
#include "haven/pseudonym.h"
#include "util.h"

static const char usage_text[] =
    "usage: havenctl keygen --agency ID --out DIR [--generation N] [--force]"
    " [--json]\n"
    "       havenctl keygen --pseudonym --out FILE [--force] [--json]\n\n"
    "Generate an agency's keys: DIR/ID.key (secret, mode 0600) and\n"
    "DIR/ID.pub (public, for enrolment with 'havenctl directory add').\n"
    "ID is an agency id (e.g. school.urn.110123), 'admin' or 'broker'.\n"
    "--generation N  key generation (default 1; use the next number when\n"
    "                rotating an agency's keys)\n"
    "--pseudonym     instead write the partnership pseudonym key to FILE\n"
    "                (0600); every agent holds it, the broker never does\n"
    "--force         overwrite existing key files\n";

enum { O_AGENCY, O_OUT, O_GEN, O_FORCE, O_PSEUD, O_COUNT };

static int
pseudonym(const haven__cli *cli, const char *path, bool force)
{
	haven_pseudonym_key *k = NULL;
	haven_err rv;

	if ((rv = haven_pseudonym_key_generate(&k)) != HAVEN_OK) {
		return (haven__cli_report(cli, rv, NULL, "cannot generate"));
	}
	rv = haven_pseudonym_key_save(k, path, force);
	haven_pseudonym_key_destroy(&k);
	if (rv != HAVEN_OK) {
		return (haven__cli_written(cli, rv, path));
	}
	if (!cli->json) {
		(void) printf("wrote pseudonym key %s (mode 0600)\n", path);
	}
	haven__cli_emit(cli, json_pack("{s:b, s:s}", "ok", 1, "pseudonym_key",
	    path));
	return (HAVEN__CLI_OK);
}

static int
parse_gen(const haven__cli *cli, const haven__cli_opt *o, uint32_t *gen)
{
	char *end = NULL;
	unsigned long v;

	*gen = 1;
	if (!o->set) {
		return (HAVEN__CLI_OK);
	}
	v = strtoul(o->value, &end, 10);
	if (end == o->value || *end != '\0' || o->value[0] == '-' || v < 1 ||
	    v > UINT32_MAX) {
		return (haven__cli_refuse(cli, "--generation",
		    "must be a whole number from 1"));
	}
	*gen = (uint32_t) v;
	return (HAVEN__CLI_OK);
}

static void
report_pub(const haven__cli *cli, const haven_keys *k, const char *sec,
    const char *pub)
{
	haven_pubkey pk;
	char hex[2 * HAVEN_KEY_BYTES + 1];

	haven_keys_public(k, &pk);
	haven__hex_encode(hex, pk.sign_pk, sizeof(pk.sign_pk));
	if (!cli->json) {
		(void) printf("wrote %s (mode 0600) and %s\n"
		    "agency %s generation %u signing key %s\n", sec, pub,
		    pk.agency, (unsigned) pk.generation, hex);
	}
	haven__cli_emit(cli, json_pack("{s:b, s:s, s:I, s:s, s:s, s:o, s:o, "
	    "s:o}", "ok", 1, "agency", pk.agency, "generation",
	    (json_int_t) pk.generation, "secret", sec, "public", pub,
	    "sign_pk", haven__cli_hex(pk.sign_pk, HAVEN_KEY_BYTES),
	    "box_pk", haven__cli_hex(pk.box_pk, HAVEN_KEY_BYTES),
	    "curve_pk", haven__cli_hex(pk.curve_pk, HAVEN_KEY_BYTES)));
}

static int
agency_keys(const haven__cli *cli, const char *agency, const char *dir,
    uint32_t gen, bool force)
{
	char sec[PATH_MAX], pub[PATH_MAX];
	haven_keys *k = NULL;
	haven_err rv;
	int n1, n2;

	n1 = snprintf(sec, sizeof(sec), "%s/%s.key", dir, agency);
	n2 = snprintf(pub, sizeof(pub), "%s/%s.pub", dir, agency);
	if (n1 < 0 || n2 < 0 || (size_t) n1 >= sizeof(sec) ||
	    (size_t) n2 >= sizeof(pub)) {
		return (haven__cli_refuse(cli, "--out", "path too long"));
	}
	if ((rv = haven_keys_generate(&k, agency, gen)) != HAVEN_OK) {
		return (haven__cli_report(cli, rv, "--agency",
		    "not a valid agency id ([a-z0-9.-], starting with a letter)"));
	}
	if ((rv = haven__mkdirs(dir)) == HAVEN_OK) {
		rv = haven_keys_save(k, sec, pub, force);
	}
	if (rv == HAVEN_OK) {
		report_pub(cli, k, sec, pub);
	}
	haven_keys_destroy(&k);
	if (rv == HAVEN_EEXIST) {
		return (haven__cli_refuse(cli, "--out",
		    "%s or %s exists (use --force to replace)", sec, pub));
	}
	if (rv != HAVEN_OK) {
		return (haven__cli_fail(cli, rv, "%s: cannot write keys (%s)",
		    dir, haven_strerror(rv)));
	}
	return (HAVEN__CLI_OK);
}

int
haven__ctl_keygen(int argc, char **argv)
{
	haven__cli_opt o[O_COUNT] = {
		[O_AGENCY] = {.name = "agency", .kind = HAVEN__CLI_VALUE},
		[O_OUT] = {.name = "out", .kind = HAVEN__CLI_VALUE},
		[O_GEN] = {.name = "generation", .kind = HAVEN__CLI_VALUE},
		[O_FORCE] = {.name = "force", .kind = HAVEN__CLI_FLAG},
		[O_PSEUD] = {.name = "pseudonym", .kind = HAVEN__CLI_FLAG},
	};
	haven__cli cli = {.cmd = "keygen"};
	uint32_t gen;
	bool help;
	int rv;

	if ((rv = haven__cli_parse(&cli, argc, argv, o, O_COUNT, 0, &help)) !=
	    HAVEN__CLI_OK || help) {
		if (help) {
			(void) fputs(usage_text, stdout);
		}
		return (rv);
	}
	if (!o[O_OUT].set) {
		return (haven__cli_refuse(&cli, "--out", "--out is required"));
	}
	if (o[O_PSEUD].set) {
		if (o[O_AGENCY].set || o[O_GEN].set) {
			return (haven__cli_refuse(&cli, "--pseudonym",
			    "--pseudonym takes no --agency or --generation"));
		}
		return (pseudonym(&cli, o[O_OUT].value, o[O_FORCE].set));
	}
	if (!o[O_AGENCY].set) {
		return (haven__cli_refuse(&cli, "--agency",
		    "--agency is required (or --pseudonym)"));
	}
	if ((rv = parse_gen(&cli, &o[O_GEN], &gen)) != HAVEN__CLI_OK) {
		return (rv);
	}
	return (agency_keys(&cli, o[O_AGENCY].value, o[O_OUT].value, gen,
	    o[O_FORCE].set));
}
