/*
 * tools/pseudonym_cmd.c: `havenctl pseudonym`, the pseudonym of a case or
 * a person, so that a data-protection officer can find their entries in
 * the broker's audit (`havenctl audit list --case / --subject`).
 *
 * Design notes:
 * - It runs where the partnership pseudonym key is (an agency that knows
 *   the person), never on the broker, which must not hold the key.
 * - The computation is libhaven's (haven_pseudonym_case/_person), the one
 *   the agents use when they seal a header, so the hex printed is exactly
 *   what the audit holds.
 * - Names and dates of birth are personal data: they are read into
 *   sodium_malloc memory (from stdin with "-", which keeps them out of the
 *   shell history and the process list), wiped after hashing, and never
 *   printed, logged or put in an error message; messages name the option
 *   only. An argv copy is wiped too, though the shell may have kept it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "haven/calendar.h"
#include "haven/pseudonym.h"
#include "util.h"

#define ERRLEN 256
#define INPUT_MAX 512 /* a name or case reference, with room to spare */

static const char usage[] =
    "usage: havenctl pseudonym --key partnership.pseudonym\n"
    "    (--case REF | --person NAME --dob YYYY-MM-DD|unknown) [--json]\n\n"
    "Print the keyed pseudonym (64 hex digits) of a case reference (the\n"
    "police reference of a notification, or a MARAC case reference) or of\n"
    "a person (name and date of birth), as the agents put it in message\n"
    "headers and the broker in its audit. Give \"-\" as REF or NAME to read\n"
    "it from the first line of stdin (recommended: it keeps the name out\n"
    "of the shell history and the process list). --dob unknown: a person\n"
    "a MARAC message named without a date of birth. The name is never\n"
    "printed or logged. Then: havenctl audit list --case HEX or\n"
    "--subject HEX.\n"
    "Exit 0 printed, 2 bad arguments, 1 the key cannot be read.\n";

enum { P_KEY, P_CASE, P_PERSON, P_DOB, P_COUNT };

/* Scratch for personal data, in sodium_malloc memory. */
typedef struct secret_in {
	char text[INPUT_MAX + 2];
} secret_in;

/* One line of stdin into s->text, without its line end. */
static int
read_line(const haven__cli *cli, const char *field, secret_in *s)
{
	size_t n;

	/* unbuffered: no copy of the line left in a stdio buffer */
	(void) setvbuf(stdin, NULL, _IONBF, 0);
	if (isatty(STDIN_FILENO)) {
		(void) fprintf(stderr, "%s (one line, not echoed to any log): ",
		    field);
	}
	if (fgets(s->text, sizeof(s->text), stdin) == NULL) {
		return (haven__cli_refuse(cli, field, "nothing on stdin"));
	}
	n = strcspn(s->text, "\r\n");
	if (s->text[n] == '\0' && n > INPUT_MAX) {
		return (haven__cli_refuse(cli, field, "longer than %d bytes",
		    INPUT_MAX));
	}
	s->text[n] = '\0';
	return (HAVEN__CLI_OK);
}

/* The value of `o` ("-": stdin) into s->text; the argv copy is wiped. */
static int
take(const haven__cli *cli, haven__cli_opt *o, const char *field,
    secret_in *s)
{
	int rv = HAVEN__CLI_OK;

	if (strcmp(o->value, "-") == 0) {
		rv = read_line(cli, field, s);
	} else if (strlen(o->value) > INPUT_MAX) {
		rv = haven__cli_refuse(cli, field, "longer than %d bytes",
		    INPUT_MAX);
	} else {
		(void) snprintf(s->text, sizeof(s->text), "%s", o->value);
	}
	sodium_memzero((char *) o->value, strlen(o->value));
	if (rv == HAVEN__CLI_OK && strspn(s->text, " \t\v\f") ==
	    strlen(s->text)) {
		rv = haven__cli_refuse(cli, field, "empty");
	}
	return (rv);
}

static int
check_args(const haven__cli *cli, haven__cli_opt *o)
{
	int64_t day;

	if (!o[P_KEY].set) {
		return (haven__cli_refuse(cli, "--key", "--key is required "
		    "(the partnership pseudonym key file)"));
	}
	if (o[P_CASE].set == o[P_PERSON].set) {
		return (haven__cli_refuse(cli, "--case", "give --case, or "
		    "--person with --dob (one of them)"));
	}
	if (o[P_CASE].set && o[P_DOB].set) {
		return (haven__cli_refuse(cli, "--dob", "--dob goes with "
		    "--person"));
	}
	if (o[P_PERSON].set && (!o[P_DOB].set ||
	    (strcmp(o[P_DOB].value, "unknown") != 0 &&
	    (strlen(o[P_DOB].value) != 10 ||
	    haven_date_parse(o[P_DOB].value, &day) != HAVEN_OK)))) {
		return (haven__cli_refuse(cli, "--dob", "--person needs --dob "
		    "YYYY-MM-DD (a real calendar date) or unknown"));
	}
	return (HAVEN__CLI_OK);
}

static void
print_hex(const haven__cli *cli, const uint8_t p[HAVEN_HASH_BYTES],
    bool person)
{
	char hex[2 * HAVEN_HASH_BYTES + 1];

	haven__hex_encode(hex, p, HAVEN_HASH_BYTES);
	if (!cli->json) {
		(void) printf("%s\n", hex);
	}
	haven__cli_emit(cli, json_pack("{s:b, s:s, s:s}", "ok", 1, "kind",
	    person ? "person" : "case", "pseudonym", hex));
}

static int
compute(const haven__cli *cli, haven__cli_opt *o, secret_in *s)
{
	haven_pseudonym_key *k = NULL;
	uint8_t p[HAVEN_HASH_BYTES];
	bool person = o[P_PERSON].set;
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if ((rv = take(cli, person ? &o[P_PERSON] : &o[P_CASE], person ?
	    "--person" : "--case", s)) != HAVEN__CLI_OK) {
		return (rv);
	}
	if ((e = haven_pseudonym_key_load(&k, o[P_KEY].value, err,
	    sizeof(err))) != HAVEN_OK) {
		return (haven__cli_fail(cli, e, "pseudonym key %s: %s",
		    o[P_KEY].value, err[0] ? err : haven_strerror(e)));
	}
	if (person) {
		/* the agents hash an unknown date of birth as "" */
		haven_pseudonym_person(p, k, s->text, strcmp(o[P_DOB].value,
		    "unknown") == 0 ? "" : o[P_DOB].value);
	} else {
		haven_pseudonym_case(p, k, s->text);
	}
	haven_pseudonym_key_destroy(&k);
	print_hex(cli, p, person);
	return (HAVEN__CLI_OK);
}

int
haven__ctl_pseudonym(int argc, char **argv)
{
	haven__cli_opt o[P_COUNT] = {
		[P_KEY] = {.name = "key", .kind = HAVEN__CLI_VALUE},
		[P_CASE] = {.name = "case", .kind = HAVEN__CLI_VALUE},
		[P_PERSON] = {.name = "person", .kind = HAVEN__CLI_VALUE},
		[P_DOB] = {.name = "dob", .kind = HAVEN__CLI_VALUE},
	};
	haven__cli cli = {.cmd = "pseudonym"};
	secret_in *s;
	int rv;

	if ((rv = haven__cli_start(&cli, usage, argc, argv, o, P_COUNT, 0)) >=
	    0 || (rv = check_args(&cli, o)) != HAVEN__CLI_OK) {
		return (rv);
	}
	if ((s = sodium_malloc(sizeof(*s))) == NULL) {
		return (haven__cli_fail(&cli, HAVEN_ENOMEM, "out of memory"));
	}
	rv = compute(&cli, o, s);
	sodium_free(s); /* wipes */
	if (o[P_DOB].set) {
		sodium_memzero((char *) o[P_DOB].value, strlen(o[P_DOB].value));
	}
	return (rv);
}
