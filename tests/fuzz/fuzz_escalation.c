/*
 * tests/fuzz/fuzz_escalation.c: haven_oe_escalation_decode on arbitrary
 * bytes. Whatever decodes must re-encode to exactly the same bytes (the
 * decoder accepts canonical encodings only), render as JSON, and never
 * decode as an agent's escalation too (haven_oe_payload_decode refuses
 * the broker's fields).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haven/encompass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_oe_escalation e;
	haven_incident *inc;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *js = NULL;

	if (haven_oe_escalation_decode(data, size, &e) != HAVEN_OK) {
		return (0);
	}
	if (haven_oe_escalation_encode(&e, &buf, &len) != HAVEN_OK ||
	    len != size || memcmp(buf, data, size) != 0 ||
	    haven_oe_escalation_to_json(&e, &js) != HAVEN_OK) {
		abort();
	}
	free(buf);
	free(js);
	if ((inc = malloc(sizeof(*inc))) == NULL) {
		return (0);
	}
	if (haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, data, size, inc,
	    NULL, 0) == HAVEN_OK) {
		abort();
	}
	free(inc);
	return (0);
}
