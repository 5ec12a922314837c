/*
 * tests/fuzz/fuzz_audit_entry.c: libFuzzer target for haven_audit_decode.
 *
 * Audit entries are read back from a store that may have been tampered
 * with; decode must refuse or succeed without overflow, and whatever it
 * accepts must encode again to the same length (field order may differ)
 * and decode back to the same entry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haven/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_audit_entry e, g;
	uint8_t *out = NULL;
	size_t out_len = 0;

	if (haven_audit_decode(&e, data, size) != HAVEN_OK) {
		return (0);
	}
	if (haven_audit_encode(&e, &out, &out_len) != HAVEN_OK ||
	    out_len != size || haven_audit_decode(&g, out, out_len) != 0 ||
	    memcmp(&e, &g, sizeof(e)) != 0) {
		abort();
	}
	free(out);
	return (0);
}
