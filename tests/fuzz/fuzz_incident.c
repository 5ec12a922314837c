/*
 * tests/fuzz/fuzz_incident.c: haven_incident_from_json on arbitrary bytes.
 *
 * Beyond "no crash, no leak": every incident the parser accepts must
 * render as JSON and survive the payload codec unchanged (carried as an
 * escalation, which admits any mix of settings), because the police agent
 * sends exactly what it accepted. A violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haven/encompass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const haven_incident *inc)
{
	haven_oe_item it;
	haven_incident back;
	char reason[32];
	uint8_t *buf = NULL;
	size_t len = 0;
	char *js = NULL;

	memset(&it, 0, sizeof(it));
	it.kind = HAVEN_OE_ESCALATE;
	memcpy(it.reason, "school-unknown", sizeof("school-unknown"));
	it.n_children = inc->n_children;
	for (size_t i = 0; i < inc->n_children; i++) {
		it.child_idx[i] = (uint8_t) i;
	}
	if (haven_oe_payload_encode(inc, &it, &buf, &len) != HAVEN_OK ||
	    haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, buf, len, &back,
	        reason, sizeof(reason)) != HAVEN_OK ||
	    back.n_children != inc->n_children ||
	    back.occurred_ms != inc->occurred_ms ||
	    memcmp(back.children, inc->children,
	        sizeof(back.children[0]) * back.n_children) != 0 ||
	    haven_oe_to_json(inc, NULL, &js) != HAVEN_OK) {
		abort();
	}
	free(js);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_incident *inc = malloc(sizeof(*inc));
	char field[64], why[128];

	if (inc == NULL) {
		return (0);
	}
	if (haven_incident_from_json(inc, (const char *) data, size, field,
	        sizeof(field), why, sizeof(why)) == HAVEN_OK) {
		round_trip(inc);
	}
	free(inc);
	return (0);
}
