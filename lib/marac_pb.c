/*
 * lib/marac_pb.c: the table-driven engine behind the MARAC payloads:
 * JSON into generated structs, validation of a struct, strict decoding.
 *
 * Invariants:
 * - A message that leaves haven__marac_read or haven__marac_decode holds
 *   only fields its table describes, each within its limit; a string over
 *   its limit is refused, never truncated.
 * - haven__marac_check is the one validator for both paths, so a sender
 *   cannot build what a recipient would refuse, and the reverse.
 * - Refusals name the field path ("children[1].dob") and never contain a
 *   value: every value here may be personal data.
 * - Partially built messages are always freeable: a repeated field's count
 *   grows only after its element is complete.
 *
 * Threat assumptions: JSON comes from a coordinator's system (honest, maybe
 * malformed); payload bytes come from another agency after signature
 * verification and decryption, and are still decoded as hostile.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/calendar.h"
#include "marac_int.h"
#include "pbutil.h"
#include "util.h"

haven_err
haven__marac_fail(haven__mperr *pe, haven_err rv, const char *field,
    const char *why)
{
	if (pe != NULL) {
		haven__errf(pe->field, pe->fieldlen, "%s", field);
		haven__errf(pe->why, pe->whylen, "%s", why);
	}
	return (rv);
}

haven_err
haven__marac_failf(haven__mperr *pe, haven_err rv, const char *field,
    const char *fmt, ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return (haven__marac_fail(pe, rv, field, why));
}

/* ------------------------------------------------------------ access */

static const ProtobufCFieldDescriptor *
fdesc(const haven__mschema *s, const haven__mfield *f)
{
	return (protobuf_c_message_descriptor_get_field_by_name(s->desc,
	    f->key));
}

static void *
at(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	return ((char *) m + fd->offset);
}

static size_t *
count_at(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	return ((size_t *) (void *) ((char *) m + fd->quantifier_offset));
}

static void
path_key(char *buf, size_t len, const char *where, const char *key)
{
	(void) snprintf(buf, len, "%.100s%s%.40s", where,
	    where[0] != '\0' ? "." : "", key);
}

static void
path_idx(char *buf, size_t len, const char *base, size_t i)
{
	(void) snprintf(buf, len, "%.140s[%zu]", base, i);
}

static ProtobufCMessage *
new_msg(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = malloc(d->sizeof_message);

	if (m != NULL) {
		protobuf_c_message_init(d, m);
	}
	return (m);
}

void
haven__marac_pb_free(ProtobufCMessage **m)
{
	if (m != NULL && *m != NULL) {
		protobuf_c_message_free_unpacked(*m, NULL);
		*m = NULL;
	}
}

haven_err
haven__marac_set_str(ProtobufCMessage *m, const char *key, const char *v)
{
	const ProtobufCFieldDescriptor *fd =
	    protobuf_c_message_descriptor_get_field_by_name(m->descriptor, key);
	char **slot;
	char *copy;

	if (fd == NULL || fd->type != PROTOBUF_C_TYPE_STRING ||
	    fd->label == PROTOBUF_C_LABEL_REPEATED) {
		return (HAVEN_EINVAL);
	}
	if ((copy = strdup(v)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	slot = at(m, fd);
	if (*slot != NULL && *slot != (const char *) fd->default_value) {
		free(*slot);
	}
	*slot = copy;
	return (HAVEN_OK);
}

/* ------------------------------------------------------ JSON reader */

static haven_err read_obj(const haven__mschema *s, const json_t *o,
    const char *where, const char *const *extra, ProtobufCMessage **out,
    haven__mperr *pe);

static haven_err
read_string(const haven__mfield *f, const json_t *v, char **dst,
    const char *path, haven__mperr *pe)
{
	size_t n;

	if (!json_is_string(v)) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, path,
		    "must be a string"));
	}
	n = json_string_length(v);
	if (memchr(json_string_value(v), '\0', n) != NULL) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, path,
		    "contains a NUL byte"));
	}
	if (n > f->max) {
		return (haven__marac_failf(pe, HAVEN_EINVAL, path,
		    "longer than %u bytes", (unsigned) f->max));
	}
	if ((*dst = strdup(json_string_value(v))) == NULL) {
		return (haven__marac_fail(pe, HAVEN_ENOMEM, path,
		    "out of memory"));
	}
	return (HAVEN_OK);
}

static haven_err
read_int(const haven__mfield *f, const json_t *v, void *dst,
    const char *path, haven__mperr *pe)
{
	json_int_t n;

	if (!json_is_integer(v)) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, path,
		    "must be an integer"));
	}
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t) f->max) {
		return (haven__marac_failf(pe, HAVEN_EINVAL, path,
		    "out of range [0, %u]", (unsigned) f->max));
	}
	if (f->kind == MK_NINT) {
		*(int32_t *) dst = (int32_t) n;
	} else {
		*(uint32_t *) dst = (uint32_t) n;
	}
	return (HAVEN_OK);
}

/* One value (a scalar, or one element of a list) into its slot. */
static haven_err
read_value(const haven__mfield *f, const json_t *v, void *dst,
    const char *path, haven__mperr *pe)
{
	switch (f->kind) {
	case MK_BOOL:
		if (!json_is_boolean(v)) {
			return (haven__marac_fail(pe, HAVEN_EINVAL, path,
			    "must be true or false"));
		}
		*(protobuf_c_boolean *) dst = json_is_true(v);
		return (HAVEN_OK);
	case MK_UINT:
	case MK_NINT:
		return (read_int(f, v, dst, path, pe));
	case MK_OBJ:
		return (read_obj(f->sub, v, path, NULL,
		    (ProtobufCMessage **) dst, pe));
	default:
		return (read_string(f, v, (char **) dst, path, pe));
	}
}

static haven_err
read_list(const haven__mfield *f, const ProtobufCFieldDescriptor *fd,
    ProtobufCMessage *m, const json_t *v, const char *path, haven__mperr *pe)
{
	size_t n, *cnt = count_at(m, fd);
	void **arr;
	char p[160];
	haven_err rv;

	if (!json_is_array(v)) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, path,
		    "must be an array"));
	}
	if ((n = json_array_size(v)) > f->count) {
		return (haven__marac_failf(pe, HAVEN_EINVAL, path,
		    "more than %u entries", (unsigned) f->count));
	}
	if (n == 0) {
		return (HAVEN_OK);
	}
	/* Lists hold strings or messages only: pointer-sized elements. */
	if ((arr = calloc(n, sizeof(void *))) == NULL) {
		return (haven__marac_fail(pe, HAVEN_ENOMEM, path,
		    "out of memory"));
	}
	*(void ***) at(m, fd) = arr;
	for (size_t i = 0; i < n; i++) {
		path_idx(p, sizeof(p), path, i);
		if ((rv = read_value(f, json_array_get(v, i), &arr[i], p,
		         pe)) != HAVEN_OK) {
			return (rv);
		}
		*cnt = i + 1;
	}
	return (HAVEN_OK);
}

static haven_err
only_keys(const haven__mschema *s, const json_t *o, const char *where,
    const char *const *extra, haven__mperr *pe)
{
	const char *key;
	json_t *v;
	char p[160];

	json_object_foreach((json_t *) o, key, v) {
		bool ok = false;

		(void) v;
		for (size_t i = 0; i < s->n && !ok; i++) {
			ok = (s->f[i].flags & MF_OUT) == 0 &&
			    strcmp(s->f[i].key, key) == 0;
		}
		for (size_t i = 0; extra != NULL && extra[i] != NULL && !ok;
		     i++) {
			ok = strcmp(extra[i], key) == 0;
		}
		if (!ok) {
			path_key(p, sizeof(p), where, key);
			return (haven__marac_fail(pe, HAVEN_EINVAL, p,
			    "unknown field"));
		}
	}
	return (HAVEN_OK);
}

static haven_err
read_field(const haven__mschema *s, const haven__mfield *f,
    ProtobufCMessage *m, const json_t *o, const char *where, haven__mperr *pe)
{
	const ProtobufCFieldDescriptor *fd = fdesc(s, f);
	const json_t *v = json_object_get(o, f->key);
	char p[160];

	path_key(p, sizeof(p), where, f->key);
	if (fd == NULL) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, p, "no such field"));
	}
	if (f->kind == MK_NINT) {
		*(int32_t *) at(m, fd) = -1; /* absent or null: not assessed */
	}
	if (v == NULL || json_is_null(v)) {
		return ((f->flags & MF_REQ) != 0 ?
		    haven__marac_fail(pe, HAVEN_EINVAL, p, "missing") : HAVEN_OK);
	}
	if ((f->flags & MF_LIST) != 0) {
		return (read_list(f, fd, m, v, p, pe));
	}
	return (read_value(f, v, at(m, fd), p, pe));
}

static haven_err
read_obj(const haven__mschema *s, const json_t *o, const char *where,
    const char *const *extra, ProtobufCMessage **out, haven__mperr *pe)
{
	ProtobufCMessage *m;
	haven_err rv;

	*out = NULL;
	if (!json_is_object(o)) {
		return (haven__marac_fail(pe, HAVEN_EINVAL,
		    where[0] != '\0' ? where : "", "must be an object"));
	}
	if ((rv = only_keys(s, o, where, extra, pe)) != HAVEN_OK) {
		return (rv);
	}
	if ((m = new_msg(s->desc)) == NULL) {
		return (haven__marac_fail(pe, HAVEN_ENOMEM, where,
		    "out of memory"));
	}
	for (size_t i = 0; i < s->n; i++) {
		if ((s->f[i].flags & MF_OUT) != 0) {
			continue;
		}
		if ((rv = read_field(s, &s->f[i], m, o, where, pe)) !=
		    HAVEN_OK) {
			haven__marac_pb_free(&m);
			return (rv);
		}
	}
	*out = m;
	return (HAVEN_OK);
}

haven_err
haven__marac_read(const haven__mschema *s, const json_t *o,
    const char *where, const char *const *extra, ProtobufCMessage **out,
    haven__mperr *pe)
{
	return (read_obj(s, o, where, extra, out, pe));
}

/* --------------------------------------------------------- validator */

static bool
chars_ok(const char *s, int kind)
{
	for (const unsigned char *p = (const unsigned char *) s; *p != '\0';
	     p++) {
		if (kind == MK_CODE && (*p < 0x21 || *p > 0x7e)) {
			return (false);
		}
		if (*p == 0x7f ||
		    (*p < 0x20 && (kind != MK_TEXT ||
		        (*p != '\t' && *p != '\n' && *p != '\r')))) {
			return (false);
		}
	}
	return (true);
}

static haven_err
enum_fail(const haven__mfield *f, const char *path, haven__mperr *pe)
{
	char why[160];
	size_t used = 0;

	used += (size_t) snprintf(why, sizeof(why), "must be one of");
	for (size_t i = 0; f->vals[i] != NULL && used < sizeof(why); i++) {
		used += (size_t) snprintf(why + used, sizeof(why) - used,
		    "%s%s", i == 0 ? " " : "|", f->vals[i]);
	}
	return (haven__marac_fail(pe, HAVEN_EINVAL, path, why));
}

static haven_err
check_kind(const haven__mfield *f, const char *s, const char *path,
    int64_t today, haven__mperr *pe)
{
	int64_t d, t;
	bool ok = true;

	switch (f->kind) {
	case MK_ID:
		return (haven_agency_id_valid(s) ? HAVEN_OK :
		    haven__marac_fail(pe, HAVEN_EINVAL, path,
		        "not a valid agency id"));
	case MK_DATE:
		if (haven_date_parse(s, &d) != HAVEN_OK) {
			return (haven__marac_fail(pe, HAVEN_EINVAL, path,
			    "not a valid YYYY-MM-DD date"));
		}
		return ((f->flags & MF_PAST) != 0 && today >= 0 && d > today ?
		    haven__marac_fail(pe, HAVEN_EINVAL, path, "in the future") :
		    HAVEN_OK);
	case MK_TIME:
		return (haven_time_parse(s, &t) == HAVEN_OK ? HAVEN_OK :
		    haven__marac_fail(pe, HAVEN_EINVAL, path,
		        "not an RFC 3339 time"));
	case MK_ENUM:
		ok = false;
		for (size_t i = 0; f->vals[i] != NULL && !ok; i++) {
			ok = strcmp(f->vals[i], s) == 0;
		}
		return (ok ? HAVEN_OK : enum_fail(f, path, pe));
	default:
		return (HAVEN_OK);
	}
}

static haven_err
check_str(const haven__mfield *f, const char *s, bool req, const char *path,
    int64_t today, haven__mperr *pe)
{
	size_t n;

	if (s == NULL) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, path, "missing"));
	}
	if ((n = strlen(s)) > f->max) {
		return (haven__marac_failf(pe, HAVEN_EINVAL, path,
		    "longer than %u bytes", (unsigned) f->max));
	}
	if (!haven__utf8_valid(s)) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, path,
		    "not valid UTF-8"));
	}
	if (n == 0) {
		return (req ? haven__marac_fail(pe, HAVEN_EINVAL, path,
		    "must not be empty") : HAVEN_OK);
	}
	if (!chars_ok(s, f->kind)) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, path,
		    f->kind == MK_CODE ?
		        "must be printable ASCII without spaces" :
		        "contains control characters"));
	}
	return (check_kind(f, s, path, today, pe));
}

static haven_err check_msg(const haven__mschema *s,
    const ProtobufCMessage *m, const char *where, int64_t today,
    haven__mperr *pe);

/* One value; list elements are always required (no empty entries). */
static haven_err
check_value(const haven__mfield *f, const void *v, bool req, const char *p,
    int64_t today, haven__mperr *pe)
{
	const ProtobufCMessage *sub;
	int64_t n;

	switch (f->kind) {
	case MK_BOOL:
		return (HAVEN_OK);
	case MK_UINT:
	case MK_NINT:
		n = f->kind == MK_NINT ? *(const int32_t *) v :
		    (int64_t) *(const uint32_t *) v;
		if (n < (f->kind == MK_NINT ? -1 : 0) || n > f->max) {
			return (haven__marac_failf(pe, HAVEN_EINVAL, p,
			    "out of range [0, %u]", (unsigned) f->max));
		}
		return (HAVEN_OK);
	case MK_OBJ:
		sub = *(ProtobufCMessage *const *) v;
		if (sub == NULL) {
			return (req ? haven__marac_fail(pe, HAVEN_EINVAL, p,
			    "missing") : HAVEN_OK);
		}
		return (check_msg(f->sub, sub, p, today, pe));
	default:
		return (check_str(f, *(const char *const *) v, req, p, today,
		    pe));
	}
}

static haven_err
check_field(const haven__mschema *s, const haven__mfield *f,
    const ProtobufCMessage *m, const char *where, int64_t today,
    haven__mperr *pe)
{
	const ProtobufCFieldDescriptor *fd = fdesc(s, f);
	bool req = (f->flags & MF_REQ) != 0;
	char p[160], q[176];
	void *const *arr;
	size_t n;
	haven_err rv;

	path_key(p, sizeof(p), where, f->key);
	if (fd == NULL) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, p, "no such field"));
	}
	if ((f->flags & MF_LIST) == 0) {
		return (check_value(f, at(m, fd), req, p, today, pe));
	}
	n = *count_at(m, fd);
	arr = *(void *const *const *) at(m, fd);
	if (n > f->count) {
		return (haven__marac_failf(pe, HAVEN_EINVAL, p,
		    "more than %u entries", (unsigned) f->count));
	}
	if (n == 0 && req) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, p,
		    "needs at least one entry"));
	}
	for (size_t i = 0; i < n; i++) {
		path_idx(q, sizeof(q), p, i);
		if ((rv = check_value(f, &arr[i], true, q, today, pe)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

static haven_err
check_msg(const haven__mschema *s, const ProtobufCMessage *m,
    const char *where, int64_t today, haven__mperr *pe)
{
	haven_err rv;

	if (m->descriptor != s->desc) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, where,
		    "wrong message"));
	}
	if (m->n_unknown_fields != 0) {
		return (haven__marac_fail(pe, HAVEN_EDECODE, where,
		    "unknown field"));
	}
	for (size_t i = 0; i < s->n; i++) {
		if ((rv = check_field(s, &s->f[i], m, where, today, pe)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

haven_err
haven__marac_check(const haven__mschema *s, const ProtobufCMessage *m,
    const char *where, int64_t today, haven__mperr *pe)
{
	if (s == NULL || m == NULL) {
		return (haven__marac_fail(pe, HAVEN_EINVAL, "", "no message"));
	}
	return (check_msg(s, m, where, today, pe));
}

/* ----------------------------------------------------------- decode */

haven_err
haven__marac_decode(const haven__mschema *s, const uint8_t *buf, size_t len,
    ProtobufCMessage **out, haven__mperr *pe)
{
	ProtobufCMessage *m = NULL;
	haven_err rv;

	*out = NULL;
	if ((rv = haven__pb_unpack(s->desc, HAVEN_PAYLOAD_MAX, buf, len,
	         &m)) != HAVEN_OK) {
		return (haven__marac_fail(pe, rv, "",
		    rv == HAVEN_EMSGSIZE ? "payload too large" :
		        "payload does not decode"));
	}
	/* Our encoder writes each field once, in order, without NULs in
	 * strings: a buffer that re-encodes to another size is not ours. */
	if (protobuf_c_message_get_packed_size(m) != len) {
		rv = haven__marac_fail(pe, HAVEN_EDECODE, "",
		    "payload is not canonical");
	} else {
		rv = haven__marac_check(s, m, "", -1, pe);
	}
	if (rv != HAVEN_OK) {
		haven__marac_pb_free(&m);
		return (rv);
	}
	*out = m;
	return (HAVEN_OK);
}
