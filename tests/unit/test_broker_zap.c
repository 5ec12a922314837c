/*
 * tests/unit/test_broker_zap.c: the broker's ZAP handler (broker/zap.c).
 *
 * A real ZeroMQ context: the handler binds inproc://zeromq.zap.01 and a REQ
 * socket plays libzmq's part, sending RFC 27 requests built by hand, so the
 * fail-closed paths (wrong version, domain, mechanism, frame count, key
 * size) can be exercised as well as known, unknown, revoked and retired
 * keys. Real keys from libsodium, directory parsed from JSON by libhaven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "util.h"
#include "zap.h"

struct fx {
	void *ctx;
	void *req;
	haven_zap *zap;
	haven_directory *dir;
	uint8_t police[HAVEN_KEY_BYTES];  /* active */
	uint8_t school[HAVEN_KEY_BYTES];  /* agency revoked */
	uint8_t la_old[HAVEN_KEY_BYTES];  /* generation 1 retired */
	uint8_t la_new[HAVEN_KEY_BYTES];  /* generation 2 active */
};

static void
key_json(char *out, size_t cap, uint32_t gen, const uint8_t curve[32],
    bool retired)
{
	uint8_t sign[32], box[32];
	char hs[65], hb[65], hc[65];

	randombytes_buf(sign, sizeof(sign));
	randombytes_buf(box, sizeof(box));
	haven__hex_encode(hs, sign, 32);
	haven__hex_encode(hb, box, 32);
	haven__hex_encode(hc, curve, 32);
	(void) snprintf(out, cap, "{\"generation\":%u,\"sign_pk\":\"%s\","
	    "\"box_pk\":\"%s\",\"curve_pk\":\"%s\",\"retired\":%s}",
	    (unsigned) gen, hs, hb, hc, retired ? "true" : "false");
}

static void
make_dir(struct fx *f)
{
	char k1[400], k2[400], k3[400], k4[400], json[4096], err[256];

	randombytes_buf(f->police, 32);
	randombytes_buf(f->school, 32);
	randombytes_buf(f->la_old, 32);
	randombytes_buf(f->la_new, 32);
	key_json(k1, sizeof(k1), 1, f->police, false);
	key_json(k2, sizeof(k2), 1, f->school, false);
	key_json(k3, sizeof(k3), 1, f->la_old, true);
	key_json(k4, sizeof(k4), 2, f->la_new, false);
	(void) snprintf(json, sizeof(json), "{\"version\":1,\"agencies\":["
	    "{\"id\":\"police.cambs\",\"role\":\"POL\",\"name\":\"P\","
	    "\"revoked\":false,\"keys\":[%s]},"
	    "{\"id\":\"school.urn.110123\",\"role\":\"EDU\",\"name\":\"S\","
	    "\"revoked\":true,\"keys\":[%s]},"
	    "{\"id\":\"la.cambs.ehe\",\"role\":\"LA\",\"name\":\"L\","
	    "\"revoked\":false,\"keys\":[%s,%s]}]}", k1, k2, k3, k4);
	assert_int_equal(haven_directory_from_json(&f->dir, json, strlen(json),
	    err, sizeof(err)), HAVEN_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int linger = 0, to = 2000;

	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	make_dir(f);
	assert_non_null(f->ctx = zmq_ctx_new());
	assert_int_equal(haven__zap_open(&f->zap, f->ctx), HAVEN_OK);
	assert_non_null(f->req = zmq_socket(f->ctx, ZMQ_REQ));
	(void) zmq_setsockopt(f->req, ZMQ_LINGER, &linger, sizeof(linger));
	(void) zmq_setsockopt(f->req, ZMQ_RCVTIMEO, &to, sizeof(to));
	assert_int_equal(zmq_connect(f->req, HAVEN_ZAP_ENDPOINT), 0);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	(void) zmq_close(f->req);
	haven__zap_close(&f->zap);
	assert_null(f->zap);
	(void) zmq_ctx_term(f->ctx);
	haven_directory_destroy(&f->dir);
	free(f);
	return (0);
}

typedef struct part {
	const void *p;
	size_t n;
} part;

#define S(x) {(x), sizeof(x) - 1}

static char last_meta[128];
static int last_meta_len;

/* Send parts, let the handler serve, read the reply: status and user (the
 * metadata part is kept in last_meta). */
static void
exchange(struct fx *f, const part *parts, size_t n, char status[4],
    char user[64])
{
	char buf[6][128];
	int more = 1;
	size_t ml = sizeof(more), i;

	for (i = 0; i < n; i++) {
		assert_true(zmq_send(f->req, parts[i].p, parts[i].n,
		    i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
	}
	/* The request is in flight on inproc: serve until it is answered. */
	for (int tries = 0; tries < 200; tries++) {
		zmq_pollitem_t it = {f->req, 0, ZMQ_POLLIN, 0};
		haven__zap_serve(f->zap, f->dir, 1000000);
		if (zmq_poll(&it, 1, 10) > 0) {
			break;
		}
	}
	for (i = 0; i < 6 && more; i++) {
		int r = zmq_recv(f->req, buf[i], sizeof(buf[i]) - 1, 0);
		assert_true(r >= 0);
		buf[i][r < (int) sizeof(buf[i]) ? r : 0] = '\0';
		if (i == 5) {
			last_meta_len = r;
			memcpy(last_meta, buf[i], sizeof(last_meta));
		}
		assert_int_equal(zmq_getsockopt(f->req, ZMQ_RCVMORE, &more,
		    &ml), 0);
	}
	assert_int_equal(i, 6);
	assert_false(more);
	assert_string_equal(buf[0], "1.0");
	assert_string_equal(buf[1], "req-7");
	memcpy(status, buf[2], 4);
	buf[4][63] = '\0';
	memcpy(user, buf[4], strlen(buf[4]) + 1);
}

static void
curve_request(struct fx *f, const uint8_t *key, size_t keylen,
    const char *domain, const char *mech, char status[4], char user[64])
{
	part parts[7] = {S("1.0"), S("req-7"), {domain, strlen(domain)},
	    S("127.0.0.1"), S("rid"), {mech, strlen(mech)}, {key, keylen}};

	exchange(f, parts, 7, status, user);
}

static void
test_known_key_accepted(void **state)
{
	struct fx *f = *state;
	char status[4], user[64];

	curve_request(f, f->police, 32, "haven", "CURVE", status, user);
	assert_string_equal(status, "200");
	assert_string_equal(user, "police.cambs");
	curve_request(f, f->la_new, 32, "haven", "CURVE", status, user);
	assert_string_equal(status, "200");
	assert_string_equal(user, "la.cambs.ehe");
	assert_int_equal(haven__zap_pending(f->zap), 0);
}

/* A 200 carries the key generation as ZAP metadata, so the broker can
 * refuse a live connection whose key is retired later; a 400 carries none. */
static void
test_generation_metadata(void **state)
{
	struct fx *f = *state;
	char status[4], user[64];
	const char want[] = "\x0bX-Haven-Gen\x00\x00\x00\x01" "2";

	curve_request(f, f->la_new, 32, "haven", "CURVE", status, user);
	assert_string_equal(status, "200");
	assert_int_equal(last_meta_len, (int) sizeof(want) - 1);
	assert_memory_equal(last_meta, want, sizeof(want) - 1);
	curve_request(f, f->la_old, 32, "haven", "CURVE", status, user);
	assert_string_equal(status, "400");
	assert_int_equal(last_meta_len, 0);
}

static void
test_refused_keys(void **state)
{
	struct fx *f = *state;
	uint8_t unknown[32];
	char status[4], user[64];

	randombytes_buf(unknown, sizeof(unknown));
	curve_request(f, unknown, 32, "haven", "CURVE", status, user);
	assert_string_equal(status, "400");
	assert_string_equal(user, "");
	curve_request(f, f->school, 32, "haven", "CURVE", status, user);
	assert_string_equal(status, "400");
	assert_string_equal(user, "");
	curve_request(f, f->la_old, 32, "haven", "CURVE", status, user);
	assert_string_equal(status, "400");
	assert_int_equal(haven__zap_pending(f->zap), 3);
	assert_int_equal(haven__zap_pending_at(f->zap, 0)->event,
	    HAVEN_AUDIT_AUTH_FAIL);
	assert_string_equal(haven__zap_pending_at(f->zap, 0)->actor,
	    "unknown");
	assert_string_equal(haven__zap_pending_at(f->zap, 1)->actor,
	    "school.urn.110123");
	assert_int_equal(haven__zap_pending_at(f->zap, 1)->outcome,
	    HAVEN_EREVOKED);
	assert_non_null(strstr(haven__zap_pending_at(f->zap, 2)->reason,
	    "retired"));
}

static void
test_rate_limited_audit(void **state)
{
	struct fx *f = *state;
	uint8_t unknown[32];
	char status[4], user[64];

	randombytes_buf(unknown, sizeof(unknown));
	for (int i = 0; i < 5; i++) {
		curve_request(f, unknown, 32, "haven", "CURVE", status, user);
		assert_string_equal(status, "400");
	}
	/* Five refusals of one key within a minute: one audit entry. */
	assert_int_equal(haven__zap_pending(f->zap), 1);
	haven__zap_pending_clear(f->zap);
	assert_int_equal(haven__zap_pending(f->zap), 0);
}

/* A flood of fresh unknown keys (free for an attacker) is audited a
 * bounded number of times, then summarised in one entry: it can fill
 * neither the store nor the log. Pending entries are cleared after each
 * request, as the loop does after each commit. */
static void
test_unknown_key_flood_bounded(void **state)
{
	struct fx *f = *state;
	uint8_t key[32];
	char status[4], user[64];
	size_t audited = 0;

	for (int i = 0; i < 200; i++) {
		randombytes_buf(key, sizeof(key));
		curve_request(f, key, 32, "haven", "CURVE", status, user);
		assert_string_equal(status, "400");
		audited += haven__zap_pending(f->zap);
		haven__zap_pending_clear(f->zap);
	}
	assert_true(audited >= 1);
	if (audited > 64) {
		fail_msg("%zu AUTH_FAIL entries for 200 unknown keys", audited);
	}
	/* Within the minute: no summary yet. Once it is over: exactly one
	 * entry that counts the rest. */
	haven__zap_tick(f->zap, 1000000 + 1000, false);
	assert_int_equal(haven__zap_pending(f->zap), 0);
	haven__zap_tick(f->zap, 1000000 + 60000, false);
	assert_int_equal(haven__zap_pending(f->zap), 1);
	assert_int_equal(haven__zap_pending_at(f->zap, 0)->event,
	    HAVEN_AUDIT_AUTH_FAIL);
	assert_non_null(strstr(haven__zap_pending_at(f->zap, 0)->reason,
	    "suppressed="));
	assert_int_equal(strtoul(strstr(haven__zap_pending_at(f->zap,
	    0)->reason, "=") + 1, NULL, 10) + audited, 200);
	haven__zap_pending_clear(f->zap);
	haven__zap_tick(f->zap, 1000000 + 200000, true);
	assert_int_equal(haven__zap_pending(f->zap), 0);
	/* A known agency's refusal is still audited in the flood. */
	curve_request(f, f->school, 32, "haven", "CURVE", status, user);
	assert_int_equal(haven__zap_pending(f->zap), 1);
}

static void
test_fail_closed_on_malformed(void **state)
{
	struct fx *f = *state;
	char status[4], user[64];
	part v2[7] = {S("2.0"), S("req-7"), S("haven"), S("a"), S("r"),
	    S("CURVE"), {f->police, 32}};
	part few[3] = {S("1.0"), S("req-7"), S("haven")};
	part many[8] = {S("1.0"), S("req-7"), S("haven"), S("a"), S("r"),
	    S("CURVE"), {f->police, 32}, S("extra")};

	/* A known key in the wrong domain or mechanism is still refused. */
	curve_request(f, f->police, 32, "other", "CURVE", status, user);
	assert_string_equal(status, "400");
	curve_request(f, f->police, 32, "haven", "PLAIN", status, user);
	assert_string_equal(status, "400");
	curve_request(f, f->police, 31, "haven", "CURVE", status, user);
	assert_string_equal(status, "400");
	exchange(f, v2, 7, status, user);
	assert_string_equal(status, "400");
	exchange(f, few, 3, status, user);
	assert_string_equal(status, "400");
	exchange(f, many, 8, status, user);
	assert_string_equal(status, "400");
	assert_string_equal(user, "");
}

static void
test_second_handler_refused(void **state)
{
	struct fx *f = *state;
	haven_zap *z2 = NULL;

	assert_int_equal(haven__zap_open(&z2, f->ctx), HAVEN_EEXIST);
	assert_null(z2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_key_accepted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_generation_metadata, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_flood_bounded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_closed_on_malformed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_handler_refused,
		    setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
