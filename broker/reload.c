/*
 * broker/reload.c: directory and policy reload, and cutting revoked
 * agencies off (docs/architecture.md decision 4).
 *
 * Triggered by SIGHUP or by a changed directory/policy file (polled once a
 * second). The new documents must verify under the admin key and must not
 * be older than the ones in force; otherwise the old ones stay and the
 * refusal is logged. Once accepted they are in force at once, even if the
 * audit write then fails (revocation must never wait for the disk).
 * Sessions of agencies that are now revoked or gone, or whose connection's
 * key generation is now retired (a rotation), are dropped, each audited
 * REVOKE; their later frames get Error EREVOKED (handle.c) and
 * ZAP refuses their new handshakes (zap.c reads the current directory).
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "util.h"

static haven_err
audit_simple(haven_broker *b, MDB_txn *txn, uint32_t event,
    const char *actor, const char *reason)
{
	haven_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.event = event;
	haven__bcopy(e.actor, sizeof(e.actor), actor);
	haven__bcopy(e.reason, sizeof(e.reason), reason);
	return (haven__audit(b, txn, &e, NULL, NULL));
}

bool
haven__identity_allowed(const haven_directory *dir, const char *agency,
    uint32_t gen)
{
	const haven_agency *a = haven_directory_find(dir, agency);
	const haven_agency_key *k;

	if (a == NULL || a->revoked) {
		return (false);
	}
	k = haven_agency_key_gen(a, gen);
	return (k != NULL && !k->retired);
}

/* Drop sessions of agencies (or key generations) no longer allowed; audit
 * each. */
static haven_err
cut_revoked(haven_broker *b, MDB_txn *txn)
{
	haven_sessions *ss = &b->sessions;
	haven_err rv = HAVEN_OK;
	char why[64];
	size_t i = 0;

	while (i < ss->n) {
		const haven_session *s = ss->v[i];
		if (haven__identity_allowed(b->dir, s->agency, s->gen)) {
			i++;
			continue;
		}
		haven__blog("HAVEN-BRK-REVOKE", "agency=%s gen=%u", s->agency,
		    (unsigned) s->gen);
		(void) snprintf(why, sizeof(why), "live session dropped gen=%u",
		    (unsigned) s->gen);
		if (txn != NULL && rv == HAVEN_OK) {
			rv = audit_simple(b, txn, HAVEN_AUDIT_REVOKE,
			    s->agency, why);
		}
		haven__sessions_drop(ss, i);
	}
	return (rv);
}

static haven_err
record(haven_broker *b, MDB_txn *txn, bool dir_changed, bool pol_changed)
{
	char reason[64];
	uint64_t dv = haven_directory_version(b->dir);
	uint64_t pv = haven_policy_version(b->policy);
	haven_err rv;

	if ((rv = haven__store_meta_put(b->store, txn, "dir_version", dv)) !=
	    HAVEN_OK ||
	    (rv = haven__store_meta_put(b->store, txn, "policy_version", pv)) !=
	    HAVEN_OK) {
		return (rv);
	}
	(void) snprintf(reason, sizeof(reason), "version=%llu",
	    (unsigned long long) dv);
	if (dir_changed && (rv = audit_simple(b, txn, HAVEN_AUDIT_DIRECTORY,
	    HAVEN_BROKER_ID, reason)) != HAVEN_OK) {
		return (rv);
	}
	(void) snprintf(reason, sizeof(reason), "version=%llu",
	    (unsigned long long) pv);
	if (pol_changed && (rv = audit_simple(b, txn, HAVEN_AUDIT_POLICY,
	    HAVEN_BROKER_ID, reason)) != HAVEN_OK) {
		return (rv);
	}
	return (cut_revoked(b, txn));
}

static bool
load_new(haven_broker *b, haven_directory **nd, haven_policy **np)
{
	char err[256] = "";
	haven_err rv;

	if ((rv = haven_directory_load(nd, b->cfg.directory, b->admin_pk, err,
	    sizeof(err))) != HAVEN_OK) {
		haven__blog("HAVEN-BRK-RELOAD-REFUSED",
		    "doc=directory code=%s reason=%s", haven_err_name(rv), err);
		return (false);
	}
	if ((rv = haven_policy_load(np, b->cfg.policy, b->admin_pk, err,
	    sizeof(err))) != HAVEN_OK) {
		haven__blog("HAVEN-BRK-RELOAD-REFUSED",
		    "doc=policy code=%s reason=%s", haven_err_name(rv), err);
		haven_directory_destroy(nd);
		return (false);
	}
	if (haven_directory_version(*nd) < haven_directory_version(b->dir) ||
	    haven_policy_version(*np) < haven_policy_version(b->policy)) {
		haven__blog("HAVEN-BRK-RELOAD-REFUSED", "code=ESTALE "
		    "directory=%llu policy=%llu",
		    (unsigned long long) haven_directory_version(*nd),
		    (unsigned long long) haven_policy_version(*np));
		haven_directory_destroy(nd);
		haven_policy_destroy(np);
		return (false);
	}
	return (true);
}

void
haven__broker_reload(haven_broker *b)
{
	haven_directory *nd = NULL;
	haven_policy *np = NULL;
	MDB_txn *txn = NULL;
	bool dch, pch;
	haven_err rv;

	haven__filestamp(b->cfg.directory, &b->dir_stamp);
	haven__filestamp(b->cfg.policy, &b->pol_stamp);
	if (!load_new(b, &nd, &np)) {
		return;
	}
	dch = haven_directory_version(nd) != haven_directory_version(b->dir);
	pch = haven_policy_version(np) != haven_policy_version(b->policy);
	haven_directory_destroy(&b->dir);
	haven_policy_destroy(&b->policy);
	b->dir = nd;
	b->policy = np;
	haven__blog("HAVEN-BRK-RELOAD", "directory=%llu policy=%llu",
	    (unsigned long long) haven_directory_version(b->dir),
	    (unsigned long long) haven_policy_version(b->policy));
	rv = haven__store_begin(b->store, false, &txn);
	if (rv == HAVEN_OK) {
		rv = record(b, txn, dch, pch);
	}
	if (rv == HAVEN_OK) {
		rv = haven__store_commit(&txn);
	}
	if (rv != HAVEN_OK) {
		haven__store_abort(&txn);
		haven__blog("HAVEN-BRK-STORE-ERR", "during=reload code=%s",
		    haven_err_name(rv));
		(void) cut_revoked(b, NULL);
	}
}
