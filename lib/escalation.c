/*
 * lib/escalation.c: the payload of an escalation raised by the broker (M4).
 *
 * The broker holds no personal data, so what it says in an escalation is
 * only what it knows: why (deadline missed, school offline, or read after
 * an escalation), which notification (its message id), which school, the
 * deadline, when it happened, and for a closure the role of the reader. It
 * is the same protobuf message (Escalation) a police agent uses for an R5
 * escalation, with the notification (field 3) absent and fields 4-7 set;
 * haven_oe_payload_decode refuses fields 4-7 and this decoder refuses
 * field 3, so one buffer can never be read both ways.
 *
 * Decoding is strict (pbutil.h): length capped before unpacking, no unknown
 * fields, canonical encoding (which also catches a NUL inside a string),
 * every field validated as the encoder would.
 */
#include <jansson.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/calendar.h"
#include "haven/encompass.h"
#include "pbutil.h"
#include "util.h"

/* An escalation is a few hundred bytes; anything larger is not one. */
#define ESC_MAX 1024

static bool
reason_known(const char *r)
{
	return (strcmp(r, HAVEN_OE_REASON_DEADLINE) == 0 ||
	    strcmp(r, HAVEN_OE_REASON_OFFLINE) == 0 ||
	    strcmp(r, HAVEN_OE_REASON_CLOSED) == 0);
}

/* 1..15 of [A-Z-]: "DSL", "DDSL", "EHE-OFFICER", "UNKNOWN". */
static bool
role_ok(const char *r)
{
	size_t n = strnlen(r, 16);

	return (n >= 1 && n < 16 &&
	    strspn(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") == n);
}

static bool
fits(const char *s, size_t cap)
{
	return (memchr(s, '\0', cap) != NULL);
}

/* The checks encode and decode share. */
static bool
esc_valid(const haven_oe_escalation *e)
{
	bool closure;

	if (!fits(e->reason, sizeof(e->reason)) ||
	    !fits(e->school, sizeof(e->school)) ||
	    !fits(e->reader_role, sizeof(e->reader_role)) ||
	    !reason_known(e->reason) || !haven_agency_id_valid(e->school) ||
	    e->deadline_ms <= 0 || e->event_ms <= 0) {
		return (false);
	}
	closure = strcmp(e->reason, HAVEN_OE_REASON_CLOSED) == 0;
	if (closure) {
		return (role_ok(e->reader_role));
	}
	return (e->reader_role[0] == '\0');
}

haven_err
haven_oe_escalation_encode(const haven_oe_escalation *e, uint8_t **out,
    size_t *out_len)
{
	Haven__Escalation p = HAVEN__ESCALATION__INIT;

	if (e == NULL || out == NULL || out_len == NULL || !esc_valid(e)) {
		return (HAVEN_EINVAL);
	}
	p.reason = (char *) e->reason;
	p.about_msg_id = haven__pb_bin(e->about_msg_id, HAVEN_MSGID_BYTES);
	p.school = (char *) e->school;
	p.deadline_ms = e->deadline_ms;
	p.event_ms = e->event_ms;
	p.reader_role = (char *) e->reader_role;
	return (haven__pb_pack(&p.base, ESC_MAX, out, out_len));
}

/* Copy the unpacked fields; HAVEN_EINVAL when one does not fit. */
static haven_err
from_pb(const Haven__Escalation *p, haven_oe_escalation *e)
{
	if (haven__pb_str(e->reason, sizeof(e->reason), p->reason) !=
	    HAVEN_OK ||
	    haven__pb_bytes(e->about_msg_id, HAVEN_MSGID_BYTES,
	    &p->about_msg_id) != HAVEN_OK ||
	    haven__pb_str(e->school, sizeof(e->school), p->school) !=
	    HAVEN_OK ||
	    haven__pb_str(e->reader_role, sizeof(e->reader_role),
	    p->reader_role) != HAVEN_OK) {
		return (HAVEN_EINVAL);
	}
	e->deadline_ms = p->deadline_ms;
	e->event_ms = p->event_ms;
	return (esc_valid(e) ? HAVEN_OK : HAVEN_EINVAL);
}

haven_err
haven_oe_escalation_decode(const uint8_t *buf, size_t len,
    haven_oe_escalation *out)
{
	ProtobufCMessage *m = NULL;
	const Haven__Escalation *p;
	haven_err rv;

	if (out == NULL || (buf == NULL && len > 0)) {
		return (HAVEN_EINVAL);
	}
	memset(out, 0, sizeof(*out));
	if ((rv = haven__pb_unpack(&haven__escalation__descriptor, ESC_MAX,
	    buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	p = (const Haven__Escalation *) m;
	if (!haven__pb_canonical(m, len) || p->notification != NULL) {
		rv = HAVEN_EDECODE;
	} else {
		rv = from_pb(p, out);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (rv != HAVEN_OK) {
		memset(out, 0, sizeof(*out));
	}
	return (rv);
}

static int
put_time(json_t *o, const char *k, int64_t ms)
{
	char t[32];

	haven_time_format(ms, t, sizeof(t));
	return (json_object_set_new(o, k, json_string(t)));
}

haven_err
haven_oe_escalation_to_json(const haven_oe_escalation *e, char **out)
{
	char hex[2 * HAVEN_MSGID_BYTES + 1];
	json_t *o;
	char *s;
	int bad;

	if (e == NULL || out == NULL || !esc_valid(e)) {
		return (HAVEN_EINVAL);
	}
	if ((o = json_object()) == NULL) {
		return (HAVEN_ENOMEM);
	}
	haven__hex_encode(hex, e->about_msg_id, HAVEN_MSGID_BYTES);
	bad = json_object_set_new(o, "escalation_reason",
	    json_string(e->reason)) |
	    json_object_set_new(o, "about_msg_id", json_string(hex)) |
	    json_object_set_new(o, "school", json_string(e->school)) |
	    json_object_set_new(o, "deadline_ms", json_integer(e->deadline_ms)) |
	    put_time(o, "deadline", e->deadline_ms) |
	    json_object_set_new(o, "event_ms", json_integer(e->event_ms)) |
	    put_time(o, "event", e->event_ms);
	if (bad == 0 && e->reader_role[0] != '\0') {
		bad = json_object_set_new(o, "reader_role",
		    json_string(e->reader_role));
	}
	s = bad == 0 ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	if (s == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out = s;
	return (HAVEN_OK);
}
