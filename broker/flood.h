/*
 * broker/flood.h: a per-agency budget for REJECT audit entries.
 *
 * Every refusal of a frame or submission is audited (DESIGN §8), but an
 * authenticated peer (a stolen agency key is enough) could send refusable
 * frames as fast as the network allows and fill the store with REJECT
 * entries until it refuses everyone's submissions. So each agency's
 * refusals are audited individually up to HAVEN_FLOOD_BUDGET per
 * HAVEN_FLOOD_WINDOW_MS; the rest are still refused on the wire but only
 * counted, and the count is written as ONE REJECT entry ("flood
 * suppressed=N") when the window is over, or at shutdown. The audit thus
 * still says who was refused how often; the store grows by a bounded amount
 * per agency per minute.
 *
 * Memory only, fixed size (no allocation). The state is a plain struct so
 * the loop can snapshot it before a pass and restore it if the pass's
 * transaction aborts (the counts then match what was committed).
 */
#ifndef HAVEN_BROKER_FLOOD_H
#define HAVEN_BROKER_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "haven/common.h"

#define HAVEN_FLOOD_SLOTS 64
#define HAVEN_FLOOD_BUDGET 100
#define HAVEN_FLOOD_WINDOW_MS 60000

typedef struct haven_flood_slot {
	char agency[HAVEN_ID_MAX]; /* "" = free */
	int64_t window_ms;         /* monotonic start of the window */
	uint32_t count;            /* audited in this window */
	uint32_t last_code;        /* of the last suppressed refusal */
	uint64_t suppressed;       /* refused but not audited individually */
} haven_flood_slot;

typedef struct haven_flood {
	haven_flood_slot v[HAVEN_FLOOD_SLOTS];
	haven_flood_slot other; /* agencies that found no free slot */
} haven_flood;

/**
 * Account one refusal of `agency` (code `code`) at monotonic `now_ms`.
 * @return true if it should be audited individually; false if it was
 *   counted for the next summary instead.
 */
bool haven__flood_allow(haven_flood *f, const char *agency, uint32_t code,
    int64_t now_ms);

/** True if a summary is due (haven__flood_flush would write one). */
bool haven__flood_due(const haven_flood *f, int64_t now_ms);

/** Called for each summary: `agency` ("" for agencies without a slot),
 * the number of refusals not audited and the last code. */
typedef haven_err (*haven_flood_fn)(void *arg, const char *agency,
    uint64_t suppressed, uint32_t code);

/**
 * Emit a summary for every agency whose window is over (every agency with
 * suppressed refusals if `force`) and start a new window for it. Stops at
 * the first error from `fn` and returns it (the caller restores its
 * snapshot when the transaction aborts).
 */
HAVEN_NODISCARD haven_err haven__flood_flush(haven_flood *f, int64_t now_ms,
    bool force, haven_flood_fn fn, void *arg);

#endif /* HAVEN_BROKER_FLOOD_H */
