/*
 * tests/fuzz/fuzz_keyfile.c: the key-file readers on arbitrary bytes.
 *
 * Secret key files, public key files and the pseudonym key file are read
 * from disk, so the input is written to a 0600 temp file first and each
 * reader is run on it. Any accepted secret file must give usable keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haven/keys.h"
#include "haven/pseudonym.h"

static char path[64];

static int
write_input(const uint8_t *data, size_t size)
{
	FILE *f;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/haven-fuzz-key-%ld",
		    (long) getpid());
	}
	if ((f = fopen(path, "wb")) == NULL) {
		return (-1);
	}
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return (-1);
	}
	fclose(f);
	return (chmod(path, 0600));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_keys *k = NULL;
	haven_pseudonym_key *pk = NULL;
	haven_pubkey pub;
	char err[256];

	if (write_input(data, size) != 0) {
		return (0);
	}
	if (haven_keys_load(&k, path, err, sizeof(err)) == HAVEN_OK) {
		uint8_t sig[HAVEN_SIG_BYTES];
		haven_pubkey mine;

		haven_keys_sign(k, sig, data, size);
		haven_keys_public(k, &mine);
		if (haven_sig_verify(sig, data, size, mine.sign_pk) != HAVEN_OK) {
			abort();
		}
		haven_keys_destroy(&k);
	}
	(void) haven_pubkey_load(&pub, path, err, sizeof(err));
	if (haven_pseudonym_key_load(&pk, path, err, sizeof(err)) == HAVEN_OK) {
		haven_pseudonym_key_destroy(&pk);
	}
	(void) unlink(path);
	return (0);
}
