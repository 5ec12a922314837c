/*
 * haven/common.h: what every libhaven module shares.
 *
 * Error codes, export and attribute macros, size limits and the message type
 * and role vocabulary of domain.md. Limits are enforced before any allocation
 * on untrusted input; a value over a limit is refused with HAVEN_EMSGSIZE or
 * HAVEN_EINVAL, never truncated silently.
 */
#ifndef HAVEN_COMMON_H
#define HAVEN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HAVEN_API __attribute__((visibility("default")))
#define HAVEN_NODISCARD __attribute__((warn_unused_result))
#else
#define HAVEN_API
#define HAVEN_NODISCARD
#endif

/*
 * Error codes. 0 is success. A peer is told only a coarse code (see
 * haven_err_public); the detail goes to the broker's audit log.
 */
typedef enum {
	HAVEN_OK = 0,
	HAVEN_ENOMEM = 1,     /* out of memory */
	HAVEN_EINVAL = 2,     /* malformed or invalid input (names the field) */
	HAVEN_EMSGSIZE = 3,   /* input over a size limit */
	HAVEN_EDECODE = 4,    /* bytes do not decode */
	HAVEN_EVERSION = 5,   /* unknown protocol or format version */
	HAVEN_ESIG = 6,       /* signature or integrity check failed */
	HAVEN_EAUTH = 7,      /* generic authentication failure (peer-facing) */
	HAVEN_EIDENTITY = 8,  /* claimed sender is not the transport identity */
	HAVEN_EREVOKED = 9,   /* agency or key revoked */
	HAVEN_EUNKNOWN = 10,  /* agency or key not in the directory */
	HAVEN_EREPLAY = 11,   /* message id reused with different bytes */
	HAVEN_ESKEW = 12,     /* timestamp outside the allowed skew */
	HAVEN_EPOLICY = 13,   /* a sharing rule refused it (names the rule) */
	HAVEN_EVALIDATE = 14, /* content fails validation (names rule/field) */
	HAVEN_ENOTFOUND = 15, /* no such item */
	HAVEN_EEXIST = 16,    /* item already exists */
	HAVEN_ECRYPTO = 17,   /* decryption failed or no view for this key */
	HAVEN_EIO = 18,       /* storage or file error */
	HAVEN_EFULL = 19,     /* store full (MDB_MAP_FULL): refusing new work */
	HAVEN_ESTALE = 20,    /* document older than the one already loaded */
	HAVEN_ETIMEDOUT = 21, /* no answer in time */
	HAVEN_EOVERFLOW = 22, /* size arithmetic overflow */
	HAVEN_ECORRUPT = 23,  /* stored data or audit chain corrupt */
	HAVEN_ESTATE = 24,    /* operation not valid in the current state */
	HAVEN_ESYSERR = 0x10000000 /* OR-ed with errno */
} haven_err;

/** Human-readable text for an error code; never NULL, static storage. */
HAVEN_API const char *haven_strerror(haven_err err);

/** Stable short name of an error code ("EPOLICY"), for JSON and logs. */
HAVEN_API const char *haven_err_name(haven_err err);

/* ------------------------------------------------------------ limits */

#define HAVEN_PROTOCOL_VERSION 1u
#define HAVEN_ID_MAX 64          /* agency id incl. NUL */
#define HAVEN_ROLE_MAX 8         /* role code incl. NUL */
#define HAVEN_NAME_MAX 128       /* display names incl. NUL */
#define HAVEN_CODE_MAX 48        /* legal basis, purpose, profile, tag */
#define HAVEN_TAGVAL_MAX 64
#define HAVEN_MSGID_BYTES 16
#define HAVEN_HASH_BYTES 32      /* BLAKE2b-256 */
#define HAVEN_SIG_BYTES 64
#define HAVEN_KEY_BYTES 32
#define HAVEN_MAX_RECIPIENTS 32
#define HAVEN_MAX_VIEWS 8
#define HAVEN_MAX_TAGS 16
#define HAVEN_MAX_SUBJECTS 16
#define HAVEN_FRAME_MAX (1024u * 1024u)     /* whole ZeroMQ message */
#define HAVEN_PAYLOAD_MAX (256u * 1024u)    /* one view's plaintext */
#define HAVEN_DOC_MAX (8u * 1024u * 1024u)  /* signed directory/policy */
#define HAVEN_JSON_MAX (1024u * 1024u)      /* JSON input files */

/* ------------------------------------------------------ message types */

/* domain.md section 2. Values are wire-stable. */
typedef enum {
	HAVEN_MSG_NONE = 0,
	HAVEN_MSG_OE_NOTIFICATION = 1,
	HAVEN_MSG_OE_EHE_NOTIFICATION = 2,
	HAVEN_MSG_OE_RECEIPT = 3,
	HAVEN_MSG_OE_ESCALATION = 4,
	HAVEN_MSG_MARAC_REFERRAL = 5,
	HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT = 6,
	HAVEN_MSG_MARAC_CASE_LIST = 7,
	HAVEN_MSG_MARAC_RESEARCH_RETURN = 8,
	HAVEN_MSG_MARAC_ACTION_PLAN = 9,
	HAVEN_MSG_ACTION_UPDATE = 10,
	HAVEN_MSG_REPEAT_INCIDENT_FLAG = 11,
	HAVEN_MSG_DAPP_REFERRAL = 12,
	HAVEN_MSG_DAPP_BUNDLE = 13,
	HAVEN_MSG_DAPP_ACTION_PLAN = 14,
	/* not in domain.md's table: a consent decision (given, refused,
	 * withdrawn) for a MARAC case, so the broker can stop consent-based
	 * sharing after a withdrawal (issue 4); 15 is M15, the audit event,
	 * which is never routed. */
	HAVEN_MSG_CONSENT_DECISION = 16,
	HAVEN_MSG_TYPE_COUNT = 17
} haven_msg_type;

/** "OE_NOTIFICATION" etc.; "UNKNOWN" for values out of range. */
HAVEN_API const char *haven_msg_type_name(uint32_t type);

/** True if `type` is a routable message type (1..14, 16). */
HAVEN_API bool haven_msg_type_valid(uint32_t type);

/** Parse a type name; HAVEN_EINVAL if it is not one. */
HAVEN_NODISCARD HAVEN_API haven_err haven_msg_type_parse(const char *name,
                                                          uint32_t *type);

/** True if `role` is one of the role codes of DESIGN.md section 3
 * (POL EDU LA IDVA MCO CSC ASC HLT HSG PRB DAS REF DAPC ADMIN BRK). */
HAVEN_API bool haven_role_valid(const char *role);

/** True if `id` is a well-formed agency id: 1..63 chars of [a-z0-9.-],
 * starting with a letter, no "..", not ending in '.'. */
HAVEN_API bool haven_agency_id_valid(const char *id);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_COMMON_H */
