/*
 * lib/marac_int.h: internals shared by lib/marac*.c (haven__marac_ prefix).
 *
 * The MARAC and panel payloads are described by tables (marac_schema.c):
 * one row per field, naming the JSON key (which is also the protobuf field
 * name), its kind, its limit and whether it is required. One generic
 * engine (marac_pb.c) uses a table to read JSON into the generated struct,
 * to validate a struct whether it came from JSON or from the wire, and to
 * check that a decoded buffer is canonical; marac_render.c renders a
 * struct back to JSON with the same table. The per-type rules (criteria,
 * recipients, views, tags) live in marac_build.c and marac_rules.c.
 *
 * The generated protobuf-c structs never leave lib/marac*.c.
 */
#ifndef HAVEN_LIB_MARAC_INT_H
#define HAVEN_LIB_MARAC_INT_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "haven/marac.h"
#include "marac.pb-c.h"

/* Field kinds. Strings are UTF-8, at most `max` bytes, NUL-free. */
enum {
	MK_LINE = 1, /* one line of text: no control characters */
	MK_TEXT,     /* free text: tab, CR and LF allowed */
	MK_CODE,     /* printable ASCII without spaces */
	MK_ID,       /* agency id (haven_agency_id_valid) */
	MK_DATE,     /* YYYY-MM-DD */
	MK_TIME,     /* RFC 3339 */
	MK_ENUM,     /* one of `vals` */
	MK_BOOL,
	MK_UINT,     /* 0..max */
	MK_NINT,     /* -1 (JSON null) or 0..max */
	MK_OBJ       /* a nested message described by `sub` */
};

#define MF_REQ 0x01  /* present and non-empty (a list: >= 1 entry) */
#define MF_OUT 0x02  /* set by the sender's code, never read from JSON */
#define MF_PAST 0x04 /* a date not after today (checked on input only) */
#define MF_LIST 0x08 /* repeated: at most `count` entries */

typedef struct haven__mschema haven__mschema;

typedef struct haven__mfield {
	const char *key;
	uint8_t kind;
	uint8_t flags;
	uint16_t max;     /* string bytes, or the largest integer */
	uint16_t count;   /* MF_LIST: most entries */
	const char *const *vals;     /* MK_ENUM */
	const haven__mschema *sub;   /* MK_OBJ */
} haven__mfield;

struct haven__mschema {
	const ProtobufCMessageDescriptor *desc;
	const haven__mfield *f;
	size_t n;
};

/* Where a refusal is reported: a field path and a reason, never a value. */
typedef struct haven__mperr {
	char *field;
	size_t fieldlen;
	char *why;
	size_t whylen;
} haven__mperr;

haven_err haven__marac_fail(haven__mperr *pe, haven_err rv,
    const char *field, const char *why);
haven_err haven__marac_failf(haven__mperr *pe, haven_err rv,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- schemas (marac_schema.c) ---- */

/** The payload table for a (type, profile) pair, or NULL if the profile
 * does not belong to the type. */
const haven__mschema *haven__marac_schema(uint32_t type, const char *profile);

/** The table of a type's main payload (what its JSON input describes). */
const haven__mschema *haven__marac_input_schema(uint32_t type);

/** True if `profile` is one of the type's profiles. */
bool haven__marac_profile_fits(uint32_t type, const char *profile);

extern const haven__mschema haven__marac_m6_schema;
extern const char *const haven__marac_plan_categories[];

/** True if every table row names a field of its message with a matching
 * C type (a programming check, run by the unit tests). */
bool haven__marac_schemas_ok(void);

/* ---- generic engine (marac_pb.c) ---- */

/**
 * Read JSON object `o` into a new message of `s`. Keys not in the table
 * (or MF_OUT) and not in `extra` are refused. Only the JSON types and the
 * limits are checked here; call haven__marac_check afterwards.
 * @return HAVEN_OK, HAVEN_EINVAL (`pe` names the field), HAVEN_ENOMEM.
 */
haven_err haven__marac_read(const haven__mschema *s, const json_t *o,
    const char *where, const char *const *extra, ProtobufCMessage **out,
    haven__mperr *pe);

/**
 * Validate a message against its table: every string (UTF-8, length,
 * kind), required fields, list counts, integer ranges, nested messages,
 * and no unknown fields at any level. `today` (days since the epoch) checks
 * MF_PAST dates when >= 0 (input only; a decoder passes -1).
 * @return HAVEN_OK or HAVEN_EINVAL (`pe` names the field).
 */
haven_err haven__marac_check(const haven__mschema *s,
    const ProtobufCMessage *m, const char *where, int64_t today,
    haven__mperr *pe);

/**
 * Unpack `len` bytes as `s`, insist on the canonical encoding and run
 * haven__marac_check. @return HAVEN_OK, HAVEN_EMSGSIZE (over
 * HAVEN_PAYLOAD_MAX), HAVEN_EDECODE (bytes malformed, unknown fields, not
 * canonical), HAVEN_EINVAL (content invalid).
 */
haven_err haven__marac_decode(const haven__mschema *s, const uint8_t *buf,
    size_t len, ProtobufCMessage **out, haven__mperr *pe);

/** Free a message made by read or decode; NULL-tolerant, sets *m NULL. */
void haven__marac_pb_free(ProtobufCMessage **m);

/** Set a string field (by name) to a malloc'd copy of `v`. */
haven_err haven__marac_set_str(ProtobufCMessage *m, const char *key,
    const char *v);

/* ---- rendering (marac_render.c) ---- */

/** The message as a JSON object (keys in table order). NULL on ENOMEM. */
json_t *haven__marac_render(const haven__mschema *s,
    const ProtobufCMessage *m);

/* ---- rules shared by sender, broker and recipient (marac_rules.c) ---- */

typedef struct haven__marac_crit {
	int dash;        /* -1 = not assessed */
	bool consent;
	bool judgement;  /* with a written rationale */
	bool escalation; /* incidents in 12 months at or over the threshold */
	bool repeat;
	bool m6;
} haven__marac_crit;

typedef enum {
	HAVEN__CRIT_OK = 0,
	HAVEN__CRIT_NEEDS_M6,     /* basis allows it, but consent=no and no M6 */
	HAVEN__CRIT_NEEDS_CONSENT,/* R10 */
	HAVEN__CRIT_NOT_MET       /* no criterion at all */
} haven__crit_result;

/**
 * R9-R12 on the criteria. `rule` receives the deciding rule ("R9" DASH at
 * or over dash_auto, "R11" judgement or escalation, "R12" repeat, "R10"
 * DASH in [dash_consent, dash_auto), "R9-R11" nothing met) and `why` the
 * reason for a refusal (no personal data).
 */
haven__crit_result haven__marac_criteria(const haven_policy_marac *cfg,
    const haven__marac_crit *c, char rule[HAVEN_RULE_ID_MAX], char *why,
    size_t whylen);

/** The defaults of policy.h (when the caller passes no settings). */
void haven__marac_defaults(haven_policy_marac *cfg);

/** Midnight (Europe/London) that starts the date `days`, in ms. */
int64_t haven__marac_day_start_ms(int64_t days);

/** "marac" for types 5-11 and 16, "dapp" for 12-14 (10 may be either). */
const char *haven__marac_purpose(uint32_t type);


/* ---- building a message from JSON (marac.c, marac_build.c,
 * marac_plan.c) ---- */

typedef struct haven__mctx {
	uint32_t type;
	const json_t *root;
	const char *sender;
	const haven_agency *me;        /* the sender, from the directory */
	const haven_directory *dir;
	const haven_policy_marac *cfg;
	int64_t now_ms;
	int64_t today;                 /* London date of now_ms */
	haven__mperr *pe;
	bool defer;                    /* HAVEN_MARAC_DEFER_BROKER: leave
	                                * the broker's header rules to it */
	ProtobufCMessage *pb;          /* the main payload (owned) */
	ProtobufCMessage *m6;          /* M5 / type 6: the M6 record (owned) */
	haven_marac_msg *msg;          /* being filled */
	size_t n_to;                   /* "to", once read */
	const haven_agency *to[HAVEN_MAX_RECIPIENTS];
} haven__mctx;

/* Says why agency `a` may not receive this message (rule-prefixed), or
 * NULL if it may. */
typedef const char *(*haven__mto_ok)(const haven__mctx *c,
    const haven_agency *a);

/** Read "to": 1..32 distinct active agencies, each accepted by `ok`
 * (HAVEN_EVALIDATE naming "to[i]" if not; `ok` is a recipient rule the
 * broker's policy also enforces, so it is skipped when c->defer). Absent
 * and !required: n_to 0. */
haven_err haven__marac_read_to(haven__mctx *c, bool required,
    haven__mto_ok ok);

haven_err haven__marac_add_tag(haven__mctx *c, const char *key,
    const char *value);
haven_err haven__marac_add_subject(haven__mctx *c, const char *role,
    const char *name, const char *dob);

/** Pack `pb` as a view with `profile` for `n` recipients. */
haven_err haven__marac_add_view(haven__mctx *c, const char *profile,
    const haven_agency *const *rcpt, size_t n, const ProtobufCMessage *pb);

/** Validate the main payload (or another message of the type): the table
 * check with today's date, then haven__marac_content_ok. */
haven_err haven__marac_validate(haven__mctx *c, const haven__mschema *s,
    const char *profile, const ProtobufCMessage *m, const char *where);

/** Read "consent" (bool; required if `required`, else default false) and
 * "m6_recorded" (bool, default false) into tags consent= and m6=; with
 * `rule` (and not c->defer), consent=false without m6_recorded is
 * refused (R9-R11). */
haven_err haven__marac_sharing(haven__mctx *c, bool required, bool rule);

/** Optional "in_reply_to": 32 hex digits, a message id. */
haven_err haven__marac_reply_to(haven__mctx *c);

/** Attr `key` of `a` equals `value`. */
bool haven__marac_attr_is(const haven_agency *a, const char *key,
    const char *value);

/** Role of `a` is `role`. */
bool haven__marac_role_is(const haven_agency *a, const char *role);

/* Per-type builders: validate, apply the rules, fill c->msg. */
haven_err haven__marac_build_referral(haven__mctx *c);
haven_err haven__marac_build_m6(haven__mctx *c);
haven_err haven__marac_build_caselist(haven__mctx *c);
haven_err haven__marac_build_research(haven__mctx *c);
haven_err haven__marac_build_repeat(haven__mctx *c);
haven_err haven__marac_build_consent(haven__mctx *c);
haven_err haven__marac_build_plan(haven__mctx *c);
haven_err haven__marac_build_update(haven__mctx *c);
haven_err haven__marac_build_dapp_referral(haven__mctx *c);
haven_err haven__marac_build_bundle(haven__mctx *c);
haven_err haven__marac_build_dapp_plan(haven__mctx *c);

/**
 * Content rules that hold for a payload wherever it is (sender, decoder):
 * consent reason when not given, DASH answers agree with the score, R11
 * rationale, M6 lawful basis pairs, R8 (marac.plan.edu: education actions
 * only, no risk summary), unique action ids and due dates, MAPPA details
 * only when open, a reason for a refused or withdrawn consent.
 * @return HAVEN_OK, HAVEN_EINVAL or HAVEN_EVALIDATE (a rule), naming the
 *   field in `pe`.
 */
haven_err haven__marac_content_ok(uint32_t type, const char *profile,
    const ProtobufCMessage *m, const char *where, haven__mperr *pe);

#endif /* HAVEN_LIB_MARAC_INT_H */
