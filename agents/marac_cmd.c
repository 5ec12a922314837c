/*
 * agents/marac_cmd.c: the MARAC commands of haven-agent
 *   marac refer|consent|research|plan|update|flag FILE [--check]
 *   marac caselist --meeting DATE [--check]
 * and the machinery the panel commands (dapp_cmd.c) share: build a
 * message from its JSON input with libhaven's MARAC module (the same
 * thresholds the broker enforces, from the signed policy), seal it into
 * envelopes of at most HAVEN_MAX_VIEWS views and HAVEN_MAX_RECIPIENTS
 * recipients, write every envelope to the outbox (one fsync'd
 * transaction) before anything is sent, then submit and wait for the
 * broker's signed receipts, exactly as `encompass submit` does.
 *
 * Who refuses. Every rule the broker can decide from the header (the
 * criteria R9-R11, incident age, recipients R13-R17, MAPPA R16...) is
 * left to the broker (HAVEN_MARAC_DEFER_BROKER), so its refusal is a
 * REJECT in the tamper-evident audit; the agent checks only what the
 * broker cannot see (the content: schema, a judgement's rationale, an
 * EDU action's category, an M7 without DASH or narrative, the M6
 * record). With --check every rule is checked here and nothing is sent.
 *
 * The broker sees only pseudonyms (case from the case reference, subjects
 * from name and date of birth, under the partnership key) and the
 * message's criteria tags. A refusal, here or by the broker (a REJECT
 * naming the rule), exits 2 with the rule in the output. Output names
 * agencies, msg ids, profiles and rules, never a person. Input and
 * payloads are wiped.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_session.h"
#include "cases.h"
#include "haven/calendar.h"
#include "cmds.h"
#include "marac_cmd.h"
#include "util.h"

#define MAX_ENVS HAVEN_MARAC_MAX_VIEWS

typedef struct group {
	size_t first, count;         /* views of the message */
	size_t n_rcpt;
	char rcpt[HAVEN_MAX_RECIPIENTS][HAVEN_ID_MAX];
	uint8_t *env;
	size_t env_len;
} group;

typedef struct msend {
	haven__agent *a;
	const haven_pseudonym_key *pk;
	haven_marac_msg *m;
	size_t n;
	group g[MAX_ENVS];
	haven__wait waits[MAX_ENVS];
	haven_header hdr;            /* scratch for sealing */
} msend;

/* A refusal before anything was sent: what out_fail reports. */
typedef struct merr {
	haven_err code;
	char field[96];
	char rule[24];
	char why[256];
} merr;

/* ------------------------------------------------------------ helpers */

bool
haven__agt_marac_type(uint32_t type)
{
	return ((type >= HAVEN_MSG_MARAC_REFERRAL &&
	    type <= HAVEN_MSG_DAPP_ACTION_PLAN) ||
	    type == HAVEN_MSG_CONSENT_DECISION);
}

/* "R10: ..." or "M5-age: ..." -> the rule id; "" when none is named. */
static void
rule_of(const char *why, char *rule, size_t len)
{
	size_t n = 0;

	rule[0] = '\0';
	if ((why[0] != 'R' && why[0] != 'M') || why[1] < '0' || why[1] > '9') {
		return;
	}
	while (n + 1 < len && why[n] != '\0' && why[n] != ':' &&
	    why[n] != ' ' && (why[n] == '-' || (why[n] >= '0' &&
	    why[n] <= '9') || (why[n] >= 'A' && why[n] <= 'Z') ||
	    (why[n] >= 'a' && why[n] <= 'z'))) {
		n++;
	}
	if (why[n] == ':' || why[n] == ' ' || why[n] == '\0') {
		memcpy(rule, why, n);
		rule[n] = '\0';
	}
}

int
haven__agt_marac_pk(haven__agent *a, haven_pseudonym_key **pk)
{
	char err[256] = "";
	haven_err rv;

	if (a->cfg.pseudonym_key[0] == '\0') {
		return (haven__agt_out_fail(&a->out, HAVEN_EINVAL, 2,
		    "pseudonym_key", NULL, "config names no pseudonym key"));
	}
	rv = haven_pseudonym_key_load(pk, a->cfg.pseudonym_key, err,
	    sizeof(err));
	if (rv != HAVEN_OK) {
		return (haven__agt_out_fail(&a->out, rv, 1, "pseudonym_key",
		    NULL, "%s", err[0] != '\0' ? err : "cannot load"));
	}
	return (0);
}

/* ------------------------------------------------------------ grouping */

static bool
has_id(const group *g, const char *id)
{
	for (size_t i = 0; i < g->n_rcpt; i++) {
		if (strcmp(g->rcpt[i], id) == 0) {
			return (true);
		}
	}
	return (false);
}

/* Recipients view `v` would add to group `g`. */
static size_t
new_rcpts(const group *g, const haven_marac_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n_recipients; i++) {
		n += !has_id(g, v->recipients[i]);
	}
	return (n);
}

static void
add_view(group *g, const haven_marac_view *v)
{
	for (size_t i = 0; i < v->n_recipients; i++) {
		if (!has_id(g, v->recipients[i])) {
			(void) snprintf(g->rcpt[g->n_rcpt++], HAVEN_ID_MAX, "%s",
			    v->recipients[i]);
		}
	}
	g->count++;
}

/* Greedy: a view joins the current envelope while it stays within
 * HAVEN_MAX_VIEWS views and HAVEN_MAX_RECIPIENTS recipients. */
static void
plan_groups(msend *s)
{
	group *g = NULL;

	s->n = 0;
	for (size_t v = 0; v < s->m->n_views; v++) {
		const haven_marac_view *mv = &s->m->views[v];

		if (g == NULL || g->count >= HAVEN_MAX_VIEWS ||
		    g->n_rcpt + new_rcpts(g, mv) > HAVEN_MAX_RECIPIENTS) {
			g = &s->g[s->n++];
			g->first = v;
		}
		add_view(g, mv);
	}
}

/* ------------------------------------------------------------ sealing */

void
haven__agt_marac_header(haven_header *h, const haven_marac_msg *m,
    const haven_pseudonym_key *pk)
{
	if (m->case_ref[0] != '\0') {
		h->has_case = true;
		haven_pseudonym_case(h->case_pseud, pk, m->case_ref);
	}
	for (size_t i = 0; i < m->n_subjects && i < HAVEN_MAX_SUBJECTS; i++) {
		haven_pseudonym_person(h->subject_pseuds[h->n_subjects++], pk,
		    m->subjects[i].name, m->subjects[i].dob);
	}
	(void) snprintf(h->legal_basis, HAVEN_CODE_MAX, "%s", m->legal_basis);
	(void) snprintf(h->purpose, HAVEN_CODE_MAX, "%s", m->purpose);
	h->n_tags = m->n_tags;
	memcpy(h->tags, m->tags, m->n_tags * sizeof(m->tags[0]));
	h->created_ms = haven__now_ms();
	h->occurred_ms = m->occurred_ms;
	h->has_reply_to = m->has_reply_to;
	memcpy(h->in_reply_to, m->in_reply_to, HAVEN_MSGID_BYTES);
}

static void
fill_header(msend *s, const group *g, uint64_t seq)
{
	haven_header *h = &s->hdr;

	memset(h, 0, sizeof(*h));
	h->seq = seq;
	h->type = s->m->type;
	h->n_recipients = g->n_rcpt;
	memcpy(h->recipients, g->rcpt, sizeof(g->rcpt));
	haven__agt_marac_header(h, s->m, s->pk);
}

static haven_err
seal_group(msend *s, size_t gi, uint64_t seq, char *err, size_t errlen)
{
	group *g = &s->g[gi];
	haven_view_in in[HAVEN_MAX_VIEWS];
	const char *rc[HAVEN_MAX_VIEWS][HAVEN_MAX_RECIPIENTS];
	haven_err rv;

	fill_header(s, g, seq);
	for (size_t k = 0; k < g->count; k++) {
		const haven_marac_view *v = &s->m->views[g->first + k];

		for (size_t r = 0; r < v->n_recipients; r++) {
			rc[k][r] = v->recipients[r];
		}
		in[k].profile = v->profile;
		in[k].recipients = rc[k];
		in[k].n_recipients = v->n_recipients;
		in[k].payload = v->payload;
		in[k].payload_len = v->payload_len;
	}
	rv = haven_envelope_seal(&s->hdr, false, in, g->count, s->a->keys,
	    s->a->dir, &g->env, &g->env_len, err, errlen);
	if (rv == HAVEN_OK) {
		memcpy(s->waits[gi].msg_id, s->hdr.msg_id, HAVEN_MSGID_BYTES);
	}
	return (rv);
}

/* Seal every envelope and write them all to the outbox. */
static haven_err
build_all(msend *s, merr *e)
{
	haven__outbox_item out[MAX_ENVS];
	uint64_t seq = 0;
	haven_err rv;

	plan_groups(s);
	if (s->n == 0) {
		(void) snprintf(e->why, sizeof(e->why), "no recipients");
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__agt_store_reserve_seq(s->a->store, s->n, &seq)) !=
	    HAVEN_OK) {
		(void) snprintf(e->field, sizeof(e->field), "data_dir");
		(void) snprintf(e->why, sizeof(e->why), "cannot reserve "
		    "sequence numbers");
		return (rv);
	}
	for (size_t i = 0; i < s->n; i++) {
		if ((rv = seal_group(s, i, seq + i, e->why, sizeof(e->why))) !=
		    HAVEN_OK) {
			(void) snprintf(e->field, sizeof(e->field), "recipients");
			return (rv);
		}
		out[i].msg_id = s->waits[i].msg_id;
		out[i].envelope = s->g[i].env;
		out[i].envelope_len = s->g[i].env_len;
	}
	if ((rv = haven__agt_store_outbox_add(s->a->store, out, s->n)) !=
	    HAVEN_OK) {
		(void) snprintf(e->field, sizeof(e->field), "data_dir");
		(void) snprintf(e->why, sizeof(e->why), "cannot write the outbox; "
		    "nothing was sent");
	}
	return (rv);
}

/* ------------------------------------------------------------ report */

static json_t *
ids_json(const char (*ids)[HAVEN_ID_MAX], size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		(void) json_array_append_new(arr, json_string(ids[i]));
	}
	return (arr);
}

static json_t *
views_json(const msend *s, const group *g)
{
	json_t *arr = json_array();

	for (size_t k = 0; arr != NULL && k < g->count; k++) {
		const haven_marac_view *v = &s->m->views[g->first + k];

		(void) json_array_append_new(arr, json_pack("{s:s, s:o}",
		    "profile", v->profile, "recipients",
		    ids_json((const char (*)[HAVEN_ID_MAX]) v->recipients,
		    v->n_recipients)));
	}
	return (arr);
}

static json_t *
message_json(const msend *s, size_t i)
{
	const group *g = &s->g[i];
	char hex[33];

	return (haven__agt_wait_json(json_pack("{s:s, s:s, s:o, s:o}",
	    "msg_id", haven__agt_idhex(hex, s->waits[i].msg_id), "type",
	    haven_msg_type_name(s->m->type), "recipients",
	    ids_json((const char (*)[HAVEN_ID_MAX]) g->rcpt, g->n_rcpt),
	    "views", views_json(s, g)), &s->waits[i]));
}

/* The report document and the exit code (0, 2 rejected, 1 pending). */
static int
report_json(const msend *s, json_t **doc)
{
	size_t n_rej = 0, n_pend = 0;
	json_t *arr = json_array();

	for (size_t i = 0; i < s->n; i++) {
		n_rej += s->waits[i].state == HAVEN__W_REJECTED;
		n_pend += s->waits[i].state == HAVEN__W_PENDING ||
		    s->waits[i].state == HAVEN__W_DEFERRED;
		if (arr != NULL) {
			(void) json_array_append_new(arr, message_json(s, i));
		}
	}
	*doc = json_pack("{s:b, s:s, s:s, s:o, s:I, s:I, s:I}", "ok",
	    n_rej + n_pend == 0, "command", s->a->out.cmd != NULL ?
	    s->a->out.cmd : "marac", "type", haven_msg_type_name(s->m->type),
	    "messages", arr, "receipted",
	    (json_int_t) (s->n - n_rej - n_pend), "rejected",
	    (json_int_t) n_rej, "pending", (json_int_t) n_pend);
	if (n_rej > 0) {
		return (HAVEN__EXIT_REFUSED);
	}
	return (n_pend > 0 ? HAVEN__EXIT_ERROR : HAVEN__EXIT_OK);
}

/* --check's report: the views that would be sent. */
static void
print_check(const json_t *doc)
{
	const json_t *v;
	size_t i;

	(void) printf("%s: valid (every rule checked here); nothing sent\n",
	    json_string_value(json_object_get(doc, "type")));
	json_array_foreach(json_object_get(doc, "views"), i, v) {
		(void) printf("  view %-16s  %zu recipient(s)\n",
		    json_string_value(json_object_get(v, "profile")),
		    json_array_size(json_object_get(v, "recipients")));
	}
}

static void
print_text(const json_t *doc)
{
	const json_t *m, *r;
	size_t i;

	if (json_is_true(json_object_get(doc, "checked"))) {
		print_check(doc);
		return;
	}
	(void) printf("%-32s  %-22s  %-8s  %s\n", "MSG ID", "TYPE",
	    "RCPTS", "RESULT");
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		const char *st = json_string_value(json_object_get(m,
		    "status"));

		(void) printf("%-32s  %-22s  %-8zu  ",
		    json_string_value(json_object_get(m, "msg_id")),
		    json_string_value(json_object_get(m, "type")),
		    json_array_size(json_object_get(m, "recipients")));
		if (strcmp(st, "receipted") == 0) {
			r = json_object_get(m, "receipt");
			(void) printf("receipt audit_seq=%lld accepted=%s\n",
			    (long long) json_integer_value(json_object_get(r,
			    "audit_seq")), json_string_value(json_object_get(r,
			    "accepted")));
		} else if (strcmp(st, "rejected") == 0) {
			r = json_object_get(m, "reject");
			(void) printf("REJECTED %s rule=%s: %s\n",
			    json_string_value(json_object_get(r, "code")),
			    json_string_value(json_object_get(r, "rule")),
			    json_string_value(json_object_get(r, "reason")));
		} else {
			(void) printf("PENDING (no receipt yet: not sent)\n");
		}
	}
}

/* ------------------------------------------------------------ sending */

static void
send_all(msend *s)
{
	haven__session sess;
	haven_err rv;

	if ((rv = haven__agent_connect(s->a)) != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-CONNECT", "code=%s",
		    haven_err_name(rv));
		return;
	}
	haven__agt_session_init(&sess, s->a, false, s->waits, s->n);
	rv = haven__agt_send_and_wait(&sess, s->a->cfg.timeout_ms);
	if (rv != HAVEN_OK && rv != HAVEN_ETIMEDOUT) {
		haven__agt_log("HAVEN-AGT-SEND", "code=%s", haven_err_name(rv));
	}
}

static void
msend_free(msend *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < MAX_ENVS; i++) {
		free(s->g[i].env);
	}
	haven_marac_msg_free(&s->m);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

static int
build_msg(msend *s, uint32_t type, const char *json, size_t len,
    bool check, merr *e)
{
	char why[256] = "";

	e->code = haven_marac_from_json_ex(type, json, len, s->a->cfg.agency,
	    s->a->dir, haven_policy_marac_settings(s->a->policy),
	    haven__now_ms(), check ? HAVEN_MARAC_CHECK_ALL :
	    HAVEN_MARAC_DEFER_BROKER, &s->m, e->field, sizeof(e->field), why,
	    sizeof(why));
	if (e->code == HAVEN_OK) {
		return (0);
	}
	(void) snprintf(e->why, sizeof(e->why), "%s", why[0] != '\0' ? why :
	    haven_strerror(e->code));
	rule_of(e->why, e->rule, sizeof(e->rule));
	return (e->code == HAVEN_ENOMEM ? 1 : haven__agt_exit_code(e->code));
}

/* --check: what would be sent (views, recipients, criteria tags). */
static json_t *
check_json(const msend *s)
{
	json_t *views = json_array(), *tags = json_object();

	for (size_t v = 0; views != NULL && v < s->m->n_views; v++) {
		const haven_marac_view *mv = &s->m->views[v];

		(void) json_array_append_new(views, json_pack("{s:s, s:o}",
		    "profile", mv->profile, "recipients", ids_json(
		    (const char (*)[HAVEN_ID_MAX]) mv->recipients,
		    mv->n_recipients)));
	}
	for (size_t i = 0; tags != NULL && i < s->m->n_tags; i++) {
		(void) json_object_set_new(tags, s->m->tags[i].key,
		    json_string(s->m->tags[i].value));
	}
	return (json_pack("{s:b, s:s, s:s, s:b, s:b, s:o, s:o}", "ok", 1,
	    "command", s->a->out.cmd != NULL ? s->a->out.cmd : "marac",
	    "type", haven_msg_type_name(s->m->type), "checked", 1, "sent", 0,
	    "views", views, "tags", tags));
}

/* --check after a successful build: the report, nothing sent. */
static int
checked(const msend *s, json_t **doc, merr *e)
{
	if ((*doc = check_json(s)) == NULL) {
		e->code = HAVEN_ENOMEM;
		(void) snprintf(e->why, sizeof(e->why), "out of memory");
		return (1);
	}
	return (0);
}

/* Seal, outbox, send a built message; the report and its exit code. */
static int
seal_send(msend *s, json_t **doc, merr *e, uint8_t *sent)
{
	int ec;

	if ((e->code = build_all(s, e)) != HAVEN_OK) {
		return (1); /* sealing or storing: not the input's fault */
	}
	send_all(s);
	ec = report_json(s, doc);
	if (ec == 0 && sent != NULL) {
		memcpy(sent, s->waits[0].msg_id, HAVEN_MSGID_BYTES);
	}
	return (ec);
}

/*
 * Build, outbox, send (with `check`: build with every rule and report,
 * nothing sealed or sent). On a refusal before sending, *doc is NULL and
 * `e` says why; otherwise *doc is the report. Returns the exit code.
 */
static int
marac_send(haven__agent *a, const haven_pseudonym_key *pk, uint32_t type,
    const char *json, size_t len, bool check, json_t **doc, merr *e,
    uint8_t *sent)
{
	msend *s = calloc(1, sizeof(*s));
	int ec;

	*doc = NULL;
	memset(e, 0, sizeof(*e));
	if (s == NULL) {
		e->code = HAVEN_ENOMEM;
		(void) snprintf(e->why, sizeof(e->why), "out of memory");
		return (1);
	}
	s->a = a;
	s->pk = pk;
	if ((ec = build_msg(s, type, json, len, check, e)) == 0) {
		ec = check ? checked(s, doc, e) : seal_send(s, doc, e, sent);
	}
	msend_free(s);
	return (ec);
}

static int
emit(haven__agent *a, int ec, json_t *doc, const merr *e)
{
	if (doc == NULL) {
		return (haven__agt_out_fail(&a->out, e->code, ec,
		    e->field[0] != '\0' ? e->field : NULL,
		    e->rule[0] != '\0' ? e->rule : NULL, "%s", e->why));
	}
	if (a->out.json) {
		haven__agt_out_json(doc);
	} else {
		print_text(doc);
		json_decref(doc);
	}
	return (ec);
}

/* Send `json` as `type`, or only check it; report. */
static int
send_or_check(haven__agent *a, const haven_pseudonym_key *pk,
    uint32_t type, const char *json, size_t len, bool check, uint8_t *sent)
{
	json_t *doc = NULL;
	merr e;
	int ec;

	ec = marac_send(a, pk, type, json, len, check, &doc, &e, sent);
	return (emit(a, ec, doc, &e));
}

int
haven__agt_marac_send_json(haven__agent *a, const haven_pseudonym_key *pk,
    uint32_t type, const char *json, size_t len, uint8_t *sent)
{
	return (send_or_check(a, pk, type, json, len, false, sent));
}

static int
submit(haven__agent *a, uint32_t type, const char *path, bool check)
{
	haven_pseudonym_key *pk = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;
	int ec;

	rv = haven__read_file(path, HAVEN_JSON_MAX, &buf, &len);
	if (rv != HAVEN_OK) {
		return (haven__agt_out_fail(&a->out, rv, rv == HAVEN_EMSGSIZE ?
		    2 : 1, "input", NULL, "cannot read the input file"));
	}
	if ((ec = haven__agt_marac_pk(a, &pk)) == 0) {
		ec = send_or_check(a, pk, type, (const char *) buf, len, check,
		    NULL);
	}
	haven_pseudonym_key_destroy(&pk);
	haven__agt_free_wiped(buf, len);
	return (ec);
}

int
haven__agt_marac_submit(haven__agent *a, uint32_t type, const char *path)
{
	return (submit(a, type, path, false));
}

int
haven__agt_marac_run(haven__agent *a, uint32_t type, const haven__args *args)
{
	return (submit(a, type, args->pos[2], args->check));
}

/* ------------------------------------------------------------ commands */

int
haven__agt_cmd_marac_refer(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_MARAC_REFERRAL, args));
}

int
haven__agt_cmd_marac_consent(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_CONSENT_DECISION, args));
}

int
haven__agt_cmd_marac_research(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_MARAC_RESEARCH_RETURN,
	    args));
}

int
haven__agt_cmd_marac_plan(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_MARAC_ACTION_PLAN, args));
}

int
haven__agt_cmd_marac_update(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_ACTION_UPDATE, args));
}

int
haven__agt_cmd_marac_flag(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_REPEAT_INCIDENT_FLAG,
	    args));
}

/* ------------------------------------------------------------ payloads */

static const struct {
	uint32_t type;
	const char *profiles[2];
} type_profiles[] = {
	{ HAVEN_MSG_MARAC_REFERRAL, { "marac.referral", "marac.m6" } },
	{ HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, { "marac.m6", NULL } },
	{ HAVEN_MSG_MARAC_CASE_LIST, { "marac.caselist", NULL } },
	{ HAVEN_MSG_MARAC_RESEARCH_RETURN, { "marac.research", NULL } },
	{ HAVEN_MSG_MARAC_ACTION_PLAN, { "marac.plan", "marac.plan.edu" } },
	{ HAVEN_MSG_ACTION_UPDATE, { "marac.update", NULL } },
	{ HAVEN_MSG_REPEAT_INCIDENT_FLAG, { "marac.repeat", NULL } },
	{ HAVEN_MSG_DAPP_REFERRAL, { "dapp.referral", NULL } },
	{ HAVEN_MSG_DAPP_BUNDLE, { "dapp.bundle", NULL } },
	{ HAVEN_MSG_DAPP_ACTION_PLAN, { "dapp.plan", NULL } },
	{ HAVEN_MSG_CONSENT_DECISION, { "marac.consent", NULL } },
};

/* The profile of the first view addressed to `me` (the one
 * haven_envelope_open opens), or NULL. */
static const char *
my_profile(const haven_header *h, const char *me)
{
	size_t r = 0;

	while (r < h->n_recipients && strcmp(h->recipients[r], me) != 0) {
		r++;
	}
	for (size_t v = 0; r < h->n_recipients && v < h->n_views; v++) {
		for (size_t k = 0; k < h->views[v].n_recipients; k++) {
			if (h->views[v].recipients[k] == r) {
				return (h->views[v].profile);
			}
		}
	}
	return (NULL);
}

haven_err
haven__agt_marac_payload_check(const haven_header *hdr, const char *me,
    const uint8_t *payload, size_t len)
{
	const char *profile = my_profile(hdr, me);
	char why[128] = "";
	haven_err rv;

	if (profile == NULL) {
		return (HAVEN_EINVAL);
	}
	rv = haven_marac_verify_payload(hdr, profile, payload, len, why,
	    sizeof(why));
	if (rv == HAVEN_OK) {
		return (HAVEN_OK);
	}
	return (rv == HAVEN_EVALIDATE || rv == HAVEN_EINVAL ? HAVEN_EINVAL :
	    HAVEN_EDECODE);
}

haven_err
haven__agt_marac_payload_json(uint32_t type, const uint8_t *payload,
    size_t len, char **out)
{
	haven_err rv = HAVEN_ENOTFOUND;

	for (size_t i = 0; i < sizeof(type_profiles) /
	    sizeof(type_profiles[0]); i++) {
		if (type_profiles[i].type != type) {
			continue;
		}
		for (size_t k = 0; k < 2 && type_profiles[i].profiles[k] !=
		    NULL; k++) {
			rv = haven_marac_payload_to_json(type,
			    type_profiles[i].profiles[k], payload, len, out);
			if (rv == HAVEN_OK || rv == HAVEN_ENOMEM) {
				return (rv);
			}
		}
		return (HAVEN_EDECODE);
	}
	return (rv);
}

/* ------------------------------------------------------------ caselist */

#define CASELIST_MAX 256 /* cases listed for one meeting (about 6 a day) */

typedef struct cl_ctx {
	int64_t day;
	haven__case *v;
	size_t n;
} cl_ctx;

static bool
cl_pick(void *vctx, const haven__case *c)
{
	cl_ctx *l = vctx;

	if (c->has_referral && c->meeting_ms != 0 &&
	    haven_london_days(c->meeting_ms) == l->day && l->n < CASELIST_MAX) {
		l->v[l->n++] = *c;
	}
	return (true);
}

/* R14: every agency that signed the ISP, except ourselves. */
static json_t *
isp_recipients(const haven__agent *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < haven_directory_count(a->dir);
	    i++) {
		const haven_agency *ag = haven_directory_at(a->dir, i);
		const char *isp = haven_agency_attr(ag, "isp");

		if (!ag->revoked && isp != NULL && strcmp(isp, "signed") == 0 &&
		    strcmp(ag->id, a->cfg.agency) != 0) {
			(void) json_array_append_new(arr, json_string(ag->id));
		}
	}
	return (arr);
}

/* The stored referral of case `c`, decrypted and rendered. */
static haven_err
referral_of(haven__agent *a, const haven__case *c, json_t **out)
{
	haven_envelope *env = NULL;
	haven__inbox_rec rec;
	char profile[HAVEN_CODE_MAX];
	uint8_t *payload = NULL;
	size_t plen = 0;
	char *text = NULL;
	haven_err rv;

	*out = NULL;
	if ((rv = haven__agt_store_inbox_get(a->store, c->referral_id,
	    &rec)) != HAVEN_OK) {
		return (rv);
	}
	if (!rec.verified || haven_envelope_decode(&env, rec.envelope,
	    rec.envelope_len) != HAVEN_OK) {
		rv = HAVEN_ESTATE;
	} else if ((rv = haven_envelope_open(env, a->keys, profile, &payload,
	    &plen)) == HAVEN_OK && (rv = haven_marac_payload_to_json(
	    env->hdr.type, profile, payload, plen, &text)) == HAVEN_OK &&
	    (*out = json_loads(text, 0, NULL)) == NULL) {
		rv = HAVEN_EDECODE;
	}
	if (text != NULL) {
		haven__agt_free_wiped(text, strlen(text));
	}
	haven__agt_free_wiped(payload, plen);
	haven_envelope_destroy(&env);
	haven__agt_inbox_rec_release(&rec);
	return (rv);
}

/* {"name", "dob", "address"} of a person in the referral (no more). */
static json_t *
listed(const json_t *p, bool with_address)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *dob = json_string_value(json_object_get(p, "dob"));
	const char *addr = json_string_value(json_object_get(p, "address"));
	json_t *o = json_pack("{s:s}", "name", name != NULL ? name : "");

	if (o != NULL && dob != NULL && dob[0] != '\0') {
		(void) json_object_set_new(o, "dob", json_string(dob));
	}
	if (o != NULL && with_address && addr != NULL && addr[0] != '\0') {
		(void) json_object_set_new(o, "address", json_string(addr));
	}
	return (o);
}

/*
 * The M7 input for one case: names, dates of birth and addresses of the
 * victim, perpetrator and children, and the repeat flag, from the
 * referral. Nothing else is copied: no DASH, criteria, consent reasons,
 * fears, contacts or incident narrative (domain.md M7).
 */
static json_t *
caselist_input(const haven__agent *a, const haven__case *c,
    const json_t *ref, const char *date)
{
	const json_t *ch;
	json_t *kids = json_array(), *o;
	size_t i;

	json_array_foreach(json_object_get(ref, "children"), i, ch) {
		(void) json_array_append_new(kids, listed(ch, false));
	}
	o = json_pack("{s:O, s:s, s:o, s:o, s:o, s:b, s:o, s:b, s:b}",
	    "case_ref", json_object_get(ref, "case_ref"), "meeting_date", date,
	    "victim", listed(json_object_get(ref, "victim"), true),
	    "perpetrator", listed(json_object_get(ref, "perpetrator"), true),
	    "children", kids, "repeat", c->repeat, "to", isp_recipients(a),
	    "consent", c->consent == HAVEN__CONSENT_GIVEN, "m6_recorded",
	    c->m6);
	return (o);
}

/* The case reference in the referral must be the indexed case's. */
static bool
same_case(const haven_pseudonym_key *pk, const json_t *ref,
    const haven__case *c)
{
	const char *cr = json_string_value(json_object_get(ref, "case_ref"));
	uint8_t h[HAVEN_HASH_BYTES];

	if (cr == NULL) {
		return (false);
	}
	haven_pseudonym_case(h, pk, cr);
	return (sodium_memcmp(h, c->case_pseud, HAVEN_HASH_BYTES) == 0);
}

static json_t *
err_json(const merr *e)
{
	return (json_pack("{s:s, s:o, s:o, s:s}", "code",
	    haven_err_name(e->code), "field", e->field[0] != '\0' ?
	    json_string(e->field) : json_null(), "rule", e->rule[0] != '\0' ?
	    json_string(e->rule) : json_null(), "reason", e->why));
}

/* Send the M7 of one case; returns its exit code and its JSON entry. */
static int
caselist_one(haven__agent *a, const haven_pseudonym_key *pk, haven__case *c,
    const char *date, bool check, json_t **entry)
{
	json_t *ref = NULL, *in = NULL, *doc = NULL;
	char *text = NULL;
	merr e;
	int ec = 1;

	memset(&e, 0, sizeof(e));
	if ((e.code = referral_of(a, c, &ref)) != HAVEN_OK ||
	    !same_case(pk, ref, c)) {
		e.code = e.code != HAVEN_OK ? e.code : HAVEN_ECORRUPT;
		(void) snprintf(e.why, sizeof(e.why), "the stored referral "
		    "cannot be read for this case");
	} else if ((in = caselist_input(a, c, ref, date)) == NULL ||
	    (text = json_dumps(in, JSON_COMPACT)) == NULL) {
		e.code = HAVEN_ENOMEM;
		(void) snprintf(e.why, sizeof(e.why), "out of memory");
	} else {
		ec = marac_send(a, pk, HAVEN_MSG_MARAC_CASE_LIST, text,
		    strlen(text), check, &doc, &e, c->caselist_id);
	}
	if (ec == 0 && !check) {
		c->has_caselist = true;
		c->caselist_meeting_ms = c->meeting_ms;
		if (haven__agt_case_put(a, NULL, c) != HAVEN_OK) {
			haven__agt_log("HAVEN-AGT-CASESTORE", "caselist=sent");
		}
	}
	*entry = doc != NULL ? doc : json_pack("{s:b, s:o}", "ok", 0,
	    "error", err_json(&e));
	if (text != NULL) {
		haven__agt_free_wiped(text, strlen(text));
	}
	json_decref(in);
	json_decref(ref);
	return (ec);
}

static json_t *
case_entry(const haven__case *c, const char *status, json_t *result)
{
	char hex[2 * HAVEN_HASH_BYTES + 1], id[33];

	haven__hex_encode(hex, c->case_pseud, HAVEN_HASH_BYTES);
	return (json_pack("{s:s, s:s, s:b, s:s, s:o}", "case", hex, "status",
	    status, "repeat", c->repeat, "msg_id",
	    c->has_caselist && c->caselist_meeting_ms == c->meeting_ms ?
	    haven__agt_idhex(id, c->caselist_id) : "",
	    "result", result != NULL ? result : json_null()));
}

static void
print_caselist(const json_t *doc)
{
	const json_t *e;
	size_t i;

	(void) printf("meeting %s: %lld case(s)\n%-64s  %-12s  %-6s  %s\n",
	    json_string_value(json_object_get(doc, "meeting")),
	    (long long) json_array_size(json_object_get(doc, "cases")),
	    "CASE", "STATUS", "REPEAT", "CASE LIST MSG ID");
	json_array_foreach(json_object_get(doc, "cases"), i, e) {
		(void) printf("%-64s  %-12s  %-6s  %s\n",
		    json_string_value(json_object_get(e, "case")),
		    json_string_value(json_object_get(e, "status")),
		    json_is_true(json_object_get(e, "repeat")) ? "REPEAT" : "-",
		    json_string_value(json_object_get(e, "msg_id")));
	}
}

static const char *
status_of(int ec, bool check)
{
	if (ec == 0) {
		return (check ? "valid" : "sent");
	}
	return (ec == 2 ? "refused" : "not-sent");
}

/* Send (or check) every case of the meeting; the worst exit code wins
 * (2 > 1). */
static int
caselist_send(haven__agent *a, const haven_pseudonym_key *pk, cl_ctx *l,
    const char *date, bool check, json_t *arr)
{
	int worst = 0;

	for (size_t i = 0; i < l->n; i++) {
		haven__case *c = &l->v[i];
		json_t *res = NULL;
		int ec;

		if (c->has_caselist && c->caselist_meeting_ms == c->meeting_ms) {
			(void) json_array_append_new(arr, case_entry(c,
			    "already-sent", NULL));
			continue;
		}
		ec = caselist_one(a, pk, c, date, check, &res);
		(void) json_array_append_new(arr, case_entry(c,
		    status_of(ec, check), res));
		worst = ec == 2 || worst == 2 ? 2 : (ec != 0 ? ec : worst);
	}
	return (worst);
}

int
haven__agt_cmd_marac_caselist(haven__agent *a, const haven__args *args)
{
	haven_pseudonym_key *pk = NULL;
	cl_ctx l = { 0, NULL, 0 };
	size_t indexed = 0;
	bool given = false;
	json_t *arr = NULL, *doc;
	haven_err rv;
	int ec;

	if ((ec = haven__agt_meeting_arg(a, args->meeting, true, &given,
	    &l.day)) != 0 || (ec = haven__agt_cases_prepare(a, &pk,
	    &indexed)) != 0) {
		goto out;
	}
	if ((l.v = calloc(CASELIST_MAX, sizeof(*l.v))) == NULL ||
	    (arr = json_array()) == NULL) {
		ec = haven__agt_out_fail(&a->out, HAVEN_ENOMEM, 1, NULL, NULL,
		    "out of memory");
		goto out;
	}
	if ((rv = haven__agt_cases_each(a, cl_pick, &l)) != HAVEN_OK) {
		ec = haven__agt_out_fail(&a->out, rv, 1, "data_dir", NULL,
		    "cannot read the case index");
		goto out;
	}
	ec = caselist_send(a, pk, &l, args->meeting, args->check, arr);
	doc = json_pack("{s:b, s:s, s:s, s:I, s:O}", "ok", ec == 0,
	    "command", "marac caselist", "meeting", args->meeting, "indexed",
	    (json_int_t) indexed, "cases", arr);
	if (a->out.json) {
		haven__agt_out_json(doc);
	} else {
		print_caselist(doc);
		json_decref(doc);
	}
out:
	json_decref(arr);
	free(l.v);
	haven_pseudonym_key_destroy(&pk);
	return (ec);
}

haven_err
haven__agt_marac_case_check(const haven__agent *a, const haven_header *hdr,
    const uint8_t *payload, size_t len)
{
	uint8_t want[HAVEN_HASH_BYTES];
	const char *ref;
	char *text = NULL;
	json_t *o = NULL;
	haven_err rv = HAVEN_EINVAL;

	if (!haven__agt_marac_type(hdr->type) || a->pseudonym == NULL) {
		return (HAVEN_OK);
	}
	if (!hdr->has_case || haven__agt_marac_payload_json(hdr->type,
	    payload, len, &text) != HAVEN_OK ||
	    (o = json_loads(text, 0, NULL)) == NULL) {
		goto out;
	}
	ref = json_string_value(json_object_get(o, "case_ref"));
	if (ref != NULL) {
		haven_pseudonym_case(want, a->pseudonym, ref);
		rv = sodium_memcmp(want, hdr->case_pseud, HAVEN_HASH_BYTES) ==
		    0 ? HAVEN_OK : HAVEN_EINVAL;
	}
out:
	json_decref(o);
	if (text != NULL) {
		haven__agt_free_wiped(text, strlen(text));
	}
	return (rv);
}
