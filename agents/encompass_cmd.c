/*
 * agents/encompass_cmd.c: `haven-agent encompass submit INCIDENT.json`.
 *
 * Flow: validate the incident (R2 and field rules: exit 2 naming field and
 * rule), plan the messages (R3 per school, R4 EHE, R5 escalation to the
 * SPOC), seal one envelope per item with pseudonymous metadata only (case
 * pseudonym from the police reference, subject pseudonyms of the item's
 * children), write them all to the outbox in one fsync'd transaction, and
 * only then submit and wait for the broker's signed receipts.
 *
 * Deadlines: every M1 header carries the incident time (occurred_ms) and
 * the deadline, the start of the school's next school day after the
 * incident, from the school's calendar in the signed directory
 * (haven_directory_calendar: terms, INSET days, bank holidays, start of
 * day). The broker recomputes it from its own copy and refuses a later
 * one (R5-deadline); the school agent checks it against the content.
 * An incident with a holiday of the school's calendar before its next
 * school day (on a holiday, or after school on the last day of a term)
 * also goes, in the same view of the same message, to the holiday duty
 * contact the signed policy
 * names for the school's calendar area (header tag holiday=yes); without a
 * policy there is none.
 *
 * Output never carries names: children are reported by their index in the
 * input. The incident is wiped from memory before exit.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "haven/calendar.h"
#include "haven/encompass.h"
#include "haven/envelope.h"
#include "haven/policy.h"
#include "haven/pseudonym.h"
#include "agent_session.h"
#include "payload.h"
#include "util.h"

#define LEGAL_BASIS "DAA2021-S49A"
#define PURPOSE "operation-encompass"

typedef struct built {
	uint32_t type;
	int64_t deadline_ms;
	char duty[HAVEN_ID_MAX]; /* holiday duty contact copied; "" if none */
	uint8_t *env;
	size_t env_len;
} built;

typedef struct submit {
	haven__agent *a;
	haven_incident *inc;
	haven_pseudonym_key *pk;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n;
	built msgs[HAVEN_OE_MAX_CHILDREN];
	haven__wait waits[HAVEN_OE_MAX_CHILDREN];
} submit;

static const struct {
	haven_oe_kind kind;
	uint32_t type;
	const char *profile;
} kinds[] = {
	{ HAVEN_OE_NOTIFY_SETTING, HAVEN_MSG_OE_NOTIFICATION, "oe.setting" },
	{ HAVEN_OE_NOTIFY_EHE, HAVEN_MSG_OE_EHE_NOTIFICATION, "oe.ehe" },
	{ HAVEN_OE_ESCALATE, HAVEN_MSG_OE_ESCALATION, "oe.escalation" },
};

static size_t
kind_index(haven_oe_kind k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i].kind == k) {
			return (i);
		}
	}
	return (2); /* unknown kinds escalate: never dropped */
}

/* "R2: ..." -> "R2"; NULL when the text names no rule. */
static const char *
rule_of(const char *why, char *buf, size_t len)
{
	size_t n = 1;

	if (why[0] != 'R' || why[1] < '0' || why[1] > '9') {
		return (NULL);
	}
	while (why[n] >= '0' && why[n] <= '9' && n + 1 < len) {
		n++;
	}
	memcpy(buf, why, n);
	buf[n] = '\0';
	return (buf);
}

static int
load_incident(submit *s, const char *path)
{
	char field[96] = "", why[256] = "", rule[8];
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;

	rv = haven__read_file(path, HAVEN_JSON_MAX, &buf, &len);
	if (rv != HAVEN_OK) {
		return (haven__agt_out_fail(&s->a->out, rv,
		    rv == HAVEN_EMSGSIZE ?
		    2 : 1, "incident", NULL, "cannot read the incident file"));
	}
	rv = haven_incident_from_json(s->inc, (const char *) buf, len, field,
	    sizeof(field), why, sizeof(why));
	haven__agt_free_wiped(buf, len);
	if (rv != HAVEN_OK) {
		return (haven__agt_out_fail(&s->a->out, rv, 2,
		    field[0] != '\0' ?
		    field : "incident", rule_of(why, rule, sizeof(rule)), "%s",
		    why[0] != '\0' ? why : haven_strerror(rv)));
	}
	return (0);
}

static int
load_pseudonym_key(submit *s)
{
	char err[256] = "";
	haven_err rv;

	if (s->a->cfg.spoc[0] == '\0') {
		return (haven__agt_out_fail(&s->a->out, HAVEN_EINVAL, 2, "spoc",
		    NULL, "config names no police single point of contact"));
	}
	if (s->a->cfg.pseudonym_key[0] == '\0') {
		return (haven__agt_out_fail(&s->a->out, HAVEN_EINVAL, 2,
		    "pseudonym_key", NULL, "config names no pseudonym key"));
	}
	rv = haven_pseudonym_key_load(&s->pk, s->a->cfg.pseudonym_key, err,
	    sizeof(err));
	if (rv != HAVEN_OK) {
		return (haven__agt_out_fail(&s->a->out, rv, 1, "pseudonym_key",
		    NULL,
		    "%s", err[0] != '\0' ? err : "cannot load"));
	}
	return (0);
}

/* The policy's holiday duty agency for `area`, or NULL. */
static const char *
duty_for_area(const haven__agent *a, const char *area)
{
	const haven_policy_encompass *pe;

	if (a->policy == NULL || area == NULL ||
	    (pe = haven_policy_encompass_settings(a->policy)) == NULL) {
		return (NULL);
	}
	for (size_t i = 0; i < pe->n_holiday_duty &&
	    i < HAVEN_POLICY_DUTY_MAX; i++) {
		if (strcmp(pe->holiday_duty[i].calendar, area) == 0) {
			return (pe->holiday_duty[i].agency);
		}
	}
	return (NULL);
}

/*
 * The holiday duty contact to copy an incident at `occurred_ms` to, or
 * NULL: only with a holiday of the school's calendar between the incident
 * and the school's next school day (so also on the evening of the last
 * day of a term; haven_calendar_holiday_ahead), only if the policy
 * names one for its area, and only one our directory lists, active and
 * not the school itself. A duty contact we cannot send to is logged and
 * skipped: the school's own notification must never wait for it.
 */
static const char *
holiday_duty(const haven__agent *a, const char *school,
    const haven_calendar *cal, int64_t occurred_ms)
{
	const haven_agency *ag = haven_directory_find(a->dir, school);
	const haven_agency *d;
	const char *duty;

	if (ag == NULL || !haven_calendar_holiday_ahead(cal, occurred_ms) ||
	    (duty = duty_for_area(a, haven_calendar_area_of(ag))) == NULL) {
		return (NULL);
	}
	d = haven_directory_find(a->dir, duty);
	if (d == NULL || d->revoked || strcmp(duty, school) == 0) {
		haven__agt_log("HAVEN-AGT-NODUTY", "school=%s duty=%s: not an "
		    "active agency of the directory; not copied", school,
		    duty);
		return (NULL);
	}
	return (d->id);
}

static void
add_tag(haven_header *hdr, const char *key, const char *value)
{
	haven_tag *t = &hdr->tags[hdr->n_tags++];

	(void) snprintf(t->key, HAVEN_CODE_MAX, "%s", key);
	(void) snprintf(t->value, HAVEN_TAGVAL_MAX, "%s", value);
}

/* M1: the deadline from the school's calendar; a holiday duty copy. */
static haven_err
setting_deadline(submit *s, size_t i, haven_header *hdr)
{
	const char *school = s->items[i].recipient;
	haven_calendar cal;
	const char *duty;
	haven_err rv;

	rv = haven_directory_calendar(s->a->dir, school, &cal);
	if (rv == HAVEN_OK) {
		rv = haven_calendar_next_school_day(&cal, s->inc->occurred_ms,
		    &hdr->deadline_ms);
	}
	if (rv != HAVEN_OK) {
		return (rv);
	}
	duty = holiday_duty(s->a, school, &cal, s->inc->occurred_ms);
	if (duty != NULL) {
		(void) snprintf(hdr->recipients[1], HAVEN_ID_MAX, "%s", duty);
		(void) snprintf(s->msgs[i].duty, HAVEN_ID_MAX, "%s", duty);
		hdr->n_recipients = 2;
		add_tag(hdr, "holiday", "yes");
	}
	return (HAVEN_OK);
}

static haven_err
fill_header(submit *s, size_t i, uint64_t seq, haven_header *hdr)
{
	const haven_oe_item *it = &s->items[i];
	const haven_oe_child *c;
	haven_err rv = HAVEN_OK;

	memset(hdr, 0, sizeof(*hdr));
	hdr->seq = seq;
	hdr->type = kinds[kind_index(it->kind)].type;
	hdr->n_recipients = 1;
	if (haven__strlcpy(hdr->recipients[0], it->recipient,
	    HAVEN_ID_MAX) != HAVEN_OK || it->n_children > HAVEN_MAX_SUBJECTS) {
		return (HAVEN_EINVAL);
	}
	hdr->has_case = true;
	haven_pseudonym_case(hdr->case_pseud, s->pk, s->inc->police_ref);
	for (size_t k = 0; k < it->n_children; k++) {
		c = &s->inc->children[it->child_idx[k]];
		haven_pseudonym_person(hdr->subject_pseuds[k], s->pk, c->name,
		    c->dob);
	}
	hdr->n_subjects = it->n_children;
	(void) snprintf(hdr->legal_basis, HAVEN_CODE_MAX, "%s", LEGAL_BASIS);
	(void) snprintf(hdr->purpose, HAVEN_CODE_MAX, "%s", PURPOSE);
	hdr->created_ms = haven__now_ms();
	hdr->occurred_ms = s->inc->occurred_ms;
	if (it->kind == HAVEN_OE_NOTIFY_SETTING) {
		rv = setting_deadline(s, i, hdr);
	} else if (it->kind == HAVEN_OE_ESCALATE) {
		add_tag(hdr, "escalation", it->reason);
	}
	return (rv);
}

static int
build_one(submit *s, size_t i, uint64_t seq)
{
	const haven_oe_item *it = &s->items[i];
	const char *rcpt[2] = { it->recipient, s->msgs[i].duty };
	const char *profile = kinds[kind_index(it->kind)].profile;
	haven_view_in view;
	haven_header hdr;
	uint8_t *payload = NULL;
	size_t plen = 0;
	char err[256] = "";
	haven_err rv;

	if ((rv = fill_header(s, i, seq, &hdr)) != HAVEN_OK) {
		return (haven__agt_out_fail(&s->a->out, rv, 1, "deadline",
		    NULL, "cannot compute the deadline for %s from the "
		    "directory's calendar", it->recipient));
	}
	if ((rv = haven_oe_payload_encode(s->inc, it, &payload, &plen)) ==
	    HAVEN_OK) {
		/* one view: the school and its holiday duty contact */
		view = (haven_view_in){ .profile = profile, .recipients = rcpt,
		    .n_recipients = hdr.n_recipients, .payload = payload,
		    .payload_len = plen };
		rv = haven_envelope_seal(&hdr, false, &view, 1, s->a->keys,
		    s->a->dir, &s->msgs[i].env, &s->msgs[i].env_len, err,
		    sizeof(err));
	}
	haven__agt_free_wiped(payload, plen);
	if (rv != HAVEN_OK) {
		return (haven__agt_out_fail(&s->a->out, rv, 1, "recipient",
		    NULL,
		    "cannot seal the message to %s: %s", it->recipient,
		    err[0] != '\0' ? err : haven_strerror(rv)));
	}
	s->msgs[i].type = hdr.type;
	s->msgs[i].deadline_ms = hdr.deadline_ms;
	memcpy(s->waits[i].msg_id, hdr.msg_id, HAVEN_MSGID_BYTES);
	return (0);
}

static int
build_all(submit *s)
{
	haven__outbox_item out[HAVEN_OE_MAX_CHILDREN];
	uint64_t seq = 0;
	haven_err rv;
	int ec;

	if (haven_oe_plan(s->inc, s->a->dir, s->a->cfg.spoc, s->items,
	    &s->n) != HAVEN_OK || s->n == 0) {
		return (haven__agt_out_fail(&s->a->out, HAVEN_EINVAL, 2, "spoc",
		    "R5", "the SPOC is not in the directory as a police "
		    "agency"));
	}
	if ((rv = haven__agt_store_reserve_seq(s->a->store, s->n, &seq)) !=
	    HAVEN_OK) {
		return (haven__agt_out_fail(&s->a->out, rv, 1, "data_dir", NULL,
		    "cannot reserve sequence numbers"));
	}
	for (size_t i = 0; i < s->n; i++) {
		if ((ec = build_one(s, i, seq + i)) != 0) {
			return (ec);
		}
		out[i].msg_id = s->waits[i].msg_id;
		out[i].envelope = s->msgs[i].env;
		out[i].envelope_len = s->msgs[i].env_len;
	}
	if ((rv = haven__agt_store_outbox_add(s->a->store, out, s->n)) !=
	    HAVEN_OK) {
		return (haven__agt_out_fail(&s->a->out, rv, 1, "data_dir", NULL,
		    "cannot write the outbox; nothing was sent"));
	}
	return (0);
}

static json_t *
children_json(const haven_oe_item *it)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < it->n_children; i++) {
		(void) json_array_append_new(arr,
		    json_integer(it->child_idx[i]));
	}
	return (arr);
}

/* What to do about a refusal whose rule this agent can explain. */
static const char *
reject_hint(const haven_reject *j)
{
	if (strncmp(j->rule, "R5-deadline", 11) == 0) {
		return ("the broker computes an earlier deadline from its "
		    "directory: this agent's directory is older or differs; "
		    "update it and submit the incident again");
	}
	if (strstr(j->reason, "holiday") != NULL) {
		return ("the broker does not see a holiday for this school: "
		    "update this agent's directory and policy and submit the "
		    "incident again");
	}
	return (NULL);
}

/* The per-message result (out.c), with this agent's hint on a refusal. */
static json_t *
result_into(json_t *o, const haven__wait *w)
{
	const char *hint;

	o = haven__agt_wait_json(o, w);
	if (o != NULL && w->state == HAVEN__W_REJECTED) {
		hint = reject_hint(&w->reject);
		(void) json_object_set_new(json_object_get(o, "reject"),
		    "hint", hint != NULL ? json_string(hint) : json_null());
	}
	return (o);
}

static json_t *
message_json(const submit *s, size_t i)
{
	const haven_oe_item *it = &s->items[i];
	char hex[33];
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:o}", "msg_id",
	    haven__agt_idhex(hex, s->waits[i].msg_id), "type",
	    haven_msg_type_name(s->msgs[i].type), "recipient", it->recipient,
	    "children", children_json(it), "deadline",
	    haven__agt_json_time(s->msgs[i].deadline_ms), "deadline_ms",
	    (json_int_t) s->msgs[i].deadline_ms, "holiday_duty",
	    s->msgs[i].duty[0] != '\0' ? json_string(s->msgs[i].duty) :
	    json_null(), "reason",
	    it->kind == HAVEN_OE_ESCALATE ? json_string(it->reason) :
	    json_null());
	return (result_into(o, &s->waits[i]));
}

static void
print_text_row(const submit *s, size_t i)
{
	const haven__wait *w = &s->waits[i];
	const haven_oe_item *it = &s->items[i];
	char hex[33], dl[40], at[40], kids[64] = "";
	size_t o = 0;

	for (size_t k = 0; k < it->n_children && o + 4 < sizeof(kids); k++) {
		o += (size_t) snprintf(kids + o, sizeof(kids) - o, "%s%u",
		    k ? "," : "", it->child_idx[k]);
	}
	(void) printf("%-32s  %-19s  %-24s  %zu [%s]  %-20s  ",
	    haven__agt_idhex(hex, w->msg_id),
	    haven_msg_type_name(s->msgs[i].type),
	    it->recipient, it->n_children, kids,
	    haven__agt_timestr(dl, sizeof(dl), s->msgs[i].deadline_ms));
	if (w->state == HAVEN__W_RECEIPTED) {
		(void) printf("receipt audit_seq=%llu accepted=%s\n",
		    (unsigned long long) w->receipt.audit_seq,
		    haven__agt_timestr(at, sizeof(at), w->receipt.accepted_ms));
	} else if (w->state == HAVEN__W_REJECTED) {
		(void) printf("REJECTED %s rule=%s: %s\n",
		    haven_err_name((haven_err) w->reject.code),
		    w->reject.rule[0] ? w->reject.rule : "-", w->reject.reason);
		if (reject_hint(&w->reject) != NULL) {
			(void) printf("    %s\n", reject_hint(&w->reject));
		}
	} else {
		(void) printf("PENDING (no receipt yet: not sent)\n");
	}
	if (s->msgs[i].duty[0] != '\0') {
		(void) printf("    holiday: the same message also goes to the "
		    "holiday duty contact %s\n", s->msgs[i].duty);
	}
}

static int
report(const submit *s)
{
	size_t n_rej = 0, n_pend = 0;
	json_t *arr;

	for (size_t i = 0; i < s->n; i++) {
		n_rej += s->waits[i].state == HAVEN__W_REJECTED;
		n_pend += s->waits[i].state == HAVEN__W_PENDING ||
		    s->waits[i].state == HAVEN__W_DEFERRED;
	}
	if (s->a->out.json) {
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < s->n; i++) {
			(void) json_array_append_new(arr, message_json(s, i));
		}
		haven__agt_out_json(json_pack("{s:b, s:s, s:o, s:I, s:I, s:I}",
		    "ok",
		    n_rej + n_pend == 0, "command", "encompass submit",
		    "messages", arr, "receipted",
		    (json_int_t) (s->n - n_rej - n_pend), "rejected",
		    (json_int_t) n_rej, "pending", (json_int_t) n_pend));
	} else {
		(void) printf("%-32s  %-19s  %-24s  %s  %-20s  %s\n", "MSG ID",
		    "TYPE", "RECIPIENT", "CHILDREN", "DEADLINE", "RESULT");
		for (size_t i = 0; i < s->n; i++) {
			print_text_row(s, i);
		}
	}
	if (n_rej > 0) {
		return (HAVEN__EXIT_REFUSED);
	}
	return (n_pend > 0 ? HAVEN__EXIT_ERROR : HAVEN__EXIT_OK);
}

static int
send_all(submit *s)
{
	haven__session sess;
	haven_err rv;

	if ((rv = haven__agent_connect(s->a)) != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-CONNECT", "code=%s",
		    haven_err_name(rv));
		return (report(s));
	}
	haven__agt_session_init(&sess, s->a, false, s->waits, s->n);
	rv = haven__agt_send_and_wait(&sess, s->a->cfg.timeout_ms);
	if (rv != HAVEN_OK && rv != HAVEN_ETIMEDOUT) {
		haven__agt_log("HAVEN-AGT-SEND", "code=%s", haven_err_name(rv));
	}
	return (report(s));
}

static void
submit_release(submit *s)
{
	for (size_t i = 0; i < HAVEN_OE_MAX_CHILDREN; i++) {
		free(s->msgs[i].env);
	}
	haven_pseudonym_key_destroy(&s->pk);
	if (s->inc != NULL) {
		sodium_memzero(s->inc, sizeof(*s->inc));
		free(s->inc);
	}
	free(s);
}

int
haven__agt_cmd_encompass_submit(haven__agent *a, const haven__args *args)
{
	submit *s;
	int ec;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->inc = calloc(1, sizeof(*s->inc))) == NULL) {
		free(s);
		return (haven__agt_out_fail(&a->out, HAVEN_ENOMEM, 1, NULL,
		    NULL,
		    "out of memory"));
	}
	s->a = a;
	if ((ec = load_incident(s, args->pos[2])) == 0 &&
	    (ec = load_pseudonym_key(s)) == 0 && (ec = build_all(s)) == 0) {
		ec = send_all(s);
	}
	submit_release(s);
	return (ec);
}
