/*
 * tests/fuzz/fuzz_agent_config.c: libFuzzer target for the haven-agent
 * config reader (agents/config.c). Any input must be parsed or refused
 * with a named field, never crash, leak or read out of bounds; a refused
 * input leaves the config zeroed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven__agent_config cfg;
	char field[64], why[256];
	haven_err rv;

	rv = haven__agent_config_parse(&cfg, (const char *) data, size, field,
	    sizeof(field), why, sizeof(why));
	if (rv == HAVEN_OK) {
		if (cfg.agency[0] == '\0' || cfg.timeout_ms < 100 ||
		    cfg.credit == 0) {
			abort();
		}
	} else if (cfg.agency[0] != '\0' || strlen(why) == 0) {
		abort();
	}
	return (0);
}
