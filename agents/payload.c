/*
 * agents/payload.c: payload codecs and rendering (see payload.h).
 *
 * The M3 codec is the only place the agent touches Haven__ReadReceipt.
 * Incidents are large (up to 16 children with free text) and personal, so
 * they live on the heap and are wiped with sodium_memzero before free.
 */
#include "payload.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/encompass.h"
#include "out.h"
#include "util.h"

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

/* R3/R4: every child of a notification belongs to the receiving agency. */
static bool
children_for(uint32_t type, const haven_incident *inc, const char *me)
{
	size_t n = strlen(me);

	for (size_t i = 0; i < inc->n_children; i++) {
		const haven_oe_child *c = &inc->children[i];
		const char *la = c->local_authority;

		if (type == HAVEN_MSG_OE_NOTIFICATION &&
		    strcmp(c->school, me) != 0) {
			return (false);
		}
		if (type == HAVEN_MSG_OE_EHE_NOTIFICATION &&
		    strcmp(la, me) != 0 && !(n > 4 &&
		    strcmp(me + n - 4, ".ehe") == 0 &&
		    strncmp(la, me, n - 4) == 0 && la[n - 4] == '\0')) {
			return (false);
		}
	}
	return (true);
}

/* Decode an OE payload into a heap incident; then either check it
 * belongs to `me` (json == NULL) or render it as JSON. */
static haven_err
oe_decode(uint32_t type, const char *me, const uint8_t *p, size_t len,
    char **json)
{
	haven_incident *inc;
	char reason[64] = "";
	haven_err rv;

	if ((inc = calloc(1, sizeof(*inc))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	rv = haven_oe_payload_decode(type, p, len, inc, reason,
	    sizeof(reason));
	if (rv != HAVEN_OK) {
		rv = HAVEN_EDECODE;
	} else if (json != NULL) {
		rv = haven_oe_to_json(inc, type == HAVEN_MSG_OE_ESCALATION ?
		    reason : NULL, json);
	} else if (me != NULL && !children_for(type, inc, me)) {
		rv = HAVEN_EINVAL;
	}
	sodium_memzero(inc, sizeof(*inc));
	free(inc);
	return (rv);
}

/* An M3 must be about the message its signed header replies to. */
static haven_err
rr_check(const haven_header *hdr, const uint8_t *payload, size_t len)
{
	haven__read_receipt rr;
	haven_err rv;

	if ((rv = haven__agt_rr_decode(payload, len, &rr)) != HAVEN_OK) {
		return (rv);
	}
	if (!hdr->has_reply_to || sodium_memcmp(rr.msg_id, hdr->in_reply_to,
	    HAVEN_MSGID_BYTES) != 0) {
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_payload_check(const haven_header *hdr, const char *me,
    const uint8_t *payload, size_t len)
{
	if (is_oe(hdr->type)) {
		return (oe_decode(hdr->type, me, payload, len, NULL));
	}
	if (hdr->type == HAVEN_MSG_OE_RECEIPT) {
		return (rr_check(hdr, payload, len));
	}
	return (HAVEN_OK);
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

haven_err
haven__agt_payload_json(uint32_t type, const uint8_t *payload, size_t len,
    char **out)
{
	if (is_oe(type)) {
		return (oe_decode(type, NULL, payload, len, out));
	}
	if (type == HAVEN_MSG_OE_RECEIPT) {
		return (rr_json(payload, len, out));
	}
	return (HAVEN_ENOTFOUND);
}
