/*
 * tests/fuzz/fuzz_directory.c: libFuzzer target for the directory readers.
 *
 * Each input goes three ways:
 *  1. as a JSON source to haven_directory_from_json; whatever loads must
 *     survive to_json -> from_json -> to_json with identical text;
 *  2. as a signed document to haven_directory_decode_signed under a fixed
 *     admin key (exercises the SignedDoc decoding and refusal paths);
 *  3. as the body of a document that the admin key really signs, so the
 *     protobuf body reader and the shared validation see arbitrary bytes
 *     (a fuzzer cannot forge the signature, so path 2 alone never gets
 *     there). Whatever loads must sign and load again to the same JSON.
 * The admin key is generated once per process; no result depends on it.
 * Everything allocated per input is freed, so LeakSanitizer checks leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
#include "haven/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static haven_keys *admin;
static haven_pubkey admin_pk;

static void
check_json_round_trip(const haven_directory *d)
{
	haven_directory *d2 = NULL;
	char *t1 = NULL, *t2 = NULL;

	if (haven_directory_to_json(d, &t1) != HAVEN_OK) {
		abort();
	}
	if (haven_directory_from_json(&d2, t1, strlen(t1), NULL, 0) !=
	        HAVEN_OK ||
	    haven_directory_to_json(d2, &t2) != HAVEN_OK ||
	    strcmp(t1, t2) != 0) {
		abort();
	}
	free(t1);
	free(t2);
	haven_directory_destroy(&d2);
}

static void
check_signed_round_trip(const haven_directory *d)
{
	haven_directory *d2 = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (haven_directory_sign(d, admin, &buf, &len) != HAVEN_OK ||
	    haven_directory_decode_signed(&d2, buf, len, admin_pk.sign_pk,
	        NULL, 0) != HAVEN_OK ||
	    haven_directory_count(d2) != haven_directory_count(d)) {
		abort();
	}
	free(buf);
	haven_directory_destroy(&d2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_directory *d = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];

	if (admin == NULL) {
		if (haven_keys_generate(&admin, "admin", 1) != HAVEN_OK) {
			abort();
		}
		haven_keys_public(admin, &admin_pk);
	}
	if (haven_directory_from_json(&d, (const char *) data, size, err,
	        sizeof(err)) == HAVEN_OK) {
		check_json_round_trip(d);
		check_signed_round_trip(d);
		haven_directory_destroy(&d);
	}
	if (haven_directory_decode_signed(&d, data, size, admin_pk.sign_pk,
	        err, sizeof(err)) == HAVEN_OK) {
		haven_directory_destroy(&d);
	}
	if (haven__doc_sign("directory", data, size, admin, &buf, &len) ==
	    HAVEN_OK) {
		if (haven_directory_decode_signed(&d, buf, len,
		        admin_pk.sign_pk, err, sizeof(err)) == HAVEN_OK) {
			check_json_round_trip(d);
			check_signed_round_trip(d);
			haven_directory_destroy(&d);
		}
		free(buf);
	}
	return (0);
}
