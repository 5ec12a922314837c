/*
 * tests/fuzz/fuzz_agent_payload.c: the agent's payload decoders on
 * arbitrary bytes.
 *
 * A payload is decrypted content from another agency, which may be hostile
 * even though it is signed: the M3 read-receipt codec, the check of a
 * payload against its signed header (as a police sender's and as the
 * broker's: the escalation shape follows the signed sender), the header
 * timing checks (incident time, deadline against a calendar, holiday duty
 * copy, reader role tag), and the JSON rendering for `show` must refuse
 * anything malformed without crashing or leaking. A receipt that decodes
 * must re-encode and decode to the same values. A payload the broker's
 * escalation decoder accepts must never pass as a police escalation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/encompass.h"
#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
receipt_round_trip(const uint8_t *data, size_t size)
{
	haven__read_receipt r, back;
	uint8_t *enc = NULL;
	size_t len = 0;

	if (haven__agt_rr_decode(data, size, &r) != HAVEN_OK) {
		return;
	}
	if (haven__agt_rr_encode(&r, &enc, &len) != HAVEN_OK ||
	    haven__agt_rr_decode(enc, len, &back) != HAVEN_OK ||
	    memcmp(r.msg_id, back.msg_id, sizeof(r.msg_id)) != 0 ||
	    strcmp(r.reader_role, back.reader_role) != 0 ||
	    strcmp(r.reader, back.reader) != 0 || r.read_ms != back.read_ms) {
		abort();
	}
	free(enc);
}

/* One header shape against the data: check, verify, render. */
static void
one(haven_header *hdr, const uint8_t *data, size_t size)
{
	const char *why = NULL;
	char *json = NULL;
	haven_err c, v;

	c = haven__agt_payload_check(hdr, "school.urn.110123", data, size);
	v = haven__agt_payload_verify(hdr, "school.urn.110123", NULL, data,
	    size, &why);
	if ((v == HAVEN_OK) != (why == NULL) || (v == HAVEN_OK &&
	    c != HAVEN_OK)) {
		abort(); /* verify is check and more, and says why */
	}
	if (haven__agt_payload_json(hdr, data, size, &json) == HAVEN_OK) {
		free(json);
	}
}

/* One buffer can never be read both as the broker's escalation and as a
 * police one: the sender's signature decides which it is. */
static void
shapes_disjoint(haven_header *hdr, const uint8_t *data, size_t size)
{
	haven_oe_escalation e;

	if (haven_oe_escalation_decode(data, size, &e) != HAVEN_OK) {
		return;
	}
	hdr->type = HAVEN_MSG_OE_ESCALATION;
	(void) snprintf(hdr->sender, HAVEN_ID_MAX, "police.cambs");
	if (haven__agt_payload_check(hdr, "police.cambs.spoc", data, size) ==
	    HAVEN_OK) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = {HAVEN_MSG_OE_NOTIFICATION,
	    HAVEN_MSG_OE_EHE_NOTIFICATION, HAVEN_MSG_OE_RECEIPT,
	    HAVEN_MSG_OE_ESCALATION};
	static const char *const senders[] = {"police.cambs", "broker"};
	haven_header *hdr;

	receipt_round_trip(data, size);
	if ((hdr = calloc(1, sizeof(*hdr))) == NULL) {
		return (0);
	}
	hdr->has_reply_to = true;
	hdr->n_recipients = 2;
	(void) snprintf(hdr->recipients[0], HAVEN_ID_MAX, "school.urn.1");
	(void) snprintf(hdr->recipients[1], HAVEN_ID_MAX, "school.urn.110123");
	hdr->n_tags = 2;
	(void) snprintf(hdr->tags[0].key, HAVEN_CODE_MAX, "holiday");
	(void) snprintf(hdr->tags[0].value, HAVEN_TAGVAL_MAX, "yes");
	(void) snprintf(hdr->tags[1].key, HAVEN_CODE_MAX, "reader_role");
	(void) snprintf(hdr->tags[1].value, HAVEN_TAGVAL_MAX, "DSL");
	hdr->deadline_ms = INT64_C(1795595400000);
	hdr->occurred_ms = INT64_C(1795214400000);
	for (size_t s = 0; s < sizeof(senders) / sizeof(senders[0]); s++) {
		(void) snprintf(hdr->sender, HAVEN_ID_MAX, "%s", senders[s]);
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			hdr->type = types[i];
			one(hdr, data, size);
		}
	}
	shapes_disjoint(hdr, data, size);
	free(hdr);
	return (0);
}
