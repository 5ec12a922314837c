/*
 * tools/audit_list.c: `havenctl audit list`, the data-protection officer's
 * query of the broker's audit (domain.md §4: answering audits and subject
 * access requests).
 *
 * Design notes:
 * - Nothing is listed from an audit that does not verify: the whole chain
 *   and its checkpoints are checked first (audit_read.c, shared with audit
 *   verify and report encompass), a broken chain refuses (exit 1, naming
 *   the first bad entry), and the entries listed are read back through the
 *   chain up to the verified head, so a store changed in between is
 *   refused too.
 * - The output is rendered into memory and written only once the whole
 *   walk succeeded: a listing is complete and verified, or absent. The
 *   text form walks twice (once to measure the columns, once to print);
 *   memory stays independent of the audit's size apart from the output.
 * - Entries hold agency ids, message ids, pseudonyms, codes and times;
 *   no personal data can appear. Strings are still escaped for their
 *   format: JSON by jansson, CSV quoted and formula-neutralised
 *   (haven__csv_field, shared with the report), control characters shown
 *   as '?' in text.
 * - Dates filter on the Europe/London date of the entry's time (what a
 *   DPO means by "on 3 March"), both ends included.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit_read.h"
#include "haven/calendar.h"
#include "util.h"

#define ERRLEN 256
#define HEX_MSG (2 * HAVEN_MSGID_BYTES + 1)
#define HEX_HASH (2 * HAVEN_HASH_BYTES + 1)
#define TIME_LEN 24

const char haven__audit_list_usage[] =
    "havenctl audit list (--config broker.json | --store DIR\n"
    "    --broker-pub broker.pub) [--event NAME]... [--actor AGENCY]\n"
    "    [--msg HEX32] [--case HEX64] [--subject HEX64]\n"
    "    [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json | --csv]\n"
    "  Verify the audit chain (as audit verify does; a broken chain lists\n"
    "  nothing, exit 1), then list the entries that match every filter\n"
    "  given, in sequence order. --event may be repeated (any of them);\n"
    "  names: START SUBMIT REJECT DELIVER ACK READ ESCALATE EXPIRE PURGE\n"
    "  DIRECTORY POLICY REVOKE AUTH_FAIL ESCALATE_CLOSED CONSENT.\n"
    "  --msg: a message id; --case: a case pseudonym; --subject: a person's\n"
    "  pseudonym (havenctl pseudonym computes both). --from/--to: London\n"
    "  dates of the entry's time, both included. Output: aligned text, a\n"
    "  JSON array (--json) or RFC 4180 CSV (--csv).\n"
    "  Exit 0 listed (even if nothing matched), 2 bad arguments, 1 store,\n"
    "  key or audit unusable.\n";

enum {
	L_CONFIG, L_STORE, L_PUB, L_EVENT, L_ACTOR, L_MSG, L_CASE, L_SUBJECT,
	L_FROM, L_TO, L_CSV, L_COUNT
};

typedef enum { OUT_TEXT, OUT_JSON, OUT_CSV } out_fmt;

typedef struct filter {
	uint32_t events; /* bit per event; 0 = any */
	const char *actor;
	bool has_msg, has_case, has_subject, has_from, has_to;
	uint8_t msg[HAVEN_MSGID_BYTES];
	uint8_t case_p[HAVEN_HASH_BYTES];
	uint8_t subject[HAVEN_HASH_BYTES];
	int64_t from_day, to_day;
} filter;

typedef struct row row;

typedef struct lister {
	filter flt;
	row *r;          /* scratch for the entry being printed */
	out_fmt fmt;
	FILE *f;
	bool measuring;  /* text pass 1 */
	uint64_t matched;
	uint64_t total;  /* entries read */
	int w_seq;       /* text column widths */
	int w_actor;
	int w_type;
} lister;

/* ------------------------------------------------------------ filters */

static bool
has_subject(const haven_audit_entry *e, const uint8_t p[HAVEN_HASH_BYTES])
{
	for (size_t i = 0; i < e->n_subjects; i++) {
		if (memcmp(e->subject_pseuds[i], p, HAVEN_HASH_BYTES) == 0) {
			return (true);
		}
	}
	return (false);
}

static bool
matches(const filter *t, const haven_audit_entry *e)
{
	int64_t day = haven_london_days(e->time_ms);

	if ((t->events != 0 && (t->events & (1u << e->event)) == 0) ||
	    (t->actor != NULL && strcmp(t->actor, e->actor) != 0) ||
	    (t->has_from && day < t->from_day) ||
	    (t->has_to && day > t->to_day)) {
		return (false);
	}
	if (t->has_msg && (!e->has_msg ||
	    memcmp(t->msg, e->msg_id, HAVEN_MSGID_BYTES) != 0)) {
		return (false);
	}
	if (t->has_case && (!e->has_case ||
	    memcmp(t->case_p, e->case_pseud, HAVEN_HASH_BYTES) != 0)) {
		return (false);
	}
	return (!t->has_subject || has_subject(e, t->subject));
}

/* ------------------------------------------------------------- fields */

static void
time_or_empty(int64_t ms, char *buf, size_t len)
{
	buf[0] = '\0';
	if (ms != 0) {
		haven_time_format(ms, buf, len);
	}
}

/* The recipients joined by `sep` (every one fits: HAVEN_ID_MAX each). */
static void
join_recipients(const haven_audit_entry *e, char sep, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->n_recipients; i++) {
		size_t k = strlen(e->recipients[i]);

		if (n + k + 2 > len) {
			break;
		}
		if (i > 0) {
			buf[n++] = sep;
		}
		memcpy(buf + n, e->recipients[i], k + 1);
		n += k;
	}
}

static void
join_subjects(const haven_audit_entry *e, char sep, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->n_subjects && n + HEX_HASH + 1 <= len; i++) {
		if (i > 0) {
			buf[n++] = sep;
		}
		haven__hex_encode(buf + n, e->subject_pseuds[i],
		    HAVEN_HASH_BYTES);
		n += HEX_HASH - 1;
	}
}

#define RCPT_LEN (HAVEN_MAX_RECIPIENTS * HAVEN_ID_MAX)
#define SUBJ_LEN (HAVEN_MAX_SUBJECTS * HEX_HASH)

/* Every field of an entry as text ("" for none), for JSON, CSV and text. */
struct row {
	char seq[24], time[TIME_LEN], msg[HEX_MSG], case_p[HEX_HASH];
	char deadline[TIME_LEN], occurred[TIME_LEN];
	char rcpt[RCPT_LEN], subj[SUBJ_LEN];
	const char *event, *type, *outcome;
};

static void
make_row(row *r, const haven_audit_entry *e, char sep)
{
	(void) snprintf(r->seq, sizeof(r->seq), "%" PRIu64, e->seq);
	haven_time_format(e->time_ms, r->time, sizeof(r->time));
	r->msg[0] = r->case_p[0] = '\0';
	if (e->has_msg) {
		haven__hex_encode(r->msg, e->msg_id, HAVEN_MSGID_BYTES);
	}
	if (e->has_case) {
		haven__hex_encode(r->case_p, e->case_pseud, HAVEN_HASH_BYTES);
	}
	time_or_empty(e->deadline_ms, r->deadline, sizeof(r->deadline));
	time_or_empty(e->occurred_ms, r->occurred, sizeof(r->occurred));
	join_recipients(e, sep, r->rcpt, sizeof(r->rcpt));
	join_subjects(e, sep, r->subj, sizeof(r->subj));
	r->event = haven_audit_event_name(e->event);
	r->type = e->type != HAVEN_MSG_NONE ? haven_msg_type_name(e->type) :
	    "";
	r->outcome = haven_err_name((haven_err) e->outcome);
}

/* --------------------------------------------------------------- JSON */

static json_t *
str_or_null(const char *s)
{
	return (s[0] != '\0' ? json_string(s) : json_null());
}

static json_t *
string_list(const haven_audit_entry *e, bool subjects)
{
	json_t *a = json_array();
	size_t n = subjects ? e->n_subjects : e->n_recipients;

	for (size_t i = 0; a != NULL && i < n; i++) {
		json_t *v = subjects ? haven__cli_hex(e->subject_pseuds[i],
		    HAVEN_HASH_BYTES) : json_string(e->recipients[i]);

		if (json_array_append_new(a, v) != 0) {
			json_decref(a);
			return (NULL);
		}
	}
	return (a);
}

static json_t *
entry_json(const haven_audit_entry *e, const row *r)
{
	return (json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, "
	    "s:s, s:s, s:s, s:o, s:o}", "seq", (json_int_t) e->seq,
	    "time", r->time, "event", r->event, "actor", e->actor,
	    "msg_id", str_or_null(r->msg), "type", str_or_null(r->type),
	    "recipients", string_list(e, false),
	    "case_pseudonym", str_or_null(r->case_p),
	    "subjects", string_list(e, true),
	    "legal_basis", e->legal_basis, "purpose", e->purpose,
	    "outcome", r->outcome, "reason", e->reason,
	    "deadline", str_or_null(r->deadline),
	    "occurred", str_or_null(r->occurred)));
}

static haven_err
put_json(lister *l, const haven_audit_entry *e, const row *r)
{
	json_t *j = entry_json(e, r);
	int rc;

	if (j == NULL) {
		return (HAVEN_ENOMEM);
	}
	(void) fputs(l->matched > 1 ? ",\n" : "\n", l->f);
	rc = json_dumpf(j, l->f, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	return (rc == 0 ? HAVEN_OK : HAVEN_ENOMEM);
}

/* ---------------------------------------------------------------- CSV */

static const char *const csv_cols[] = {"seq", "time", "event", "actor",
    "msg_id", "type", "recipients", "case_pseudonym", "subjects",
    "legal_basis", "purpose", "outcome", "reason", "deadline", "occurred"};

#define N_CSV (sizeof(csv_cols) / sizeof(csv_cols[0]))

static void
put_csv(lister *l, const haven_audit_entry *e, const row *r)
{
	const char *v[N_CSV] = {r->seq, r->time, r->event, e->actor, r->msg,
	    r->type, r->rcpt, r->case_p, r->subj, e->legal_basis, e->purpose,
	    r->outcome, e->reason, r->deadline, r->occurred};

	for (size_t i = 0; i < N_CSV; i++) {
		haven__csv_field(l->f, v[i], i + 1 == N_CSV);
	}
}

/* --------------------------------------------------------------- text */

/* `s` with control characters as '?', padded to `w` columns. */
static void
put_safe(FILE *f, const char *s, int w)
{
	int n = 0;

	for (; *s != '\0'; s++, n++) {
		unsigned char ch = (unsigned char) *s;

		(void) fputc(ch < 0x20 || ch == 0x7F ? '?' : ch, f);
	}
	for (; n < w; n++) {
		(void) fputc(' ', f);
	}
}

static void
put_detail(FILE *f, const char *key, const char *val)
{
	if (val[0] != '\0') {
		(void) fprintf(f, "; %s=", key);
		put_safe(f, val, 0);
	}
}

#define W_EVENT 15 /* ESCALATE_CLOSED */
#define W_OUTCOME 9

static void
put_text(lister *l, const haven_audit_entry *e, const row *r)
{
	FILE *f = l->f;

	(void) fprintf(f, "%*s  %-20s  %-*s  ", l->w_seq, r->seq, r->time,
	    W_EVENT, r->event);
	put_safe(f, e->actor[0] != '\0' ? e->actor : "-", l->w_actor);
	(void) fputs("  ", f);
	put_safe(f, r->type[0] != '\0' ? r->type : "-", l->w_type);
	(void) fprintf(f, "  %-32s  %-*s  ", r->msg[0] != '\0' ? r->msg : "-",
	    W_OUTCOME, r->outcome);
	put_safe(f, e->reason[0] != '\0' ? e->reason : "-", 0);
	put_detail(f, "to", r->rcpt);
	put_detail(f, "case", r->case_p);
	put_detail(f, "subjects", r->subj);
	put_detail(f, "basis", e->legal_basis);
	put_detail(f, "purpose", e->purpose);
	put_detail(f, "deadline", r->deadline);
	put_detail(f, "occurred", r->occurred);
	(void) fputc('\n', f);
}

static int
max_i(int a, size_t b)
{
	return (b > (size_t) a ? (int) b : a);
}

static void
measure(lister *l, const haven_audit_entry *e)
{
	char seq[24];

	(void) snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
	l->w_seq = max_i(l->w_seq, strlen(seq));
	l->w_actor = max_i(l->w_actor, strlen(e->actor));
	if (e->type != HAVEN_MSG_NONE) {
		l->w_type = max_i(l->w_type,
		    strlen(haven_msg_type_name(e->type)));
	}
}

static void
text_header(lister *l)
{
	(void) fprintf(l->f, "%*s  %-20s  %-*s  %-*s  %-*s  %-32s  %-*s  %s\n",
	    l->w_seq, "SEQ", "TIME (UTC)", W_EVENT, "EVENT", l->w_actor,
	    "ACTOR", l->w_type, "TYPE", "MSG", W_OUTCOME, "OUTCOME",
	    "REASON; DETAILS");
}

/* ---------------------------------------------------------------- walk */

static haven_err
visit(void *arg, const haven_audit_entry *e)
{
	lister *l = arg;
	row *r = l->r;
	haven_err rv = HAVEN_OK;

	l->total++;
	if (!matches(&l->flt, e)) {
		return (HAVEN_OK);
	}
	l->matched++;
	if (l->measuring) {
		measure(l, e);
		return (HAVEN_OK);
	}
	make_row(r, e, l->fmt == OUT_TEXT ? ',' : ' ');
	if (l->fmt == OUT_JSON) {
		rv = put_json(l, e, r);
	} else if (l->fmt == OUT_CSV) {
		put_csv(l, e, r);
	} else {
		put_text(l, e, r);
	}
	return (rv);
}

static void
footer(lister *l, const haven__audit_src *src)
{
	if (l->fmt == OUT_JSON) {
		(void) fputs(l->matched > 0 ? "\n]\n" : "]\n", l->f);
	} else if (l->fmt == OUT_TEXT) {
		(void) fprintf(l->f, "-- %" PRIu64 " of %" PRIu64 " entries "
		    "listed; audit chain verified up to entry %" PRIu64 "\n",
		    l->matched, l->total, src->head_seq);
	}
}

/* Verify, then walk (twice for text: measure, then print) into memory. */
static int
run(const haven__cli *cli, haven__audit_src *src, lister *l, char **buf,
    size_t *len)
{
	char err[ERRLEN] = "";
	haven_err e = HAVEN_OK;

	if ((l->f = open_memstream(buf, len)) == NULL) {
		return (haven__cli_fail(cli, HAVEN_ENOMEM, "out of memory"));
	}
	l->w_seq = 3;    /* "SEQ" */
	l->w_actor = 5;  /* "ACTOR" */
	l->w_type = 4;   /* "TYPE" */
	if (l->fmt == OUT_TEXT) {
		l->measuring = true;
		e = haven__audit_walk(src->store, src->head_seq,
		    src->head_hash, visit, l, err, sizeof(err));
		l->measuring = false;
		l->matched = l->total = 0;
		text_header(l);
	} else if (l->fmt == OUT_CSV) {
		for (size_t i = 0; i < N_CSV; i++) {
			haven__csv_field(l->f, csv_cols[i], i + 1 == N_CSV);
		}
	} else {
		(void) fputc('[', l->f);
	}
	if (e == HAVEN_OK) {
		e = haven__audit_walk(src->store, src->head_seq,
		    src->head_hash, visit, l, err, sizeof(err));
	}
	footer(l, src);
	if (fclose(l->f) != 0 && e == HAVEN_OK) {
		e = HAVEN_ENOMEM;
	}
	l->f = NULL;
	if (e != HAVEN_OK) {
		return (haven__cli_fail(cli, e, "%s: %s; nothing listed",
		    src->store, err[0] ? err : haven_strerror(e)));
	}
	return (HAVEN__CLI_OK);
}

/* ------------------------------------------------------------ options */

static int
parse_events(const haven__cli *cli, const haven__cli_opt *o, filter *t)
{
	for (size_t i = 0; i < o->n_list; i++) {
		uint32_t ev = 1;

		while (ev < HAVEN_AUDIT_EVENT_COUNT &&
		    strcasecmp(o->list[i], haven_audit_event_name(ev)) != 0) {
			ev++;
		}
		if (ev == HAVEN_AUDIT_EVENT_COUNT) {
			return (haven__cli_refuse(cli, "--event", "unknown "
			    "event '%.32s' (see --help for the names)",
			    o->list[i]));
		}
		t->events |= 1u << ev;
	}
	return (HAVEN__CLI_OK);
}

/* A fixed-length hex option into `out` (`n` bytes). */
static int
parse_hex(const haven__cli *cli, const haven__cli_opt *o, uint8_t *out,
    size_t n, bool *set)
{
	char field[16];

	*set = o->set;
	if (!o->set) {
		return (HAVEN__CLI_OK);
	}
	(void) snprintf(field, sizeof(field), "--%s", o->name);
	if (haven__hex_decode(out, n, o->value) != HAVEN_OK) {
		return (haven__cli_refuse(cli, field, "want exactly %zu hex "
		    "digits", 2 * n));
	}
	return (HAVEN__CLI_OK);
}

static int
parse_day(const haven__cli *cli, const haven__cli_opt *o, int64_t *day,
    bool *set)
{
	char field[16];

	*set = o->set;
	(void) snprintf(field, sizeof(field), "--%s", o->name);
	if (o->set && haven_date_parse(o->value, day) != HAVEN_OK) {
		return (haven__cli_refuse(cli, field, "not a date (want "
		    "YYYY-MM-DD, a real calendar date)"));
	}
	return (HAVEN__CLI_OK);
}

static int
parse_filters(const haven__cli *cli, haven__cli_opt *o, lister *l)
{
	filter *t = &l->flt;
	int rv;

	if (cli->json && o[L_CSV].set) {
		return (haven__cli_refuse(cli, "--csv", "give --json or --csv, "
		    "not both"));
	}
	l->fmt = cli->json ? OUT_JSON : o[L_CSV].set ? OUT_CSV : OUT_TEXT;
	if (o[L_ACTOR].set && !haven_agency_id_valid(o[L_ACTOR].value)) {
		return (haven__cli_refuse(cli, "--actor", "not an agency id"));
	}
	t->actor = o[L_ACTOR].set ? o[L_ACTOR].value : NULL;
	if ((rv = parse_events(cli, &o[L_EVENT], t)) != 0 ||
	    (rv = parse_hex(cli, &o[L_MSG], t->msg, HAVEN_MSGID_BYTES,
	    &t->has_msg)) != 0 ||
	    (rv = parse_hex(cli, &o[L_CASE], t->case_p, HAVEN_HASH_BYTES,
	    &t->has_case)) != 0 ||
	    (rv = parse_hex(cli, &o[L_SUBJECT], t->subject, HAVEN_HASH_BYTES,
	    &t->has_subject)) != 0 ||
	    (rv = parse_day(cli, &o[L_FROM], &t->from_day, &t->has_from)) != 0 ||
	    (rv = parse_day(cli, &o[L_TO], &t->to_day, &t->has_to)) != 0) {
		return (rv);
	}
	if (t->has_from && t->has_to && t->from_day > t->to_day) {
		return (haven__cli_refuse(cli, "--from", "--from is after "
		    "--to"));
	}
	return (HAVEN__CLI_OK);
}

static int
write_out(const haven__cli *cli, const char *buf, size_t len)
{
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		return (haven__cli_fail(cli, HAVEN_EIO,
		    "cannot write to stdout"));
	}
	return (HAVEN__CLI_OK);
}

int
haven__ctl_audit_list(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[L_COUNT] = {
		[L_CONFIG] = {.name = "config", .kind = HAVEN__CLI_VALUE},
		[L_STORE] = {.name = "store", .kind = HAVEN__CLI_VALUE},
		[L_PUB] = {.name = "broker-pub", .kind = HAVEN__CLI_VALUE},
		[L_EVENT] = {.name = "event", .kind = HAVEN__CLI_LIST},
		[L_ACTOR] = {.name = "actor", .kind = HAVEN__CLI_VALUE},
		[L_MSG] = {.name = "msg", .kind = HAVEN__CLI_VALUE},
		[L_CASE] = {.name = "case", .kind = HAVEN__CLI_VALUE},
		[L_SUBJECT] = {.name = "subject", .kind = HAVEN__CLI_VALUE},
		[L_FROM] = {.name = "from", .kind = HAVEN__CLI_VALUE},
		[L_TO] = {.name = "to", .kind = HAVEN__CLI_VALUE},
		[L_CSV] = {.name = "csv", .kind = HAVEN__CLI_FLAG},
	};
	haven__audit_src src;
	char *buf = NULL;
	size_t len = 0;
	row scratch;
	lister l;
	int rv;

	memset(&l, 0, sizeof(l));
	l.r = &scratch;
	if ((rv = haven__cli_start(cli, haven__audit_list_usage, argc, argv, o,
	    L_COUNT, 0)) >= 0 || (rv = parse_filters(cli, o, &l)) != 0 ||
	    (rv = haven__ctl_audit_source(cli, &o[L_CONFIG], &o[L_STORE],
	    &o[L_PUB], &src)) != 0 ||
	    (rv = haven__ctl_audit_open(cli, &src, "--store", true)) != 0 ||
	    (rv = haven__ctl_audit_verified(cli, &src, "listing")) != 0 ||
	    (rv = run(cli, &src, &l, &buf, &len)) != 0) {
		free(buf);
		return (rv);
	}
	rv = write_out(cli, buf, len);
	free(buf);
	return (rv);
}
