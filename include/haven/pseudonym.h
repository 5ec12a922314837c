/*
 * haven/pseudonym.h: keyed pseudonyms for cases and people (DESIGN §5).
 *
 * pseudonym = BLAKE2b-256 keyed with the partnership pseudonym key over a
 * domain label and the normalised input. Normalisation: Unicode is passed
 * through as bytes; ASCII letters are lowercased; runs of whitespace become
 * one space; leading/trailing whitespace is dropped. Agents hold the key,
 * the broker does not, so the broker can group by case without learning
 * who anyone is.
 *
 * Key file: {"format":"haven-pseudonym-v1","key":"<hex 32>"}, mode 0600.
 */
#ifndef HAVEN_PSEUDONYM_H
#define HAVEN_PSEUDONYM_H

#include "haven/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct haven_pseudonym_key haven_pseudonym_key;

HAVEN_NODISCARD HAVEN_API haven_err haven_pseudonym_key_generate(
    haven_pseudonym_key **out);
HAVEN_NODISCARD HAVEN_API haven_err haven_pseudonym_key_save(
    const haven_pseudonym_key *k, const char *path, bool overwrite);
HAVEN_NODISCARD HAVEN_API haven_err haven_pseudonym_key_load(
    haven_pseudonym_key **out, const char *path, char *err, size_t errlen);
HAVEN_API void haven_pseudonym_key_destroy(haven_pseudonym_key **k);

/** Pseudonym of a person from name and date of birth (YYYY-MM-DD). */
HAVEN_API void haven_pseudonym_person(uint8_t out[HAVEN_HASH_BYTES],
    const haven_pseudonym_key *k, const char *name, const char *dob);

/** Pseudonym of a case reference (e.g. a police reference). */
HAVEN_API void haven_pseudonym_case(uint8_t out[HAVEN_HASH_BYTES],
    const haven_pseudonym_key *k, const char *case_ref);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_PSEUDONYM_H */
