/*
 * tools/report.h: the Operation Encompass compliance report, computed from
 * the broker's audit alone (havenctl report encompass).
 *
 * The computation (this header, report.c) is kept apart from the command
 * (report_cmd.c) and from the HTML page (report_html.c), so the unit tests
 * can feed audit entries and check every count without parsing output.
 *
 * Life of a report:
 *   haven__report_new(&r, from_day, to_day)
 *   haven__report_read_store(r, dir, head_seq, head_hash, ...)   (or
 *       haven__report_add(r, &entry) per entry, in sequence order)
 *   haven__report_finish(r, directory_or_NULL)
 *   haven__report_text / _csv / _json / _html
 *   haven__report_destroy(&r)
 *
 * Inputs are audit entries only: agency ids, message ids, type and event
 * codes, times and reason codes. No personal data enters or leaves.
 */
#ifndef HAVEN_TOOLS_REPORT_H
#define HAVEN_TOOLS_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "haven/audit.h"
#include "haven/directory.h"

/* Caps before allocation: a county sends a few thousand notifications a
 * year; these leave room for a national broker and bound memory (about
 * 64 bytes per notification). */
#define HAVEN__REPORT_MAX_NOTES 2000000u
#define HAVEN__REPORT_MAX_SCHOOLS 50000u

/* One line of the report: a school, or (id "ALL") every school. */
typedef struct haven__report_row {
	char id[HAVEN_ID_MAX];     /* school agency id, or "ALL" */
	char name[HAVEN_NAME_MAX]; /* directory display name, else the id */
	uint64_t notifications;    /* M1 SUBMITs in the window */
	uint64_t read_on_time;     /* first READ at or before the deadline */
	uint64_t read_late;        /* first READ after the deadline */
	uint64_t escalated;        /* at least one ESCALATE */
	uint64_t esc_deadline;     /* ... with reason deadline-missed */
	uint64_t esc_offline;      /* ... with reason school-offline */
	uint64_t esc_closed;       /* ESCALATE_CLOSED seen */
	uint64_t unread;           /* no READ by the school yet */
	uint64_t unread_overdue;   /* ... and the deadline has passed */
	uint64_t no_deadline;      /* SUBMIT carried no deadline (0) */
	uint64_t timed;            /* read ones with an incident time */
	int64_t median_ms;         /* incident -> read; -1 if timed == 0 */
} haven__report_row;

typedef struct haven__report_notes haven__report_notes;

typedef struct haven__report {
	int64_t from_day;        /* London dates, days since 1970-01-01 */
	int64_t to_day;          /* inclusive */
	int64_t as_of_ms;        /* time of the last audit entry read */
	uint64_t head_seq;       /* last audit entry read */
	uint8_t head_hash[HAVEN_HASH_BYTES];
	uint64_t police_escalations; /* R5 M4s by police in the window */
	size_t n_rows;
	haven__report_row *rows; /* per school, sorted by name then id */
	haven__report_row all;
	haven__report_notes *in; /* working state (notifications, schools) */
} haven__report;

/** New empty report for SUBMIT London dates [from_day, to_day].
 * @return HAVEN_OK, HAVEN_EINVAL (from_day > to_day), HAVEN_ENOMEM. */
HAVEN_NODISCARD haven_err haven__report_new(haven__report **out,
    int64_t from_day, int64_t to_day);

/** NULL-tolerant; sets *r to NULL. */
void haven__report_destroy(haven__report **r);

/**
 * Feed one entry; entries must come in sequence order (a READ before its
 * SUBMIT is ignored, as the broker never writes one). Sets as_of_ms and
 * head_seq from the entry. Entries that are not about Encompass are
 * ignored.
 * @return HAVEN_OK, HAVEN_EMSGSIZE (over a HAVEN__REPORT_MAX_* cap),
 *   HAVEN_ENOMEM, HAVEN_ESTATE (called after finish).
 */
HAVEN_NODISCARD haven_err haven__report_add(haven__report *r,
    const haven_audit_entry *e);

/**
 * Read the broker store in `db_dir` read-only and feed entries 1..head_seq
 * to the report, recomputing the hash chain as it goes: every prev_hash
 * must be the previous entry's hash and entry head_seq must hash to
 * `head_hash` (the head haven_audit_verify vouched for), so the entries
 * reported are exactly the ones verified, even if the store changed in
 * between. Entries appended after head_seq are not read.
 * @return HAVEN_OK, HAVEN_EIO (cannot open), HAVEN_ECORRUPT (an entry
 *   missing, undecodable or off the verified chain; `err` names it),
 *   or what haven__report_add returns.
 */
HAVEN_NODISCARD haven_err haven__report_read_store(haven__report *r,
    const char *db_dir, uint64_t head_seq,
    const uint8_t head_hash[HAVEN_HASH_BYTES], char *err, size_t errlen);

/**
 * Compute the rows, the ALL row and the medians. `dir` (a verified
 * directory; may be NULL) supplies display names, and when given only a
 * POL agency's escalation SUBMITs count as police escalations.
 * @return HAVEN_OK, HAVEN_ENOMEM, HAVEN_ESTATE (already finished).
 */
HAVEN_NODISCARD haven_err haven__report_finish(haven__report *r,
    const haven_directory *dir);

/* ---- helpers shared by the outputs --------------------------------- */

/** Share read before the deadline, in tenths of a percent, of the
 * notifications whose outcome is known (read, or unread past the
 * deadline); -1 when there are none. */
int haven__report_permille(const haven__report_row *row);

/** "66.7%" or "-" into buf (>= 8 bytes). */
void haven__report_pct(const haven__report_row *row, char *buf, size_t len);

/** A duration as "H:MM" (hours may exceed 24), or "-" if ms < 0. */
void haven__report_hm(int64_t ms, char *buf, size_t len);

/** A London date "YYYY-MM-DD" (>= 11 bytes). */
void haven__report_day(int64_t day, char *buf, size_t len);

/** An instant as London wall-clock time "YYYY-MM-DD HH:MM GMT|BST"
 * (>= 24 bytes). */
void haven__report_london(int64_t ms, char *buf, size_t len);

/* ---- outputs (each writes the whole document to `f`) ---------------- */

/** Aligned text table, ALL line last. @return HAVEN_OK or HAVEN_EIO. */
HAVEN_NODISCARD haven_err haven__report_text(FILE *f,
    const haven__report *r, int64_t generated_ms);

/** RFC 4180 CSV (CRLF, header row, one row per school, then ALL). */
HAVEN_NODISCARD haven_err haven__report_csv(FILE *f,
    const haven__report *r);

/** The report as a JSON object (new reference; NULL on OOM). */
json_t *haven__report_json(const haven__report *r, int64_t generated_ms);

/** Self-contained printable HTML page with an inline SVG chart
 * (report_html.c). */
HAVEN_NODISCARD haven_err haven__report_html(FILE *f,
    const haven__report *r, int64_t generated_ms);

/** `havenctl report ...` (report_cmd.c); argv[0] is "report". */
int haven__ctl_report(int argc, char **argv);

#endif /* HAVEN_TOOLS_REPORT_H */
