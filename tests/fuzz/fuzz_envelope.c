/*
 * tests/fuzz/fuzz_envelope.c: libFuzzer target for the wire envelope.
 *
 * Feeds arbitrary bytes to haven_envelope_decode; whatever decodes is
 * verified against a small fixed directory (built once, keys derived from
 * fixed seeds so runs are reproducible) and stripped for every header
 * recipient. Invariant checked: a stripped envelope always decodes again
 * with the same header bytes. Everything allocated per input is freed, so
 * LeakSanitizer reports any leak on the decode/verify/strip paths.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "haven/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static haven_directory *dir;

static void
hex32(char out[65], const uint8_t k[32])
{
	(void) sodium_bin2hex(out, 65, k, 32);
}

/* One agency entry with keys derived from a one-byte seed. */
static int
agency_json(char *buf, size_t len, const char *id, const char *role,
    uint8_t seed_byte)
{
	uint8_t seed[32], sk[64], sign_pk[32], box_sk[32], box_pk[32];
	uint8_t curve_sk[32], curve_pk[32];
	char s[65], b[65], c[65];

	memset(seed, seed_byte, sizeof(seed));
	(void) crypto_sign_seed_keypair(sign_pk, sk, seed);
	memset(box_sk, seed_byte ^ 0x5a, sizeof(box_sk));
	(void) crypto_scalarmult_base(box_pk, box_sk);
	memset(curve_sk, seed_byte ^ 0xa5, sizeof(curve_sk));
	(void) crypto_scalarmult_base(curve_pk, curve_sk);
	hex32(s, sign_pk);
	hex32(b, box_pk);
	hex32(c, curve_pk);
	return (snprintf(buf, len,
	    "{\"id\":\"%s\",\"role\":\"%s\",\"name\":\"%s\",\"keys\":"
	    "[{\"generation\":1,\"sign_pk\":\"%s\",\"box_pk\":\"%s\","
	    "\"curve_pk\":\"%s\"}]}",
	    id, role, id, s, b, c));
}

static void
make_dir(void)
{
	static const struct {
		const char *id, *role;
	} ag[] = {{"police.cambs", "POL"}, {"school.urn.1", "EDU"},
	    {"la.cambs", "LA"}};
	char json[4096], err[256];
	size_t n;

	if (sodium_init() < 0) {
		abort();
	}
	n = (size_t) snprintf(json, sizeof(json), "{\"version\":1,"
	    "\"agencies\":[");
	for (size_t i = 0; i < sizeof(ag) / sizeof(ag[0]); i++) {
		n += (size_t) agency_json(json + n, sizeof(json) - n, ag[i].id,
		    ag[i].role, (uint8_t) (i + 1));
		json[n++] = (i + 1 < sizeof(ag) / sizeof(ag[0])) ? ',' : ']';
	}
	n += (size_t) snprintf(json + n, sizeof(json) - n, "}");
	if (haven_directory_from_json(&dir, json, n, err, sizeof(err)) !=
	    HAVEN_OK) {
		(void) fprintf(stderr, "fuzz_envelope: directory: %s\n", err);
		abort();
	}
}

static void
strip_all(const haven_envelope *env)
{
	for (size_t i = 0; i < env->hdr.n_recipients; i++) {
		haven_envelope *again = NULL;
		uint8_t *out = NULL;
		size_t len = 0;

		if (haven_envelope_strip(env, env->hdr.recipients[i], &out,
		    &len) != HAVEN_OK) {
			continue; /* only ENOMEM is possible here */
		}
		if (haven_envelope_decode(&again, out, len) != HAVEN_OK ||
		    again->header_len != env->header_len ||
		    memcmp(again->header_bytes, env->header_bytes,
		        env->header_len) != 0) {
			abort(); /* strip must keep a decodable envelope */
		}
		haven_envelope_destroy(&again);
		free(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_envelope *env = NULL;

	if (dir == NULL) {
		make_dir();
	}
	if (haven_envelope_decode(&env, data, size) != HAVEN_OK) {
		return (0);
	}
	(void) haven_envelope_verify(env, dir);
	(void) haven_header_tag(&env->hdr, "consent");
	strip_all(env);
	haven_envelope_destroy(&env);
	return (0);
}
