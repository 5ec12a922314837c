/*
 * lib/marac_render.c: a validated MARAC payload back to JSON.
 *
 * The output has exactly the shape of the JSON input (docs/marac.md), with
 * the fields the sender's code sets (MF_OUT) added, so what a recipient's
 * `show` prints can be read against what the sender typed. Scalars are
 * always present (empty strings included); an absent nested object is
 * left out; DASH not assessed is null. Only called on a message that
 * haven__marac_check accepted, so every string is valid UTF-8.
 */
#include "marac_int.h"

static json_t *render_msg(const haven__mschema *s, const ProtobufCMessage *m);

static json_t *
render_value(const haven__mfield *f, const void *v)
{
	switch (f->kind) {
	case MK_BOOL:
		return (json_boolean(*(const protobuf_c_boolean *) v));
	case MK_UINT:
		return (json_integer(*(const uint32_t *) v));
	case MK_NINT:
		return (*(const int32_t *) v < 0 ? json_null() :
		    json_integer(*(const int32_t *) v));
	case MK_OBJ:
		return (render_msg(f->sub, *(ProtobufCMessage *const *) v));
	default:
		return (json_string(*(const char *const *) v));
	}
}

static json_t *
render_list(const haven__mfield *f, const ProtobufCMessage *m,
    const ProtobufCFieldDescriptor *fd)
{
	size_t n = *(const size_t *) (const void *) ((const char *) m +
	    fd->quantifier_offset);
	void *const *arr = *(void *const *const *) (const void *) (
	    (const char *) m + fd->offset);
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, render_value(f, &arr[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return (a);
}

static json_t *
render_msg(const haven__mschema *s, const ProtobufCMessage *m)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < s->n; i++) {
		const haven__mfield *f = &s->f[i];
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(s->desc,
		        f->key);
		const void *v;
		json_t *j;

		if (fd == NULL) {
			json_decref(o);
			return (NULL);
		}
		v = (const char *) m + fd->offset;
		if (f->kind == MK_OBJ && (f->flags & MF_LIST) == 0 &&
		    *(ProtobufCMessage *const *) v == NULL) {
			continue; /* absent nested object: left out */
		}
		j = (f->flags & MF_LIST) != 0 ? render_list(f, m, fd) :
		    render_value(f, v);
		/* set_new refuses (and frees) a NULL value: out of memory. */
		if (json_object_set_new(o, f->key, j) != 0) {
			json_decref(o);
			return (NULL);
		}
	}
	return (o);
}

/* The coordinator's view of an M5 reads like the referral's input: the
 * referral's fields with the "m6" object among them. */
static json_t *
flatten(json_t *o)
{
	json_t *r = json_object_get(o, "referral");
	json_t *m6 = json_object_get(o, "m6");

	if (r == NULL || m6 == NULL ||
	    json_object_set(r, "m6", m6) != 0) {
		json_decref(o);
		return (NULL);
	}
	json_incref(r);
	json_decref(o);
	return (r);
}

json_t *
haven__marac_render(const haven__mschema *s, const ProtobufCMessage *m)
{
	json_t *o;

	if (s == NULL || m == NULL || m->descriptor != s->desc) {
		return (NULL);
	}
	o = render_msg(s, m);
	if (o != NULL && m->descriptor == &haven__marac_referral_m6__descriptor) {
		o = flatten(o);
	}
	return (o);
}
