/*
 * tests/fuzz/fuzz_oe_payload.c: haven_oe_payload_decode on arbitrary bytes
 * as each Encompass message type (M1, M2, M4), then haven_oe_to_json on
 * whatever decodes. A decoded incident must always render: decode has
 * already refused anything (length, UTF-8, count) that could not.
 */
#include <stdint.h>
#include <stdlib.h>

#include "haven/encompass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = { HAVEN_MSG_OE_NOTIFICATION,
		HAVEN_MSG_OE_EHE_NOTIFICATION, HAVEN_MSG_OE_ESCALATION };
	haven_incident *inc = malloc(sizeof(*inc));

	if (inc == NULL) {
		return (0);
	}
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		char reason[32];
		char *js = NULL;

		if (haven_oe_payload_decode(types[t], data, size, inc, reason,
		        sizeof(reason)) != HAVEN_OK) {
			continue;
		}
		if (haven_oe_to_json(inc, reason, &js) != HAVEN_OK) {
			abort();
		}
		free(js);
	}
	free(inc);
	return (0);
}
