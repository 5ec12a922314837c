/*
 * lib/directory.c: the partnership directory (see haven/directory.h).
 *
 * Two readers fill the same C structs: the JSON source (administrator) and
 * the protobuf body of a signed document (broker, agents). Both copy every
 * string with a length check and then run one shared validate(), so the
 * admin key can never sign a directory that the JSON loader would refuse,
 * and a signed directory is held to exactly the JSON rules.
 *
 * Invariants of a haven_directory after any successful call:
 *  - 1 <= version <= INT64_MAX, issued_ms >= 0, n <= HAVEN_MAX_AGENCIES;
 *  - every agency passes agency_check (id, role, name, keys, attrs);
 *  - ids are unique; no sign/box/curve key is shared by two agencies;
 *  - by_id[0..n) points at ag[0..n) in strcmp order of id (lookup by id is
 *    a binary search, O(log n)); lookup by CurveZMQ key is a linear scan,
 *    O(n * HAVEN_MAX_KEYS), fine for <= 4096 agencies.
 * A loaded directory is never written again except by the havenctl editing
 * calls, so concurrent readers need no lock.
 *
 * The optional "calendars" section lives in lib/dircal.c (read, checked
 * and put in canonical order there); this file holds it, checks what ties
 * it to the agencies (a school entry names an agency; an attr "calendar"
 * names an area; "start_of_day" is HH:MM) in the same validate(), and
 * resolves one school's calendar (haven_directory_calendar), whose arrays
 * are borrowed from the directory.
 *
 * Error messages name the place ("agencies[3].keys[0].sign_pk: ...") and
 * echo only codes (role), never names or attribute values.
 */
#include "haven/directory.h"

#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dircal.h"
#include "document.h"
#include "haven.pb-c.h"
#include "haven/calendar.h"
#include "jsonutil.h"
#include "util.h"

#define KIND "directory"

struct haven_directory {
	uint64_t version;
	int64_t issued_ms;
	size_t n;
	size_t cap;
	haven_agency *ag;
	const haven_agency **by_id; /* cap entries; first n sorted by id */
	haven__calendars cal;       /* "calendars"; all-zero when absent */
};

/* ------------------------------------------------------- allocation */

static haven_err
dir_new(haven_directory **out)
{
	haven_directory *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out = d;
	return (HAVEN_OK);
}

void
haven_directory_destroy(haven_directory **dir)
{
	if (dir == NULL || *dir == NULL) {
		return;
	}
	free((*dir)->ag);
	free((*dir)->by_id);
	haven__cal_release(&(*dir)->cal);
	free(*dir);
	*dir = NULL;
}

static int
cmp_by_id(const void *a, const void *b)
{
	const haven_agency *x = *(const haven_agency *const *) a;
	const haven_agency *y = *(const haven_agency *const *) b;

	return (strcmp(x->id, y->id));
}

/* Rebuild the id index; never allocates (by_id has cap entries). */
static void
reindex(haven_directory *d)
{
	for (size_t i = 0; i < d->n; i++) {
		d->by_id[i] = &d->ag[i];
	}
	if (d->n > 1) {
		qsort(d->by_id, d->n, sizeof(d->by_id[0]), cmp_by_id);
	}
}

/* Make room for `want` agencies (want <= HAVEN_MAX_AGENCIES + 1). */
static haven_err
reserve(haven_directory *d, size_t want)
{
	haven_agency *ag;
	const haven_agency **idx;

	if (want <= d->cap) {
		return (HAVEN_OK);
	}
	if (want > HAVEN_MAX_AGENCIES + 1) {
		return (HAVEN_EMSGSIZE);
	}
	if ((ag = realloc(d->ag, want * sizeof(*ag))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	memset(ag + d->cap, 0, (want - d->cap) * sizeof(*ag));
	d->ag = ag;
	reindex(d); /* the old index pointed into the old array */
	if ((idx = realloc(d->by_id, want * sizeof(*idx))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	d->by_id = idx;
	d->cap = want;
	return (HAVEN_OK);
}

/* ------------------------------------------------------- validation */

static haven_err
bad(char *err, size_t errlen, const char *where, const char *what)
{
	haven__errf(err, errlen, "%s: %s", where, what);
	return (HAVEN_EINVAL);
}

static haven_err
check_ident(const haven_agency *a, const char *where, char *err,
    size_t errlen)
{
	char at[96];
	bool is_broker = strcmp(a->id, "broker") == 0;

	(void) snprintf(at, sizeof(at), "%s.id", where);
	if (!is_broker && !haven_agency_id_valid(a->id)) {
		return (bad(err, errlen, at, "not a valid agency id"));
	}
	(void) snprintf(at, sizeof(at), "%s.role", where);
	if (!haven_role_valid(a->role)) {
		haven__errf(err, errlen, "%s: unknown role '%s'", at, a->role);
		return (HAVEN_EINVAL);
	}
	if (is_broker != (strcmp(a->role, "BRK") == 0)) {
		return (bad(err, errlen, at,
		    "role BRK belongs to the agency 'broker' and only to it"));
	}
	(void) snprintf(at, sizeof(at), "%s.name", where);
	if (a->name[0] == '\0') {
		return (bad(err, errlen, at, "must not be empty"));
	}
	if (!haven__utf8_valid(a->name)) {
		return (bad(err, errlen, at, "not valid UTF-8"));
	}
	return (HAVEN_OK);
}

static haven_err
check_keys(const haven_agency *a, const char *where, char *err,
    size_t errlen)
{
	char at[128];

	(void) snprintf(at, sizeof(at), "%s.keys", where);
	if (a->n_keys == 0) {
		return (bad(err, errlen, at, "at least one key is required"));
	}
	if (a->n_keys > HAVEN_MAX_KEYS) {
		return (bad(err, errlen, at, "more than 4 keys"));
	}
	for (size_t j = 0; j < a->n_keys; j++) {
		(void) snprintf(at, sizeof(at), "%s.keys[%zu].generation",
		    where, j);
		if (a->keys[j].generation < 1) {
			return (bad(err, errlen, at, "must be at least 1"));
		}
		for (size_t k = 0; k < j; k++) {
			if (a->keys[k].generation == a->keys[j].generation) {
				return (bad(err, errlen, at,
				    "duplicate generation"));
			}
		}
	}
	return (HAVEN_OK);
}

static haven_err
check_attrs(const haven_agency *a, const char *where, char *err,
    size_t errlen)
{
	char at[128];

	(void) snprintf(at, sizeof(at), "%s.attrs", where);
	if (a->n_attrs > HAVEN_MAX_ATTRS) {
		return (bad(err, errlen, at, "more than 16 entries"));
	}
	for (size_t j = 0; j < a->n_attrs; j++) {
		const haven_tag *t = &a->attrs[j];

		if (memchr(t->key, '\0', sizeof(t->key)) == NULL ||
		    memchr(t->value, '\0', sizeof(t->value)) == NULL) {
			return (bad(err, errlen, at, "entry too long"));
		}
		if (t->key[0] == '\0') {
			return (bad(err, errlen, at, "empty key"));
		}
		if (!haven__utf8_valid(t->key) ||
		    !haven__utf8_valid(t->value)) {
			return (bad(err, errlen, at, "not valid UTF-8"));
		}
		for (size_t k = 0; k < j; k++) {
			if (strcmp(a->attrs[k].key, t->key) == 0) {
				haven__errf(err, errlen, "%s.%s: duplicate key",
				    at, t->key);
				return (HAVEN_EINVAL);
			}
		}
	}
	return (HAVEN_OK);
}

static haven_err
agency_check(const haven_agency *a, size_t i, char *err, size_t errlen)
{
	char where[48];
	haven_err rv;

	(void) snprintf(where, sizeof(where), "agencies[%zu]", i);
	if (memchr(a->id, '\0', sizeof(a->id)) == NULL ||
	    memchr(a->role, '\0', sizeof(a->role)) == NULL ||
	    memchr(a->name, '\0', sizeof(a->name)) == NULL) {
		return (bad(err, errlen, where, "string field too long"));
	}
	if ((rv = check_ident(a, where, err, errlen)) != HAVEN_OK ||
	    (rv = check_keys(a, where, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (check_attrs(a, where, err, errlen));
}

/* Duplicate ids, found by sorting pointers (the candidate may not be
 * indexed yet). */
static haven_err
check_ids(const haven_agency *ag, size_t n, char *err, size_t errlen)
{
	const haven_agency **s;
	haven_err rv = HAVEN_OK;

	if (n < 2) {
		return (HAVEN_OK);
	}
	if ((s = malloc(n * sizeof(*s))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		s[i] = &ag[i];
	}
	qsort(s, n, sizeof(*s), cmp_by_id);
	for (size_t i = 1; i < n && rv == HAVEN_OK; i++) {
		if (strcmp(s[i - 1]->id, s[i]->id) == 0) {
			size_t a = (size_t) (s[i - 1] - ag);
			size_t b = (size_t) (s[i] - ag);
			haven__errf(err, errlen,
			    "agencies[%zu].id: duplicate of agencies[%zu]",
			    a > b ? a : b, a > b ? b : a);
			rv = HAVEN_EINVAL;
		}
	}
	free(s);
	return (rv);
}

typedef struct keyref {
	const uint8_t *pk;
	uint32_t agency;
	uint32_t key;
} keyref;

static int
cmp_keyref(const void *a, const void *b)
{
	const keyref *x = a;
	const keyref *y = b;

	return (memcmp(x->pk, y->pk, HAVEN_KEY_BYTES));
}

static const struct {
	size_t off;
	const char *name;
} key_fields[] = {
	{offsetof(haven_agency_key, sign_pk), "sign_pk"},
	{offsetof(haven_agency_key, box_pk), "box_pk"},
	{offsetof(haven_agency_key, curve_pk), "curve_pk"},
};

static haven_err
scan_keyrefs(keyref *r, size_t m, const char *name, char *err,
    size_t errlen)
{
	qsort(r, m, sizeof(*r), cmp_keyref);
	for (size_t i = 1; i < m; i++) {
		const keyref *x = &r[i - 1];
		const keyref *y = &r[i];

		if (x->agency != y->agency && cmp_keyref(x, y) == 0) {
			const keyref *hi = x->agency > y->agency ? x : y;
			const keyref *lo = x->agency > y->agency ? y : x;
			haven__errf(err, errlen,
			    "agencies[%u].keys[%u].%s: already belongs to "
			    "agencies[%u]",
			    hi->agency, hi->key, name, lo->agency);
			return (HAVEN_EINVAL);
		}
	}
	return (HAVEN_OK);
}

/* No public key of any of the three kinds may belong to two agencies. */
static haven_err
check_shared_keys(const haven_agency *ag, size_t n, char *err,
    size_t errlen)
{
	keyref *r;
	haven_err rv = HAVEN_OK;

	if (n < 2) {
		return (HAVEN_OK);
	}
	if ((r = malloc(n * HAVEN_MAX_KEYS * sizeof(*r))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t f = 0; f < 3 && rv == HAVEN_OK; f++) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < ag[i].n_keys; j++) {
				const uint8_t *k =
				    (const uint8_t *) &ag[i].keys[j];
				r[m].pk = k + key_fields[f].off;
				r[m].agency = (uint32_t) i;
				r[m].key = (uint32_t) j;
				m++;
			}
		}
		rv = scan_keyrefs(r, m, key_fields[f].name, err, errlen);
	}
	free(r);
	return (rv);
}

/* The calendar attrs of one agency: "start_of_day" is HH:MM and
 * "calendar" names an area of the calendars section. */
static haven_err
check_cal_attrs(const haven_directory *d, const haven_agency *a, size_t i,
    char *err, size_t errlen)
{
	const char *v;

	v = haven_agency_attr(a, "start_of_day");
	if (v != NULL && !haven__cal_hhmm(v, NULL)) {
		haven__errf(err, errlen, "agencies[%zu].attrs.start_of_day: "
		    "must be HH:MM (00:00-23:59)", i);
		return (HAVEN_EINVAL);
	}
	v = haven_agency_attr(a, "calendar");
	if (v != NULL && haven__cal_area_find(&d->cal, v) == NULL) {
		haven__errf(err, errlen, "agencies[%zu].attrs.calendar: names "
		    "no area of calendars.areas", i);
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

static int
cmp_id_ptr(const void *key, const void *elem)
{
	return (strcmp((const char *) key,
	    (*(const haven_agency *const *) elem)->id));
}

/* Every calendars.schools entry names an agency (ids are unique by now;
 * the candidate may not be indexed, so sort pointers here). */
static haven_err
check_cal_schools(const haven_directory *d, char *err, size_t errlen)
{
	const haven_agency **s;
	haven_err rv = HAVEN_OK;

	if (d->cal.n_schools == 0) {
		return (HAVEN_OK);
	}
	if ((s = malloc((d->n > 0 ? d->n : 1) * sizeof(*s))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < d->n; i++) {
		s[i] = &d->ag[i];
	}
	qsort(s, d->n, sizeof(*s), cmp_by_id);
	for (size_t i = 0; i < d->cal.n_schools && rv == HAVEN_OK; i++) {
		const haven__cal_school *e = &d->cal.schools[i];

		if (bsearch(e->id, s, d->n, sizeof(*s), cmp_id_ptr) == NULL) {
			haven__errf(err, errlen, "calendars.schools[%zu].id: "
			    "not an agency of the directory", e->idx);
			rv = HAVEN_EINVAL;
		}
	}
	free(s);
	return (rv);
}

static haven_err
check_cal_refs(const haven_directory *d, char *err, size_t errlen)
{
	haven_err rv;

	for (size_t i = 0; i < d->n; i++) {
		if ((rv = check_cal_attrs(d, &d->ag[i], i, err, errlen)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	return (check_cal_schools(d, err, errlen));
}

/* The one validation, for JSON, protobuf and edited directories alike. */
static haven_err
validate(const haven_directory *d, char *err, size_t errlen)
{
	haven_err rv;

	if (d->version < 1 || d->version > (uint64_t) INT64_MAX) {
		return (bad(err, errlen, "version", "must be at least 1"));
	}
	if (d->issued_ms < 0) {
		return (bad(err, errlen, "issued_ms", "must not be negative"));
	}
	if (d->n > HAVEN_MAX_AGENCIES) {
		return (bad(err, errlen, "agencies", "more than 4096 entries"));
	}
	for (size_t i = 0; i < d->n; i++) {
		if ((rv = agency_check(&d->ag[i], i, err, errlen)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	if ((rv = check_ids(d->ag, d->n, err, errlen)) != HAVEN_OK ||
	    (rv = check_shared_keys(d->ag, d->n, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (check_cal_refs(d, err, errlen));
}

/* --------------------------------------------------------- from JSON */

static haven_err
key_from_json(const json_t *o, haven_agency_key *k, const char *where,
    char *err, size_t errlen)
{
	static const char *const allowed[] = {"generation", "sign_pk",
	    "box_pk", "curve_pk", "retired", NULL};
	int64_t gen = 0;
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, where, "must be an object"));
	}
	if ((rv = haven__json_only(o, allowed, where, err, errlen)) !=
	        HAVEN_OK ||
	    (rv = haven__json_int(o, "generation", true, 0, UINT32_MAX, &gen,
	         where, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(o, "sign_pk", k->sign_pk, HAVEN_KEY_BYTES,
	         where, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(o, "box_pk", k->box_pk, HAVEN_KEY_BYTES,
	         where, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_hex(o, "curve_pk", k->curve_pk, HAVEN_KEY_BYTES,
	         where, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_bool(o, "retired", false, &k->retired, where,
	         err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	k->generation = (uint32_t) gen;
	return (HAVEN_OK);
}

static haven_err
keys_from_json(const json_t *o, haven_agency *a, const char *where,
    char *err, size_t errlen)
{
	const json_t *keys = json_object_get(o, "keys");
	char at[96];
	haven_err rv;

	(void) snprintf(at, sizeof(at), "%s.keys", where);
	if (keys == NULL) {
		return (bad(err, errlen, at, "missing"));
	}
	if (!json_is_array(keys)) {
		return (bad(err, errlen, at, "must be an array"));
	}
	if (json_array_size(keys) > HAVEN_MAX_KEYS) {
		return (bad(err, errlen, at, "more than 4 keys"));
	}
	for (size_t j = 0; j < json_array_size(keys); j++) {
		(void) snprintf(at, sizeof(at), "%s.keys[%zu]", where, j);
		rv = key_from_json(json_array_get(keys, j), &a->keys[j], at,
		    err, errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	a->n_keys = json_array_size(keys);
	return (HAVEN_OK);
}

static haven_err
attrs_from_json(const json_t *o, haven_agency *a, const char *where,
    char *err, size_t errlen)
{
	const json_t *attrs = json_object_get(o, "attrs");
	const char *key;
	json_t *val;
	char at[96];
	haven_err rv;

	(void) snprintf(at, sizeof(at), "%s.attrs", where);
	if (attrs == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_object(attrs)) {
		return (bad(err, errlen, at, "must be an object"));
	}
	if (json_object_size(attrs) > HAVEN_MAX_ATTRS) {
		return (bad(err, errlen, at, "more than 16 entries"));
	}
	json_object_foreach((json_t *) attrs, key, val) {
		haven_tag *t = &a->attrs[a->n_attrs];

		(void) val;
		if (haven__strlcpy(t->key, key, sizeof(t->key)) != HAVEN_OK) {
			return (bad(err, errlen, at,
			    "key longer than 47 bytes"));
		}
		rv = haven__json_str(attrs, key, true, t->value,
		    sizeof(t->value), at, err, errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
		a->n_attrs++;
	}
	return (HAVEN_OK);
}

static haven_err
agency_from_json(const json_t *o, haven_agency *a, const char *where,
    char *err, size_t errlen)
{
	static const char *const allowed[] = {"id", "role", "name", "revoked",
	    "keys", "attrs", NULL};
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, where, "must be an object"));
	}
	if ((rv = haven__json_only(o, allowed, where, err, errlen)) !=
	        HAVEN_OK ||
	    (rv = haven__json_str(o, "id", true, a->id, sizeof(a->id), where,
	         err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_str(o, "role", true, a->role, sizeof(a->role),
	         where, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_str(o, "name", true, a->name, sizeof(a->name),
	         where, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_bool(o, "revoked", false, &a->revoked, where,
	         err, errlen)) != HAVEN_OK ||
	    (rv = keys_from_json(o, a, where, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (attrs_from_json(o, a, where, err, errlen));
}

static haven_err
root_from_json(const json_t *root, haven_directory *d, const json_t **list,
    char *err, size_t errlen)
{
	static const char *const allowed[] = {"version", "issued_ms",
	    "agencies", "calendars", NULL};
	int64_t version = 0;
	haven_err rv;

	if ((rv = haven__json_only(root, allowed, "", err, errlen)) !=
	        HAVEN_OK ||
	    (rv = haven__json_int(root, "version", true, 0, INT64_MAX,
	         &version, "", err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_int(root, "issued_ms", false, 0, INT64_MAX,
	         &d->issued_ms, "", err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	d->version = (uint64_t) version;
	*list = json_object_get(root, "agencies");
	if (*list == NULL) {
		return (bad(err, errlen, "agencies", "missing"));
	}
	if (!json_is_array(*list)) {
		return (bad(err, errlen, "agencies", "must be an array"));
	}
	if (json_array_size(*list) > HAVEN_MAX_AGENCIES) {
		return (bad(err, errlen, "agencies", "more than 4096 entries"));
	}
	return (HAVEN_OK);
}

haven_err
haven_directory_from_json(haven_directory **out, const char *json,
    size_t len, char *err, size_t errlen)
{
	haven_directory *d = NULL;
	const json_t *list = NULL;
	json_t *root = NULL;
	haven_err rv;

	if ((rv = haven__json_parse(json, len, &root, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	if ((rv = dir_new(&d)) != HAVEN_OK ||
	    (rv = root_from_json(root, d, &list, err, errlen)) != HAVEN_OK ||
	    (rv = reserve(d, json_array_size(list) + 1)) != HAVEN_OK) {
		goto out;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		char where[32];

		(void) snprintf(where, sizeof(where), "agencies[%zu]", i);
		rv = agency_from_json(json_array_get(list, i), &d->ag[i],
		    where, err, errlen);
		if (rv != HAVEN_OK) {
			goto out;
		}
		d->n = i + 1;
	}
	if ((rv = haven__cal_from_json(json_object_get(root, "calendars"),
	    &d->cal, err, errlen)) != HAVEN_OK ||
	    (rv = validate(d, err, errlen)) != HAVEN_OK) {
		goto out;
	}
	reindex(d);
	*out = d;
	d = NULL;
out:
	haven_directory_destroy(&d);
	json_decref(root);
	return (rv);
}

/* ----------------------------------------------------------- to JSON */

static json_t *
hexval(const uint8_t *b)
{
	char hex[2 * HAVEN_KEY_BYTES + 1];

	haven__hex_encode(hex, b, HAVEN_KEY_BYTES);
	return (json_string(hex));
}

static json_t *
key_to_json(const haven_agency_key *k)
{
	json_t *o = json_object();

	if (o == NULL ||
	    json_object_set_new(o, "generation",
	        json_integer(k->generation)) != 0 ||
	    json_object_set_new(o, "sign_pk", hexval(k->sign_pk)) != 0 ||
	    json_object_set_new(o, "box_pk", hexval(k->box_pk)) != 0 ||
	    json_object_set_new(o, "curve_pk", hexval(k->curve_pk)) != 0 ||
	    json_object_set_new(o, "retired", json_boolean(k->retired)) != 0) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

/* Keys and attrs of one agency into `o`; false on allocation failure. */
static bool
agency_lists_to_json(const haven_agency *a, json_t *o)
{
	json_t *keys = json_array();
	json_t *attrs = json_object();
	bool ok = keys != NULL && attrs != NULL;

	for (size_t j = 0; ok && j < a->n_keys; j++) {
		ok = json_array_append_new(keys, key_to_json(&a->keys[j])) == 0;
	}
	for (size_t j = 0; ok && j < a->n_attrs; j++) {
		ok = json_object_set_new(attrs, a->attrs[j].key,
		         json_string(a->attrs[j].value)) == 0;
	}
	if (!ok) {
		json_decref(keys);
		json_decref(attrs);
		return (false);
	}
	return (json_object_set_new(o, "keys", keys) == 0 &&
	    json_object_set_new(o, "attrs", attrs) == 0);
}

static json_t *
agency_to_json(const haven_agency *a)
{
	json_t *o = json_object();

	if (o == NULL ||
	    json_object_set_new(o, "id", json_string(a->id)) != 0 ||
	    json_object_set_new(o, "role", json_string(a->role)) != 0 ||
	    json_object_set_new(o, "name", json_string(a->name)) != 0 ||
	    json_object_set_new(o, "revoked", json_boolean(a->revoked)) != 0 ||
	    !agency_lists_to_json(a, o)) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

/* "calendars" into root, only when the section has content (so an
 * empty section and none print alike); false on allocation failure. */
static bool
cal_to_json(const haven_directory *dir, json_t *root)
{
	json_t *cal = NULL;

	if (haven__cal_empty(&dir->cal)) {
		return (true);
	}
	return (haven__cal_to_json(&dir->cal, &cal) == HAVEN_OK &&
	    json_object_set_new(root, "calendars", cal) == 0);
}

haven_err
haven_directory_to_json(const haven_directory *dir, char **out)
{
	json_t *root = json_object();
	json_t *list = json_array();
	bool ok = root != NULL && list != NULL;
	char *text = NULL;

	for (size_t i = 0; ok && i < dir->n; i++) {
		ok = json_array_append_new(list, agency_to_json(&dir->ag[i])) ==
		    0;
	}
	ok = ok &&
	    json_object_set_new(root, "version",
	        json_integer((json_int_t) dir->version)) == 0 &&
	    (dir->issued_ms == 0 ||
	        json_object_set_new(root, "issued_ms",
	            json_integer(dir->issued_ms)) == 0) &&
	    json_object_set(root, "agencies", list) == 0 &&
	    cal_to_json(dir, root);
	if (ok) {
		text = json_dumps(root, JSON_INDENT(2));
	}
	json_decref(list);
	json_decref(root);
	if (text == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out = text;
	return (HAVEN_OK);
}

/* -------------------------------------------------- protobuf and sign */

typedef struct pbdir {
	Haven__Directory d;
	Haven__Agency *ag;
	Haven__Agency **agp;
	Haven__AgencyKey *keys;
	Haven__AgencyKey **keyp;
	Haven__Tag *tags;
	Haven__Tag **tagp;
	haven__cal_pb cal;
} pbdir;

static void
pbdir_free(pbdir *p)
{
	free(p->ag);
	free(p->agp);
	free(p->keys);
	free(p->keyp);
	free(p->tags);
	free(p->tagp);
	haven__cal_pb_free(&p->cal);
}

static haven_err
pbdir_alloc(pbdir *p, size_t n)
{
	size_t m = n > 0 ? n : 1;

	memset(p, 0, sizeof(*p));
	p->ag = calloc(m, sizeof(*p->ag));
	p->agp = calloc(m, sizeof(*p->agp));
	p->keys = calloc(m * HAVEN_MAX_KEYS, sizeof(*p->keys));
	p->keyp = calloc(m * HAVEN_MAX_KEYS, sizeof(*p->keyp));
	p->tags = calloc(m * HAVEN_MAX_ATTRS, sizeof(*p->tags));
	p->tagp = calloc(m * HAVEN_MAX_ATTRS, sizeof(*p->tagp));
	if (p->ag == NULL || p->agp == NULL || p->keys == NULL ||
	    p->keyp == NULL || p->tags == NULL || p->tagp == NULL) {
		pbdir_free(p);
		return (HAVEN_ENOMEM);
	}
	return (HAVEN_OK);
}

static void
pb_key(Haven__AgencyKey *pk, const haven_agency_key *k)
{
	haven__agency_key__init(pk);
	pk->generation = k->generation;
	pk->sign_pk.data = (uint8_t *) k->sign_pk;
	pk->sign_pk.len = HAVEN_KEY_BYTES;
	pk->box_pk.data = (uint8_t *) k->box_pk;
	pk->box_pk.len = HAVEN_KEY_BYTES;
	pk->curve_pk.data = (uint8_t *) k->curve_pk;
	pk->curve_pk.len = HAVEN_KEY_BYTES;
	pk->retired = k->retired;
}

/* Point the protobuf structs at the directory's own strings and keys. */
static void
pbdir_fill(pbdir *p, const haven_directory *dir)
{
	haven__directory__init(&p->d);
	p->d.version = dir->version;
	p->d.issued_ms = dir->issued_ms;
	p->d.n_agencies = dir->n;
	p->d.agencies = p->agp;
	for (size_t i = 0; i < dir->n; i++) {
		const haven_agency *a = &dir->ag[i];
		Haven__Agency *pa = &p->ag[i];

		haven__agency__init(pa);
		p->agp[i] = pa;
		pa->id = (char *) a->id;
		pa->role = (char *) a->role;
		pa->name = (char *) a->name;
		pa->revoked = a->revoked;
		pa->n_keys = a->n_keys;
		pa->keys = &p->keyp[i * HAVEN_MAX_KEYS];
		for (size_t j = 0; j < a->n_keys; j++) {
			Haven__AgencyKey *pk = &p->keys[i * HAVEN_MAX_KEYS + j];
			pb_key(pk, &a->keys[j]);
			pa->keys[j] = pk;
		}
		pa->n_attrs = a->n_attrs;
		pa->attrs = &p->tagp[i * HAVEN_MAX_ATTRS];
		for (size_t j = 0; j < a->n_attrs; j++) {
			Haven__Tag *t = &p->tags[i * HAVEN_MAX_ATTRS + j];
			haven__tag__init(t);
			t->key = (char *) a->attrs[j].key;
			t->value = (char *) a->attrs[j].value;
			pa->attrs[j] = t;
		}
	}
}

haven_err
haven_directory_sign(const haven_directory *dir, const haven_keys *admin,
    uint8_t **out, size_t *out_len)
{
	pbdir p;
	haven_err rv;

	if ((rv = validate(dir, NULL, 0)) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = pbdir_alloc(&p, dir->n)) != HAVEN_OK) {
		return (rv);
	}
	pbdir_fill(&p, dir);
	if (!haven__cal_empty(&dir->cal)) {
		if ((rv = haven__cal_pb_fill(&p.cal, &dir->cal)) != HAVEN_OK) {
			pbdir_free(&p);
			return (rv);
		}
		p.d.calendars = &p.cal.msg;
	}
	rv = haven__doc_sign_msg(KIND, &p.d.base, admin, out, out_len);
	pbdir_free(&p);
	return (rv);
}

/* ------------------------------------------------------ from protobuf */

static haven_err
pb_str(char *dst, size_t dstlen, const char *src, const char *where,
    const char *field, char *err, size_t errlen)
{
	if (src == NULL) {
		src = "";
	}
	if (haven__strlcpy(dst, src, dstlen) != HAVEN_OK) {
		haven__errf(err, errlen, "%s.%s: longer than %zu bytes", where,
		    field, dstlen - 1);
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

static haven_err
pb_bytes(uint8_t *dst, const ProtobufCBinaryData *b, const char *where,
    const char *field, char *err, size_t errlen)
{
	if (b->len != HAVEN_KEY_BYTES) {
		haven__errf(err, errlen, "%s.%s: must be 32 bytes", where,
		    field);
		return (HAVEN_EINVAL);
	}
	memcpy(dst, b->data, HAVEN_KEY_BYTES);
	return (HAVEN_OK);
}

static haven_err
key_from_pb(const Haven__AgencyKey *pk, haven_agency_key *k,
    const char *where, char *err, size_t errlen)
{
	haven_err rv;

	if (pk == NULL) {
		return (bad(err, errlen, where, "missing"));
	}
	k->generation = pk->generation;
	k->retired = pk->retired;
	if ((rv = pb_bytes(k->sign_pk, &pk->sign_pk, where, "sign_pk", err,
	         errlen)) != HAVEN_OK ||
	    (rv = pb_bytes(k->box_pk, &pk->box_pk, where, "box_pk", err,
	         errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (pb_bytes(k->curve_pk, &pk->curve_pk, where, "curve_pk", err,
	    errlen));
}

static haven_err
lists_from_pb(const Haven__Agency *pa, haven_agency *a, const char *where,
    char *err, size_t errlen)
{
	char at[96];
	haven_err rv;

	(void) snprintf(at, sizeof(at), "%s.keys", where);
	if (pa->n_keys > HAVEN_MAX_KEYS) {
		return (bad(err, errlen, at, "more than 4 keys"));
	}
	for (size_t j = 0; j < pa->n_keys; j++) {
		(void) snprintf(at, sizeof(at), "%s.keys[%zu]", where, j);
		rv = key_from_pb(pa->keys[j], &a->keys[j], at, err, errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	a->n_keys = pa->n_keys;
	(void) snprintf(at, sizeof(at), "%s.attrs", where);
	if (pa->n_attrs > HAVEN_MAX_ATTRS) {
		return (bad(err, errlen, at, "more than 16 entries"));
	}
	for (size_t j = 0; j < pa->n_attrs; j++) {
		const Haven__Tag *t = pa->attrs[j];

		if (t == NULL ||
		    pb_str(a->attrs[j].key, HAVEN_CODE_MAX, t->key, at, "key",
		        err, errlen) != HAVEN_OK ||
		    pb_str(a->attrs[j].value, HAVEN_TAGVAL_MAX, t->value, at,
		        "value", err, errlen) != HAVEN_OK) {
			return (bad(err, errlen, at, "entry too long"));
		}
	}
	a->n_attrs = pa->n_attrs;
	return (HAVEN_OK);
}

static haven_err
agency_from_pb(const Haven__Agency *pa, haven_agency *a, const char *where,
    char *err, size_t errlen)
{
	haven_err rv;

	if (pa == NULL) {
		return (bad(err, errlen, where, "missing"));
	}
	if ((rv = pb_str(a->id, sizeof(a->id), pa->id, where, "id", err,
	         errlen)) != HAVEN_OK ||
	    (rv = pb_str(a->role, sizeof(a->role), pa->role, where, "role",
	         err, errlen)) != HAVEN_OK ||
	    (rv = pb_str(a->name, sizeof(a->name), pa->name, where, "name",
	         err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	a->revoked = pa->revoked;
	return (lists_from_pb(pa, a, where, err, errlen));
}

static haven_err
dir_from_pb(const Haven__Directory *pd, haven_directory *d, char *err,
    size_t errlen)
{
	haven_err rv;

	if (pd->n_agencies > HAVEN_MAX_AGENCIES) {
		return (bad(err, errlen, "agencies", "more than 4096 entries"));
	}
	d->version = pd->version;
	d->issued_ms = pd->issued_ms;
	if ((rv = reserve(d, pd->n_agencies + 1)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < pd->n_agencies; i++) {
		char where[32];

		(void) snprintf(where, sizeof(where), "agencies[%zu]", i);
		rv = agency_from_pb(pd->agencies[i], &d->ag[i], where, err,
		    errlen);
		if (rv != HAVEN_OK) {
			return (rv);
		}
		d->n = i + 1;
	}
	if ((rv = haven__cal_from_pb(pd->calendars, &d->cal, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	return (validate(d, err, errlen));
}

haven_err
haven_directory_decode_signed(haven_directory **out, const uint8_t *buf,
    size_t len, const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err,
    size_t errlen)
{
	ProtobufCMessage *m = NULL;
	haven_directory *d = NULL;
	haven_err rv;

	rv = haven__doc_open(KIND, &haven__directory__descriptor, buf, len,
	    admin_pk, &m, err, errlen);
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if ((rv = dir_new(&d)) != HAVEN_OK ||
	    (rv = dir_from_pb((const Haven__Directory *) m, d, err, errlen)) !=
	        HAVEN_OK) {
		goto out;
	}
	reindex(d);
	*out = d;
	d = NULL;
out:
	haven_directory_destroy(&d);
	protobuf_c_message_free_unpacked(m, NULL);
	return (rv);
}

haven_err
haven_directory_load(haven_directory **out, const char *path,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	haven_err rv;

	if ((rv = haven__doc_read(path, &buf, &len, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	rv = haven_directory_decode_signed(out, buf, len, admin_pk, err,
	    errlen);
	free(buf);
	return (rv);
}

/* --------------------------------------------------------- accessors */

uint64_t
haven_directory_version(const haven_directory *dir)
{
	return (dir->version);
}

size_t
haven_directory_count(const haven_directory *dir)
{
	return (dir->n);
}

const haven_agency *
haven_directory_at(const haven_directory *dir, size_t i)
{
	return (i < dir->n ? &dir->ag[i] : NULL);
}

static int
cmp_id_key(const void *key, const void *elem)
{
	const haven_agency *a = *(const haven_agency *const *) elem;

	return (strcmp((const char *) key, a->id));
}

const haven_agency *
haven_directory_find(const haven_directory *dir, const char *id)
{
	const haven_agency *const *hit;

	if (dir == NULL || id == NULL || dir->n == 0) {
		return (NULL);
	}
	hit = bsearch(id, dir->by_id, dir->n, sizeof(dir->by_id[0]),
	    cmp_id_key);
	return (hit != NULL ? *hit : NULL);
}

const haven_agency *
haven_directory_find_curve(const haven_directory *dir,
    const uint8_t curve_pk[HAVEN_KEY_BYTES], const haven_agency_key **key_out)
{
	for (size_t i = 0; dir != NULL && i < dir->n; i++) {
		const haven_agency *a = &dir->ag[i];

		for (size_t j = 0; j < a->n_keys; j++) {
			if (memcmp(a->keys[j].curve_pk, curve_pk,
			        HAVEN_KEY_BYTES) == 0) {
				if (key_out != NULL) {
					*key_out = &a->keys[j];
				}
				return (a);
			}
		}
	}
	return (NULL);
}

const haven_agency_key *
haven_agency_key_current(const haven_agency *a)
{
	const haven_agency_key *best = NULL;

	for (size_t j = 0; j < a->n_keys; j++) {
		const haven_agency_key *k = &a->keys[j];

		if (!k->retired &&
		    (best == NULL || k->generation > best->generation)) {
			best = k;
		}
	}
	return (best);
}

const haven_agency_key *
haven_agency_key_gen(const haven_agency *a, uint32_t generation)
{
	for (size_t j = 0; j < a->n_keys; j++) {
		if (a->keys[j].generation == generation) {
			return (&a->keys[j]);
		}
	}
	return (NULL);
}

const char *
haven_agency_attr(const haven_agency *a, const char *key)
{
	for (size_t j = 0; j < a->n_attrs; j++) {
		if (strcmp(a->attrs[j].key, key) == 0) {
			return (a->attrs[j].value);
		}
	}
	return (NULL);
}

/* The area a school follows: attr "calendar", else "local_authority". */
static const haven__cal_area *
area_of(const haven_directory *dir, const haven_agency *a)
{
	const char *v = haven_agency_attr(a, "calendar");

	if (v == NULL) {
		v = haven_agency_attr(a, "local_authority");
	}
	return (v != NULL ? haven__cal_area_find(&dir->cal, v) : NULL);
}

haven_err
haven_directory_calendar(const haven_directory *dir, const char *id,
    struct haven_calendar *cal)
{
	const haven_agency *a;
	const haven__cal_area *area;
	const haven__cal_school *sc;
	int minute;

	if (dir == NULL || id == NULL || cal == NULL) {
		return (HAVEN_EINVAL);
	}
	haven_calendar_init(cal);
	cal->bank_holidays = dir->cal.bank;
	cal->n_bank_holidays = dir->cal.n_bank;
	if ((a = haven_directory_find(dir, id)) == NULL) {
		return (HAVEN_ENOTFOUND);
	}
	/* Checked when the directory was read: HH:MM or absent. */
	if (haven__cal_hhmm(haven_agency_attr(a, "start_of_day"), &minute)) {
		cal->start_minute = minute;
	}
	if ((area = area_of(dir, a)) != NULL) {
		cal->terms = area->terms;
		cal->n_terms = area->n_terms;
		cal->closed = area->closed;
		cal->n_closed = area->n_closed;
	}
	if ((sc = haven__cal_school_find(&dir->cal, id)) != NULL) {
		cal->school_closed = sc->closed;
		cal->n_school_closed = sc->n_closed;
	}
	return (HAVEN_OK);
}

/* ----------------------------------------------------------- editing */

static haven_agency *
find_mut(haven_directory *dir, const char *id)
{
	const haven_agency *a = haven_directory_find(dir, id);

	return (a != NULL ? &dir->ag[a - dir->ag] : NULL);
}

static haven_err
copy_attrs(haven_agency *a, const haven_tag *attrs, size_t n, char *err,
    size_t errlen)
{
	if (n > HAVEN_MAX_ATTRS) {
		return (bad(err, errlen, "attrs", "more than 16 entries"));
	}
	if (n > 0 && attrs == NULL) {
		return (bad(err, errlen, "attrs", "missing"));
	}
	for (size_t j = 0; j < n; j++) {
		a->attrs[j] = attrs[j];
	}
	a->n_attrs = n;
	return (HAVEN_OK);
}

static void
set_key(haven_agency_key *k, const haven_pubkey *pk)
{
	memset(k, 0, sizeof(*k));
	k->generation = pk->generation;
	memcpy(k->sign_pk, pk->sign_pk, HAVEN_KEY_BYTES);
	memcpy(k->box_pk, pk->box_pk, HAVEN_KEY_BYTES);
	memcpy(k->curve_pk, pk->curve_pk, HAVEN_KEY_BYTES);
}

/* Enrol a new generation for an existing agency; rolls back on error. */
static haven_err
enrol(haven_directory *dir, haven_agency *a, const haven_pubkey *pk,
    const char *role, const char *name, const haven_tag *attrs,
    size_t n_attrs, char *err, size_t errlen)
{
	haven_agency saved = *a;
	haven_err rv = HAVEN_EINVAL;

	if (strcmp(a->role, role) != 0) {
		haven__errf(err, errlen, "role: agency has role %s", a->role);
		goto fail;
	}
	if (a->revoked) {
		(void) bad(err, errlen, "id", "agency is revoked");
		goto fail;
	}
	if (a->n_keys >= HAVEN_MAX_KEYS) {
		(void) bad(err, errlen, "keys", "agency already has 4 keys");
		goto fail;
	}
	for (size_t j = 0; j < a->n_keys; j++) {
		if (a->keys[j].generation >= pk->generation) {
			(void) bad(err, errlen, "generation",
			    "must be higher than the agency's current one");
			goto fail;
		}
		a->keys[j].retired = true;
	}
	set_key(&a->keys[a->n_keys++], pk);
	if ((name != NULL && name[0] != '\0' &&
	        (rv = pb_str(a->name, sizeof(a->name), name, "agency", "name",
	             err, errlen)) != HAVEN_OK) ||
	    (n_attrs > 0 &&
	        (rv = copy_attrs(a, attrs, n_attrs, err, errlen)) !=
	            HAVEN_OK) ||
	    (rv = validate(dir, err, errlen)) != HAVEN_OK) {
		goto fail;
	}
	return (HAVEN_OK);
fail:
	*a = saved;
	return (rv);
}

/* Append a new agency; the candidate is validated before it counts. */
static haven_err
append(haven_directory *dir, const haven_pubkey *pk, const char *role,
    const char *name, const haven_tag *attrs, size_t n_attrs, char *err,
    size_t errlen)
{
	haven_directory cand;
	haven_agency *a;
	haven_err rv;

	if (dir->n >= HAVEN_MAX_AGENCIES) {
		return (bad(err, errlen, "agencies", "more than 4096 entries"));
	}
	if ((rv = reserve(dir, dir->n + 1)) != HAVEN_OK) {
		return (rv);
	}
	a = &dir->ag[dir->n];
	memset(a, 0, sizeof(*a));
	if ((rv = pb_str(a->id, sizeof(a->id), pk->agency, "agency", "id",
	         err, errlen)) != HAVEN_OK ||
	    (rv = pb_str(a->role, sizeof(a->role), role, "agency", "role", err,
	         errlen)) != HAVEN_OK ||
	    (rv = pb_str(a->name, sizeof(a->name), name, "agency", "name", err,
	         errlen)) != HAVEN_OK ||
	    (rv = copy_attrs(a, attrs, n_attrs, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	set_key(&a->keys[0], pk);
	a->n_keys = 1;
	cand = *dir;
	cand.n = dir->n + 1;
	if ((rv = validate(&cand, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	dir->n++;
	reindex(dir);
	return (HAVEN_OK);
}

haven_err
haven_directory_add(haven_directory *dir, const haven_pubkey *pk,
    const char *role, const char *name, const haven_tag *attrs,
    size_t n_attrs, char *err, size_t errlen)
{
	haven_agency *a;

	if (dir == NULL || pk == NULL || role == NULL) {
		return (bad(err, errlen, "agency", "missing argument"));
	}
	if (memchr(pk->agency, '\0', sizeof(pk->agency)) == NULL) {
		return (bad(err, errlen, "agency.id", "too long"));
	}
	if ((a = find_mut(dir, pk->agency)) != NULL) {
		return (enrol(dir, a, pk, role, name, attrs, n_attrs, err,
		    errlen));
	}
	return (append(dir, pk, role, name != NULL ? name : "", attrs, n_attrs,
	    err, errlen));
}

haven_err
haven_directory_revoke(haven_directory *dir, const char *id)
{
	haven_agency *a = find_mut(dir, id);

	if (a == NULL) {
		return (HAVEN_ENOTFOUND);
	}
	a->revoked = true;
	return (HAVEN_OK);
}

void
haven_directory_bump(haven_directory *dir)
{
	dir->version++;
	dir->issued_ms = haven__now_ms();
}
