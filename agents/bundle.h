/*
 * agents/bundle.h: the chair's case bundle (`haven-agent bundle`), internal.
 *
 * bundle_cmd.c collects, re-verifies and orders the inbox messages about
 * one case into the bundle document (the exact content of bundle.json);
 * bundle_html.c renders that document as one self-contained, printable
 * HTML page. The renderer trusts nothing in the document: every string
 * in it may be user-supplied and is escaped.
 *
 * Buffers built here hold personal data: they grow by copying into a new
 * block and wiping the old one, and are wiped when released.
 */
#ifndef HAVEN_AGENTS_BUNDLE_H
#define HAVEN_AGENTS_BUNDLE_H

#include <jansson.h>

#include "haven/common.h"

/** Largest HTML page the renderer will build. */
#define HAVEN__BUNDLE_HTML_MAX (64u * 1024u * 1024u)

/** A growable text buffer; wiped as it grows and when released. Once an
 * append fails (out of memory, over `max`) the buffer is marked failed
 * and later appends do nothing. */
typedef struct haven__hbuf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
	haven_err err; /* HAVEN_OK until an append fails */
} haven__hbuf;

/** An empty buffer that refuses to grow beyond `max` bytes. */
void haven__hbuf_init(haven__hbuf *b, size_t max);

/** Wipe and free; leaves an empty buffer. NULL-tolerant. */
void haven__hbuf_release(haven__hbuf *b);

void haven__hbuf_puts(haven__hbuf *b, const char *s);

void haven__hbuf_printf(haven__hbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Append `s` escaped for HTML text and attribute values: & < > " ' become
 * entities; C0 control characters other than tab and newline, and DEL,
 * become U+FFFD. NULL appends nothing.
 */
void haven__hbuf_esc(haven__hbuf *b, const char *s);

/** The bundle sections in the order the meeting uses them. */
typedef enum {
	HAVEN__SEC_REFERRAL = 0, /* M5 (+ the M6 view), M6 */
	HAVEN__SEC_CASELIST,     /* M7 */
	HAVEN__SEC_RESEARCH,     /* M8, grouped by agency */
	HAVEN__SEC_PLANS,        /* M9 with each action's latest status */
	HAVEN__SEC_UPDATES,      /* M10 about MARAC actions */
	HAVEN__SEC_REPEAT,       /* M11 */
	HAVEN__SEC_CONSENT,      /* consent decisions */
	HAVEN__SEC_PANEL_REFERRAL, /* M12 */
	HAVEN__SEC_PANEL_BUNDLE, /* M13 */
	HAVEN__SEC_PANEL_PLANS,  /* M14 with each action's latest status */
	HAVEN__SEC_PANEL_UPDATES, /* M10 about panel actions */
	HAVEN__SEC_OTHER,        /* anything else filed under the case */
	HAVEN__SEC_COUNT
} haven__bundle_sec;

/** The section's key as written in bundle.json items ("referral", ...). */
const char *haven__bundle_sec_key(haven__bundle_sec s);

/** The section's heading for a reader. */
const char *haven__bundle_sec_title(haven__bundle_sec s);

/**
 * Render the bundle document (as written to bundle.json) as HTML.
 * Items are shown in the document's order under their "section"; the
 * "left_out" entries in their own section. `*out` is malloc'd (wipe it:
 * haven__agt_free_wiped(*out, *len)).
 * @return HAVEN_OK, HAVEN_EINVAL (not a bundle document), HAVEN_EMSGSIZE,
 *   HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__bundle_html(const json_t *doc, char **out,
    size_t *len);

#endif /* HAVEN_AGENTS_BUNDLE_H */
