/*
 * tests/unit/testutil.h: helpers shared by the unit tests (header-only:
 * CMake builds each tests/unit/test_*.c on its own, so shared code lives
 * here as static inline functions).
 *
 * Include after <cmocka.h>. Each helper asserts on failure, so a test that
 * uses one still fails at the line that went wrong.
 */
#ifndef HAVEN_TESTS_UNIT_TESTUTIL_H
#define HAVEN_TESTS_UNIT_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haven.pb-c.h"

/* Replace `path` with `text` and give it `mode`. */
static inline void
tu_write_mode(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	(void) unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Decode a signed document (directory or policy) so a test can edit it. */
static inline Haven__SignedDoc *
tu_unpack_doc(const uint8_t *buf, size_t len)
{
	Haven__SignedDoc *doc = haven__signed_doc__unpack(NULL, len, buf);

	assert_non_null(doc);
	return (doc);
}

/* Re-encode an edited signed document into *buf (freeing the old one). */
static inline void
tu_repack_doc(const Haven__SignedDoc *doc, uint8_t **buf, size_t *len)
{
	free(*buf);
	*len = haven__signed_doc__get_packed_size(doc);
	*buf = malloc(*len);
	assert_non_null(*buf);
	(void) haven__signed_doc__pack(doc, *buf);
}

#endif /* HAVEN_TESTS_UNIT_TESTUTIL_H */
