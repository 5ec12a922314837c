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
 *     there). Whatever loads must sign and load again to the same JSON;
 *  4. as the "calendars" section of a fixed two-agency directory, so the
 *     calendar reader is reached by any input, not only by one that
 *     happens to be a whole valid directory.
 * Whatever loads also has every agency's calendar resolved and a deadline
 * computed at a few instants: it must be strictly later than the instant
 * and fall on a day the calendar calls a school day.
 * The admin key is generated once per process; no result depends on it.
 * Everything allocated per input is freed, so LeakSanitizer checks leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
#include "haven/calendar.h"
#include "haven/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static haven_keys *admin;
static haven_pubkey admin_pk;

/* Path 4: a school in la.cambs and an LA; the input goes in between. */
static const char head[] =
    "{\"version\":1,\"agencies\":["
    "{\"id\":\"school.urn.110123\",\"role\":\"EDU\",\"name\":\"S\","
    "\"attrs\":{\"local_authority\":\"la.cambs\",\"start_of_day\":"
    "\"08:45\"},\"keys\":[{\"generation\":1,\"sign_pk\":\""
    "0101010101010101010101010101010101010101010101010101010101010101\","
    "\"box_pk\":\""
    "0202020202020202020202020202020202020202020202020202020202020202\","
    "\"curve_pk\":\""
    "0303030303030303030303030303030303030303030303030303030303030303\"}]},"
    "{\"id\":\"la.cambs\",\"role\":\"LA\",\"name\":\"L\","
    "\"keys\":[{\"generation\":1,\"sign_pk\":\""
    "0404040404040404040404040404040404040404040404040404040404040404\","
    "\"box_pk\":\""
    "0505050505050505050505050505050505050505050505050505050505050505\","
    "\"curve_pk\":\""
    "0606060606060606060606060606060606060606060606060606060606060606\"}]}"
    "],\"calendars\":";

/* Instants around the clock changes and holidays of 2026-2027. */
static const int64_t instants[] = {
	INT64_C(1774744200000), /* 2026-03-29T00:30:00Z */
	INT64_C(1784754000000), /* 2026-07-22T21:00:00Z */
	INT64_C(1797613200000), /* 2026-12-18T17:00:00Z */
	INT64_C(1801828800000), /* 2027-02-05T12:00:00Z */
	INT64_C(0),
};

static void
check_deadlines(const haven_directory *d)
{
	for (size_t i = 0; i < haven_directory_count(d); i++) {
		const haven_agency *a = haven_directory_at(d, i);
		haven_calendar cal;

		if (haven_directory_calendar(d, a->id, &cal) != HAVEN_OK) {
			abort();
		}
		for (size_t k = 0; k < sizeof(instants) / sizeof(instants[0]);
		     k++) {
			int64_t s = 0;

			if (haven_calendar_next_school_day(&cal, instants[k],
			        &s) != HAVEN_OK) {
				continue; /* no school day in 400 days: allowed */
			}
			if (s <= instants[k] || !haven_calendar_is_school_day(
			        &cal, haven_london_days(s))) {
				abort();
			}
		}
	}
}

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
	char *t1 = NULL, *t2 = NULL;

	if (haven_directory_sign(d, admin, &buf, &len) != HAVEN_OK ||
	    haven_directory_decode_signed(&d2, buf, len, admin_pk.sign_pk,
	        NULL, 0) != HAVEN_OK ||
	    haven_directory_count(d2) != haven_directory_count(d) ||
	    haven_directory_to_json(d, &t1) != HAVEN_OK ||
	    haven_directory_to_json(d2, &t2) != HAVEN_OK ||
	    strcmp(t1, t2) != 0) {
		abort();
	}
	free(t1);
	free(t2);
	free(buf);
	haven_directory_destroy(&d2);
}

static void
check_all(const haven_directory *d)
{
	check_json_round_trip(d);
	check_signed_round_trip(d);
	check_deadlines(d);
}

/* Path 4: the input as the calendars section of a fixed directory. */
static void
as_calendars(const uint8_t *data, size_t size)
{
	haven_directory *d = NULL;
	char *text;

	if (size > HAVEN_JSON_MAX - sizeof(head) ||
	    (text = malloc(sizeof(head) + size + 1)) == NULL) {
		return;
	}
	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, data, size);
	text[sizeof(head) - 1 + size] = '}';
	if (haven_directory_from_json(&d, text, sizeof(head) + size, NULL,
	        0) == HAVEN_OK) {
		check_all(d);
		haven_directory_destroy(&d);
	}
	free(text);
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
		check_all(d);
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
			check_all(d);
			haven_directory_destroy(&d);
		}
		free(buf);
	}
	as_calendars(data, size);
	return (0);
}
