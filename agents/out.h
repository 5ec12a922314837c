/*
 * agents/out.h: how haven-agent reports to the IT staff who script it.
 *
 * Exit codes (docs/architecture.md): 0 success; 2 the input or a sharing
 * rule refused it; 1 any other error. Errors go to stderr as one line
 * naming what was wrong; with --json the same error is also one JSON
 * document on stdout: {"ok":false,"command":..,"error":{"code":"EINVAL",
 * "field":..,"rule":..,"reason":..}}. Nothing printed here may carry
 * personal data: callers pass field names, rule ids, agency ids, msg ids.
 */
#ifndef HAVEN_AGENTS_OUT_H
#define HAVEN_AGENTS_OUT_H

#include <jansson.h>

#include "haven/common.h"

#define HAVEN__EXIT_OK 0
#define HAVEN__EXIT_ERROR 1
#define HAVEN__EXIT_REFUSED 2

typedef struct haven__out {
	const char *cmd; /* "encompass submit", "inbox", ... */
	bool json;
} haven__out;

/** 2 for input and rule refusals (EINVAL, EVALIDATE, EPOLICY, EMSGSIZE),
 * 1 for everything else, 0 for HAVEN_OK. */
int haven__agt_exit_code(haven_err rv);

/**
 * Report a failure: one stderr line, and the JSON error document when
 * o->json. `field` and `rule` may be NULL. Returns `exit_code`, or
 * haven__agt_exit_code(rv) when exit_code < 0.
 */
int haven__agt_out_fail(const haven__out *o, haven_err rv, int exit_code,
    const char *field, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/** Print `doc` as one JSON document on stdout and release it. */
void haven__agt_out_json(json_t *doc);

/** One log line on stderr: "haven-agent: <ID> <detail>". For stable ids
 * such as HAVEN-AGT-BADSIG; detail must be non-personal. */
void haven__agt_log(const char *id, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Make jansson wipe every block it frees (json_set_alloc_funcs): incident
 * JSON, decrypted content rendered for `show` and jansson's parse scratch
 * hold personal data. Blocks stay ordinary malloc blocks, so a string
 * from json_dumps may still be released with free(). Call once, before
 * any JSON is made (haven-agent's main does).
 */
void haven__agt_json_wipe_on_free(void);

/** Wipe `len` bytes of a malloc'd buffer holding personal data or key
 * material, then free it. NULL-tolerant. */
void haven__agt_free_wiped(void *p, size_t len);

/** The free function installed above: wipes the whole block (its usable
 * size) with sodium_memzero, then free(). NULL-tolerant. */
void haven__agt_wipe_free(void *p);

/** Hex of a msg id into buf (>= 33 bytes); returns buf. */
const char *haven__agt_idhex(char *buf, const uint8_t id[HAVEN_MSGID_BYTES]);

/** "YYYY-MM-DDTHH:MM:SSZ" or "-" for 0 into buf (>= 32 bytes). */
const char *haven__agt_timestr(char *buf, size_t len, int64_t ms);

/** JSON string of a time, or null for 0. */
json_t *haven__agt_json_time(int64_t ms);

struct haven__wait;

/** Add the broker's answer to one submission to the per-message object
 * `o`: "status":"receipted" with "receipt":{audit_seq, entry_hash,
 * accepted, accepted_ms, signature_verified}, "status":"rejected" with
 * "reject":{code, rule, reason}, or "status":"pending". NULL-tolerant;
 * returns o. */
json_t *haven__agt_wait_json(json_t *o, const struct haven__wait *w);

#endif /* HAVEN_AGENTS_OUT_H */
