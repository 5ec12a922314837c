/*
 * broker/outbox.c: the batch's pending replies (see outbox.h).
 */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

static haven_err
grow(haven_outbox *ob)
{
	size_t cap;
	haven_out *v;

	if (ob->n < ob->cap) {
		return (HAVEN_OK);
	}
	cap = ob->cap == 0 ? 64 : ob->cap * 2;
	if ((v = realloc(ob->v, cap * sizeof(*v))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	ob->v = v;
	ob->cap = cap;
	return (HAVEN_OK);
}

haven_err
haven__outbox_add(haven_outbox *ob, const uint8_t *rid, size_t rid_len,
    const haven_frame *f)
{
	haven_out *o;
	haven_err rv;

	if (rid_len == 0 || rid_len > HAVEN_RID_MAX) {
		return (HAVEN_EINVAL);
	}
	if ((rv = grow(ob)) != HAVEN_OK) {
		return (rv);
	}
	o = &ob->v[ob->n];
	memset(o, 0, sizeof(*o));
	if ((rv = haven_frame_encode(f, &o->buf, &o->len)) != HAVEN_OK) {
		return (rv);
	}
	memcpy(o->rid, rid, rid_len);
	o->rid_len = rid_len;
	ob->n++;
	return (HAVEN_OK);
}

void
haven__outbox_mark_deliver(haven_outbox *ob,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	if (ob->n == 0) {
		return;
	}
	ob->v[ob->n - 1].deliver = true;
	memcpy(ob->v[ob->n - 1].msg_id, id, HAVEN_MSGID_BYTES);
}

void
haven__outbox_clear(haven_outbox *ob)
{
	for (size_t i = 0; i < ob->n; i++) {
		free(ob->v[i].buf);
	}
	ob->n = 0;
}

void
haven__outbox_fini(haven_outbox *ob)
{
	haven__outbox_clear(ob);
	free(ob->v);
	ob->v = NULL;
	ob->cap = 0;
}
