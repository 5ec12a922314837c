/*
 * lib/pbutil.c: strict protobuf-c helpers (see pbutil.h).
 *
 * Threat model: the bytes come from a peer, a file or a store that may be
 * hostile. Lengths are compared before any copy or allocation; nothing here
 * logs or echoes field content.
 */
#include "pbutil.h"

#include <stdlib.h>
#include <string.h>

ProtobufCBinaryData
haven__pb_bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b;

	b.data = (uint8_t *) p;
	b.len = n;
	return (b);
}

haven_err
haven__pb_bytes(uint8_t *dst, size_t n, const ProtobufCBinaryData *b)
{
	if (b->len != n || b->data == NULL) {
		return (HAVEN_EINVAL);
	}
	memcpy(dst, b->data, n);
	return (HAVEN_OK);
}

haven_err
haven__pb_str(char *dst, size_t cap, const char *src)
{
	size_t n = (src == NULL) ? 0 : strlen(src);

	if (n >= cap) {
		return (HAVEN_EINVAL);
	}
	if (n > 0) {
		memcpy(dst, src, n);
	}
	dst[n] = '\0';
	return (HAVEN_OK);
}

haven_err
haven__pb_unpack(const ProtobufCMessageDescriptor *desc, size_t max,
    const uint8_t *buf, size_t len, ProtobufCMessage **out)
{
	if (len > max) {
		return (HAVEN_EMSGSIZE);
	}
	if (buf == NULL && len != 0) {
		return (HAVEN_EINVAL);
	}
	if ((*out = protobuf_c_message_unpack(desc, NULL, len, buf)) == NULL) {
		return (HAVEN_EDECODE);
	}
	return (HAVEN_OK);
}

bool
haven__pb_canonical(const ProtobufCMessage *m, size_t len)
{
	return (m->n_unknown_fields == 0 &&
	    protobuf_c_message_get_packed_size(m) == len);
}

haven_err
haven__pb_pack(const ProtobufCMessage *m, size_t max, uint8_t **out,
    size_t *out_len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf;

	if (n > max) {
		return (HAVEN_EMSGSIZE);
	}
	if ((buf = malloc(n > 0 ? n : 1)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out_len = protobuf_c_message_pack(m, buf);
	*out = buf;
	return (HAVEN_OK);
}
