/*
 * lib/policy.c: the sharing policy and its evaluator (see haven/policy.h).
 *
 * Like the directory, the policy has two readers (JSON source, protobuf
 * body of a signed document) that feed the same per-entry functions
 * (cond_add, tag_add) and end in the same validate(): the admin key cannot
 * sign a rule the JSON loader would refuse.
 *
 * A list condition keeps its entries as written ('!' included) so that the
 * signed form is rebuilt byte for byte, plus a negate flag (all entries
 * agree: mixed lists are refused) and, for "types", the parsed type values.
 *
 * "recipient_attrs" pairs are kept as written too ("!v" included) and
 * matched against the recipient agency's directory attrs, which
 * check_header passes in. The settings sections live in
 * policy_settings.c; validate() runs their validation as well.
 *
 * Evaluation is first match in rule order, deny by default. It is pure:
 * no allocation, no locks, safe from many threads on one loaded policy.
 * check_header is all or nothing: the first refused (view, recipient)
 * decides, and the header must describe every recipient in some view, or
 * a recipient could receive a message no rule was asked about.
 * Decisions carry codes and rule ids only, never personal data.
 */
#include "haven/policy.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
#include "haven.pb-c.h"
#include "jsonutil.h"
#include "policy_settings.h"
#include "util.h"

#define KIND "policy"
#define ENTRY_MAX (HAVEN_CODE_MAX + 1) /* '!' + code + NUL */
#define SKEW_DEFAULT 300
#define SKEW_MAX 86400

enum { C_SENDER, C_RECIPIENT, C_TYPES, C_BASES, C_PROFILES, C_COUNT };
enum { K_ROLE, K_TYPE, K_CODE };

static const struct {
	const char *name;
	int kind;
} conds[C_COUNT] = {
	[C_SENDER] = {"sender_roles", K_ROLE},
	[C_RECIPIENT] = {"recipient_roles", K_ROLE},
	[C_TYPES] = {"types", K_TYPE},
	[C_BASES] = {"legal_bases", K_CODE},
	[C_PROFILES] = {"profiles", K_CODE},
};

typedef struct cond {
	bool negate;
	size_t n; /* 0: absent, matches anything */
	char raw[HAVEN_POLICY_LIST_MAX][ENTRY_MAX];
	uint32_t type[HAVEN_POLICY_LIST_MAX];
} cond;

typedef struct rule {
	char id[HAVEN_RULE_ID_MAX];
	bool allow;
	cond c[C_COUNT];
	size_t n_tags;
	haven_tag tags[HAVEN_MAX_TAGS];
	size_t n_attrs; /* recipient_attrs; values as written, '!' kept */
	haven_tag attrs[HAVEN_MAX_TAGS];
	char reason[HAVEN_REASON_MAX];
} rule;

/* The two pair sets of a rule: what the readers call them. */
enum { S_TAGS, S_ATTRS };
static const struct {
	const char *member; /* JSON member */
	const char *noun;   /* in messages */
} sets[2] = {
	[S_TAGS] = {"tags", "tag"},
	[S_ATTRS] = {"recipient_attrs", "attr"},
};

struct haven_policy {
	uint64_t version;
	int64_t issued_ms;
	int64_t skew_s;
	size_t n;
	rule *rules;
	haven__policy_settings set;
};

/* ------------------------------------------------------- allocation */

static haven_err
policy_new(haven_policy **out, size_t n_rules)
{
	haven_policy *p;

	if (n_rules > HAVEN_MAX_RULES) {
		return (HAVEN_EMSGSIZE);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((p->rules = calloc(n_rules > 0 ? n_rules : 1,
	         sizeof(*p->rules))) == NULL) {
		free(p);
		return (HAVEN_ENOMEM);
	}
	p->skew_s = SKEW_DEFAULT;
	p->set = *haven__policy_settings_default();
	*out = p;
	return (HAVEN_OK);
}

void
haven_policy_destroy(haven_policy **p)
{
	if (p == NULL || *p == NULL) {
		return;
	}
	free((*p)->rules);
	free(*p);
	*p = NULL;
}

/* ------------------------------------------------- entry validation */

static haven_err
bad(char *err, size_t errlen, const char *where, const char *what)
{
	haven__errf(err, errlen, "%s: %s", where, what);
	return (HAVEN_EINVAL);
}

/* A code: 1..HAVEN_CODE_MAX-1 printable ASCII, not starting with '!'. */
static bool
code_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max || s[0] == '!') {
		return (false);
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e) {
			return (false);
		}
	}
	return (true);
}

static bool
text_ok(const char *s)
{
	for (const char *c = s; *c != '\0'; c++) {
		if ((unsigned char) *c < 0x20 || *c == 0x7f) {
			return (false);
		}
	}
	return (haven__utf8_valid(s));
}

static haven_err
entry_check(int kind, const char *v, uint32_t *type, const char *where,
    char *err, size_t errlen)
{
	switch (kind) {
	case K_ROLE:
		if (!haven_role_valid(v)) {
			haven__errf(err, errlen, "%s: unknown role '%s'", where,
			    v);
			return (HAVEN_EINVAL);
		}
		return (HAVEN_OK);
	case K_TYPE:
		if (haven_msg_type_parse(v, type) != HAVEN_OK) {
			haven__errf(err, errlen,
			    "%s: unknown message type '%s'", where, v);
			return (HAVEN_EINVAL);
		}
		return (HAVEN_OK);
	default:
		if (!code_ok(v, HAVEN_CODE_MAX)) {
			return (bad(err, errlen, where, "not a valid code"));
		}
		return (HAVEN_OK);
	}
}

/* Add one list entry as written; shared by both readers. */
static haven_err
cond_add(cond *c, int which, const char *s, const char *where, char *err,
    size_t errlen)
{
	bool neg = s[0] == '!';
	const char *v = s + (neg ? 1 : 0);
	haven_err rv;

	if (c->n >= HAVEN_POLICY_LIST_MAX) {
		return (bad(err, errlen, where, "more than 16 entries"));
	}
	if (c->n > 0 && neg != c->negate) {
		return (bad(err, errlen, where,
		    "mix of negated and plain entries"));
	}
	if (strlen(v) >= HAVEN_CODE_MAX) {
		return (bad(err, errlen, where, "entry too long"));
	}
	rv = entry_check(conds[which].kind, v, &c->type[c->n], where, err,
	    errlen);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	memcpy(c->raw[c->n], s, strlen(s) + 1);
	c->negate = neg;
	c->n++;
	return (HAVEN_OK);
}

/* A pair value: text shorter than HAVEN_TAGVAL_MAX; an attr value is
 * also non-empty after its optional '!'. */
static bool
pair_value_ok(int set, const char *val)
{
	if (strlen(val) >= HAVEN_TAGVAL_MAX || !text_ok(val)) {
		return (false);
	}
	return (set == S_TAGS || val[val[0] == '!' ? 1 : 0] != '\0');
}

/* Add one required tag or recipient attr (set S_TAGS / S_ATTRS); shared
 * by both readers. */
static haven_err
pair_add(rule *r, int set, const char *key, const char *val,
    const char *where, char *err, size_t errlen)
{
	haven_tag *arr = set == S_TAGS ? r->tags : r->attrs;
	size_t *n = set == S_TAGS ? &r->n_tags : &r->n_attrs;
	const char *noun = sets[set].noun;

	if (*n >= HAVEN_MAX_TAGS) {
		haven__errf(err, errlen, "%s: more than 16 %ss", where, noun);
		return (HAVEN_EINVAL);
	}
	if (!code_ok(key, HAVEN_CODE_MAX)) {
		haven__errf(err, errlen, "%s: %s name is not a valid code",
		    where, noun);
		return (HAVEN_EINVAL);
	}
	if (!pair_value_ok(set, val)) {
		haven__errf(err, errlen, "%s.%s: value %stoo long or not text",
		    where, key, set == S_TAGS ? "" : "empty, ");
		return (HAVEN_EINVAL);
	}
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(arr[i].key, key) == 0) {
			haven__errf(err, errlen, "%s.%s: duplicate %s", where,
			    key, noun);
			return (HAVEN_EINVAL);
		}
	}
	memcpy(arr[*n].key, key, strlen(key) + 1);
	memcpy(arr[*n].value, val, strlen(val) + 1);
	(*n)++;
	return (HAVEN_OK);
}

static haven_err
rule_check(const haven_policy *p, size_t i, char *err, size_t errlen)
{
	const rule *r = &p->rules[i];
	char where[48];

	(void) snprintf(where, sizeof(where), "rules[%zu].id", i);
	if (!code_ok(r->id, HAVEN_RULE_ID_MAX)) {
		return (bad(err, errlen, where,
		    "must be 1..31 printable characters"));
	}
	if (strcmp(r->id, "default-deny") == 0 ||
	    strcmp(r->id, "directory") == 0 || strcmp(r->id, "header") == 0) {
		return (bad(err, errlen, where, "reserved rule id"));
	}
	for (size_t j = 0; j < i; j++) {
		if (strcmp(p->rules[j].id, r->id) == 0) {
			haven__errf(err, errlen, "%s: duplicate of rules[%zu]",
			    where, j);
			return (HAVEN_EINVAL);
		}
	}
	(void) snprintf(where, sizeof(where), "rules[%zu].reason", i);
	if (!text_ok(r->reason)) {
		return (bad(err, errlen, where,
		    "control characters or invalid UTF-8"));
	}
	return (HAVEN_OK);
}

/* The one validation, for JSON and protobuf alike (lists and tags were
 * checked entry by entry as they were added). */
static haven_err
validate(const haven_policy *p, char *err, size_t errlen)
{
	haven_err rv;

	if (p->version < 1 || p->version > (uint64_t) INT64_MAX) {
		return (bad(err, errlen, "version", "must be at least 1"));
	}
	if (p->issued_ms < 0) {
		return (bad(err, errlen, "issued_ms", "must not be negative"));
	}
	if (p->skew_s < 1 || p->skew_s > SKEW_MAX) {
		return (bad(err, errlen, "skew_seconds",
		    "out of range [1, 86400]"));
	}
	if (p->n > HAVEN_MAX_RULES) {
		return (bad(err, errlen, "rules", "more than 512 rules"));
	}
	for (size_t i = 0; i < p->n; i++) {
		if ((rv = rule_check(p, i, err, errlen)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (haven__policy_settings_validate(&p->set, err, errlen));
}

/* --------------------------------------------------------- from JSON */

static haven_err
list_from_json(const json_t *o, rule *r, int which, const char *where,
    char *err, size_t errlen)
{
	const json_t *l = json_object_get(o, conds[which].name);
	char at[96];
	haven_err rv;

	(void) snprintf(at, sizeof(at), "%s.%s", where, conds[which].name);
	if (l == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_array(l)) {
		return (bad(err, errlen, at, "must be an array"));
	}
	if (json_array_size(l) == 0) {
		return (bad(err, errlen, at,
		    "must not be empty (leave it out to match anything)"));
	}
	for (size_t i = 0; i < json_array_size(l); i++) {
		const json_t *e = json_array_get(l, i);

		if (!json_is_string(e) ||
		    strlen(json_string_value(e)) != json_string_length(e)) {
			return (bad(err, errlen, at,
			    "entries must be strings"));
		}
		rv = cond_add(&r->c[which], which, json_string_value(e), at,
		    err, errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

static haven_err
pairs_from_json(const json_t *o, rule *r, int set, const char *where,
    char *err, size_t errlen)
{
	const json_t *obj = json_object_get(o, sets[set].member);
	const char *key;
	json_t *val;
	char at[96];
	haven_err rv;

	(void) snprintf(at, sizeof(at), "%s.%s", where, sets[set].member);
	if (obj == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_object(obj)) {
		return (bad(err, errlen, at, "must be an object"));
	}
	json_object_foreach((json_t *) obj, key, val) {
		if (!json_is_string(val) ||
		    strlen(json_string_value(val)) != json_string_length(val)) {
			haven__errf(err, errlen, "%s.%s: must be a string", at,
			    code_ok(key, HAVEN_CODE_MAX) ? key : "?");
			return (HAVEN_EINVAL);
		}
		rv = pair_add(r, set, key, json_string_value(val), at, err,
		    errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

static haven_err
effect_from_json(const json_t *o, rule *r, const char *where, char *err,
    size_t errlen)
{
	const json_t *e = json_object_get(o, "effect");
	const char *v = json_is_string(e) ? json_string_value(e) : "";
	char at[64];

	(void) snprintf(at, sizeof(at), "%s.effect", where);
	if (e == NULL) {
		return (bad(err, errlen, at, "missing"));
	}
	if (strlen(v) != json_string_length(e) ||
	    (strcmp(v, "allow") != 0 && strcmp(v, "deny") != 0)) {
		return (bad(err, errlen, at, "must be \"allow\" or \"deny\""));
	}
	r->allow = strcmp(v, "allow") == 0;
	return (HAVEN_OK);
}

static haven_err
rule_from_json(const json_t *o, rule *r, const char *where, char *err,
    size_t errlen)
{
	static const char *const allowed[] = {"id", "effect", "reason",
	    "sender_roles", "recipient_roles", "types", "legal_bases",
	    "profiles", "tags", "recipient_attrs", NULL};
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, where, "must be an object"));
	}
	if ((rv = haven__json_only(o, allowed, where, err, errlen)) !=
	        HAVEN_OK ||
	    (rv = haven__json_str(o, "id", true, r->id, sizeof(r->id), where,
	         err, errlen)) != HAVEN_OK ||
	    (rv = effect_from_json(o, r, where, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_str(o, "reason", false, r->reason,
	         sizeof(r->reason), where, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	for (int c = 0; c < C_COUNT; c++) {
		if ((rv = list_from_json(o, r, c, where, err, errlen)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	if ((rv = pairs_from_json(o, r, S_TAGS, where, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	return (pairs_from_json(o, r, S_ATTRS, where, err, errlen));
}

static haven_err
root_from_json(const json_t *root, int64_t *version, int64_t *issued,
    int64_t *skew, const json_t **rules, char *err, size_t errlen)
{
	static const char *const allowed[] = {"version", "issued_ms",
	    "skew_seconds", "rules", "encompass", "marac", NULL};
	haven_err rv;

	if ((rv = haven__json_only(root, allowed, "", err, errlen)) !=
	        HAVEN_OK ||
	    (rv = haven__json_int(root, "version", true, 0, INT64_MAX, version,
	         "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_int(root, "issued_ms", false, 0, INT64_MAX,
	         issued, "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_int(root, "skew_seconds", false, 1, SKEW_MAX,
	         skew, "", err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if ((*rules = json_object_get(root, "rules")) == NULL) {
		return (bad(err, errlen, "rules", "missing"));
	}
	if (!json_is_array(*rules)) {
		return (bad(err, errlen, "rules", "must be an array"));
	}
	if (json_array_size(*rules) > HAVEN_MAX_RULES) {
		return (bad(err, errlen, "rules", "more than 512 rules"));
	}
	return (HAVEN_OK);
}

haven_err
haven_policy_from_json(haven_policy **out, const char *json, size_t len,
    char *err, size_t errlen)
{
	haven_policy *p = NULL;
	const json_t *rules = NULL;
	json_t *root = NULL;
	int64_t version = 0, issued = 0, skew = SKEW_DEFAULT;
	haven_err rv;

	if ((rv = haven__json_parse(json, len, &root, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if ((rv = root_from_json(root, &version, &issued, &skew, &rules, err,
	         errlen)) != HAVEN_OK ||
	    (rv = policy_new(&p, json_array_size(rules))) != HAVEN_OK) {
		goto out;
	}
	p->version = (uint64_t) version;
	p->issued_ms = issued;
	p->skew_s = skew;
	if ((rv = haven__policy_settings_from_json(root, &p->set, err,
	         errlen)) != HAVEN_OK) {
		goto out;
	}
	for (size_t i = 0; i < json_array_size(rules); i++) {
		char where[32];

		(void) snprintf(where, sizeof(where), "rules[%zu]", i);
		rv = rule_from_json(json_array_get(rules, i), &p->rules[i],
		    where, err, errlen);
		if (rv != HAVEN_OK) {
			goto out;
		}
		p->n = i + 1;
	}
	if ((rv = validate(p, err, errlen)) != HAVEN_OK) {
		goto out;
	}
	*out = p;
	p = NULL;
out:
	haven_policy_destroy(&p);
	json_decref(root);
	return (rv);
}

/* ----------------------------------------------------- from protobuf */

static haven_err
pb_str(char *dst, size_t dstlen, const char *src, const char *where,
    char *err, size_t errlen)
{
	if (haven__strlcpy(dst, src != NULL ? src : "", dstlen) != HAVEN_OK) {
		return (bad(err, errlen, where, "too long"));
	}
	return (HAVEN_OK);
}

static haven_err
lists_from_pb(const Haven__PolicyRule *pr, rule *r, const char *where,
    char *err, size_t errlen)
{
	char **const lists[C_COUNT] = {pr->sender_roles, pr->recipient_roles,
	    pr->types, pr->legal_bases, pr->profiles};
	const size_t counts[C_COUNT] = {pr->n_sender_roles,
	    pr->n_recipient_roles, pr->n_types, pr->n_legal_bases,
	    pr->n_profiles};
	char at[96];
	haven_err rv;

	for (int c = 0; c < C_COUNT; c++) {
		(void) snprintf(at, sizeof(at), "%s.%s", where, conds[c].name);
		if (counts[c] > HAVEN_POLICY_LIST_MAX) {
			return (bad(err, errlen, at, "more than 16 entries"));
		}
		for (size_t i = 0; i < counts[c]; i++) {
			rv = cond_add(&r->c[c], c, lists[c][i], at, err,
			    errlen);
			if (rv != HAVEN_OK) {
				return (rv);
			}
		}
	}
	return (HAVEN_OK);
}

static haven_err
pairs_from_pb(Haven__Tag *const *list, size_t n, rule *r, int set,
    const char *where, char *err, size_t errlen)
{
	char at[96];
	haven_err rv;

	(void) snprintf(at, sizeof(at), "%s.%s", where, sets[set].member);
	if (n > HAVEN_MAX_TAGS) {
		haven__errf(err, errlen, "%s: more than 16 %ss", at,
		    sets[set].noun);
		return (HAVEN_EINVAL);
	}
	for (size_t i = 0; i < n; i++) {
		const Haven__Tag *t = list[i];

		if (t == NULL || t->key == NULL || t->value == NULL) {
			return (bad(err, errlen, at, "missing"));
		}
		if ((rv = pair_add(r, set, t->key, t->value, at, err,
		         errlen)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

static haven_err
rule_from_pb(const Haven__PolicyRule *pr, rule *r, const char *where,
    char *err, size_t errlen)
{
	char at[64];
	haven_err rv;

	if (pr == NULL) {
		return (bad(err, errlen, where, "missing"));
	}
	(void) snprintf(at, sizeof(at), "%s.id", where);
	if ((rv = pb_str(r->id, sizeof(r->id), pr->id, at, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	(void) snprintf(at, sizeof(at), "%s.reason", where);
	if ((rv = pb_str(r->reason, sizeof(r->reason), pr->reason, at, err,
	         errlen)) != HAVEN_OK ||
	    (rv = lists_from_pb(pr, r, where, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	r->allow = pr->allow;
	if ((rv = pairs_from_pb(pr->tags, pr->n_tags, r, S_TAGS, where, err,
	         errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (pairs_from_pb(pr->recipient_attrs, pr->n_recipient_attrs, r,
	    S_ATTRS, where, err, errlen));
}

static haven_err
policy_from_pb(const Haven__Policy *pp, haven_policy **out, char *err,
    size_t errlen)
{
	haven_policy *p = NULL;
	haven_err rv;

	if (pp->n_rules > HAVEN_MAX_RULES) {
		return (bad(err, errlen, "rules", "more than 512 rules"));
	}
	if (pp->skew_ms % 1000 != 0) {
		return (bad(err, errlen, "skew_seconds",
		    "skew_ms is not whole seconds"));
	}
	if ((rv = policy_new(&p, pp->n_rules)) != HAVEN_OK) {
		return (rv);
	}
	p->version = pp->version;
	p->issued_ms = pp->issued_ms;
	p->skew_s = pp->skew_ms / 1000;
	if ((rv = haven__policy_settings_from_pb(pp, &p->set, err, errlen)) !=
	    HAVEN_OK) {
		goto out;
	}
	for (size_t i = 0; i < pp->n_rules; i++) {
		char where[32];

		(void) snprintf(where, sizeof(where), "rules[%zu]", i);
		rv = rule_from_pb(pp->rules[i], &p->rules[i], where, err,
		    errlen);
		if (rv != HAVEN_OK) {
			goto out;
		}
		p->n = i + 1;
	}
	if ((rv = validate(p, err, errlen)) == HAVEN_OK) {
		*out = p;
		p = NULL;
	}
out:
	haven_policy_destroy(&p);
	return (rv);
}

haven_err
haven_policy_decode_signed(haven_policy **out, const uint8_t *buf,
    size_t len, const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err,
    size_t errlen)
{
	ProtobufCMessage *m = NULL;
	haven_err rv;

	rv = haven__doc_open(KIND, &haven__policy__descriptor, buf, len,
	    admin_pk, &m, err, errlen);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	rv = policy_from_pb((const Haven__Policy *) m, out, err, errlen);
	protobuf_c_message_free_unpacked(m, NULL);
	return (rv);
}

haven_err
haven_policy_load(haven_policy **out, const char *path,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;

	if ((rv = haven__doc_read(path, &buf, &len, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	rv = haven_policy_decode_signed(out, buf, len, admin_pk, err, errlen);
	free(buf);
	return (rv);
}

/* ------------------------------------------------------------ signing */

typedef struct pbpol {
	Haven__Policy p;
	Haven__PolicyRule *r;
	Haven__PolicyRule **rp;
	char **strs; /* C_COUNT * LIST_MAX per rule */
	Haven__Tag *tags; /* 2 * HAVEN_MAX_TAGS per rule: tags, attrs */
	Haven__Tag **tagp;
	haven__pb_settings set;
} pbpol;

static void
pbpol_free(pbpol *b)
{
	free(b->r);
	free(b->rp);
	free(b->strs);
	free(b->tags);
	free(b->tagp);
}

static haven_err
pbpol_alloc(pbpol *b, size_t n)
{
	size_t m = n > 0 ? n : 1;

	memset(b, 0, sizeof(*b));
	b->r = calloc(m, sizeof(*b->r));
	b->rp = calloc(m, sizeof(*b->rp));
	b->strs = calloc(m * C_COUNT * HAVEN_POLICY_LIST_MAX, sizeof(char *));
	b->tags = calloc(m * 2 * HAVEN_MAX_TAGS, sizeof(*b->tags));
	b->tagp = calloc(m * 2 * HAVEN_MAX_TAGS, sizeof(*b->tagp));
	if (b->r == NULL || b->rp == NULL || b->strs == NULL ||
	    b->tags == NULL || b->tagp == NULL) {
		pbpol_free(b);
		return (HAVEN_ENOMEM);
	}
	return (HAVEN_OK);
}

/* Point list `c` of the protobuf rule at the rule's own strings. */
static char **
pb_list(const rule *r, int c, char **slots, size_t *n)
{
	for (size_t i = 0; i < r->c[c].n; i++) {
		slots[i] = (char *) r->c[c].raw[i];
	}
	*n = r->c[c].n;
	return (slots);
}

/* Point pair slot `slot` (HAVEN_MAX_TAGS entries) at the rule's pairs. */
static Haven__Tag **
pb_pairs(pbpol *b, size_t slot, const haven_tag *pairs, size_t n,
    size_t *n_out)
{
	Haven__Tag **tp = &b->tagp[slot * HAVEN_MAX_TAGS];

	for (size_t j = 0; j < n; j++) {
		Haven__Tag *t = &b->tags[slot * HAVEN_MAX_TAGS + j];

		haven__tag__init(t);
		t->key = (char *) pairs[j].key;
		t->value = (char *) pairs[j].value;
		tp[j] = t;
	}
	*n_out = n;
	return (tp);
}

static void
pb_rule(pbpol *b, size_t i, const rule *r)
{
	Haven__PolicyRule *pr = &b->r[i];
	char **s = &b->strs[i * C_COUNT * HAVEN_POLICY_LIST_MAX];

	haven__policy_rule__init(pr);
	pr->id = (char *) r->id;
	pr->allow = r->allow;
	pr->reason = (char *) r->reason;
	pr->sender_roles = pb_list(r, C_SENDER,
	    s + C_SENDER * HAVEN_POLICY_LIST_MAX, &pr->n_sender_roles);
	pr->recipient_roles = pb_list(r, C_RECIPIENT,
	    s + C_RECIPIENT * HAVEN_POLICY_LIST_MAX, &pr->n_recipient_roles);
	pr->types = pb_list(r, C_TYPES, s + C_TYPES * HAVEN_POLICY_LIST_MAX,
	    &pr->n_types);
	pr->legal_bases = pb_list(r, C_BASES,
	    s + C_BASES * HAVEN_POLICY_LIST_MAX, &pr->n_legal_bases);
	pr->profiles = pb_list(r, C_PROFILES,
	    s + C_PROFILES * HAVEN_POLICY_LIST_MAX, &pr->n_profiles);
	pr->tags = pb_pairs(b, 2 * i, r->tags, r->n_tags, &pr->n_tags);
	pr->recipient_attrs = pb_pairs(b, 2 * i + 1, r->attrs, r->n_attrs,
	    &pr->n_recipient_attrs);
	b->rp[i] = pr;
}

haven_err
haven_policy_sign(const haven_policy *p, const haven_keys *admin,
    uint8_t **out, size_t *out_len)
{
	pbpol b;
	haven_err rv;

	if ((rv = validate(p, NULL, 0)) != HAVEN_OK ||
	    (rv = pbpol_alloc(&b, p->n)) != HAVEN_OK) {
		return (rv);
	}
	haven__policy__init(&b.p);
	b.p.version = p->version;
	b.p.issued_ms = p->issued_ms;
	b.p.skew_ms = p->skew_s * 1000;
	b.p.n_rules = p->n;
	b.p.rules = b.rp;
	for (size_t i = 0; i < p->n; i++) {
		pb_rule(&b, i, &p->rules[i]);
	}
	haven__policy_settings_to_pb(&p->set, &b.set, &b.p);
	rv = haven__doc_sign_msg(KIND, &b.p.base, admin, out, out_len);
	pbpol_free(&b);
	return (rv);
}

/* --------------------------------------------------------- accessors */

uint64_t
haven_policy_version(const haven_policy *p)
{
	return (p->version);
}

int64_t
haven_policy_skew_ms(const haven_policy *p)
{
	return (p->skew_s * 1000);
}

const haven_policy_encompass *
haven_policy_encompass_settings(const haven_policy *p)
{
	return (p != NULL ? &p->set.oe :
	    &haven__policy_settings_default()->oe);
}

const haven_policy_marac *
haven_policy_marac_settings(const haven_policy *p)
{
	return (p != NULL ? &p->set.marac :
	    &haven__policy_settings_default()->marac);
}

/* --------------------------------------------------------- evaluation */

static bool
cond_match_str(const cond *c, const char *v)
{
	bool found = false;
	size_t off = c->negate ? 1 : 0;

	if (c->n == 0) {
		return (true);
	}
	for (size_t i = 0; i < c->n && !found; i++) {
		found = strcmp(c->raw[i] + off, v != NULL ? v : "") == 0;
	}
	return (found != c->negate);
}

static bool
cond_match_type(const cond *c, uint32_t type)
{
	bool found = false;

	if (c->n == 0) {
		return (true);
	}
	for (size_t i = 0; i < c->n && !found; i++) {
		found = c->type[i] == type;
	}
	return (found != c->negate);
}

static bool
tags_match(const rule *r, const haven_policy_query *q)
{
	for (size_t i = 0; i < r->n_tags; i++) {
		bool found = false;

		for (size_t j = 0; j < q->n_tags && q->tags != NULL && !found;
		     j++) {
			found = strcmp(q->tags[j].key, r->tags[i].key) == 0 &&
			    strcmp(q->tags[j].value, r->tags[i].value) == 0;
		}
		if (!found) {
			return (false);
		}
	}
	return (true);
}

/* Each attr the rule names: "v" the recipient's attr equals v; "!v" it
 * is absent or differs. */
static bool
attrs_match(const rule *r, const haven_policy_query *q)
{
	for (size_t i = 0; i < r->n_attrs; i++) {
		bool neg = r->attrs[i].value[0] == '!';
		const char *want = r->attrs[i].value + (neg ? 1 : 0);
		bool eq = false;

		for (size_t j = 0; j < q->n_recipient_attrs &&
		     q->recipient_attrs != NULL; j++) {
			if (strcmp(q->recipient_attrs[j].key,
			        r->attrs[i].key) == 0) {
				eq = strcmp(q->recipient_attrs[j].value,
				    want) == 0;
				break;
			}
		}
		if (eq == neg) {
			return (false);
		}
	}
	return (true);
}

static bool
rule_matches(const rule *r, const haven_policy_query *q)
{
	return (cond_match_str(&r->c[C_SENDER], q->sender_role) &&
	    cond_match_str(&r->c[C_RECIPIENT], q->recipient_role) &&
	    cond_match_type(&r->c[C_TYPES], q->type) &&
	    cond_match_str(&r->c[C_BASES], q->legal_basis) &&
	    cond_match_str(&r->c[C_PROFILES], q->profile) &&
	    tags_match(r, q) && attrs_match(r, q));
}

/* Bounded copy into a decision field; every source already fits. */
static void
copy(char *dst, const char *src, size_t dstlen)
{
	haven__errf(dst, dstlen, "%s", src);
}

static void
decide(const rule *r, haven_policy_decision *out)
{
	out->allow = r->allow;
	copy(out->rule, r->id, sizeof(out->rule));
	if (r->reason[0] != '\0') {
		copy(out->reason, r->reason,
		    sizeof(out->reason));
	} else if (r->allow) {
		copy(out->reason, r->id, sizeof(out->reason));
	} else {
		haven__errf(out->reason, sizeof(out->reason),
		    "refused by rule %s", r->id);
	}
}

void
haven_policy_evaluate(const haven_policy *p, const haven_policy_query *q,
    haven_policy_decision *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; p != NULL && i < p->n; i++) {
		if (rule_matches(&p->rules[i], q)) {
			decide(&p->rules[i], out);
			return;
		}
	}
	out->allow = false;
	copy(out->rule, "default-deny", sizeof(out->rule));
	haven__errf(out->reason, sizeof(out->reason),
	    "no rule allows %s from %s to %s", haven_msg_type_name(q->type),
	    q->sender_role != NULL ? q->sender_role : "?",
	    q->recipient_role != NULL ? q->recipient_role : "?");
}

/* ------------------------------------------------------ check_header */

static haven_err
deny(haven_policy_decision *out, const char *rule_id, const char *recipient,
    const char *reason)
{
	memset(out, 0, sizeof(*out));
	out->allow = false;
	copy(out->rule, rule_id, sizeof(out->rule));
	copy(out->reason, reason, sizeof(out->reason));
	if (recipient != NULL) {
		copy(out->recipient, recipient,
		    sizeof(out->recipient));
	}
	return (HAVEN_EPOLICY);
}

/* Shape checks: R18, at least one view, every recipient in some view,
 * every view recipient index inside the header. */
static haven_err
header_shape(const haven_header *hdr, haven_policy_decision *out)
{
	bool seen[HAVEN_MAX_RECIPIENTS] = {false};

	if (hdr->legal_basis[0] == '\0' || hdr->purpose[0] == '\0') {
		return (deny(out, "R18", NULL,
		    "every share must record its legal basis and purpose"));
	}
	if (hdr->n_views == 0 || hdr->n_views > HAVEN_MAX_VIEWS ||
	    hdr->n_recipients == 0 ||
	    hdr->n_recipients > HAVEN_MAX_RECIPIENTS ||
	    hdr->n_tags > HAVEN_MAX_TAGS) {
		return (deny(out, "header", NULL,
		    "no views or recipients, or counts over their limits"));
	}
	for (size_t v = 0; v < hdr->n_views; v++) {
		const haven_view_desc *vd = &hdr->views[v];

		if (vd->n_recipients == 0 ||
		    vd->n_recipients > HAVEN_MAX_RECIPIENTS) {
			return (deny(out, "header", NULL,
			    "view without recipients"));
		}
		for (size_t i = 0; i < vd->n_recipients; i++) {
			if (vd->recipients[i] >= hdr->n_recipients) {
				return (deny(out, "header", NULL,
				    "view recipient outside the header"));
			}
			seen[vd->recipients[i]] = true;
		}
	}
	for (size_t r = 0; r < hdr->n_recipients; r++) {
		if (!seen[r]) {
			return (deny(out, "header", hdr->recipients[r],
			    "recipient is in no view"));
		}
	}
	return (HAVEN_OK);
}

static haven_err
check_one(const haven_policy *p, const haven_directory *dir,
    const haven_agency *sender, const haven_header *hdr,
    const haven_view_desc *vd, const char *rid, haven_policy_decision *out)
{
	const haven_agency *ra = haven_directory_find(dir, rid);
	haven_policy_query q;

	if (ra == NULL) {
		return (deny(out, "directory", rid,
		    "recipient is not in the directory"));
	}
	if (ra->revoked) {
		return (deny(out, "directory", rid, "recipient is revoked"));
	}
	memset(&q, 0, sizeof(q));
	q.sender_role = sender->role;
	q.recipient_role = ra->role;
	q.type = hdr->type;
	q.legal_basis = hdr->legal_basis;
	q.profile = vd->profile;
	q.tags = hdr->tags;
	q.n_tags = hdr->n_tags;
	q.recipient_attrs = ra->attrs;
	q.n_recipient_attrs = ra->n_attrs;
	haven_policy_evaluate(p, &q, out);
	if (!out->allow) {
		copy(out->recipient, rid,
		    sizeof(out->recipient));
		return (HAVEN_EPOLICY);
	}
	return (HAVEN_OK);
}

haven_err
haven_policy_check_header(const haven_policy *p, const haven_directory *dir,
    const haven_header *hdr, haven_policy_decision *out)
{
	const haven_agency *sender;
	haven_err rv;

	if ((rv = header_shape(hdr, out)) != HAVEN_OK) {
		return (rv);
	}
	sender = haven_directory_find(dir, hdr->sender);
	if (sender == NULL || sender->revoked) {
		return (deny(out, "directory", NULL,
		    "sender is not an active agency in the directory"));
	}
	for (size_t v = 0; v < hdr->n_views; v++) {
		const haven_view_desc *vd = &hdr->views[v];

		for (size_t i = 0; i < vd->n_recipients; i++) {
			rv = check_one(p, dir, sender, hdr, vd,
			    hdr->recipients[vd->recipients[i]], out);
			if (rv != HAVEN_OK) {
				return (rv);
			}
		}
	}
	return (HAVEN_OK);
}
