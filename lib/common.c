/*
 * lib/common.c: error texts and the message-type and role vocabulary.
 *
 * Tables are the single source of names; wire values are their indices.
 */
#include <string.h>

#include "haven/common.h"

static const struct {
	const char *name;
	const char *text;
} errors[] = {
	[HAVEN_OK] = {"OK", "success"},
	[HAVEN_ENOMEM] = {"ENOMEM", "out of memory"},
	[HAVEN_EINVAL] = {"EINVAL", "invalid input"},
	[HAVEN_EMSGSIZE] = {"EMSGSIZE", "input over its size limit"},
	[HAVEN_EDECODE] = {"EDECODE", "malformed or truncated data"},
	[HAVEN_EVERSION] = {"EVERSION", "unsupported version"},
	[HAVEN_ESIG] = {"ESIG", "signature or integrity check failed"},
	[HAVEN_EAUTH] = {"EAUTH", "not authorised"},
	[HAVEN_EIDENTITY] = {"EIDENTITY",
	    "sender is not the authenticated identity"},
	[HAVEN_EREVOKED] = {"EREVOKED", "agency or key revoked"},
	[HAVEN_EUNKNOWN] = {"EUNKNOWN", "agency or key not in the directory"},
	[HAVEN_EREPLAY] = {"EREPLAY", "message id replayed with other content"},
	[HAVEN_ESKEW] = {"ESKEW", "timestamp outside the allowed clock skew"},
	[HAVEN_EPOLICY] = {"EPOLICY", "refused by a sharing rule"},
	[HAVEN_EVALIDATE] = {"EVALIDATE", "content fails validation"},
	[HAVEN_ENOTFOUND] = {"ENOTFOUND", "not found"},
	[HAVEN_EEXIST] = {"EEXIST", "already exists"},
	[HAVEN_ECRYPTO] = {"ECRYPTO", "decryption failed"},
	[HAVEN_EIO] = {"EIO", "storage error"},
	[HAVEN_EFULL] = {"EFULL", "store full: not accepting new messages"},
	[HAVEN_ESTALE] = {"ESTALE", "document older than the one in force"},
	[HAVEN_ETIMEDOUT] = {"ETIMEDOUT", "timed out"},
	[HAVEN_EOVERFLOW] = {"EOVERFLOW", "size overflow"},
	[HAVEN_ECORRUPT] = {"ECORRUPT", "stored data corrupt"},
	[HAVEN_ESTATE] = {"ESTATE", "not valid in the current state"},
};

#define N_ERRORS (sizeof(errors) / sizeof(errors[0]))

const char *
haven_strerror(haven_err err)
{
	if ((err & HAVEN_ESYSERR) != 0) {
		return ("system error");
	}
	if ((size_t) err < N_ERRORS && errors[err].text != NULL) {
		return (errors[err].text);
	}
	return ("unknown error");
}

const char *
haven_err_name(haven_err err)
{
	if ((err & HAVEN_ESYSERR) != 0) {
		return ("ESYSERR");
	}
	if ((size_t) err < N_ERRORS && errors[err].name != NULL) {
		return (errors[err].name);
	}
	return ("EUNKNOWNERR");
}

static const char *const types[HAVEN_MSG_TYPE_COUNT] = {
	[HAVEN_MSG_NONE] = "NONE",
	[HAVEN_MSG_OE_NOTIFICATION] = "OE_NOTIFICATION",
	[HAVEN_MSG_OE_EHE_NOTIFICATION] = "OE_EHE_NOTIFICATION",
	[HAVEN_MSG_OE_RECEIPT] = "OE_RECEIPT",
	[HAVEN_MSG_OE_ESCALATION] = "OE_ESCALATION",
	[HAVEN_MSG_MARAC_REFERRAL] = "MARAC_REFERRAL",
	[HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT] = "INFO_SHARED_WITHOUT_CONSENT",
	[HAVEN_MSG_MARAC_CASE_LIST] = "MARAC_CASE_LIST",
	[HAVEN_MSG_MARAC_RESEARCH_RETURN] = "MARAC_RESEARCH_RETURN",
	[HAVEN_MSG_MARAC_ACTION_PLAN] = "MARAC_ACTION_PLAN",
	[HAVEN_MSG_ACTION_UPDATE] = "ACTION_UPDATE",
	[HAVEN_MSG_REPEAT_INCIDENT_FLAG] = "REPEAT_INCIDENT_FLAG",
	[HAVEN_MSG_DAPP_REFERRAL] = "DAPP_REFERRAL",
	[HAVEN_MSG_DAPP_BUNDLE] = "DAPP_BUNDLE",
	[HAVEN_MSG_DAPP_ACTION_PLAN] = "DAPP_ACTION_PLAN",
	[HAVEN_MSG_CONSENT_DECISION] = "CONSENT_DECISION",
};

const char *
haven_msg_type_name(uint32_t type)
{
	if (type == HAVEN_MSG_NONE || type >= HAVEN_MSG_TYPE_COUNT ||
	    types[type] == NULL) {
		return ("UNKNOWN");
	}
	return (types[type]);
}

bool
haven_msg_type_valid(uint32_t type)
{
	return (type != HAVEN_MSG_NONE && type < HAVEN_MSG_TYPE_COUNT &&
	    types[type] != NULL);
}

haven_err
haven_msg_type_parse(const char *name, uint32_t *type)
{
	for (uint32_t t = 1; t < HAVEN_MSG_TYPE_COUNT; t++) {
		if (types[t] != NULL && strcmp(name, types[t]) == 0) {
			*type = t;
			return (HAVEN_OK);
		}
	}
	return (HAVEN_EINVAL);
}

bool
haven_role_valid(const char *role)
{
	static const char *const roles[] = {"POL", "EDU", "LA", "IDVA", "MCO",
	    "CSC", "ASC", "HLT", "HSG", "PRB", "DAS", "REF", "DAPC", "ADMIN",
	    "BRK"};

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (strcmp(role, roles[i]) == 0) {
			return (true);
		}
	}
	return (false);
}

bool
haven_agency_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= HAVEN_ID_MAX || id[0] < 'a' || id[0] > 'z' ||
	    id[n - 1] == '.' || strstr(id, "..") != NULL) {
		return (false);
	}
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '.' || c == '-')) {
			return (false);
		}
	}
	return (true);
}
