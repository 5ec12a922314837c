/*
 * tools/report.c: computing the Operation Encompass compliance report
 * from the broker's audit (see report.h).
 *
 * Design notes:
 * - One pass over the audit in sequence order. A notification (SUBMIT of
 *   an OE_NOTIFICATION whose London date is in the window) gets a record;
 *   later READ, ESCALATE and ESCALATE_CLOSED entries about its message id
 *   update that record. Reads and escalations after the window still
 *   count: the report is "as of" the last audit entry read.
 * - Only the first READ by the school (recipients[0] of the SUBMIT)
 *   counts. Its time is the broker's acceptance of the receipt, so a
 *   school cannot backdate a read. A read by a holiday duty contact does
 *   not make the school's DSL aware and is not counted.
 * - The audit is trusted only after haven_audit_verify; read_store then
 *   recomputes the chain up to the verified head (haven__audit_walk, shared
 *   with audit list), so a store rewritten between the two reads is
 *   refused, not reported.
 * - Message ids are chosen by senders, so the tables are keyed with
 *   SipHash (crypto_shorthash) under a random key: a sender cannot pick
 *   ids that collide. Every table is capped before it grows.
 * - Memory: about 64 bytes per notification in the window, plus one
 *   (id, counters) record per school.
 */
#include "report.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_read.h"
#include "haven/calendar.h"
#include "util.h"

#define MS_PER_MIN 60000
#define MS_PER_DAY 86400000

enum {
	N_READ = 1u << 0,
	N_ESC = 1u << 1,
	N_ESC_DL = 1u << 2,
	N_ESC_OFF = 1u << 3,
	N_CLOSED = 1u << 4
};

typedef struct note {
	uint8_t id[HAVEN_MSGID_BYTES];
	uint32_t agency; /* index of the school in agencies */
	uint32_t flags;
	int64_t deadline_ms;
	int64_t occurred_ms;
	int64_t read_ms;
} note;

typedef struct agency {
	char id[HAVEN_ID_MAX];
	uint64_t r5; /* police escalations it submitted in the window */
	size_t row;  /* its row once finished; SIZE_MAX if not a school */
} agency;

/* Open addressing: slot holds index + 1, 0 = empty; cap a power of 2. */
typedef struct tab {
	uint32_t *slot;
	size_t cap;
} tab;

struct haven__report_notes {
	uint8_t key[crypto_shorthash_KEYBYTES];
	note *notes;
	size_t n_notes, cap_notes;
	agency *agencies;
	size_t n_agencies, cap_agencies;
	tab by_msg, by_agency;
	bool finished;
};

/* -------------------------------------------------------------- tables */

static uint64_t
hash_of(const haven__report_notes *in, const void *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];

	crypto_shorthash(h, key, len, in->key);
	return (haven__be64_get(h));
}

static uint64_t
note_hash(const haven__report_notes *in, uint32_t i)
{
	return (hash_of(in, in->notes[i].id, HAVEN_MSGID_BYTES));
}

static uint64_t
agency_hash(const haven__report_notes *in, uint32_t i)
{
	const char *id = in->agencies[i].id;

	return (hash_of(in, id, strlen(id)));
}

typedef uint64_t (*hash_fn)(const haven__report_notes *, uint32_t);

/* Slot of `idx` (key already known absent) in a table of `cap` slots. */
static void
place(uint32_t *slot, size_t cap, uint64_t h, uint32_t idx)
{
	size_t p = (size_t) h & (cap - 1);

	while (slot[p] != 0) {
		p = (p + 1) & (cap - 1);
	}
	slot[p] = idx + 1;
}

/* Keep the table at most half full, holding `n` entries after an
 * insert; rehashes every entry through `hf`. */
static haven_err
tab_reserve(haven__report_notes *in, tab *t, size_t n, hash_fn hf)
{
	size_t cap = t->cap == 0 ? 64 : t->cap;
	uint32_t *slot;

	while (n * 2 > cap) {
		cap *= 2;
	}
	if (cap == t->cap) {
		return (HAVEN_OK);
	}
	if ((slot = calloc(cap, sizeof(*slot))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t p = 0; p < t->cap; p++) {
		if (t->slot[p] != 0) {
			place(slot, cap, hf(in, t->slot[p] - 1),
			    t->slot[p] - 1);
		}
	}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
	return (HAVEN_OK);
}

static bool
note_find(const haven__report_notes *in, const uint8_t id[HAVEN_MSGID_BYTES],
    uint32_t *idx)
{
	size_t p;

	if (in->by_msg.cap == 0) {
		return (false);
	}
	p = (size_t) hash_of(in, id, HAVEN_MSGID_BYTES) & (in->by_msg.cap - 1);
	for (; in->by_msg.slot[p] != 0; p = (p + 1) & (in->by_msg.cap - 1)) {
		uint32_t i = in->by_msg.slot[p] - 1;

		if (memcmp(in->notes[i].id, id, HAVEN_MSGID_BYTES) == 0) {
			*idx = i;
			return (true);
		}
	}
	return (false);
}

static bool
agency_find(const haven__report_notes *in, const char *id, uint32_t *idx)
{
	size_t p;

	if (in->by_agency.cap == 0) {
		return (false);
	}
	p = (size_t) hash_of(in, id, strlen(id)) & (in->by_agency.cap - 1);
	for (; in->by_agency.slot[p] != 0;
	    p = (p + 1) & (in->by_agency.cap - 1)) {
		uint32_t i = in->by_agency.slot[p] - 1;

		if (strcmp(in->agencies[i].id, id) == 0) {
			*idx = i;
			return (true);
		}
	}
	return (false);
}

/* Grow an array of `size`-byte items to hold n + 1 (doubling, capped). */
static haven_err
grow(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
	size_t ncap, bytes;
	void *p;

	if (n < *cap) {
		return (HAVEN_OK);
	}
	if (n >= max) {
		return (HAVEN_EMSGSIZE);
	}
	ncap = *cap == 0 ? 64 : *cap * 2;
	ncap = ncap > max ? max : ncap;
	if (haven__size_mul(ncap, size, &bytes) != HAVEN_OK ||
	    (p = realloc(*arr, bytes)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	*arr = p;
	*cap = ncap;
	return (HAVEN_OK);
}

/* Index of agency `id`, added if new. */
static haven_err
agency_get(haven__report_notes *in, const char *id, uint32_t *idx)
{
	agency *a;
	haven_err rv;

	if (agency_find(in, id, idx)) {
		return (HAVEN_OK);
	}
	if ((rv = grow((void **) &in->agencies, &in->cap_agencies,
	    in->n_agencies, sizeof(agency), HAVEN__REPORT_MAX_SCHOOLS)) !=
	    HAVEN_OK || (rv = tab_reserve(in, &in->by_agency,
	    in->n_agencies + 1, agency_hash)) != HAVEN_OK) {
		return (rv);
	}
	a = &in->agencies[in->n_agencies];
	memset(a, 0, sizeof(*a));
	(void) snprintf(a->id, sizeof(a->id), "%s", id); /* same size */
	a->row = SIZE_MAX;
	*idx = (uint32_t) in->n_agencies++;
	place(in->by_agency.slot, in->by_agency.cap, agency_hash(in, *idx),
	    *idx);
	return (HAVEN_OK);
}

/* ------------------------------------------------------------- feeding */

haven_err
haven__report_new(haven__report **out, int64_t from_day, int64_t to_day)
{
	haven__report *r;

	*out = NULL;
	if (from_day > to_day) {
		return (HAVEN_EINVAL);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->in = calloc(1, sizeof(*r->in))) == NULL) {
		free(r);
		return (HAVEN_ENOMEM);
	}
	randombytes_buf(r->in->key, sizeof(r->in->key));
	r->from_day = from_day;
	r->to_day = to_day;
	r->all.median_ms = -1;
	*out = r;
	return (HAVEN_OK);
}

void
haven__report_destroy(haven__report **rp)
{
	haven__report *r;

	if (rp == NULL || (r = *rp) == NULL) {
		return;
	}
	if (r->in != NULL) {
		free(r->in->notes);
		free(r->in->agencies);
		free(r->in->by_msg.slot);
		free(r->in->by_agency.slot);
		free(r->in);
	}
	free(r->rows);
	free(r);
	*rp = NULL;
}

static bool
in_window(const haven__report *r, int64_t t_ms)
{
	int64_t day = haven_london_days(t_ms);

	return (day >= r->from_day && day <= r->to_day);
}

static haven_err
add_notification(haven__report *r, const haven_audit_entry *e)
{
	haven__report_notes *in = r->in;
	uint32_t school, dup;
	note *n;
	haven_err rv;

	if (!e->has_msg || e->n_recipients < 1 || !in_window(r, e->time_ms) ||
	    note_find(in, e->msg_id, &dup)) {
		return (HAVEN_OK);
	}
	if ((rv = agency_get(in, e->recipients[0], &school)) != HAVEN_OK ||
	    (rv = grow((void **) &in->notes, &in->cap_notes, in->n_notes,
	    sizeof(note), HAVEN__REPORT_MAX_NOTES)) != HAVEN_OK ||
	    (rv = tab_reserve(in, &in->by_msg, in->n_notes + 1, note_hash)) !=
	    HAVEN_OK) {
		return (rv);
	}
	n = &in->notes[in->n_notes];
	memset(n, 0, sizeof(*n));
	memcpy(n->id, e->msg_id, HAVEN_MSGID_BYTES);
	n->agency = school;
	n->deadline_ms = e->deadline_ms;
	n->occurred_ms = e->occurred_ms;
	place(in->by_msg.slot, in->by_msg.cap, note_hash(in,
	    (uint32_t) in->n_notes), (uint32_t) in->n_notes);
	in->n_notes++;
	return (HAVEN_OK);
}

/* An escalation (M4) submitted by an agency: police-raised under R5. */
static haven_err
add_police_escalation(haven__report *r, const haven_audit_entry *e)
{
	uint32_t idx;
	haven_err rv;

	if (e->actor[0] == '\0' || strcmp(e->actor, "broker") == 0 ||
	    !in_window(r, e->time_ms)) {
		return (HAVEN_OK);
	}
	if ((rv = agency_get(r->in, e->actor, &idx)) != HAVEN_OK) {
		return (rv);
	}
	r->in->agencies[idx].r5++;
	return (HAVEN_OK);
}

/* True if `reason` is `word` or starts with `word` and a space. */
static bool
reason_is(const char *reason, const char *word)
{
	size_t n = strlen(word);

	return (strncmp(reason, word, n) == 0 &&
	    (reason[n] == '\0' || reason[n] == ' '));
}

static void
add_event(haven__report *r, const haven_audit_entry *e)
{
	haven__report_notes *in = r->in;
	uint32_t i;
	note *n;

	if (!e->has_msg || !note_find(in, e->msg_id, &i)) {
		return;
	}
	n = &in->notes[i];
	if (e->event == HAVEN_AUDIT_READ) {
		if ((n->flags & N_READ) == 0 &&
		    strcmp(e->actor, in->agencies[n->agency].id) == 0) {
			n->flags |= N_READ;
			n->read_ms = e->time_ms;
		}
	} else if (e->event == HAVEN_AUDIT_ESCALATE) {
		n->flags |= N_ESC;
		if (reason_is(e->reason, "deadline-missed")) {
			n->flags |= N_ESC_DL;
		} else if (reason_is(e->reason, "school-offline")) {
			n->flags |= N_ESC_OFF;
		}
	} else if (e->event == HAVEN_AUDIT_ESCALATE_CLOSED) {
		n->flags |= N_CLOSED;
	}
}

haven_err
haven__report_add(haven__report *r, const haven_audit_entry *e)
{
	if (r->in->finished) {
		return (HAVEN_ESTATE);
	}
	r->head_seq = e->seq;
	if (e->time_ms > r->as_of_ms) {
		r->as_of_ms = e->time_ms;
	}
	switch (e->event) {
	case HAVEN_AUDIT_SUBMIT:
		if (e->type == HAVEN_MSG_OE_NOTIFICATION) {
			return (add_notification(r, e));
		}
		if (e->type == HAVEN_MSG_OE_ESCALATION) {
			return (add_police_escalation(r, e));
		}
		return (HAVEN_OK);
	case HAVEN_AUDIT_READ:
	case HAVEN_AUDIT_ESCALATE:
	case HAVEN_AUDIT_ESCALATE_CLOSED:
		add_event(r, e);
		return (HAVEN_OK);
	default:
		return (HAVEN_OK);
	}
}

/* -------------------------------------------------------- the store */

static haven_err
visit_add(void *arg, const haven_audit_entry *e)
{
	return (haven__report_add(arg, e));
}

haven_err
haven__report_read_store(haven__report *r, const char *db_dir,
    uint64_t head_seq, const uint8_t head_hash[HAVEN_HASH_BYTES], char *err,
    size_t errlen)
{
	haven_err rv;

	rv = haven__audit_walk(db_dir, head_seq, head_hash, visit_add, r, err,
	    errlen);
	if (rv == HAVEN_OK) {
		memcpy(r->head_hash, head_hash, HAVEN_HASH_BYTES);
	}
	return (rv);
}

/* ------------------------------------------------------------ finishing */

typedef struct timed {
	size_t row;
	int64_t ms;
} timed;

static int
timed_cmp(const void *a, const void *b)
{
	const timed *x = a, *y = b;

	if (x->row != y->row) {
		return (x->row < y->row ? -1 : 1);
	}
	return (x->ms < y->ms ? -1 : x->ms > y->ms);
}

static int
ms_cmp(const void *a, const void *b)
{
	const timed *x = a, *y = b;

	return (x->ms < y->ms ? -1 : x->ms > y->ms);
}

/* Median of the sorted run t[0..n) (n > 0): the mean of the middle two
 * when n is even, rounded down to the millisecond. */
static int64_t
median(const timed *t, size_t n)
{
	int64_t lo = t[(n - 1) / 2].ms, hi = t[n / 2].ms;

	return (lo + (hi - lo) / 2);
}

static void
count(haven__report_row *row, const note *n, int64_t as_of_ms)
{
	bool read = (n->flags & N_READ) != 0;

	row->notifications++;
	row->no_deadline += n->deadline_ms == 0;
	if (read && (n->deadline_ms == 0 || n->read_ms <= n->deadline_ms)) {
		row->read_on_time++;
	} else if (read) {
		row->read_late++;
	} else {
		row->unread++;
		row->unread_overdue += n->deadline_ms != 0 &&
		    as_of_ms > n->deadline_ms;
	}
	row->escalated += (n->flags & N_ESC) != 0;
	row->esc_deadline += (n->flags & N_ESC_DL) != 0;
	row->esc_offline += (n->flags & N_ESC_OFF) != 0;
	row->esc_closed += (n->flags & N_CLOSED) != 0;
}

/* A read notification with a stated incident no later than the read. */
static bool
has_timing(const note *n)
{
	return ((n->flags & N_READ) != 0 && n->occurred_ms > 0 &&
	    n->read_ms >= n->occurred_ms);
}

/* Medians per row and overall, from the incident -> read durations. */
static haven_err
medians(haven__report *r)
{
	const haven__report_notes *in = r->in;
	timed *t;
	size_t n = 0, start;

	if ((t = calloc(in->n_notes + 1, sizeof(*t))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < in->n_notes; i++) {
		const note *no = &in->notes[i];

		if (has_timing(no)) {
			t[n].row = in->agencies[no->agency].row;
			t[n++].ms = no->read_ms - no->occurred_ms;
		}
	}
	qsort(t, n, sizeof(*t), timed_cmp);
	for (size_t i = 0; i < n; i = start) {
		for (start = i; start < n && t[start].row == t[i].row;) {
			start++;
		}
		r->rows[t[i].row].timed = start - i;
		r->rows[t[i].row].median_ms = median(t + i, start - i);
	}
	qsort(t, n, sizeof(*t), ms_cmp);
	r->all.timed = n;
	r->all.median_ms = n > 0 ? median(t, n) : -1;
	free(t);
	return (HAVEN_OK);
}

static int
row_cmp(const void *a, const void *b)
{
	const haven__report_row *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return (c != 0 ? c : strcmp(x->id, y->id));
}

static void
name_row(haven__report_row *row, const char *id, const haven_directory *dir)
{
	const haven_agency *a = dir != NULL ? haven_directory_find(dir, id) :
	    NULL;

	/* ids and names fit: same HAVEN_ID_MAX / HAVEN_NAME_MAX sizes */
	(void) snprintf(row->id, sizeof(row->id), "%s", id);
	(void) snprintf(row->name, sizeof(row->name), "%s",
	    a != NULL && a->name[0] != '\0' ? a->name : id);
	row->median_ms = -1;
}

/* One row per agency that received a notification, named; police
 * escalations counted (only POL agencies' when a directory is given). */
static haven_err
make_rows(haven__report *r, const haven_directory *dir)
{
	haven__report_notes *in = r->in;

	if ((r->rows = calloc(in->n_agencies + 1, sizeof(*r->rows))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < in->n_notes; i++) {
		agency *a = &in->agencies[in->notes[i].agency];

		if (a->row == SIZE_MAX) {
			a->row = r->n_rows++;
			name_row(&r->rows[a->row], a->id, dir);
		}
	}
	for (size_t i = 0; i < in->n_agencies; i++) {
		const haven_agency *d = dir != NULL ?
		    haven_directory_find(dir, in->agencies[i].id) : NULL;

		if (dir == NULL || (d != NULL && strcmp(d->role, "POL") == 0)) {
			r->police_escalations += in->agencies[i].r5;
		}
	}
	return (HAVEN_OK);
}

haven_err
haven__report_finish(haven__report *r, const haven_directory *dir)
{
	haven__report_notes *in = r->in;
	haven_err rv;

	if (in->finished) {
		return (HAVEN_ESTATE);
	}
	in->finished = true;
	if ((rv = make_rows(r, dir)) != HAVEN_OK) {
		return (rv);
	}
	(void) snprintf(r->all.id, sizeof(r->all.id), "ALL");
	(void) snprintf(r->all.name, sizeof(r->all.name), "All schools");
	for (size_t i = 0; i < in->n_notes; i++) {
		const note *n = &in->notes[i];

		count(&r->rows[in->agencies[n->agency].row], n, r->as_of_ms);
		count(&r->all, n, r->as_of_ms);
	}
	if ((rv = medians(r)) != HAVEN_OK) {
		return (rv);
	}
	qsort(r->rows, r->n_rows, sizeof(*r->rows), row_cmp);
	return (HAVEN_OK);
}

/* ------------------------------------------------------------- helpers */

int
haven__report_permille(const haven__report_row *row)
{
	uint64_t pending = row->unread - row->unread_overdue;
	uint64_t known = row->notifications - pending;

	if (known == 0) {
		return (-1);
	}
	return ((int) ((row->read_on_time * 1000 + known / 2) / known));
}

void
haven__report_pct(const haven__report_row *row, char *buf, size_t len)
{
	int pm = haven__report_permille(row);

	if (pm < 0) {
		(void) snprintf(buf, len, "-");
	} else {
		(void) snprintf(buf, len, "%d.%d%%", pm / 10, pm % 10);
	}
}

void
haven__report_hm(int64_t ms, char *buf, size_t len)
{
	int64_t min;

	if (ms < 0) {
		(void) snprintf(buf, len, "-");
		return;
	}
	min = (ms + MS_PER_MIN / 2) / MS_PER_MIN; /* nearest minute */
	(void) snprintf(buf, len, "%" PRId64 ":%02d", min / 60,
	    (int) (min % 60));
}

void
haven__report_day(int64_t day, char *buf, size_t len)
{
	int y;
	unsigned m, d;

	haven_civil_from_days(day, &y, &m, &d);
	(void) snprintf(buf, len, "%04d-%02u-%02u", y, m, d);
}

void
haven__report_london(int64_t ms, char *buf, size_t len)
{
	int64_t off = haven_london_offset_ms(ms);
	int64_t day = haven_london_days(ms);
	int64_t sod = (ms + off - day * MS_PER_DAY) / MS_PER_MIN;
	char d[16];

	haven__report_day(day, d, sizeof(d));
	(void) snprintf(buf, len, "%s %02d:%02d %s", d, (int) (sod / 60),
	    (int) (sod % 60), off != 0 ? "BST" : "GMT");
}
