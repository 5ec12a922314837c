/*
 * broker/flood.c: the per-agency REJECT audit budget (see flood.h).
 *
 * A slot belongs to an agency while it has suppressed refusals not yet
 * summarised; only then can it not be reused, so a summary count is never
 * lost. When every slot is so held (64 agencies flooding at once) further
 * agencies share the `other` slot.
 */
#include "flood.h"

#include <string.h>

#include "log.h"

static bool
expired(const haven_flood_slot *s, int64_t now_ms)
{
	return (now_ms - s->window_ms >= HAVEN_FLOOD_WINDOW_MS);
}

static haven_flood_slot *
slot_for(haven_flood *f, const char *agency, int64_t now_ms)
{
	haven_flood_slot *best = NULL;

	for (size_t i = 0; i < HAVEN_FLOOD_SLOTS; i++) {
		haven_flood_slot *s = &f->v[i];
		if (s->agency[0] != '\0' && strcmp(s->agency, agency) == 0) {
			return (s);
		}
		if (s->suppressed == 0 && (best == NULL ||
		    s->window_ms < best->window_ms)) {
			best = s;
		}
	}
	if (best == NULL) {
		return (&f->other);
	}
	memset(best, 0, sizeof(*best));
	haven__bcopy(best->agency, sizeof(best->agency), agency);
	best->window_ms = now_ms;
	return (best);
}

bool
haven__flood_allow(haven_flood *f, const char *agency, uint32_t code,
    int64_t now_ms)
{
	haven_flood_slot *s = slot_for(f, agency, now_ms);

	/* A window with a pending summary stays open until it is flushed. */
	if (s->suppressed == 0 && expired(s, now_ms)) {
		s->window_ms = now_ms;
		s->count = 0;
	}
	if (s != &f->other && s->suppressed == 0 &&
	    s->count < HAVEN_FLOOD_BUDGET) {
		s->count++;
		return (true);
	}
	if (s->suppressed++ == 0) {
		haven__blog("HAVEN-BRK-FLOOD", "agency=%s budget=%d exceeded: "
		    "further refusals counted, not audited one by one",
		    s == &f->other ? "-" : agency, HAVEN_FLOOD_BUDGET);
	}
	s->last_code = code;
	return (false);
}

bool
haven__flood_due(const haven_flood *f, int64_t now_ms)
{
	for (size_t i = 0; i < HAVEN_FLOOD_SLOTS; i++) {
		if (f->v[i].suppressed > 0 && expired(&f->v[i], now_ms)) {
			return (true);
		}
	}
	return (f->other.suppressed > 0 && expired(&f->other, now_ms));
}

static haven_err
flush_one(haven_flood_slot *s, int64_t now_ms, bool force, haven_flood_fn fn,
    void *arg)
{
	haven_err rv;

	if (s->suppressed == 0 || (!force && !expired(s, now_ms))) {
		return (HAVEN_OK);
	}
	if ((rv = fn(arg, s->agency, s->suppressed, s->last_code)) !=
	    HAVEN_OK) {
		return (rv);
	}
	haven__blog("HAVEN-BRK-FLOOD", "agency=%s suppressed=%llu",
	    s->agency[0] != '\0' ? s->agency : "-",
	    (unsigned long long) s->suppressed);
	s->suppressed = 0;
	s->count = 0;
	s->window_ms = now_ms;
	return (HAVEN_OK);
}

haven_err
haven__flood_flush(haven_flood *f, int64_t now_ms, bool force,
    haven_flood_fn fn, void *arg)
{
	haven_err rv;

	for (size_t i = 0; i < HAVEN_FLOOD_SLOTS; i++) {
		if ((rv = flush_one(&f->v[i], now_ms, force, fn, arg)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	return (flush_one(&f->other, now_ms, force, fn, arg));
}
