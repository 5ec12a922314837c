/*
 * haven/directory.h: the partnership's directory of agencies.
 *
 * The administrator keeps the directory as a JSON source file and signs it
 * with the offline admin key (havenctl directory sign); the broker and the
 * agents load only the signed form and refuse one that is unsigned, signed by
 * another key, tampered with, malformed, or older (lower version) than one
 * they already accepted.
 *
 * JSON source:
 *   {"version": 3,
 *    "agencies": [
 *      {"id":"school.urn.110123","role":"EDU","name":"Riverside Primary",
 *       "revoked":false,
 *       "keys":[{"generation":1,"sign_pk":"..","box_pk":"..","curve_pk":"..",
 *                "retired":false}],
 *       "attrs":{"deputy":"school.urn.110123.deputy"}}]}
 *
 * Optional "calendars" at the root (haven/calendar.h says how they are used):
 *   "calendars": {
 *     "bank_holidays": ["2026-12-25", "2026-12-28"],
 *     "areas": [{"id": "la.cambs",
 *                "terms": [{"name": "autumn-2026", "first": "2026-09-03",
 *                           "last": "2026-12-18"}],
 *                "closed": ["2026-09-02"]}],
 *     "schools": [{"id": "school.urn.110123", "closed": ["2027-02-12"]}]}
 * Dates are "YYYY-MM-DD"; lists are stored sorted (terms by first day,
 * areas and schools by id) and haven_directory_to_json prints them so, all
 * three lists present, or no "calendars" at all when the section is empty;
 * term names are 1-47 bytes without control characters; a duplicate date, an
 * inverted term (last before first) or two overlapping terms of one area is
 * refused naming the area and term ("calendars.areas[0] 'la.cambs': term
 * 'spring-2027' overlaps 'autumn-2026'"); area ids are unique agency-id
 * shaped codes; a school entry must name an agency of the directory.
 * Limits: 512 bank holidays, 64 areas, 64 terms and 256 closed days per
 * area, 4096 school entries with 64 closed days each. An agency attr
 * "start_of_day" must be "HH:MM" (00:00-23:59) and an attr "calendar" must
 * name an area.
 *
 * "issued_ms" (integer, optional, default 0) may also appear at the root;
 * "revoked", "retired" (default false) and "attrs" are optional. Every
 * agency needs 1..HAVEN_MAX_KEYS keys with distinct generations >= 1 and a
 * non-empty name; the id "broker" (and only it) has role BRK.
 *
 * Agency ids are unique; a key (any of its three public keys) belongs to
 * one agency only. The broker itself is the agency "broker" (role BRK).
 * A loaded directory is immutable and safe to read from many threads.
 */
#ifndef HAVEN_DIRECTORY_H
#define HAVEN_DIRECTORY_H

#include "haven/common.h"
#include "haven/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAVEN_MAX_KEYS 4
#define HAVEN_MAX_ATTRS 16
#define HAVEN_MAX_AGENCIES 4096

typedef struct haven_tag {
	char key[HAVEN_CODE_MAX];
	char value[HAVEN_TAGVAL_MAX];
} haven_tag;

typedef struct haven_agency_key {
	uint32_t generation;
	uint8_t sign_pk[HAVEN_KEY_BYTES];
	uint8_t box_pk[HAVEN_KEY_BYTES];
	uint8_t curve_pk[HAVEN_KEY_BYTES];
	bool retired; /* verify old messages only; no new handshakes */
} haven_agency_key;

typedef struct haven_agency {
	char id[HAVEN_ID_MAX];
	char role[HAVEN_ROLE_MAX];
	char name[HAVEN_NAME_MAX];
	bool revoked;
	size_t n_keys;
	haven_agency_key keys[HAVEN_MAX_KEYS];
	size_t n_attrs;
	haven_tag attrs[HAVEN_MAX_ATTRS];
} haven_agency;

typedef struct haven_directory haven_directory;

/**
 * Parse and validate a JSON source. On HAVEN_EINVAL `err` says what and
 * where ("agencies[3].role: unknown role 'XYZ'").
 * @return HAVEN_OK, HAVEN_EINVAL, HAVEN_EMSGSIZE, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_from_json(
    haven_directory **out, const char *json, size_t len, char *err,
    size_t errlen);

/** Serialise to the JSON source form (malloc'd, NUL-terminated). */
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_to_json(
    const haven_directory *dir, char **out);

/** Sign with the admin key: *out is a serialised SignedDoc (malloc'd). */
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_sign(
    const haven_directory *dir, const haven_keys *admin, uint8_t **out,
    size_t *out_len);

/**
 * Verify and decode a signed directory. `admin_pk` is the partnership's
 * admin Ed25519 public key.
 * @return HAVEN_OK, HAVEN_EDECODE, HAVEN_ESIG (unsigned, wrong signer or
 *   tampered), HAVEN_EINVAL (content invalid; `err` says why),
 *   HAVEN_EMSGSIZE, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_decode_signed(
    haven_directory **out, const uint8_t *buf, size_t len,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err, size_t errlen);

/** Read `path` (capped at HAVEN_DOC_MAX) and decode_signed it. */
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_load(
    haven_directory **out, const char *path,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err, size_t errlen);

HAVEN_API void haven_directory_destroy(haven_directory **dir);

HAVEN_API uint64_t haven_directory_version(const haven_directory *dir);
HAVEN_API size_t haven_directory_count(const haven_directory *dir);
HAVEN_API const haven_agency *haven_directory_at(const haven_directory *dir,
    size_t i);

/** Lookup by id; NULL if absent. Borrowed until destroy (or until the
 * next haven_directory_add, which may move the agencies).
 * Binary search on a sorted index: O(log n). */
HAVEN_API const haven_agency *haven_directory_find(
    const haven_directory *dir, const char *id);

/** Lookup by CurveZMQ public key (any generation, retired or not, revoked
 * agencies included: the caller decides); NULL if absent. Linear scan,
 * O(n * HAVEN_MAX_KEYS).
 * `key_out` (may be NULL) receives the matching key. */
HAVEN_API const haven_agency *haven_directory_find_curve(
    const haven_directory *dir, const uint8_t curve_pk[HAVEN_KEY_BYTES],
    const haven_agency_key **key_out);

/**
 * The calendar of agency `id` (normally a school): start of day from its
 * "start_of_day" attr (default 08:30), the partnership's bank holidays, the
 * terms and closed days of the area named by its "calendar" attr (else by
 * its "local_authority" attr; no area: no terms), and its own closed days.
 * Arrays are borrowed from `dir` until it is destroyed.
 * @return HAVEN_OK, HAVEN_ENOTFOUND (no such agency: *cal is then the
 *   default calendar with the bank holidays), HAVEN_EINVAL (NULL args).
 */
struct haven_calendar;
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_calendar(
    const haven_directory *dir, const char *id, struct haven_calendar *cal);

/** Highest-generation non-retired key, or NULL. */
HAVEN_API const haven_agency_key *haven_agency_key_current(
    const haven_agency *a);

/** Key of that generation (retired or not), or NULL. */
HAVEN_API const haven_agency_key *haven_agency_key_gen(const haven_agency *a,
    uint32_t generation);

/** Attribute value or NULL. */
HAVEN_API const char *haven_agency_attr(const haven_agency *a,
    const char *key);

/* ---- editing, for havenctl; each returns HAVEN_EINVAL with `err` ---- */

/** Add an agency from a public key (new id) or enrol a new key generation
 * for an existing id of the same role. Bumps nothing: the version is
 * bumped by haven_directory_sign's caller via haven_directory_bump.
 * Enrolment: pk->generation must be higher than every generation the
 * agency has, the agency must not be revoked and must have fewer than
 * HAVEN_MAX_KEYS keys; its older keys are marked retired (verify only). A
 * non-empty `name` replaces the display name and n_attrs > 0 replaces the
 * attributes. The result goes through the same validation as a loaded
 * directory (unique keys, etc.); on any error `dir` is unchanged.
 * @return HAVEN_OK, HAVEN_EINVAL (`err` says why), HAVEN_ENOMEM. */
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_add(haven_directory *dir,
    const haven_pubkey *pk, const char *role, const char *name,
    const haven_tag *attrs, size_t n_attrs, char *err, size_t errlen);

/** Mark an agency revoked. HAVEN_ENOTFOUND if absent. */
HAVEN_NODISCARD HAVEN_API haven_err haven_directory_revoke(
    haven_directory *dir, const char *id);

/** version += 1 and issued = now. */
HAVEN_API void haven_directory_bump(haven_directory *dir);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_DIRECTORY_H */
