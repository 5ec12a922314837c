/*
 * tests/fuzz/fuzz_frame.c: libFuzzer target for haven_frame_decode.
 *
 * Any input must either be refused or decode into a frame that encodes
 * again to the same length (decode refuses unknown, repeated and NUL-cut
 * fields; field order may differ) and decodes back to the same frame.
 * Nothing may leak or overflow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haven/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const haven_frame *a, const haven_frame *b)
{
	haven_frame x = *a, y = *b;

	if (a->envelope_len != b->envelope_len ||
	    (a->envelope_len > 0 &&
	        memcmp(a->envelope, b->envelope, a->envelope_len) != 0)) {
		return (0);
	}
	x.envelope = y.envelope = NULL;
	return (memcmp(&x, &y, sizeof(x)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_frame f, g;
	uint8_t *out = NULL;
	size_t out_len = 0;

	if (haven_frame_decode(&f, data, size) != HAVEN_OK) {
		return (0);
	}
	if (haven_frame_encode(&f, &out, &out_len) != HAVEN_OK ||
	    out_len != size || haven_frame_decode(&g, out, out_len) != 0 ||
	    !same(&f, &g)) {
		abort(); /* decode accepted what encode would not produce */
	}
	free(out);
	haven_frame_release(&g);
	haven_frame_release(&f);
	return (0);
}
