/*
 * tests/fuzz/fuzz_agent_payload.c: the agent's payload decoders on
 * arbitrary bytes.
 *
 * A payload is decrypted content from another agency, which may be hostile
 * even though it is signed: the M3 read-receipt codec, the check of a
 * payload against its signed header, and the JSON rendering for `show`
 * must refuse anything malformed without crashing or leaking. A receipt
 * that decodes must re-encode and decode to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = {HAVEN_MSG_OE_NOTIFICATION,
	    HAVEN_MSG_OE_EHE_NOTIFICATION, HAVEN_MSG_OE_RECEIPT,
	    HAVEN_MSG_OE_ESCALATION};
	haven_header *hdr;

	receipt_round_trip(data, size);
	if ((hdr = calloc(1, sizeof(*hdr))) == NULL) {
		return (0);
	}
	hdr->has_reply_to = true;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *json = NULL;

		hdr->type = types[i];
		(void) haven__agt_payload_check(hdr, "school.urn.110123", data,
		    size);
		if (haven__agt_payload_json(types[i], data, size, &json) ==
		    HAVEN_OK) {
			free(json);
		}
	}
	free(hdr);
	return (0);
}
