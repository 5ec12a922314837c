/*
 * agents/record.h: InboxRecord / OutboxRecord codecs (proto/haven.proto).
 *
 * The only agent module that touches the generated protobuf-c structs of
 * the storage schema. Decoding caps the input, validates every length
 * (msg ids 16 bytes, hashes 32, signatures 64, strings within their C
 * buffers, envelope <= HAVEN_FRAME_MAX) and copies into the C structs.
 */
#ifndef HAVEN_AGENTS_RECORD_H
#define HAVEN_AGENTS_RECORD_H

#include "agent_store.h"

/** Plaintext cap of a stored record: an envelope plus its metadata. */
#define HAVEN__REC_MAX (HAVEN_FRAME_MAX + 4096u)

/** Serialise (malloc'd). `verified` is not part of the record (it is the
 * sealed flags byte). @return HAVEN_OK, HAVEN_EINVAL, HAVEN_ENOMEM. */
HAVEN_NODISCARD haven_err haven__agt_rec_inbox_encode(const haven__inbox_rec *r,
    uint8_t **out, size_t *len);

/** Decode into `r` (envelope malloc'd). HAVEN_OK, HAVEN_EDECODE,
 * HAVEN_EMSGSIZE, HAVEN_ENOMEM; on error `r` holds nothing. */
HAVEN_NODISCARD haven_err haven__agt_rec_inbox_decode(const uint8_t *buf,
    size_t len, haven__inbox_rec *r);

HAVEN_NODISCARD haven_err haven__agt_rec_outbox_encode(
    const haven__outbox_rec *r, uint8_t **out, size_t *len);

HAVEN_NODISCARD haven_err haven__agt_rec_outbox_decode(const uint8_t *buf,
    size_t len, haven__outbox_rec *r);

#endif /* HAVEN_AGENTS_RECORD_H */
