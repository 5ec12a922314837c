/*
 * tests/fuzz/fuzz_broker_config.c: the broker's config reader on arbitrary
 * bytes (broker/config.c). Must never crash, leak or read out of bounds;
 * whatever it accepts must satisfy the documented bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_bconf c;
	char err[256];

	if (haven__bconf_parse(&c, (const char *) data, size, err,
	    sizeof(err)) != HAVEN_OK) {
		if (memchr(err, '\0', sizeof(err)) == NULL) {
			abort();
		}
		return (0);
	}
	if (c.listen[0] == '\0' || c.data_dir[0] == '\0' ||
	    c.map_size_mb < 1 || c.max_frame_bytes > HAVEN_FRAME_MAX ||
	    c.batch_max < 1 || c.batch_max > 4096 ||
	    c.checkpoint_every < 1 || c.heartbeat_ms < 100) {
		abort();
	}
	return (0);
}
