/*
 * broker/marac.c: MARAC admission rules and per-case consent state.
 *
 * Database HAVEN_STORE_CONSENT: case pseudonym (32 bytes) -> u8 state
 * (1 given, 2 refused, 3 withdrawn) || be64 time of the decision. Written
 * only inside the batch's write transaction, with the CONSENT audit entry
 * that explains it, so state and audit commit together.
 *
 * Admission: the parties' rules the policy cannot say
 * (haven_marac_check_parties: a referral reaches both the IDVA and the
 * coordinator, panel material comes from that area's co-chairs), then
 * the criteria and tags (haven_marac_check_header), then consent. The
 * sending agents leave every such rule to the broker, so each refusal is
 * a REJECT in the audit naming its rule.
 *
 * Consent: a referral records "given" or "refused" from its consent tag;
 * a CONSENT_DECISION records given, refused or withdrawn. While a case's
 * consent is refused or withdrawn, every MARAC or panel message about it
 * must carry m6=yes (sharing without consent, with its recorded M6
 * justification); a claim of consent=yes is refused, naming rule
 * "consent". Messages without a case pseudonym are refused by
 * haven_marac_check_header already.
 *
 * Threat assumptions: the sender's tags are its signed claims; the broker
 * cannot read the payload, each recipient checks the payload against the
 * tags (haven_marac_verify_payload). The broker never trusts a tag to
 * loosen what the recorded state forbids.
 */
#include "marac.h"

#include <stdio.h>
#include <string.h>

#include "haven/marac.h"
#include "lmdbutil.h"
#include "log.h"
#include "util.h"

enum { C_NONE = 0, C_GIVEN = 1, C_REFUSED = 2, C_WITHDRAWN = 3 };

#define STATE_LEN 9

static bool
is_marac(uint32_t type)
{
	return ((type >= HAVEN_MSG_MARAC_REFERRAL &&
	    type <= HAVEN_MSG_DAPP_ACTION_PLAN) ||
	    type == HAVEN_MSG_CONSENT_DECISION);
}

static const char *
tag(const haven_header *h, const char *key)
{
	for (size_t i = 0; i < h->n_tags; i++) {
		if (strcmp(h->tags[i].key, key) == 0) {
			return (h->tags[i].value);
		}
	}
	return (NULL);
}

static bool
tag_is(const haven_header *h, const char *key, const char *v)
{
	const char *t = tag(h, key);

	return (t != NULL && strcmp(t, v) == 0);
}

static haven_err
state_get(haven_broker *b, MDB_txn *txn, const haven_header *h, int *state)
{
	MDB_val k, d;
	int rc;

	*state = C_NONE;
	k.mv_data = (void *) h->case_pseud;
	k.mv_size = HAVEN_HASH_BYTES;
	rc = mdb_get(txn, haven__store_dbi(b->store, HAVEN_STORE_CONSENT), &k,
	    &d);
	if (rc == MDB_NOTFOUND) {
		return (HAVEN_OK);
	}
	if (rc != 0) {
		return (haven__mdb_err(rc));
	}
	if (d.mv_size != STATE_LEN) {
		return (HAVEN_ECORRUPT);
	}
	*state = ((const uint8_t *) d.mv_data)[0];
	return (HAVEN_OK);
}

static void
deny(haven_policy_decision *d, const char *rule, const char *reason)
{
	memset(d, 0, sizeof(*d));
	d->allow = false;
	haven__bcopy(d->rule, sizeof(d->rule), rule);
	haven__bcopy(d->reason, sizeof(d->reason), reason);
}

haven_err
haven__marac_check(haven_broker *b, MDB_txn *txn, const haven_header *h,
    int64_t now_ms, haven_policy_decision *d, bool *refused)
{
	const haven_policy_marac *cfg;
	int state;
	haven_err rv;

	*refused = false;
	if (!is_marac(h->type)) {
		return (HAVEN_OK);
	}
	cfg = haven_policy_marac_settings(b->policy);
	if (haven_marac_check_parties(b->dir, h, d) != HAVEN_OK ||
	    haven_marac_check_header(cfg, h, now_ms, d) != HAVEN_OK) {
		*refused = true;
		return (HAVEN_OK);
	}
	if (h->type == HAVEN_MSG_CONSENT_DECISION || !h->has_case) {
		return (HAVEN_OK);
	}
	rv = state_get(b, txn, h, &state);
	if (rv == HAVEN_ECORRUPT) {
		deny(d, "consent", "consent record unreadable");
		*refused = true;
		return (HAVEN_OK);
	}
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if ((state == C_REFUSED || state == C_WITHDRAWN) &&
	    (!tag_is(h, "m6", "yes") || tag_is(h, "consent", "yes"))) {
		deny(d, "consent", state == C_WITHDRAWN ?
		    "consent for this case was withdrawn: share only with an "
		    "M6 record (information shared without consent)" :
		    "consent for this case was refused: share only with an "
		    "M6 record (information shared without consent)");
		*refused = true;
	}
	return (HAVEN_OK);
}

/* The state a message records, or C_NONE. */
static int
decided_state(const haven_header *h)
{
	if (h->type == HAVEN_MSG_MARAC_REFERRAL) {
		return (tag_is(h, "consent", "yes") ? C_GIVEN : C_REFUSED);
	}
	if (h->type != HAVEN_MSG_CONSENT_DECISION) {
		return (C_NONE);
	}
	if (tag_is(h, "consent", "given")) {
		return (C_GIVEN);
	}
	if (tag_is(h, "consent", "refused")) {
		return (C_REFUSED);
	}
	return (tag_is(h, "consent", "withdrawn") ? C_WITHDRAWN : C_NONE);
}

static const char *
state_name(int state)
{
	return (state == C_GIVEN ? "given" : state == C_REFUSED ? "refused" :
	    "withdrawn");
}

haven_err
haven__marac_accepted(haven_broker *b, MDB_txn *txn, const haven_header *h)
{
	uint8_t v[STATE_LEN];
	MDB_val k, d;
	haven_audit_entry e;
	char hex[2 * HAVEN_MSGID_BYTES + 1];
	int state = decided_state(h);
	haven_err rv;

	if (state == C_NONE || !h->has_case) {
		return (HAVEN_OK);
	}
	v[0] = (uint8_t) state;
	haven__be64_put(v + 1, (uint64_t) h->created_ms);
	k.mv_data = (void *) h->case_pseud;
	k.mv_size = HAVEN_HASH_BYTES;
	d.mv_data = v;
	d.mv_size = sizeof(v);
	if ((rv = haven__mdb_err(mdb_put(txn, haven__store_dbi(b->store,
	    HAVEN_STORE_CONSENT), &k, &d, 0))) != HAVEN_OK) {
		return (rv);
	}
	memset(&e, 0, sizeof(e));
	haven__audit_from_header(&e, h);
	e.event = HAVEN_AUDIT_CONSENT;
	e.deadline_ms = 0;
	e.occurred_ms = 0;
	haven__msgid_hex(hex, h->msg_id);
	(void) snprintf(e.reason, sizeof(e.reason), "consent=%s msg=%s",
	    state_name(state), hex);
	return (haven__audit(b, txn, &e, NULL, NULL));
}
