/*
 * agents/out.c: exit codes, error lines, JSON documents (see out.h).
 *
 * Everything printed here is built by callers from field names, rule ids,
 * agency ids and msg ids; personal data reaches stdout only through
 * `show`. jansson's heap is wiped on free (haven__agt_json_wipe_on_free)
 * because the incident and rendered content pass through it.
 */
#include "out.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "agent_session.h"
#include "haven/calendar.h"
#include "util.h"

int
haven__agt_exit_code(haven_err rv)
{
	switch (rv) {
	case HAVEN_OK:
		return (HAVEN__EXIT_OK);
	case HAVEN_EINVAL:
	case HAVEN_EVALIDATE:
	case HAVEN_EPOLICY:
	case HAVEN_EMSGSIZE:
		return (HAVEN__EXIT_REFUSED);
	default:
		return (HAVEN__EXIT_ERROR);
	}
}

static json_t *
str_or_null(const char *s)
{
	return (s != NULL && s[0] != '\0' ? json_string(s) : json_null());
}

int
haven__agt_out_fail(const haven__out *o, haven_err rv, int exit_code,
    const char *field, const char *rule, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	json_t *doc, *err;

	va_start(ap, fmt);
	(void) vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (exit_code < 0) {
		exit_code = haven__agt_exit_code(rv);
	}
	(void) fprintf(stderr, "haven-agent: %s: %s%s%s%s%s%s (%s)\n",
	    o->cmd != NULL ? o->cmd : "error", field != NULL ? field : "",
	    field != NULL ? ": " : "", why, rule != NULL ? " [rule " : "",
	    rule != NULL ? rule : "", rule != NULL ? "]" : "",
	    haven_err_name(rv));
	if (o->json) {
		err = json_pack("{s:s, s:o, s:o, s:s}", "code",
		    haven_err_name(rv), "field", str_or_null(field), "rule",
		    str_or_null(rule), "reason", why);
		doc = json_pack("{s:b, s:s, s:o}", "ok", 0, "command",
		    o->cmd != NULL ? o->cmd : "", "error", err);
		haven__agt_out_json(doc);
	}
	return (exit_code);
}

void
haven__agt_out_json(json_t *doc)
{
	if (doc == NULL) {
		(void) fprintf(stderr, "haven-agent: out of memory\n");
		return;
	}
	(void) json_dumpf(doc, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
	(void) fputc('\n', stdout);
	(void) fflush(stdout);
	json_decref(doc);
}

void
haven__agt_log(const char *id, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void) fprintf(stderr, "haven-agent: %s %s\n", id, line);
}

const char *
haven__agt_idhex(char *buf, const uint8_t id[HAVEN_MSGID_BYTES])
{
	haven__hex_encode(buf, id, HAVEN_MSGID_BYTES);
	return (buf);
}

const char *
haven__agt_timestr(char *buf, size_t len, int64_t ms)
{
	if (ms == 0) {
		(void) snprintf(buf, len, "-");
	} else {
		haven_time_format(ms, buf, len);
	}
	return (buf);
}

json_t *
haven__agt_json_time(int64_t ms)
{
	char buf[40];

	if (ms == 0) {
		return (json_null());
	}
	haven_time_format(ms, buf, sizeof(buf));
	return (json_string(buf));
}

void
haven__agt_free_wiped(void *p, size_t len)
{
	if (p != NULL) {
		sodium_memzero(p, len);
		free(p);
	}
}

void
haven__agt_wipe_free(void *p)
{
	if (p == NULL) {
		return;
	}
#if defined(__GLIBC__)
	sodium_memzero(p, malloc_usable_size(p));
#endif
	free(p);
}

void
haven__agt_json_wipe_on_free(void)
{
	json_set_alloc_funcs(malloc, haven__agt_wipe_free);
}

/* RECEIPTED is only ever set for a receipt whose broker signature and
 * envelope hash were checked (send.c), hence signature_verified. */
static json_t *
wait_result(const haven__wait *w)
{
	char eh[2 * HAVEN_HASH_BYTES + 1];

	if (w->state == HAVEN__W_RECEIPTED) {
		haven__hex_encode(eh, w->receipt.entry_hash, HAVEN_HASH_BYTES);
		return (json_pack("{s:s, s:{s:I, s:s, s:o, s:I, s:b}}",
		    "status", "receipted", "receipt", "audit_seq",
		    (json_int_t) w->receipt.audit_seq, "entry_hash", eh,
		    "accepted", haven__agt_json_time(w->receipt.accepted_ms),
		    "accepted_ms", (json_int_t) w->receipt.accepted_ms,
		    "signature_verified", 1));
	}
	if (w->state == HAVEN__W_REJECTED) {
		return (json_pack("{s:s, s:{s:s, s:s, s:s}}", "status",
		    "rejected", "reject", "code",
		    haven_err_name((haven_err) w->reject.code), "rule",
		    w->reject.rule, "reason", w->reject.reason));
	}
	return (json_pack("{s:s}", "status", "pending"));
}

json_t *
haven__agt_wait_json(json_t *o, const haven__wait *w)
{
	json_t *r;

	if (o != NULL && (r = wait_result(w)) != NULL) {
		(void) json_object_update(o, r);
		json_decref(r);
	}
	return (o);
}
