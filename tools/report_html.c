/*
 * tools/report_html.c: the compliance report as one self-contained,
 * printable HTML page (havenctl report encompass --format html).
 *
 * The page is meant to be attached to a partnership board's annual report,
 * e-mailed and archived, so it carries everything inline: CSS in a <style>
 * element, the chart as inline SVG, no scripts, no fonts, images or links
 * to fetch. Every string inserted (school names from the directory, ids,
 * dates, numbers) goes through esc(), which writes HTML entities for
 * & < > " ' and drops control characters, so a name cannot open an element
 * or an attribute, in the HTML body or inside the SVG.
 *
 * The chart is a 100% stacked bar per school (read on time, read late,
 * unread past the deadline, unread and not yet due: grey, because the
 * percentage leaves those out) with the count and the on-time share
 * beside it; the overall row is last and bold. Colours differ in lightness as well as hue so the bars
 * still read when printed in greyscale, and the numbers are in the table.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

#define CH_W 760     /* chart width */
#define CH_LABEL 230 /* x where the bars start */
#define CH_BAR 420   /* bar width at 100% */
#define CH_ROW 24    /* row pitch */
#define CH_TOP 34    /* space for the legend */
#define NAME_CHARS 32

#define N_SEG 4
static const char *const seg_colour[N_SEG] = {"#1a7f37", "#e0a800",
    "#b3261e", "#c8c8c8"};
static const char *const seg_label[N_SEG] = {"read before deadline",
    "read late", "unread, past deadline", "unread, not yet due"};
static const int seg_x[N_SEG] = {CH_LABEL, CH_LABEL + 150, CH_LABEL + 230,
    CH_LABEL + 385};

/* `s` as HTML text or attribute value. */
static void
esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char) *s;

		switch (c) {
		case '&': (void) fputs("&amp;", f); break;
		case '<': (void) fputs("&lt;", f); break;
		case '>': (void) fputs("&gt;", f); break;
		case '"': (void) fputs("&quot;", f); break;
		case '\'': (void) fputs("&#39;", f); break;
		default:
			if (c >= 0x20 && c != 0x7F) {
				(void) fputc(c, f);
			}
		}
	}
}

static void
esc_u64(FILE *f, uint64_t v)
{
	char b[24];

	(void) snprintf(b, sizeof(b), "%llu", (unsigned long long) v);
	esc(f, b);
}

/* At most NAME_CHARS characters of a UTF-8 name, then an ellipsis. */
static void
short_name(const char *s, char *out, size_t len)
{
	size_t chars = 0, i = 0;

	for (; s[i] != '\0' && i + 4 < len; i++) {
		if (((unsigned char) s[i] & 0xC0) != 0x80 &&
		    ++chars > NAME_CHARS) {
			break;
		}
		out[i] = s[i];
	}
	out[i] = '\0';
	if (s[i] != '\0') {
		(void) snprintf(out + i, len - i, "\xE2\x80\xA6"); /* ... */
	}
}

static const char style[] =
    "body{font-family:\"Segoe UI\",Arial,Helvetica,sans-serif;color:#1b1b1b;"
    "max-width:62rem;margin:2rem auto;padding:0 1rem;line-height:1.45}\n"
    "h1{font-size:1.7rem;margin:0 0 .3rem}h2{font-size:1.2rem;"
    "margin-top:2rem}\n"
    ".meta{color:#444;margin:0}\n"
    ".headline{display:flex;flex-wrap:wrap;gap:2rem;align-items:center;"
    "border:1px solid #bbb;border-radius:6px;padding:1rem 1.5rem;"
    "margin:1.5rem 0}\n"
    ".big{font-size:3.2rem;font-weight:700;color:#1a7f37;line-height:1}\n"
    ".facts{margin:0;padding-left:1.1rem}\n"
    "table{border-collapse:collapse;width:100%;font-size:.88rem;"
    "margin-top:1rem}\n"
    "th,td{border-bottom:1px solid #ddd;padding:.3rem .45rem;"
    "text-align:right;vertical-align:bottom}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "thead th{border-bottom:2px solid #333}\n"
    "tfoot td{font-weight:700;border-top:2px solid #333}\n"
    "svg{max-width:100%;height:auto}svg text{font-family:inherit}\n"
    ".note{font-size:.8rem;color:#333;margin-top:2rem;"
    "border-top:1px solid #bbb;padding-top:.6rem}\n"
    "@page{size:A4;margin:14mm}\n"
    "@media print{body{margin:0;max-width:none;font-size:10pt}"
    ".headline,svg,tr{break-inside:avoid}h2{break-after:avoid}}\n";

static void
head(FILE *f, const char *from, const char *to)
{
	(void) fputs("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>"
	    "Operation Encompass compliance report, ", f);
	esc(f, from);
	(void) fputs(" to ", f);
	esc(f, to);
	(void) fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n",
	    style);
}

static void
intro(FILE *f, const haven__report *r, int64_t generated_ms)
{
	char from[16], to[16], asof[40], gen[40];

	haven__report_day(r->from_day, from, sizeof(from));
	haven__report_day(r->to_day, to, sizeof(to));
	haven__report_london(r->as_of_ms, asof, sizeof(asof));
	haven__report_london(generated_ms, gen, sizeof(gen));
	head(f, from, to);
	(void) fputs("<h1>Operation Encompass compliance report</h1>\n"
	    "<p class=\"meta\">Partnership period: notifications sent from "
	    "<b>", f);
	esc(f, from);
	(void) fputs("</b> to <b>", f);
	esc(f, to);
	(void) fputs("</b> (London dates).</p>\n<p class=\"meta\">", f);
	if (r->head_seq > 0) {
		(void) fputs("As of ", f);
		esc(f, asof);
		(void) fputs(" (audit entry ", f);
		esc_u64(f, r->head_seq);
		(void) fputs("; audit chain verified).", f);
	} else {
		(void) fputs("The audit is empty.", f);
	}
	(void) fputs(" Generated ", f);
	esc(f, gen);
	(void) fputs(".</p>\n", f);
}

static void
fact(FILE *f, uint64_t n, const char *what)
{
	(void) fputs("<li><b>", f);
	esc_u64(f, n);
	(void) fputs("</b> ", f);
	esc(f, what);
	(void) fputs("</li>\n", f);
}

static void
headline(FILE *f, const haven__report *r)
{
	const haven__report_row *a = &r->all;
	char pct[16], hm[32];

	haven__report_pct(a, pct, sizeof(pct));
	haven__report_hm(a->median_ms, hm, sizeof(hm));
	(void) fputs("<section class=\"headline\">\n<div><div class=\"big\">",
	    f);
	esc(f, pct);
	(void) fputs("</div>read by the school before the start of the next "
	    "school day<br><small>(of notifications read or past their "
	    "deadline)</small></div>\n<ul class=\"facts\">\n", f);
	fact(f, a->notifications, "notifications");
	fact(f, a->read_late, "read late");
	fact(f, a->escalated, "escalated to the police SPOC and the school's "
	    "secondary contact");
	fact(f, a->unread, "not yet read");
	fact(f, r->police_escalations, "police-raised escalations (school "
	    "unknown or undeliverable)");
	(void) fputs("<li>median time from incident to reading: <b>", f);
	esc(f, hm);
	(void) fputs("</b> (hours:minutes)</li>\n</ul>\n</section>\n", f);
}

/* ---------------------------------------------------------------- chart */

static void
legend(FILE *f)
{
	for (int i = 0; i < N_SEG; i++) {
		int x = seg_x[i];

		(void) fprintf(f, "<rect x=\"%d\" y=\"6\" width=\"14\" "
		    "height=\"14\" fill=\"%s\"/><text x=\"%d\" y=\"18\" "
		    "font-size=\"13\">", x, seg_colour[i], x + 19);
		esc(f, seg_label[i]);
		(void) fputs("</text>\n", f);
	}
}

static void
segment(FILE *f, const haven__report_row *w, int i, uint64_t lo,
    uint64_t hi, int y)
{
	uint64_t n = w->notifications;
	long x0 = (long) (lo * CH_BAR / n), x1 = (long) (hi * CH_BAR / n);

	if (hi == lo) {
		return;
	}
	(void) fprintf(f, "<rect x=\"%ld\" y=\"%d\" width=\"%ld\" "
	    "height=\"16\" fill=\"%s\"><title>", CH_LABEL + x0, y, x1 - x0,
	    seg_colour[i]);
	esc(f, w->name);
	(void) fputs(": ", f);
	esc_u64(f, hi - lo);
	(void) fputc(' ', f);
	esc(f, seg_label[i]);
	(void) fputs("</title></rect>\n", f);
}

static void
bar(FILE *f, const haven__report_row *w, int y, bool bold)
{
	const uint64_t cut[N_SEG + 1] = {0, w->read_on_time, w->read_on_time +
	    w->read_late, w->read_on_time + w->read_late + w->unread_overdue,
	    w->notifications};
	char name[NAME_CHARS * 4 + 8], pct[16];

	short_name(w->name, name, sizeof(name));
	haven__report_pct(w, pct, sizeof(pct));
	(void) fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" "
	    "text-anchor=\"end\"%s>", CH_LABEL - 8, y + 13,
	    bold ? " font-weight=\"bold\"" : "");
	esc(f, name);
	(void) fputs("</text>\n", f);
	for (int i = 0; i < N_SEG && w->notifications > 0; i++) {
		segment(f, w, i, cut[i], cut[i + 1], y);
	}
	(void) fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\"%s>n=",
	    CH_LABEL + CH_BAR + 8, y + 13, bold ? " font-weight=\"bold\"" : "");
	esc_u64(f, w->notifications);
	(void) fputs(", ", f);
	esc(f, pct);
	(void) fputs("</text>\n", f);
}

static void
chart(FILE *f, const haven__report *r)
{
	int h = CH_TOP + (int) (r->n_rows + 1) * CH_ROW + 10;
	int y = CH_TOP;

	(void) fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "aria-labelledby=\"chart-title\">\n<title id=\"chart-title\">"
	    "Notifications per school: read before deadline, read late, "
	    "unread past deadline, unread not yet due</title>\n", CH_W, h,
	    CH_W, h);
	legend(f);
	for (size_t i = 0; i < r->n_rows; i++, y += CH_ROW) {
		bar(f, &r->rows[i], y, false);
	}
	(void) fprintf(f, "<line x1=\"0\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
	    "stroke=\"#333\"/>\n", CH_W, y + 2, y + 2);
	bar(f, &r->all, y + 6, true);
	if (r->all.notifications == 0) {
		(void) fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\">"
		    "No notifications in this period.</text>\n", CH_LABEL,
		    y + 19);
	}
	(void) fputs("</svg>\n", f);
}

/* ---------------------------------------------------------------- table */

static const char *const th[] = {"School", "Notifications",
    "Read before deadline", "Read late", "Unread", "of which past deadline",
    "Escalated", "deadline missed", "school offline",
    "Median incident to reading (h:mm)", "Read before deadline (%)"};

static void
td_row(FILE *f, const haven__report_row *w)
{
	const uint64_t v[] = {w->notifications, w->read_on_time, w->read_late,
	    w->unread, w->unread_overdue, w->escalated, w->esc_deadline,
	    w->esc_offline};
	char b[32];

	(void) fputs("<tr><td>", f);
	esc(f, w->name);
	if (strcmp(w->name, w->id) != 0) {
		(void) fputs("<br><small>", f);
		esc(f, w->id);
		(void) fputs("</small>", f);
	}
	(void) fputs("</td>", f);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		(void) fputs("<td>", f);
		esc_u64(f, v[i]);
		(void) fputs("</td>", f);
	}
	haven__report_hm(w->median_ms, b, sizeof(b));
	(void) fputs("<td>", f);
	esc(f, b);
	haven__report_pct(w, b, sizeof(b));
	(void) fputs("</td><td>", f);
	esc(f, b);
	(void) fputs("</td></tr>\n", f);
}

static void
table(FILE *f, const haven__report *r)
{
	(void) fputs("<table>\n<thead><tr>", f);
	for (size_t i = 0; i < sizeof(th) / sizeof(th[0]); i++) {
		(void) fputs("<th scope=\"col\">", f);
		esc(f, th[i]);
		(void) fputs("</th>", f);
	}
	(void) fputs("</tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; i < r->n_rows; i++) {
		td_row(f, &r->rows[i]);
	}
	(void) fputs("</tbody>\n<tfoot>\n", f);
	td_row(f, &r->all);
	(void) fputs("</tfoot>\n</table>\n", f);
}

static const char method[] =
    "<footer class=\"note\">\n<p><b>Method.</b> Built by <code>havenctl "
    "report encompass</code> from the broker's tamper-evident audit "
    "alone, after its hash chain and signed checkpoints were verified. "
    "A notification belongs to the period when the broker accepted it on "
    "one of the dates above (Europe/London). Its deadline is the start of "
    "the school's next school day, from the school's calendar in the "
    "signed directory. <i>Read</i> means a named person at the school "
    "opened it: the first read receipt from the school, timed when the "
    "broker received it (a school cannot backdate it). Reads and "
    "escalations after the period still count, up to the time shown as "
    "<i>as of</i>. <i>Escalated</i>: the broker escalated it to the police "
    "single point of contact and the school's secondary contact, because "
    "the deadline passed unread or the school's system was offline with it "
    "waiting. The percentage is of notifications whose outcome is known "
    "(read, or unread past the deadline); unread ones not yet due are left "
    "out. The median runs from the incident time the police recorded to "
    "the first read, over read notifications with an incident time.</p>\n"
    "<p><b>No personal data.</b> The audit holds agency identifiers, "
    "message identifiers, codes and times only: this report names no "
    "child, parent or officer and contains nothing about any incident.</p>"
    "\n</footer>\n";

haven_err
haven__report_html(FILE *f, const haven__report *r, int64_t generated_ms)
{
	intro(f, r, generated_ms);
	headline(f, r);
	(void) fputs("<h2>By school</h2>\n", f);
	chart(f, r);
	table(f, r);
	(void) fputs("<p>Police-raised escalations (school unknown or "
	    "notification undeliverable), not attributed to a school: <b>", f);
	esc_u64(f, r->police_escalations);
	(void) fputs("</b>.</p>\n", f);
	(void) fputs(method, f);
	(void) fputs("</body>\n</html>\n", f);
	return (ferror(f) ? HAVEN_EIO : HAVEN_OK);
}
