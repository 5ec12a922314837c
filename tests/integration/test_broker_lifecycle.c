/*
 * tests/integration/test_broker_lifecycle.c: the real haven-broker across
 * its life: refusing to start on bad input, revocation at the handshake and
 * on a live connection, store-and-forward across restarts, redelivery of
 * unacknowledged messages, and a store that fills up.
 *
 * Each test makes its own throw-away partnership (deploy/demo/
 * partnership.sh), so they can stop, restart and reconfigure the broker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "test_broker_client.h"

static int
run_broker(hv_partnership *p, bool check)
{
	const char *args[] = {"--config", hv_path(p, "broker.json"),
	    check ? "--check" : NULL, NULL};

	return (hv_run(p, "haven-broker", args, 30000, NULL));
}

static char *
slurp(const char *path, size_t *len)
{
	uint8_t *buf = NULL;

	assert_int_equal(haven__read_file(path, 64u << 20, &buf, len),
	    HAVEN_OK);
	return ((char *) buf);
}

static void
put_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The broker refuses with exit 2 and its log names `what`. */
static void
expect_refused(hv_partnership *p, const char *what)
{
	char *log;
	size_t len;

	(void) unlink(hv_path(p, "haven-broker.log"));
	assert_int_equal(run_broker(p, true), 2);
	assert_int_equal(run_broker(p, false), 2);
	log = slurp(hv_path(p, "haven-broker.log"), &len);
	assert_non_null(strstr(log, "HAVEN-BRK-REFUSED"));
	if (strstr(log, what) == NULL) {
		fail_msg("log does not name '%s':\n%s", what, log);
	}
	assert_null(strstr(log, "HAVEN-BRK-READY"));
	free(log);
}

static void
test_refuses_bad_documents(void **state)
{
	hv_partnership *p = *state;
	char *dir, *pol, *json, *tampered;
	size_t dlen, plen, jlen;

	assert_int_equal(run_broker(p, true), 0);
	dir = slurp(hv_path(p, "directory.signed"), &dlen);
	pol = slurp(hv_path(p, "policy.signed"), &plen);
	json = slurp(hv_path(p, "directory.json"), &jlen);
	/* Unsigned: the JSON source where the signed form should be. */
	put_file(hv_path(p, "directory.signed"), json, jlen);
	expect_refused(p, "directory");
	/* Tampered: one byte of the signed directory flipped. */
	tampered = malloc(dlen > plen ? dlen : plen);
	assert_non_null(tampered);
	memcpy(tampered, dir, dlen);
	tampered[dlen / 2] ^= 0x20;
	put_file(hv_path(p, "directory.signed"), tampered, dlen);
	expect_refused(p, "directory");
	put_file(hv_path(p, "directory.signed"), dir, dlen);
	assert_int_equal(run_broker(p, true), 0);
	/* Tampered policy. */
	memcpy(tampered, pol, plen);
	tampered[plen / 2] ^= 0x20;
	put_file(hv_path(p, "policy.signed"), tampered, plen);
	expect_refused(p, "policy");
	put_file(hv_path(p, "policy.signed"), pol, plen);
	/* Nothing was started, nothing audited. */
	assert_int_equal(access(hv_path(p, "broker-data/data.mdb"), F_OK), -1);
	free(tampered);
	free(json);
	free(pol);
	free(dir);
}

static void
test_refuses_bad_config(void **state)
{
	hv_partnership *p = *state;
	char *cfg, *bad, *log;
	size_t len;

	cfg = slurp(hv_path(p, "broker.json"), &len);
	bad = malloc(len + 64);
	assert_non_null(bad);
	(void) snprintf(bad, len + 64, "{\"colour\": 1,%s", cfg + 1);
	assert_int_equal(hv_write(p, "broker.json", bad), 0);
	(void) unlink(hv_path(p, "haven-broker.log"));
	assert_int_equal(run_broker(p, false), 2);
	log = slurp(hv_path(p, "haven-broker.log"), &len);
	assert_non_null(strstr(log, "HAVEN-BRK-CONFIG-REFUSED"));
	assert_non_null(strstr(log, "colour"));
	free(log);
	assert_int_equal(hv_write(p, "broker.json", cfg), 0);
	free(bad);
	free(cfg);
}

static void
test_refuses_stale_directory(void **state)
{
	hv_partnership *p = *state;
	const char *sign[] = {"directory", "sign", "--dir",
	    hv_path(p, "directory.json"), "--admin-key",
	    hv_path(p, "admin.key"), "--out", hv_path(p, "directory.signed"),
	    NULL};
	char *old;
	size_t len;

	old = slurp(hv_path(p, "directory.signed"), &len);
	assert_int_equal(hv_run(p, "havenctl", sign, 30000, NULL), 0);
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(hv_broker_stop(p), 0);
	/* The older (validly signed) directory comes back: refused. */
	put_file(hv_path(p, "directory.signed"), old, len);
	expect_refused(p, "stale");
	free(old);
}

static void
expect_deliver(bc_client *c, const uint8_t id[HAVEN_MSGID_BYTES],
    int timeout_ms)
{
	haven_frame d;
	haven_envelope *e = NULL;

	assert_int_equal(bc_expect(c, HAVEN_FRAME_DELIVER, &d, timeout_ms), 0);
	assert_int_equal(haven_envelope_decode(&e, d.envelope, d.envelope_len),
	    HAVEN_OK);
	assert_memory_equal(e->hdr.msg_id, id, HAVEN_MSGID_BYTES);
	haven_envelope_destroy(&e);
	haven_frame_release(&d);
}

static void
revoke_school(hv_partnership *p)
{
	const char *args[] = {"directory", "revoke", "--dir",
	    hv_path(p, "directory.json"), "school.urn.110123", NULL};

	assert_int_equal(hv_run(p, "havenctl", args, 30000, NULL), 0);
	assert_int_equal(hv_broker_reload(p), 0);
	assert_true(bc_log_wait(p, "HAVEN-BRK-REVOKE agency=school.urn.110123",
	    5000));
}

static void
test_revocation(void **state)
{
	hv_partnership *p = *state;
	bc_msg m = {.type = HAVEN_MSG_OE_NOTIFICATION,
	    .recipients = {"school.urn.110123"}, .n = 1,
	    .profile = "oe.setting", .payload = "x"};
	bc_msg rr = {.type = HAVEN_MSG_OE_RECEIPT,
	    .recipients = {"police.cambs"}, .n = 1, .profile = "oe.receipt",
	    .payload = "read"};
	bc_audit_q rev = {HAVEN_AUDIT_REVOKE, NULL, -1, "school.urn.110123",
	    NULL};
	bc_audit_q af = {HAVEN_AUDIT_AUTH_FAIL, NULL, HAVEN_EREVOKED,
	    "school.urn.110123", NULL};
	bc_audit_q sub = {HAVEN_AUDIT_SUBMIT, NULL, -1, NULL, NULL};
	bc_client police, school, again;
	uint8_t id[16], rid[16], *env = NULL;
	size_t len = 0;
	uint32_t queued = 0;
	haven_frame f;

	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&police, p, "police.cambs"), 0);
	assert_int_equal(bc_open(&school, p, "school.urn.110123"), 0);
	assert_int_equal(bc_hello(&school, 4, &queued), 0);
	bc_submit_ok(&police, &m, id);
	expect_deliver(&school, id, 5000);

	revoke_school(p);
	assert_true(bc_audit_wait(p, &rev, 3000) >= 1);
	/* The live connection: every frame answered EREVOKED. */
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HELLO;
	f.credit = 4;
	assert_int_equal(bc_send(&school, &f), 0);
	assert_int_equal(bc_expect(&school, HAVEN_FRAME_ERROR, &f, 5000), 0);
	assert_int_equal(f.error_code, HAVEN_EREVOKED);
	rr.reply_to = id;
	assert_int_equal(bc_seal(&school, &rr, &env, &len, rid), 0);
	assert_int_equal(bc_submit(&school, env, len, &f), 0);
	assert_int_equal(f.kind, HAVEN_FRAME_ERROR);
	assert_int_equal(f.error_code, HAVEN_EREVOKED);
	sub.msg_id = rid;
	assert_int_equal(bc_audit_count(p, &sub), 0);
	free(env);
	/* A new handshake: no reply at all, AUTH_FAIL audited. */
	assert_int_equal(bc_open(&again, p, "school.urn.110123"), 0);
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HELLO;
	(void) bc_send(&again, &f);
	assert_int_equal(bc_recv(&again, &f, 1500), -1);
	assert_true(bc_audit_wait(p, &af, 3000) >= 1);
	/* Nothing more is routed to it. */
	assert_int_equal(bc_seal(&police, &m, &env, &len, id), 0);
	assert_int_equal(bc_submit(&police, env, len, &f), 0);
	assert_int_equal(f.kind, HAVEN_FRAME_REJECT);
	assert_int_equal(f.reject.code, HAVEN_EPOLICY);
	sub.msg_id = id;
	assert_int_equal(bc_audit_count(p, &sub), 0);
	free(env);
	bc_close(&again);
	bc_close(&school);
	bc_close(&police);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_true(bc_audit_verifies(p));
}

static void
test_store_forward_and_redelivery(void **state)
{
	hv_partnership *p = *state;
	bc_msg m = {.type = HAVEN_MSG_OE_NOTIFICATION,
	    .recipients = {"school.urn.110456"}, .n = 1,
	    .profile = "oe.setting", .payload = "offline"};
	bc_client police, school;
	uint8_t id[16];
	uint32_t queued = 0;
	haven_frame f;

	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&police, p, "police.cambs"), 0);
	bc_submit_ok(&police, &m, id);
	bc_close(&police);
	/* Restart (clean) and crash (SIGKILL): the message survives both. */
	assert_int_equal(hv_broker_stop(p), 0);
	assert_int_equal(hv_broker_start(p), 0);
	hv_broker_kill(p);
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&school, p, "school.urn.110456"), 0);
	assert_int_equal(bc_hello(&school, 4, &queued), 0);
	assert_int_equal(queued, 1);
	expect_deliver(&school, id, 5000);
	/* Not acknowledged: sent again after redeliver_ms (2 s here). */
	assert_int_equal(bc_recv(&school, &f, 1000), -1);
	expect_deliver(&school, id, 5000);
	assert_int_equal(bc_ack(&school, id), 0);
	assert_true(bc_log_wait(p, "HAVEN-BRK-ACK agency=school.urn.110456",
	    3000));
	assert_int_equal(bc_recv(&school, &f, 2500), -1);
	bc_close(&school);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&school, p, "school.urn.110456"), 0);
	assert_int_equal(bc_hello(&school, 4, &queued), 0);
	assert_int_equal(queued, 0);
	bc_close(&school);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_true(bc_audit_verifies(p));
}

/* A 1 MiB store fills up: submissions refused with EFULL, no crash, and
 * the broker keeps answering and delivering what it already holds. */
static void
test_store_full(void **state)
{
	hv_partnership *p = *state;
	bc_msg m = {.type = HAVEN_MSG_OE_NOTIFICATION,
	    .recipients = {"school.urn.110123"}, .n = 1,
	    .profile = "oe.setting"};
	char *cfg, *small, *pay;
	bc_client police, school;
	uint8_t id[16], first[16], *env = NULL;
	size_t len = 0, clen;
	uint32_t queued = 0;
	int accepted = 0, full = 0;
	haven_frame f;

	cfg = slurp(hv_path(p, "broker.json"), &clen);
	small = strdup(cfg);
	assert_non_null(small);
	memcpy(strstr(small, "\"map_size_mb\": 1024"), "\"map_size_mb\":    1",
	    19);
	assert_int_equal(hv_write(p, "broker.json", small), 0);
	assert_int_equal(hv_broker_start(p), 0);
	pay = malloc(200 * 1024 + 1);
	assert_non_null(pay);
	memset(pay, 'p', 200 * 1024);
	pay[200 * 1024] = '\0';
	m.payload = pay;
	assert_int_equal(bc_open(&police, p, "police.cambs"), 0);
	for (int i = 0; i < 12 && full == 0; i++) {
		assert_int_equal(bc_seal(&police, &m, &env, &len, id), 0);
		assert_int_equal(bc_submit(&police, env, len, &f), 0);
		if (f.kind == HAVEN_FRAME_RECEIPT && accepted++ == 0) {
			memcpy(first, id, 16);
		} else if (f.kind == HAVEN_FRAME_REJECT) {
			assert_int_equal(f.reject.code, HAVEN_EFULL);
			full++;
		}
		haven_frame_release(&f);
		free(env);
	}
	assert_true(accepted >= 1);
	assert_int_equal(full, 1);
	assert_true(bc_log_wait(p, "HAVEN-BRK-FULL", 1000));
	/* Still serving: the school gets what was stored before. */
	assert_int_equal(bc_open(&school, p, "school.urn.110123"), 0);
	assert_int_equal(bc_hello(&school, 1, &queued), 0);
	assert_int_equal(queued, (uint32_t) accepted);
	expect_deliver(&school, first, 5000);
	bc_close(&school);
	bc_close(&police);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_true(bc_audit_verifies(p));
	free(pay);
	free(small);
	free(cfg);
}

/*
 * Key rotation: enrolling generation 2 retires generation 1. ZAP already
 * refuses new handshakes with the old key; a connection made with it
 * before the rotation must be cut off too (as for a revocation), or a
 * stolen old key keeps a live session that takes and acknowledges the
 * agency's deliveries.
 */
static void
test_rotation_cuts_old_key_connection(void **state)
{
	hv_partnership *p = *state;
	bc_msg m = {.type = HAVEN_MSG_OE_NOTIFICATION,
	    .recipients = {"school.urn.110456"}, .n = 1,
	    .profile = "oe.setting", .payload = "after-rotation"};
	bc_audit_q rev = {HAVEN_AUDIT_REVOKE, NULL, -1, "school.urn.110456",
	    "gen=1"};
	char rot[512], dj[512], pub[512], key[512], err[256];
	const char *kg[] = {"keygen", "--agency", "school.urn.110456",
	    "--generation", "2", "--out", rot, NULL};
	const char *add[] = {"directory", "add", "--dir", dj, "--pub", pub,
	    NULL};
	bc_client old, fresh, police;
	haven_keys *k2 = NULL;
	haven_frame f;
	uint8_t id[16];
	uint32_t queued = 0;

	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&old, p, "school.urn.110456"), 0);
	assert_int_equal(bc_hello(&old, 4, &queued), 0);
	/* hv_path's buffers rotate: copy the paths first. */
	(void) snprintf(rot, sizeof(rot), "%s", hv_path(p, "rot"));
	(void) snprintf(dj, sizeof(dj), "%s", hv_path(p, "directory.json"));
	assert_int_equal(hv_run(p, "havenctl", kg, 30000, NULL), 0);
	(void) snprintf(pub, sizeof(pub), "%s",
	    hv_path(p, "rot/school.urn.110456.pub"));
	(void) snprintf(key, sizeof(key), "%s",
	    hv_path(p, "rot/school.urn.110456.key"));
	assert_int_equal(hv_run(p, "havenctl", add, 30000, NULL), 0);
	assert_int_equal(hv_broker_reload(p), 0);
	assert_true(bc_audit_wait(p, &rev, 5000) >= 1);
	/* The old-key connection is refused on every frame. */
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HEARTBEAT;
	assert_int_equal(bc_send(&old, &f), 0);
	assert_int_equal(bc_recv(&old, &f, 5000), 0);
	assert_int_equal(f.kind, HAVEN_FRAME_ERROR);
	assert_int_equal(f.error_code, HAVEN_EREVOKED);
	/* A new message for the agency is not delivered over it... */
	assert_int_equal(bc_open(&police, p, "police.cambs"), 0);
	bc_submit_ok(&police, &m, id);
	assert_int_equal(bc_expect(&old, HAVEN_FRAME_DELIVER, &f, 1500), -1);
	/* ...but to the connection made with the new key. */
	assert_int_equal(haven_keys_load(&k2, key, err, sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(bc_open_keys(&fresh, p, k2), 0);
	assert_int_equal(bc_hello(&fresh, 4, &queued), 0);
	assert_int_equal(queued, 1);
	expect_deliver(&fresh, id, 5000);
	bc_close(&fresh);
	bc_close(&police);
	bc_close(&old);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_true(bc_audit_verifies(p));
}

/*
 * Deliveries go to a session's routing id, so an agency must never inherit
 * another's. A peer may choose its routing id (ZMQ_ROUTING_ID) and take
 * one that an agency used before disconnecting: it must not receive that
 * agency's deliveries. The broker refuses frames on peer-chosen ids.
 */
static void
test_chosen_routing_id_refused(void **state)
{
	hv_partnership *p = *state;
	bc_msg m = {.type = HAVEN_MSG_OE_NOTIFICATION,
	    .recipients = {"school.urn.110123"}, .n = 1,
	    .profile = "oe.setting", .payload = "for-110123-only"};
	bc_audit_q q = {HAVEN_AUDIT_REJECT, NULL, HAVEN_EAUTH,
	    "school.urn.110123", "rule=routing-id"};
	bc_client owner, thief, police;
	haven_frame f, first, second;
	uint8_t id[16];
	uint32_t queued = 0;

	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open_rid(&owner, p, "school.urn.110123",
	    "shared-rid"), 0);
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HELLO;
	f.credit = 4;
	assert_int_equal(bc_send(&owner, &f), 0);
	assert_int_equal(bc_recv(&owner, &first, 5000), 0);
	bc_close(&owner);
	usleep(300000);
	/* Another agency connects with the same routing id. */
	assert_int_equal(bc_open_rid(&thief, p, "school.urn.110456",
	    "shared-rid"), 0);
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HEARTBEAT;
	assert_int_equal(bc_send(&thief, &f), 0);
	assert_int_equal(bc_recv(&thief, &second, 5000), 0);
	assert_int_equal(bc_open(&police, p, "police.cambs"), 0);
	bc_submit_ok(&police, &m, id);
	/* The other school never gets the first school's message. */
	assert_int_equal(bc_expect(&thief, HAVEN_FRAME_DELIVER, &f, 2000), -1);
	/* Both peer-chosen ids were refused, and audited. */
	assert_int_equal(first.kind, HAVEN_FRAME_ERROR);
	assert_int_equal(first.error_code, HAVEN_EAUTH);
	assert_int_equal(second.kind, HAVEN_FRAME_ERROR);
	assert_int_equal(second.error_code, HAVEN_EAUTH);
	assert_true(bc_audit_wait(p, &q, 2000) >= 1);
	haven_frame_release(&first);
	haven_frame_release(&second);
	/* The owner, on an id of libzmq's choosing, still gets it. */
	assert_int_equal(bc_open(&owner, p, "school.urn.110123"), 0);
	assert_int_equal(bc_hello(&owner, 4, &queued), 0);
	assert_int_equal(queued, 1);
	expect_deliver(&owner, id, 5000);
	bc_close(&owner);
	bc_close(&thief);
	bc_close(&police);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_true(bc_audit_verifies(p));
}

/* The N of the one summary entry "flood suppressed=N" (0 if none), as
 * the broker logged it when writing that entry. */
static unsigned long
flood_suppressed(hv_partnership *p, const char *agency)
{
	bc_audit_q q = {HAVEN_AUDIT_REJECT, NULL, -1, agency,
	    "flood suppressed="};
	char needle[128], *log;
	size_t len, off;
	unsigned long n = 0;

	if (bc_audit_count(p, &q) != 1) {
		return (0);
	}
	(void) snprintf(needle, sizeof(needle),
	    "HAVEN-BRK-FLOOD agency=%s suppressed=", agency);
	log = slurp(hv_path(p, "broker.log"), &len);
	for (off = 0; off + strlen(needle) < len; off++) {
		if (memcmp(log + off, needle, strlen(needle)) == 0) {
			n = strtoul(log + off + strlen(needle), NULL, 10);
			break;
		}
	}
	free(log);
	return (n);
}

/* An authenticated peer sending refusable frames as fast as it can: each
 * is still refused on the wire, but the audit grows by a bounded number of
 * entries per agency per minute plus one summary that counts the rest, so
 * a flood cannot fill the store. Other agencies are audited as before. */
static void
test_reject_flood_bounded(void **state)
{
	hv_partnership *p = *state;
	bc_audit_q one = {HAVEN_AUDIT_REJECT, NULL, HAVEN_EDECODE,
	    "school.urn.110456", "rule=frame"};
	bc_audit_q pol = {HAVEN_AUDIT_REJECT, NULL, HAVEN_EDECODE,
	    "police.cambs", "rule=frame"};
	bc_client school, police;
	uint8_t junk[32];
	int errors = 0, audited;
	haven_frame f;
	const int n = 400;

	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&school, p, "school.urn.110456"), 0);
	assert_int_equal(bc_open(&police, p, "police.cambs"), 0);
	memset(junk, 0xff, sizeof(junk));
	/* In windows of 100: the broker's send queue per connection is
	 * bounded (haven__sndhwm), so a peer that sends more than that
	 * without reading loses replies, by design. */
	for (int sent = 0; sent < n; sent += 100) {
		for (int i = 0; i < 100; i++) {
			assert_int_equal(bc_send_raw(&school, junk,
			    sizeof(junk)), 0);
		}
		while (errors < sent + 100 && bc_expect(&school,
		    HAVEN_FRAME_ERROR, &f, 3000) == 0) {
			assert_int_equal(f.error_code, HAVEN_EDECODE);
			haven_frame_release(&f);
			errors++;
		}
	}
	assert_int_equal(errors, n);
	/* Another agency's refusal is still audited individually. */
	assert_int_equal(bc_send_raw(&police, junk, sizeof(junk)), 0);
	assert_int_equal(bc_expect(&police, HAVEN_FRAME_ERROR, &f, 3000), 0);
	haven_frame_release(&f);
	bc_close(&police);
	bc_close(&school);
	assert_int_equal(hv_broker_stop(p), 0);
	audited = bc_audit_count(p, &one);
	if (audited > 101) {
		fail_msg("%d REJECT entries for one flooding agency", audited);
	}
	assert_int_equal(bc_audit_count(p, &pol), 1);
	/* The summary written at shutdown accounts for every refusal. */
	assert_int_equal((unsigned long) audited +
	    flood_suppressed(p, "school.urn.110456"), (unsigned long) n);
	assert_true(bc_audit_verifies(p));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_refuses_bad_documents, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuses_bad_config, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuses_stale_directory, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_revocation, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_forward_and_redelivery, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_full, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_reject_flood_bounded, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_chosen_routing_id_refused, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rotation_cuts_old_key_connection, bc_setup, bc_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
