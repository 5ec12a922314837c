/*
 * agents/payload.c: payload codecs, checks and rendering (see payload.h).
 *
 * The M3 codec is the only place the agent touches Haven__ReadReceipt.
 * Incidents are large (up to 16 children with free text) and personal, so
 * they live on the heap and are wiped with sodium_memzero before free.
 *
 * Threat: a signed sender can still lie in its header about what the
 * encrypted content says, and the broker sees only the header. So the
 * receiving agent checks the header's facts against the content: the
 * incident time (which the broker's deadline check starts from), the
 * deadline against this agent's own copy of the school's calendar (a
 * police agent with a stale or doctored directory cannot push a school's
 * deadline later unnoticed), the holiday duty copy against the calendar,
 * and the reader role the broker audits against the receipt's. The
 * message shape of an escalation is bound to its signed sender: only the
 * broker's signature makes a broker escalation, and a broker-shaped
 * payload from anyone else (or a police-shaped one from the broker) is
 * refused.
 */
#include "payload.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/calendar.h"
#include "haven/encompass.h"
#include "haven/envelope.h"
#include "out.h"
#include "util.h"
#include "cases.h" /* MARAC/panel payloads (marac_cmd.c) */

#define RR_MAX 1024

bool
haven__agt_reader_role_valid(const char *role)
{
	return (strcmp(role, "DSL") == 0 || strcmp(role, "DDSL") == 0 ||
	    strcmp(role, "EHE-OFFICER") == 0);
}

bool
haven__agt_reader_ref_valid(const char *ref)
{
	size_t n = strlen(ref);

	if (n == 0 || n >= HAVEN__READER_MAX) {
		return (false);
	}
	for (size_t i = 0; i < n; i++) {
		char c = ref[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok) {
			return (false);
		}
	}
	return (true);
}

haven_err
haven__agt_rr_encode(const haven__read_receipt *r, uint8_t **out, size_t *len)
{
	Haven__ReadReceipt pb;
	size_t n;

	if (!haven__agt_reader_role_valid(r->reader_role) ||
	    !haven__agt_reader_ref_valid(r->reader)) {
		return (HAVEN_EINVAL);
	}
	haven__read_receipt__init(&pb);
	pb.msg_id.data = (uint8_t *) r->msg_id;
	pb.msg_id.len = HAVEN_MSGID_BYTES;
	pb.reader_role = (char *) r->reader_role;
	pb.reader = (char *) r->reader;
	pb.read_ms = r->read_ms;
	n = haven__read_receipt__get_packed_size(&pb);
	if ((*out = malloc(n)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	*len = haven__read_receipt__pack(&pb, *out);
	return (HAVEN_OK);
}

static haven_err
rr_fields(const Haven__ReadReceipt *pb, haven__read_receipt *r)
{
	if (pb->msg_id.len != HAVEN_MSGID_BYTES || pb->reader_role == NULL ||
	    pb->reader == NULL ||
	    haven__strlcpy(r->reader_role, pb->reader_role,
	        sizeof(r->reader_role)) != HAVEN_OK ||
	    haven__strlcpy(r->reader, pb->reader, sizeof(r->reader)) !=
	        HAVEN_OK ||
	    !haven__agt_reader_role_valid(r->reader_role) ||
	    !haven__agt_reader_ref_valid(r->reader)) {
		return (HAVEN_EDECODE);
	}
	memcpy(r->msg_id, pb->msg_id.data, HAVEN_MSGID_BYTES);
	r->read_ms = pb->read_ms;
	return (HAVEN_OK);
}

haven_err
haven__agt_rr_decode(const uint8_t *buf, size_t len, haven__read_receipt *r)
{
	Haven__ReadReceipt *pb;
	haven_err rv;

	memset(r, 0, sizeof(*r));
	if (len > RR_MAX) {
		return (HAVEN_EMSGSIZE);
	}
	if ((pb = haven__read_receipt__unpack(NULL, len, buf)) == NULL) {
		return (HAVEN_EDECODE);
	}
	rv = rr_fields(pb, r);
	haven__read_receipt__free_unpacked(pb, NULL);
	return (rv);
}

static bool
is_oe(uint32_t type)
{
	return (type == HAVEN_MSG_OE_NOTIFICATION ||
	    type == HAVEN_MSG_OE_EHE_NOTIFICATION ||
	    type == HAVEN_MSG_OE_ESCALATION);
}

bool
haven__agt_is_broker_escalation(const haven_header *hdr)
{
	return (hdr->type == HAVEN_MSG_OE_ESCALATION &&
	    strcmp(hdr->sender, HAVEN__BROKER_ID) == 0);
}

bool
haven__agt_is_duty_copy(const haven_header *hdr, const char *me)
{
	const char *tag = haven_header_tag(hdr, "holiday");

	return (hdr->type == HAVEN_MSG_OE_NOTIFICATION && tag != NULL &&
	    strcmp(tag, "yes") == 0 && hdr->n_recipients == 2 &&
	    strcmp(hdr->recipients[0], me) != 0 &&
	    strcmp(hdr->recipients[1], me) == 0);
}

/* An M1 to someone who is not the children's school: only as the holiday
 * duty contact, with the school as the first recipient (the decoder has
 * checked that an M1's children share one setting). */
static bool
m1_for(const haven_header *hdr, const haven_incident *inc, const char *me)
{
	const char *school = inc->children[0].school;

	if (strcmp(school, me) == 0) {
		return (true);
	}
	return (haven__agt_is_duty_copy(hdr, me) &&
	    strcmp(hdr->recipients[0], school) == 0);
}

/* R3/R4: every child of a notification belongs to the receiving agency. */
static bool
children_for(const haven_header *hdr, const haven_incident *inc,
    const char *me)
{
	size_t n = strlen(me);

	if (hdr->type == HAVEN_MSG_OE_NOTIFICATION) {
		return (inc->n_children > 0 && m1_for(hdr, inc, me));
	}
	for (size_t i = 0; i < inc->n_children; i++) {
		const char *la = inc->children[i].local_authority;

		if (hdr->type == HAVEN_MSG_OE_EHE_NOTIFICATION &&
		    strcmp(la, me) != 0 && !(n > 4 &&
		    strcmp(me + n - 4, ".ehe") == 0 &&
		    strncmp(la, me, n - 4) == 0 && la[n - 4] == '\0')) {
			return (false);
		}
	}
	return (true);
}

static void
incident_free(haven_incident **inc)
{
	if (*inc != NULL) {
		sodium_memzero(*inc, sizeof(**inc));
		free(*inc);
		*inc = NULL;
	}
}

/* Decode a police OE payload (M1, M2, R5 M4) into a heap incident. */
static haven_err
oe_load(uint32_t type, const uint8_t *p, size_t len, haven_incident **incp,
    char *reason, size_t reasonlen)
{
	haven_incident *inc;

	if ((inc = calloc(1, sizeof(*inc))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if (haven_oe_payload_decode(type, p, len, inc, reason, reasonlen) !=
	    HAVEN_OK) {
		incident_free(&inc);
		return (HAVEN_EDECODE);
	}
	*incp = inc;
	return (HAVEN_OK);
}

/* A broker escalation: decodes, or it is not one. */
static haven_err
broker_esc_check(const uint8_t *p, size_t len)
{
	haven_oe_escalation e;

	return (haven_oe_escalation_decode(p, len, &e) == HAVEN_OK ?
	    HAVEN_OK : HAVEN_EDECODE);
}

/* The school's calendar from our own signed directory. A school it does
 * not list gets the default calendar with the bank holidays (the
 * strictest deadline); no directory, weekends only. */
static void
school_calendar(const haven_directory *dir, const char *school,
    haven_calendar *cal)
{
	haven_err rv;

	haven_calendar_init(cal);
	if (dir == NULL) {
		return;
	}
	rv = haven_directory_calendar(dir, school, cal);
	if (rv != HAVEN_OK && rv != HAVEN_ENOTFOUND) {
		haven_calendar_init(cal);
	}
}

/* M1: deadline, incident time and holiday duty against the content. */
static const char *
m1_timing(const haven_header *hdr, const haven_incident *inc,
    const char *me, const haven_directory *dir)
{
	const char *school = inc->children[0].school;
	haven_calendar cal;
	int64_t occ = 0, due = 0;

	if (haven_time_parse(inc->occurred_at, &occ) != HAVEN_OK) {
		return ("occurred");
	}
	school_calendar(dir, school, &cal);
	if (haven_calendar_next_school_day(&cal, occ, &due) != HAVEN_OK ||
	    hdr->deadline_ms <= 0 || hdr->deadline_ms > due) {
		return ("deadline");
	}
	if (hdr->occurred_ms != occ) {
		return ("occurred");
	}
	if (strcmp(school, me) != 0 &&
	    !haven_calendar_holiday_ahead(&cal, occ)) {
		return ("holiday-duty");
	}
	return (NULL);
}

/* The header's facts against a police OE payload. */
static const char *
oe_timing(const haven_header *hdr, const haven_incident *inc,
    const char *me, const haven_directory *dir)
{
	int64_t occ = 0;

	if (hdr->type == HAVEN_MSG_OE_NOTIFICATION) {
		return (m1_timing(hdr, inc, me, dir));
	}
	if (haven_time_parse(inc->occurred_at, &occ) != HAVEN_OK ||
	    hdr->occurred_ms != occ) {
		return ("occurred");
	}
	return (NULL);
}

/* A police OE payload: decodes, is ours, and (when `why` is asked for)
 * its header tells the truth about it. */
static haven_err
oe_check(const haven_header *hdr, const char *me, const haven_directory *dir,
    const uint8_t *p, size_t len, const char **why)
{
	haven_incident *inc = NULL;
	char reason[64] = "";
	haven_err rv;

	if ((rv = oe_load(hdr->type, p, len, &inc, reason, sizeof(reason))) !=
	    HAVEN_OK) {
		return (rv);
	}
	if (me != NULL && !children_for(hdr, inc, me)) {
		rv = HAVEN_EINVAL;
	} else if (why != NULL && me != NULL &&
	    (*why = oe_timing(hdr, inc, me, dir)) != NULL) {
		rv = HAVEN_EINVAL;
	}
	incident_free(&inc);
	return (rv);
}

/* An M3 must be about the message its signed header replies to; with
 * `tag`, the header's reader_role (what the broker audits) must be the
 * receipt's. */
static haven_err
rr_check(const haven_header *hdr, const uint8_t *payload, size_t len,
    bool tag, const char **why)
{
	haven__read_receipt rr;
	const char *role;
	haven_err rv;

	if ((rv = haven__agt_rr_decode(payload, len, &rr)) != HAVEN_OK) {
		return (rv);
	}
	if (!hdr->has_reply_to || sodium_memcmp(rr.msg_id, hdr->in_reply_to,
	    HAVEN_MSGID_BYTES) != 0) {
		return (HAVEN_EINVAL);
	}
	role = haven_header_tag(hdr, "reader_role");
	if (tag && (role == NULL || strcmp(role, rr.reader_role) != 0)) {
		*why = "reader-role";
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_payload_check(const haven_header *hdr, const char *me,
    const uint8_t *payload, size_t len)
{
	if (haven__agt_is_broker_escalation(hdr)) {
		return (broker_esc_check(payload, len));
	}
	if (is_oe(hdr->type)) {
		return (oe_check(hdr, me, NULL, payload, len, NULL));
	}
	if (hdr->type == HAVEN_MSG_OE_RECEIPT) {
		return (rr_check(hdr, payload, len, false, NULL));
	}
	if (haven__agt_marac_type(hdr->type)) { /* MARAC/panel: cases.h */
		return (haven__agt_marac_payload_check(hdr, me, payload, len));
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_payload_verify(const haven_header *hdr, const char *me,
    const haven_directory *dir, const uint8_t *payload, size_t len,
    const char **why)
{
	const char *w = NULL;
	haven_err rv = HAVEN_OK;

	if (haven__agt_is_broker_escalation(hdr)) {
		rv = broker_esc_check(payload, len);
	} else if (is_oe(hdr->type)) {
		rv = oe_check(hdr, me, dir, payload, len, &w);
	} else if (hdr->type == HAVEN_MSG_OE_RECEIPT) {
		rv = rr_check(hdr, payload, len, true, &w);
	} else if (haven__agt_marac_type(hdr->type)) { /* cases.h */
		rv = haven__agt_marac_payload_check(hdr, me, payload, len);
	}
	*why = rv == HAVEN_OK ? NULL : w != NULL ? w : "content";
	return (rv);
}

static haven_err
rr_json(const uint8_t *payload, size_t len, char **out)
{
	haven__read_receipt rr;
	char hex[33];
	json_t *o;
	haven_err rv;

	if ((rv = haven__agt_rr_decode(payload, len, &rr)) != HAVEN_OK) {
		return (rv);
	}
	o = json_pack("{s:s, s:s, s:s, s:o, s:I}", "msg_id",
	    haven__agt_idhex(hex, rr.msg_id), "reader_role", rr.reader_role,
	    "reader", rr.reader, "read", haven__agt_json_time(rr.read_ms),
	    "read_ms", (json_int_t) rr.read_ms);
	if (o == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return (*out != NULL ? HAVEN_OK : HAVEN_ENOMEM);
}

static haven_err
oe_json(uint32_t type, const uint8_t *payload, size_t len, char **out)
{
	haven_incident *inc = NULL;
	char reason[64] = "";
	haven_err rv;

	if ((rv = oe_load(type, payload, len, &inc, reason, sizeof(reason))) !=
	    HAVEN_OK) {
		return (rv);
	}
	rv = haven_oe_to_json(inc, type == HAVEN_MSG_OE_ESCALATION ? reason :
	    NULL, out);
	incident_free(&inc);
	return (rv);
}

static haven_err
broker_esc_json(const uint8_t *payload, size_t len, char **out)
{
	haven_oe_escalation e;

	if (haven_oe_escalation_decode(payload, len, &e) != HAVEN_OK) {
		return (HAVEN_EDECODE);
	}
	return (haven_oe_escalation_to_json(&e, out));
}

haven_err
haven__agt_payload_json(const haven_header *hdr, const uint8_t *payload,
    size_t len, char **out)
{
	if (haven__agt_is_broker_escalation(hdr)) {
		return (broker_esc_json(payload, len, out));
	}
	if (is_oe(hdr->type)) {
		return (oe_json(hdr->type, payload, len, out));
	}
	if (hdr->type == HAVEN_MSG_OE_RECEIPT) {
		return (rr_json(payload, len, out));
	}
	if (haven__agt_marac_type(hdr->type)) { /* MARAC/panel: cases.h */
		return (haven__agt_marac_payload_json(hdr->type, payload, len,
		    out));
	}
	return (HAVEN_ENOTFOUND);
}
