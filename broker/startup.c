/*
 * broker/startup.c: bringing the broker up and down (DESIGN §4, §7).
 *
 * Order matters and is the security argument:
 *  1. keys, admin public key, signed directory and policy are loaded and
 *     verified; anything unsigned, tampered or invalid refuses start-up;
 *  2. the LMDB environment is opened (fsync'd commits, reader check) and a
 *     directory or policy older than the one recorded in `meta` is refused
 *     (stale); START, DIRECTORY and POLICY are audited and checkpointed;
 *  3. the ZAP handler is bound BEFORE the ROUTER: libzmq accepts any CURVE
 *     client key when no handler exists, so failing to bind it is fatal;
 *  4. the ROUTER binds as a CURVE server with size, heartbeat, handshake and
 *     high-water-mark limits, mandatory routing and ZAP domain "haven".
 */
#include "broker.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "haven/envelope.h"
#include "log.h"
#include "util.h"

#define ERRLEN 512

/* ---------------------------------------------------------- documents */

static haven_err
check_broker_entry(const haven_docs *d, char *err, size_t errlen)
{
	const haven_agency *a = haven_directory_find(d->dir, HAVEN_BROKER_ID);
	const haven_agency_key *k;
	haven_pubkey me;

	if (a == NULL) {
		haven__blog("HAVEN-BRK-WARN", "directory has no '%s' entry",
		    HAVEN_BROKER_ID);
		return (HAVEN_OK);
	}
	haven_keys_public(d->keys, &me);
	k = haven_agency_key_gen(a, me.generation);
	if (k == NULL || memcmp(k->sign_pk, me.sign_pk, HAVEN_KEY_BYTES) != 0 ||
	    memcmp(k->curve_pk, me.curve_pk, HAVEN_KEY_BYTES) != 0) {
		haven__errf(err, errlen, "directory: entry '%s' does not match "
		    "the broker's keys (generation %u)", HAVEN_BROKER_ID,
		    (unsigned) me.generation);
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

static haven_err
load_keys(haven_docs *d, const haven_bconf *cfg, char *err, size_t errlen)
{
	char e2[256] = "";
	haven_pubkey admin;
	haven_err rv;

	if ((rv = haven_keys_load(&d->keys, cfg->keys, e2, sizeof(e2))) !=
	    HAVEN_OK) {
		haven__errf(err, errlen, "keys: %s: %s %s", cfg->keys,
		    haven_err_name(rv), e2);
		return (rv);
	}
	if (strcmp(haven_keys_agency(d->keys), HAVEN_BROKER_ID) != 0) {
		haven__errf(err, errlen, "keys: %s: not agency '%s'",
		    cfg->keys, HAVEN_BROKER_ID);
		return (HAVEN_EINVAL);
	}
	if ((rv = haven_pubkey_load(&admin, cfg->admin_pub, e2, sizeof(e2))) !=
	    HAVEN_OK) {
		haven__errf(err, errlen, "admin_pub: %s: %s %s", cfg->admin_pub,
		    haven_err_name(rv), e2);
		return (rv);
	}
	memcpy(d->admin_pk, admin.sign_pk, HAVEN_KEY_BYTES);
	return (HAVEN_OK);
}

haven_err
haven__docs_load(haven_docs *d, const haven_bconf *cfg, char *err,
    size_t errlen)
{
	char e2[256] = "";
	haven_err rv;

	memset(d, 0, sizeof(*d));
	if ((rv = load_keys(d, cfg, err, errlen)) != HAVEN_OK) {
		goto fail;
	}
	if ((rv = haven_directory_load(&d->dir, cfg->directory, d->admin_pk,
	    e2, sizeof(e2))) != HAVEN_OK) {
		haven__errf(err, errlen, "directory: %s: %s %s", cfg->directory,
		    haven_err_name(rv), e2);
		goto fail;
	}
	if ((rv = haven_policy_load(&d->policy, cfg->policy, d->admin_pk, e2,
	    sizeof(e2))) != HAVEN_OK) {
		haven__errf(err, errlen, "policy: %s: %s %s", cfg->policy,
		    haven_err_name(rv), e2);
		goto fail;
	}
	if ((rv = check_broker_entry(d, err, errlen)) != HAVEN_OK) {
		goto fail;
	}
	return (HAVEN_OK);
fail:
	haven__docs_release(d);
	return (rv);
}

void
haven__docs_release(haven_docs *d)
{
	haven_keys_destroy(&d->keys);
	haven_directory_destroy(&d->dir);
	haven_policy_destroy(&d->policy);
	sodium_memzero(d->admin_pk, sizeof(d->admin_pk));
}

/* -------------------------------------------------------------- audit */

void
haven__audit_from_header(haven_audit_entry *e, const struct haven_header *h)
{
	haven__bcopy(e->actor, sizeof(e->actor), h->sender);
	e->has_msg = true;
	memcpy(e->msg_id, h->msg_id, HAVEN_MSGID_BYTES);
	e->type = h->type;
	e->n_recipients = h->n_recipients;
	for (size_t i = 0; i < h->n_recipients && i < HAVEN_MAX_RECIPIENTS;
	    i++) {
		haven__bcopy(e->recipients[i], HAVEN_ID_MAX, h->recipients[i]);
	}
	e->has_case = h->has_case;
	memcpy(e->case_pseud, h->case_pseud, HAVEN_HASH_BYTES);
	e->n_subjects = h->n_subjects;
	memcpy(e->subject_pseuds, h->subject_pseuds,
	    sizeof(e->subject_pseuds));
	haven__bcopy(e->legal_basis, sizeof(e->legal_basis), h->legal_basis);
	haven__bcopy(e->purpose, sizeof(e->purpose), h->purpose);
	e->deadline_ms = h->deadline_ms;
	e->occurred_ms = h->occurred_ms;
}

haven_err
haven__audit(haven_broker *b, MDB_txn *txn, haven_audit_entry *e,
    uint64_t *seq, uint8_t hash[HAVEN_HASH_BYTES])
{
	uint8_t h[HAVEN_HASH_BYTES];
	haven_err rv;

	if (e->time_ms == 0) {
		e->time_ms = haven__now_ms();
	}
	rv = haven_audit_append(haven__store_audit(b->store), txn, e, h);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if (seq != NULL) {
		*seq = e->seq;
	}
	if (hash != NULL) {
		memcpy(hash, h, HAVEN_HASH_BYTES);
	}
	return (HAVEN_OK);
}

haven_err
haven__maybe_checkpoint(haven_broker *b, MDB_txn *txn, bool force,
    uint64_t *new_cp)
{
	uint8_t hash[HAVEN_HASH_BYTES];
	uint64_t head = 0;
	haven_err rv;

	rv = haven_audit_head(haven__store_audit(b->store), txn, &head, hash);
	if (rv != HAVEN_OK || head <= b->cp_seq) {
		return (rv);
	}
	if (!force && head - b->cp_seq < b->cfg.checkpoint_every) {
		return (HAVEN_OK);
	}
	rv = haven_audit_checkpoint(haven__store_audit(b->store), txn, b->keys,
	    haven__now_ms());
	if (rv == HAVEN_OK && new_cp != NULL) {
		*new_cp = head;
	}
	return (rv);
}

/* ------------------------------------------------------------- store */

static haven_err
audit_doc(haven_broker *b, MDB_txn *txn, uint32_t event, uint64_t version)
{
	haven_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.event = event;
	haven__bcopy(e.actor, sizeof(e.actor), HAVEN_BROKER_ID);
	(void) snprintf(e.reason, sizeof(e.reason), "version=%llu",
	    (unsigned long long) version);
	return (haven__audit(b, txn, &e, NULL, NULL));
}

static haven_err
stale(uint64_t have, uint64_t stored, const char *what, char *err,
    size_t errlen)
{
	if (have >= stored) {
		return (HAVEN_OK);
	}
	haven__errf(err, errlen, "%s: stale: version %llu is older than the "
	    "accepted version %llu", what, (unsigned long long) have,
	    (unsigned long long) stored);
	return (HAVEN_ESTALE);
}

haven_err
haven__docs_check_stale(const haven_docs *d, const haven_bconf *cfg,
    char *err, size_t errlen)
{
	uint64_t sdv = 0, spv = 0;
	haven_err rv;

	if ((rv = haven__store_peek_meta(cfg->data_dir, "dir_version",
	    &sdv)) != HAVEN_OK ||
	    (rv = haven__store_peek_meta(cfg->data_dir, "policy_version",
	    &spv)) != HAVEN_OK) {
		haven__errf(err, errlen, "data_dir: %s: store unreadable (%s)",
		    cfg->data_dir, haven_err_name(rv));
		return (rv);
	}
	if ((rv = stale(haven_directory_version(d->dir), sdv, "directory",
	    err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (stale(haven_policy_version(d->policy), spv, "policy", err,
	    errlen));
}

/* Refuse a document older than the one accepted before, then record. */
static haven_err
record_versions(haven_broker *b, MDB_txn *txn, char *err, size_t errlen)
{
	uint64_t dv = haven_directory_version(b->dir);
	uint64_t pv = haven_policy_version(b->policy);
	uint64_t sdv = 0, spv = 0;
	haven_err rv;

	if ((rv = haven__store_meta_get(b->store, txn, "dir_version", &sdv)) !=
	    HAVEN_OK ||
	    (rv = haven__store_meta_get(b->store, txn, "policy_version",
	    &spv)) != HAVEN_OK) {
		haven__errf(err, errlen, "meta: %s", haven_strerror(rv));
		return (rv);
	}
	if ((rv = stale(dv, sdv, "directory", err, errlen)) != HAVEN_OK ||
	    (rv = stale(pv, spv, "policy", err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = haven__store_meta_put(b->store, txn, "dir_version", dv)) !=
	    HAVEN_OK) {
		return (rv);
	}
	return (haven__store_meta_put(b->store, txn, "policy_version", pv));
}

static haven_err
start_txn(haven_broker *b, char *err, size_t errlen)
{
	MDB_txn *txn = NULL;
	haven_audit_entry e;
	uint64_t cp = 0;
	haven_err rv;

	if ((rv = haven__store_begin(b->store, false, &txn)) != HAVEN_OK) {
		haven__errf(err, errlen, "begin: %s", haven_strerror(rv));
		return (rv);
	}
	if ((rv = record_versions(b, txn, err, errlen)) != HAVEN_OK) {
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.event = HAVEN_AUDIT_START;
	haven__bcopy(e.actor, sizeof(e.actor), HAVEN_BROKER_ID);
	(void) snprintf(e.reason, sizeof(e.reason), "haven-broker 0.1.0%s",
	    haven__test_clock_active() ? " test-clock" : "");
	if ((rv = haven__audit(b, txn, &e, NULL, NULL)) != HAVEN_OK ||
	    (rv = audit_doc(b, txn, HAVEN_AUDIT_DIRECTORY,
	    haven_directory_version(b->dir))) != HAVEN_OK ||
	    (rv = audit_doc(b, txn, HAVEN_AUDIT_POLICY,
	    haven_policy_version(b->policy))) != HAVEN_OK ||
	    (rv = haven__maybe_checkpoint(b, txn, true, &cp)) != HAVEN_OK) {
		haven__errf(err, errlen, "audit: %s", haven_strerror(rv));
		goto out;
	}
	if ((rv = haven__store_commit(&txn)) != HAVEN_OK) {
		haven__errf(err, errlen, "commit: %s", haven_strerror(rv));
		goto out;
	}
	b->cp_seq = cp;
out:
	haven__store_abort(&txn);
	return (rv);
}

/* ----------------------------------------------------------- sockets */

static haven_err
set_int(void *s, int opt, int v)
{
	return (zmq_setsockopt(s, opt, &v, sizeof(v)) == 0 ? HAVEN_OK :
	    (HAVEN_ESYSERR | errno));
}

int
haven__sndhwm(const haven_bconf *c)
{
	uint32_t h = HAVEN_AGENCY_INFLIGHT_MAX + c->batch_max;

	return ((int) (h < HAVEN_SNDHWM_MAX ? h : HAVEN_SNDHWM_MAX));
}

static haven_err
router_options(haven_broker *b)
{
	const haven_bconf *c = &b->cfg;
	int64_t maxmsg = (int64_t) c->max_frame_bytes;
	int hb = (int) c->heartbeat_ms;
	haven_err rv = HAVEN_OK;
	void *r = b->router;

	if (set_int(r, ZMQ_LINGER, 0) != HAVEN_OK ||
	    set_int(r, ZMQ_CURVE_SERVER, 1) != HAVEN_OK ||
	    zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, haven_keys_curve_sk(b->keys),
	    HAVEN_KEY_BYTES) != 0 ||
	    zmq_setsockopt(r, ZMQ_ZAP_DOMAIN, HAVEN_ZAP_DOMAIN,
	    strlen(HAVEN_ZAP_DOMAIN)) != 0 ||
	    zmq_setsockopt(r, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    set_int(r, ZMQ_HANDSHAKE_IVL, HAVEN_HANDSHAKE_MS) != HAVEN_OK ||
	    set_int(r, ZMQ_HEARTBEAT_IVL, hb) != HAVEN_OK ||
	    set_int(r, ZMQ_HEARTBEAT_TIMEOUT, 3 * hb) != HAVEN_OK ||
	    set_int(r, ZMQ_HEARTBEAT_TTL, 3 * hb) != HAVEN_OK ||
	    set_int(r, ZMQ_SNDHWM, haven__sndhwm(c)) != HAVEN_OK ||
	    set_int(r, ZMQ_RCVHWM, HAVEN_RCVHWM) != HAVEN_OK ||
	    set_int(r, ZMQ_SNDTIMEO, 0) != HAVEN_OK ||
	    set_int(r, ZMQ_ROUTER_MANDATORY, 1) != HAVEN_OK) {
		rv = HAVEN_ESYSERR | errno;
	}
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
	if (rv == HAVEN_OK && set_int(r, ZMQ_ZAP_ENFORCE_DOMAIN, 1) !=
	    HAVEN_OK) {
		rv = HAVEN_ESYSERR | errno;
	}
#endif
	return (rv);
}

static haven_err
sockets_open(haven_broker *b, char *err, size_t errlen)
{
	size_t eplen = sizeof(b->endpoint);
	haven_err rv;

	if ((b->zctx = zmq_ctx_new()) == NULL) {
		haven__errf(err, errlen, "zmq_ctx_new: %s",
		    zmq_strerror(errno));
		return (HAVEN_ESYSERR | errno);
	}
	/* The ZAP handler first: without it libzmq lets every key in. */
	if ((rv = haven__zap_open(&b->zap, b->zctx)) != HAVEN_OK) {
		haven__errf(err, errlen, "cannot bind ZAP handler %s: %s",
		    HAVEN_ZAP_ENDPOINT, haven_strerror(rv));
		return (rv);
	}
	if ((b->router = zmq_socket(b->zctx, ZMQ_ROUTER)) == NULL ||
	    (rv = router_options(b)) != HAVEN_OK) {
		haven__errf(err, errlen, "ROUTER socket: %s",
		    zmq_strerror(errno));
		return (HAVEN_ESYSERR | errno);
	}
	if (zmq_bind(b->router, b->cfg.listen) != 0) {
		haven__errf(err, errlen, "listen: cannot bind %s: %s",
		    b->cfg.listen, zmq_strerror(errno));
		return (HAVEN_ESYSERR | errno);
	}
	if (zmq_getsockopt(b->router, ZMQ_LAST_ENDPOINT, b->endpoint,
	    &eplen) != 0) {
		haven__bcopy(b->endpoint, sizeof(b->endpoint), b->cfg.listen);
	}
	return (HAVEN_OK);
}

/* ---------------------------------------------------------- lifecycle */

static haven_fail
open_steps(haven_broker *b, char *err, size_t errlen)
{
	haven_docs d;
	haven_err rv;

	if (haven__docs_load(&d, &b->cfg, err, errlen) != HAVEN_OK) {
		return (HAVEN_FAIL_REFUSED);
	}
	b->keys = d.keys;
	b->dir = d.dir;
	b->policy = d.policy;
	memcpy(b->admin_pk, d.admin_pk, HAVEN_KEY_BYTES);
	haven__filestamp(b->cfg.directory, &b->dir_stamp);
	haven__filestamp(b->cfg.policy, &b->pol_stamp);
	if (haven__store_open(&b->store, b->cfg.data_dir,
	    (size_t) b->cfg.map_size_mb << 20, err, errlen) != HAVEN_OK) {
		return (HAVEN_FAIL_OTHER);
	}
	if ((rv = start_txn(b, err, errlen)) != HAVEN_OK) {
		return (rv == HAVEN_ESTALE ? HAVEN_FAIL_REFUSED :
		    HAVEN_FAIL_OTHER);
	}
	if (sockets_open(b, err, errlen) != HAVEN_OK) {
		return (HAVEN_FAIL_OTHER);
	}
	return (HAVEN_FAIL_NONE);
}

haven_err
haven__broker_open(haven_broker **out, const haven_bconf *cfg,
    haven_fail *fail)
{
	char err[ERRLEN] = "";
	haven_broker *b;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		*fail = HAVEN_FAIL_OTHER;
		return (HAVEN_ENOMEM);
	}
	b->cfg = *cfg;
	if (haven__test_clock_active()) {
		/* Only a HAVEN_TEST_CLOCK build can get here: never release. */
		haven__blog("HAVEN-BRK-TESTCLOCK", "warning: the broker's time "
		    "comes from the test clock file, not the system clock");
	}
	if ((*fail = open_steps(b, err, sizeof(err))) != HAVEN_FAIL_NONE) {
		haven__blog(*fail == HAVEN_FAIL_REFUSED ? "HAVEN-BRK-REFUSED" :
		    "HAVEN-BRK-FATAL", "%s", err);
		haven__broker_close(&b);
		return (*fail == HAVEN_FAIL_REFUSED ? HAVEN_EINVAL : HAVEN_EIO);
	}
	haven__blog("HAVEN-BRK-READY", "listen=%s directory=%llu policy=%llu",
	    b->endpoint, (unsigned long long) haven_directory_version(b->dir),
	    (unsigned long long) haven_policy_version(b->policy));
	*out = b;
	return (HAVEN_OK);
}

void
haven__broker_close(haven_broker **bp)
{
	haven_broker *b;

	if (bp == NULL || (b = *bp) == NULL) {
		return;
	}
	if (b->router != NULL) {
		(void) zmq_close(b->router);
	}
	haven__zap_close(&b->zap);
	if (b->zctx != NULL) {
		(void) zmq_ctx_term(b->zctx);
	}
	haven__store_close(&b->store);
	haven__sessions_fini(&b->sessions);
	haven__outbox_fini(&b->out);
	haven_keys_destroy(&b->keys);
	haven_directory_destroy(&b->dir);
	haven_policy_destroy(&b->policy);
	free(b);
	*bp = NULL;
}

void
haven__filestamp(const char *path, haven_filestamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (stat(path, &sb) != 0) {
		return;
	}
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime = sb.st_mtim;
}

bool
haven__filestamp_eq(const haven_filestamp *a, const haven_filestamp *b)
{
	return (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec);
}
