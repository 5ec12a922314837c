/*
 * tools/report_cmd.c: `havenctl report encompass`, and the report's text,
 * CSV and JSON forms (the HTML page is report_html.c; the numbers come
 * from report.c).
 *
 * A compliance report is only as good as the audit it is built from, so
 * the whole chain is verified first (audit_read.c, shared with audit
 * verify and audit list: a broker public key the administrator names, or
 * the one beside the key in the broker's --config, never one taken from
 * the store) and a broken chain refuses the report (exit 1, naming the
 * first bad entry). report.c then reads exactly the verified entries,
 * re-checking the chain up to the verified head. The store is opened read-only, so the command is
 * safe while the broker runs.
 *
 * Nothing personal can appear: the audit holds agency ids, message ids,
 * codes and times; the directory supplies organisation names only. Every
 * inserted string is still escaped for its format (CSV quoting and
 * spreadsheet-formula neutralising here, HTML entities in report_html.c),
 * and control characters never reach a terminal.
 *
 * Exit codes: 0 written; 2 the command line is wrong (a date, the period,
 * the format, a missing or non-store --store, a directory that does not
 * verify); 1 the store, the key or the audit cannot be used (including a
 * --config whose data_dir is not a store).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_read.h"
#include "cli.h"
#include "haven/calendar.h"
#include "haven/keys.h"
#include "report.h"
#include "util.h"

#define ERRLEN 256

static const char group_usage[] =
    "usage: havenctl report SUBCOMMAND [OPTIONS] [--json]\n\n"
    "Reports built from the broker's audit (no personal data).\n";

static const char encompass_usage[] =
    "havenctl report encompass (--config broker.json | --store DIR\n"
    "    --broker-pub broker.pub) --from YYYY-MM-DD --to YYYY-MM-DD\n"
    "    [--format text|csv|html|json] [--out FILE [--force]]\n"
    "    [--directory directory.signed --admin-pub admin.pub] [--json]\n"
    "  Operation Encompass compliance: per school and overall, the\n"
    "  notifications sent on London dates FROM..TO (inclusive), how many\n"
    "  were read before their deadline, read late, escalated and unread,\n"
    "  and the median time from incident to reading. Reads and escalations\n"
    "  after TO still count: the report is as of the last audit entry.\n"
    "  --store is the broker's data_dir; --broker-pub verifies the audit\n"
    "  chain first (a broken chain refuses the report). --config takes\n"
    "  both from the broker's config, as audit verify does: its data_dir,\n"
    "  and the .pub beside its \"keys\". --directory names the schools\n"
    "  (its signature is checked with --admin-pub); without it schools\n"
    "  are shown by agency id. --out writes the file atomically\n"
    "  (refusing to replace one without --force); default stdout.\n"
    "  Exit 0 written, 2 bad arguments, 1 store or audit unusable.\n";

enum {
	O_CONFIG, O_STORE, O_PUB, O_FROM, O_TO, O_FORMAT, O_OUT, O_FORCE, O_DIR,
	O_ADMIN, O_COUNT
};

typedef enum { F_TEXT, F_CSV, F_HTML, F_JSON } fmt;

typedef struct job {
	haven__audit_src src;
	int64_t from_day, to_day;
	fmt format;
	haven_directory *dir;
	haven__report *r;
	int64_t generated_ms;
} job;

/* ------------------------------------------------------------- text */

/* Columns after the school name. */
enum {
	C_SENT, C_ONTIME, C_LATE, C_UNREAD, C_OVERDUE, C_ESC, C_ESC_DL,
	C_ESC_OFF, C_MEDIAN, C_PCT, C_COUNT
};

static const char *const col_title[C_COUNT] = {
	"Sent", "On time", "Late", "Unread", "Overdue", "Escalated",
	"Esc:deadline", "Esc:offline", "Median h:mm", "On time %"
};

typedef char cells[C_COUNT][24];

static void
row_cells(const haven__report_row *w, cells c)
{
	const uint64_t v[] = {w->notifications, w->read_on_time, w->read_late,
	    w->unread, w->unread_overdue, w->escalated, w->esc_deadline,
	    w->esc_offline};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		(void) snprintf(c[i], sizeof(c[i]), "%llu",
		    (unsigned long long) v[i]);
	}
	haven__report_hm(w->median_ms, c[C_MEDIAN], sizeof(c[C_MEDIAN]));
	haven__report_pct(w, c[C_PCT], sizeof(c[C_PCT]));
}

/* Columns a UTF-8 string takes (continuation bytes take none). */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		n += ((unsigned char) *s & 0xC0) != 0x80;
	}
	return (n);
}

/* `s` padded to `w` columns; control characters shown as '?'. */
static void
put_name(FILE *f, const char *s, size_t w)
{
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char) *p;

		(void) fputc(ch < 0x20 || ch == 0x7F ? '?' : ch, f);
	}
	for (size_t n = width(s); n < w; n++) {
		(void) fputc(' ', f);
	}
}

static void
text_line(FILE *f, const char *name, size_t namew, char c[][24])
{
	put_name(f, name, namew);
	for (size_t i = 0; i < C_COUNT; i++) {
		(void) fprintf(f, "  %*s", (int) strlen(col_title[i]), c[i]);
	}
	(void) fputc('\n', f);
}

static void
text_head(FILE *f, const haven__report *r, int64_t generated_ms)
{
	char from[16], to[16], asof[40], gen[40], hex[2 * HAVEN_HASH_BYTES + 1];

	haven__report_day(r->from_day, from, sizeof(from));
	haven__report_day(r->to_day, to, sizeof(to));
	haven__report_london(r->as_of_ms, asof, sizeof(asof));
	haven__report_london(generated_ms, gen, sizeof(gen));
	haven__hex_encode(hex, r->head_hash, sizeof(r->head_hash));
	(void) fprintf(f, "Operation Encompass compliance report\n"
	    "Period:    %s to %s (London dates the notifications were sent)\n",
	    from, to);
	if (r->head_seq > 0) {
		(void) fprintf(f, "As of:     %s (audit entry %llu)\n", asof,
		    (unsigned long long) r->head_seq);
	} else {
		(void) fprintf(f, "As of:     (the audit is empty)\n");
	}
	(void) fprintf(f, "Generated: %s\nAudit:     chain verified, head "
	    "%.16s...\n\n", gen, hex);
}

static void
text_foot(FILE *f, const haven__report *r)
{
	(void) fprintf(f, "\nPolice-raised escalations (R5: school unknown or "
	    "undeliverable): %llu\n", (unsigned long long)
	    r->police_escalations);
	(void) fprintf(f, "On time: first read by the school at or before the "
	    "deadline. Overdue: unread\nand past its deadline. Median: "
	    "incident to first read. On time %%: of\nnotifications read or "
	    "overdue. Built from the audit alone: no personal data.\n");
}

haven_err
haven__report_text(FILE *f, const haven__report *r, int64_t generated_ms)
{
	size_t namew = strlen("School");
	char title[C_COUNT][24];
	cells c;

	for (size_t i = 0; i < r->n_rows; i++) {
		size_t w = width(r->rows[i].name);

		namew = w > namew ? w : namew;
	}
	namew = namew < width(r->all.name) ? width(r->all.name) : namew;
	for (size_t i = 0; i < C_COUNT; i++) {
		(void) snprintf(title[i], sizeof(title[i]), "%s", col_title[i]);
	}
	text_head(f, r, generated_ms);
	text_line(f, "School", namew, title);
	for (size_t i = 0; i < r->n_rows; i++) {
		row_cells(&r->rows[i], c);
		text_line(f, r->rows[i].name, namew, c);
	}
	row_cells(&r->all, c);
	text_line(f, r->all.name, namew, c);
	text_foot(f, r);
	return (ferror(f) ? HAVEN_EIO : HAVEN_OK);
}

/* -------------------------------------------------------------- CSV */

static const char *const csv_head[] = {"school_id", "school_name",
    "notifications", "read_before_deadline", "read_late", "unread",
    "unread_past_deadline", "escalated", "escalated_deadline_missed",
    "escalated_school_offline", "escalations_closed",
    "median_incident_to_read", "median_incident_to_read_minutes",
    "pct_read_before_deadline", "police_escalations"};

#define CSV_COLS (sizeof(csv_head) / sizeof(csv_head[0]))

static void
csv_row(FILE *f, const haven__report_row *w, const char *police)
{
	const uint64_t v[] = {w->notifications, w->read_on_time, w->read_late,
	    w->unread, w->unread_overdue, w->escalated, w->esc_deadline,
	    w->esc_offline, w->esc_closed};
	char b[32];
	int pm = haven__report_permille(w);

	haven__csv_field(f, w->id, false);
	haven__csv_field(f, w->name, false);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		(void) snprintf(b, sizeof(b), "%llu",
		    (unsigned long long) v[i]);
		haven__csv_field(f, b, false);
	}
	haven__report_hm(w->median_ms, b, sizeof(b));
	haven__csv_field(f, w->median_ms < 0 ? "" : b, false);
	(void) snprintf(b, sizeof(b), "%lld", (long long) (w->median_ms < 0 ?
	    0 : (w->median_ms + 30000) / 60000));
	haven__csv_field(f, w->median_ms < 0 ? "" : b, false);
	(void) snprintf(b, sizeof(b), "%d.%d", pm / 10, pm % 10);
	haven__csv_field(f, pm < 0 ? "" : b, false);
	haven__csv_field(f, police, true);
}

haven_err
haven__report_csv(FILE *f, const haven__report *r)
{
	char police[32];

	for (size_t i = 0; i < CSV_COLS; i++) {
		haven__csv_field(f, csv_head[i], i + 1 == CSV_COLS);
	}
	for (size_t i = 0; i < r->n_rows; i++) {
		csv_row(f, &r->rows[i], "");
	}
	(void) snprintf(police, sizeof(police), "%llu",
	    (unsigned long long) r->police_escalations);
	csv_row(f, &r->all, police);
	return (ferror(f) ? HAVEN_EIO : HAVEN_OK);
}

/* ------------------------------------------------------------- JSON */

static json_t *
row_json(const haven__report_row *w)
{
	int pm = haven__report_permille(w);
	char hm[32];

	haven__report_hm(w->median_ms, hm, sizeof(hm));
	return (json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:o, s:o, s:o}", "id", w->id, "name", w->name,
	    "notifications", (json_int_t) w->notifications,
	    "read_before_deadline", (json_int_t) w->read_on_time,
	    "read_late", (json_int_t) w->read_late,
	    "unread", (json_int_t) w->unread,
	    "unread_past_deadline", (json_int_t) w->unread_overdue,
	    "escalated", (json_int_t) w->escalated,
	    "escalated_deadline_missed", (json_int_t) w->esc_deadline,
	    "escalated_school_offline", (json_int_t) w->esc_offline,
	    "escalations_closed", (json_int_t) w->esc_closed,
	    "no_deadline", (json_int_t) w->no_deadline,
	    "timed_reads", (json_int_t) w->timed,
	    "median_incident_to_read_ms", w->median_ms < 0 ? json_null() :
	    json_integer(w->median_ms),
	    "median_incident_to_read", w->median_ms < 0 ? json_null() :
	    json_string(hm),
	    "pct_read_before_deadline", pm < 0 ? json_null() :
	    json_real(pm / 10.0)));
}

json_t *
haven__report_json(const haven__report *r, int64_t generated_ms)
{
	char from[16], to[16], asof[24], gen[24];
	json_t *rows = json_array();

	haven__report_day(r->from_day, from, sizeof(from));
	haven__report_day(r->to_day, to, sizeof(to));
	haven_time_format(r->as_of_ms, asof, sizeof(asof));
	haven_time_format(generated_ms, gen, sizeof(gen));
	for (size_t i = 0; rows != NULL && i < r->n_rows; i++) {
		if (json_array_append_new(rows, row_json(&r->rows[i])) != 0) {
			json_decref(rows);
			return (NULL);
		}
	}
	return (json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:b, "
	    "s:o, s:o, s:I}", "ok", 1, "report", "encompass", "from", from,
	    "to", to, "as_of", r->head_seq > 0 ? asof : "", "as_of_ms",
	    (json_int_t) r->as_of_ms, "audit_head_seq",
	    (json_int_t) r->head_seq, "audit_head_hash",
	    haven__cli_hex(r->head_hash, sizeof(r->head_hash)),
	    "generated_at", gen, "audit_verified", 1, "schools", rows,
	    "all", row_json(&r->all), "police_escalations",
	    (json_int_t) r->police_escalations));
}

static haven_err
json_out(FILE *f, const haven__report *r, int64_t generated_ms)
{
	json_t *j = haven__report_json(r, generated_ms);
	int rc;

	if (j == NULL) {
		return (HAVEN_ENOMEM);
	}
	rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(j);
	(void) fputc('\n', f);
	return (rc != 0 || ferror(f) ? HAVEN_EIO : HAVEN_OK);
}

/* ---------------------------------------------------------- command */

static int
parse_day(const haven__cli *cli, haven__cli_opt *o, int64_t *day)
{
	char field[16];

	(void) snprintf(field, sizeof(field), "--%s", o->name);
	if (haven_date_parse(o->value, day) != HAVEN_OK) {
		return (haven__cli_refuse(cli, field, "not a date (want "
		    "YYYY-MM-DD, a real calendar date)"));
	}
	return (HAVEN__CLI_OK);
}

static int
parse_format(const haven__cli *cli, const haven__cli_opt *o, fmt *f)
{
	static const char *const names[] = {"text", "csv", "html", "json"};

	*f = cli->json ? F_JSON : F_TEXT;
	if (!o->set) {
		return (HAVEN__CLI_OK);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(o->value, names[i]) == 0) {
			*f = (fmt) i;
			return (HAVEN__CLI_OK);
		}
	}
	return (haven__cli_refuse(cli, "--format", "unknown format (want "
	    "text, csv, html or json)"));
}

static int
parse_args(const haven__cli *cli, haven__cli_opt *o, job *j)
{
	int rv;

	if ((rv = parse_day(cli, &o[O_FROM], &j->from_day)) != 0 ||
	    (rv = parse_day(cli, &o[O_TO], &j->to_day)) != 0 ||
	    (rv = parse_format(cli, &o[O_FORMAT], &j->format)) != 0) {
		return (rv);
	}
	if (j->from_day > j->to_day) {
		return (haven__cli_refuse(cli, "--from", "--from is after "
		    "--to"));
	}
	if (o[O_DIR].set != o[O_ADMIN].set) {
		return (haven__cli_refuse(cli, o[O_DIR].set ? "--admin-pub" :
		    "--directory", "--directory and --admin-pub go together"));
	}
	if (o[O_FORCE].set && !o[O_OUT].set) {
		return (haven__cli_refuse(cli, "--force",
		    "--force needs --out"));
	}
	if ((rv = haven__ctl_audit_source(cli, &o[O_CONFIG], &o[O_STORE],
	    &o[O_PUB], &j->src)) != HAVEN__CLI_OK) {
		return (rv);
	}
	return (haven__ctl_audit_open(cli, &j->src, "--store", true));
}

static int
load_directory(const haven__cli *cli, haven__cli_opt *o, job *j)
{
	uint8_t admin_pk[HAVEN_KEY_BYTES];
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if (!o[O_DIR].set) {
		return (HAVEN__CLI_OK);
	}
	if ((rv = haven__cli_admin_pub(cli, "--admin-pub", o[O_ADMIN].value,
	    admin_pk)) != HAVEN__CLI_OK) {
		return (rv);
	}
	e = haven_directory_load(&j->dir, o[O_DIR].value, admin_pk, err,
	    sizeof(err));
	if (e != HAVEN_OK) {
		return (haven__cli_report(cli, e, "--directory", err[0] ? err :
		    e == HAVEN_ESIG ? "signature does not verify with this "
		    "admin key" : NULL));
	}
	return (HAVEN__CLI_OK);
}

/* Verify the chain, then compute the report from the verified entries. */
static int
build(const haven__cli *cli, job *j)
{
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if ((rv = haven__ctl_audit_verified(cli, &j->src, "report")) !=
	    HAVEN__CLI_OK) {
		return (rv);
	}
	if ((e = haven__report_new(&j->r, j->from_day, j->to_day)) !=
	    HAVEN_OK || (e = haven__report_read_store(j->r, j->src.store,
	    j->src.head_seq, j->src.head_hash, err, sizeof(err))) !=
	    HAVEN_OK || (e = haven__report_finish(j->r, j->dir)) != HAVEN_OK) {
		return (haven__cli_fail(cli, e, "%s: %s", j->src.store, err[0] ?
		    err : haven_strerror(e)));
	}
	return (HAVEN__CLI_OK);
}

static haven_err
render(FILE *f, const job *j)
{
	switch (j->format) {
	case F_CSV:
		return (haven__report_csv(f, j->r));
	case F_HTML:
		return (haven__report_html(f, j->r, j->generated_ms));
	case F_JSON:
		return (json_out(f, j->r, j->generated_ms));
	default:
		return (haven__report_text(f, j->r, j->generated_ms));
	}
}

static int
emit(const haven__cli *cli, haven__cli_opt *o, const job *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	haven_err e;
	int rv;

	if (f == NULL) {
		return (haven__cli_fail(cli, HAVEN_ENOMEM, "out of memory"));
	}
	e = render(f, j);
	if (fclose(f) != 0 && e == HAVEN_OK) {
		e = HAVEN_ENOMEM;
	}
	if (e != HAVEN_OK) {
		free(buf);
		return (haven__cli_fail(cli, e, "cannot render the report"));
	}
	if (!o[O_OUT].set) {
		rv = fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0 ?
		    HAVEN__CLI_OK : haven__cli_fail(cli, HAVEN_EIO,
		    "cannot write to stdout");
		free(buf);
		return (rv);
	}
	e = haven__write_file(o[O_OUT].value, buf, len, 0644, !o[O_FORCE].set);
	free(buf);
	if ((rv = haven__cli_written(cli, e, o[O_OUT].value)) == 0) {
		haven__cli_emit(cli, json_pack("{s:b, s:s, s:I}", "ok", 1,
		    "out", o[O_OUT].value, "notifications",
		    (json_int_t) j->r->all.notifications));
	}
	return (rv);
}

static int
cmd_encompass(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[O_COUNT] = {
		[O_CONFIG] = {.name = "config", .kind = HAVEN__CLI_VALUE},
		[O_STORE] = {.name = "store", .kind = HAVEN__CLI_VALUE},
		[O_PUB] = {.name = "broker-pub", .kind = HAVEN__CLI_VALUE},
		[O_FROM] = {.name = "from", .kind = HAVEN__CLI_VALUE},
		[O_TO] = {.name = "to", .kind = HAVEN__CLI_VALUE},
		[O_FORMAT] = {.name = "format", .kind = HAVEN__CLI_VALUE},
		[O_OUT] = {.name = "out", .kind = HAVEN__CLI_VALUE},
		[O_FORCE] = {.name = "force", .kind = HAVEN__CLI_FLAG},
		[O_DIR] = {.name = "directory", .kind = HAVEN__CLI_VALUE},
		[O_ADMIN] = {.name = "admin-pub", .kind = HAVEN__CLI_VALUE},
	};
	static const char *const req[] = {"from", "to", NULL};
	job j;
	int rv;

	memset(&j, 0, sizeof(j));
	if ((rv = haven__cli_start(cli, encompass_usage, argc, argv, o,
	    O_COUNT, 0)) >= 0 || (rv = haven__cli_require(cli, o, O_COUNT,
	    req)) != 0 || (rv = parse_args(cli, o, &j)) != 0) {
		return (rv);
	}
	j.generated_ms = haven__now_ms();
	if ((rv = load_directory(cli, o, &j)) == 0 && (rv = build(cli, &j)) == 0) {
		rv = emit(cli, o, &j);
	}
	haven__report_destroy(&j.r);
	haven_directory_destroy(&j.dir);
	return (rv);
}

static const haven__cli_sub subs[] = {
	{"encompass", cmd_encompass, encompass_usage},
};

int
haven__ctl_report(int argc, char **argv)
{
	return (haven__cli_dispatch("report", group_usage, subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv));
}
