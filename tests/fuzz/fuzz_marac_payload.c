/*
 * tests/fuzz/fuzz_marac_payload.c: the MARAC and panel codecs on arbitrary
 * bytes.
 *
 * Each input is tried
 *  - as the payload of every (type, profile) pair: haven_marac_payload_to_
 *    json, and haven_marac_verify_payload under a header naming the
 *    profile (must never crash; any answer is fine);
 *  - as the JSON input of every type (haven_marac_from_json, against a
 *    small directory shaped like the demo partnership). Whatever the
 *    sender accepts must be accepted downstream: every view renders, the
 *    broker's header check allows it and every view verifies against the
 *    header. A disagreement aborts (it would be a rule a sender can pass
 *    and a broker or recipient refuse, or the reverse);
 *  - as header tags ("key=value" lines) for haven_marac_check_header.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/keys.h"
#include "haven/marac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	uint32_t type;
	const char *profile;
} pairs[] = {
	{ 5, "marac.referral" }, { 5, "marac.m6" }, { 6, "marac.m6" },
	{ 7, "marac.caselist" }, { 8, "marac.research" }, { 9, "marac.plan" },
	{ 9, "marac.plan.edu" }, { 10, "marac.update" }, { 11, "marac.repeat" },
	{ 12, "dapp.referral" }, { 13, "dapp.bundle" }, { 14, "dapp.plan" },
	{ 16, "marac.consent" },
};

static const char *const agencies[][3] = {
	{ "police.cambs", "POL", "isp=signed panel_north=member" },
	{ "school.urn.110123", "EDU", "" },
	{ "school.urn.110456", "EDU", "panel_north=member" },
	{ "das.cambs", "DAS", "isp=signed panel_north=member" },
	{ "housing.cambs", "HSG", "isp=signed panel_north=member" },
	{ "idva.cambs", "IDVA", "isp=signed panel_north=member" },
	{ "marac.cambs", "MCO", "isp=signed" },
	{ "gp.riverside", "HLT", "isp=signed" },
	{ "probation.cambs", "PRB", "isp=signed panel_north=member" },
	{ "dapp.north", "DAPC", "panel_north=member" },
};

#define N_AG (sizeof(agencies) / sizeof(agencies[0]))

static haven_directory *dir;
static int64_t now_ms;

static json_t *
agency(size_t i)
{
	haven_keys *k = NULL;
	haven_pubkey pk;
	char s[65], b[65], c[65], attrs[128], *save = NULL;
	json_t *a = json_object();

	if (haven_keys_generate(&k, agencies[i][0], 1) != HAVEN_OK) {
		abort();
	}
	haven_keys_public(k, &pk);
	haven_keys_destroy(&k);
	for (size_t j = 0; j < HAVEN_KEY_BYTES; j++) {
		(void) snprintf(s + 2 * j, 3, "%02x", pk.sign_pk[j]);
		(void) snprintf(b + 2 * j, 3, "%02x", pk.box_pk[j]);
		(void) snprintf(c + 2 * j, 3, "%02x", pk.curve_pk[j]);
	}
	(void) snprintf(attrs, sizeof(attrs), "%s", agencies[i][2]);
	for (char *kv = strtok_r(attrs, " ", &save); kv != NULL;
	     kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');

		*eq = '\0';
		json_object_set_new(a, kv, json_string(eq + 1));
	}
	return (json_pack("{s:s, s:s, s:s, s:[{s:i, s:s, s:s, s:s}], s:o}",
	    "id", agencies[i][0], "role", agencies[i][1], "name", "Agency",
	    "keys", "generation", 1, "sign_pk", s, "box_pk", b, "curve_pk",
	    c, "attrs", a));
}

static void
init(void)
{
	json_t *list = json_array();
	json_t *root;
	char err[256];
	char *text;

	for (size_t i = 0; i < N_AG; i++) {
		json_array_append_new(list, agency(i));
	}
	root = json_pack("{s:i, s:o}", "version", 1, "agencies", list);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (text == NULL || haven_directory_from_json(&dir, text, strlen(text),
	        err, sizeof(err)) != HAVEN_OK ||
	    haven_time_parse("2026-11-23T09:00:00Z", &now_ms) != HAVEN_OK) {
		abort();
	}
	free(text);
}

static void
header_of(const haven_marac_msg *m, haven_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = HAVEN_PROTOCOL_VERSION;
	h->type = m->type;
	h->has_case = true;
	memcpy(h->legal_basis, m->legal_basis, sizeof(h->legal_basis));
	memcpy(h->purpose, m->purpose, sizeof(h->purpose));
	h->n_tags = m->n_tags;
	memcpy(h->tags, m->tags, sizeof(m->tags));
	h->occurred_ms = m->occurred_ms;
	h->n_views = m->n_views < HAVEN_MAX_VIEWS ? m->n_views :
	    HAVEN_MAX_VIEWS;
	for (size_t i = 0; i < h->n_views; i++) {
		memcpy(h->views[i].profile, m->views[i].profile,
		    sizeof(h->views[i].profile));
	}
}

/* Sender accepted: broker and recipients must accept too. */
static void
downstream(const haven_marac_msg *m)
{
	haven_header h;
	haven_policy_decision d;
	char why[192];

	header_of(m, &h);
	if (haven_marac_check_header(NULL, &h, now_ms, &d) != HAVEN_OK) {
		abort();
	}
	for (size_t i = 0; i < m->n_views; i++) {
		char *js = NULL;

		if (haven_marac_payload_to_json(m->type, m->views[i].profile,
		        m->views[i].payload, m->views[i].payload_len, &js) !=
		        HAVEN_OK ||
		    (i < h.n_views && haven_marac_verify_payload(&h,
		        m->views[i].profile, m->views[i].payload,
		        m->views[i].payload_len, why, sizeof(why)) != HAVEN_OK)) {
			abort();
		}
		free(js);
	}
}

/* Built without the broker's rules (an agent's default): the broker may
 * refuse it, but its tags are honest, so every recipient accepts it. */
static void
deferred_downstream(const haven_marac_msg *m)
{
	haven_header h;
	haven_policy_decision d;
	char why[192];
	haven_err rv;

	header_of(m, &h);
	rv = haven_marac_check_header(NULL, &h, now_ms, &d);
	if (rv != HAVEN_OK && rv != HAVEN_EPOLICY) {
		abort();
	}
	for (size_t i = 0; i < m->n_views && i < h.n_views; i++) {
		if (haven_marac_verify_payload(&h, m->views[i].profile,
		        m->views[i].payload, m->views[i].payload_len, why,
		        sizeof(why)) != HAVEN_OK) {
			abort();
		}
	}
}

static void
as_payload(const uint8_t *data, size_t size)
{
	haven_header h;
	char why[192];
	haven_err rv;

	memset(&h, 0, sizeof(h));
	h.has_case = true;
	h.n_views = 1;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *js = NULL;

		h.type = pairs[i].type;
		(void) snprintf(h.views[0].profile, sizeof(h.views[0].profile),
		    "%s", pairs[i].profile);
		if (haven_marac_payload_to_json(pairs[i].type, pairs[i].profile,
		        data, size, &js) == HAVEN_OK) {
			free(js);
		}
		rv = haven_marac_verify_payload(&h, pairs[i].profile, data,
		    size, why, sizeof(why));
		(void) rv; /* any answer will do: it must not crash */
	}
}

static void
as_json(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = { 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
		16 };
	static const char *const senders[] = { "gp.riverside", "marac.cambs",
		"police.cambs", "dapp.north" };

	if (size == 0 || data[0] != '{') {
		return;
	}
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (size_t s = 0; s < 4; s++) {
			haven_marac_msg *m = NULL;
			char f[96], w[192];

			if (haven_marac_from_json(types[t], (const char *) data,
			        size, senders[s], dir, NULL, now_ms, &m, f,
			        sizeof(f), w, sizeof(w)) == HAVEN_OK) {
				downstream(m);
				haven_marac_msg_free(&m);
			}
			if (haven_marac_from_json_ex(types[t],
			        (const char *) data, size, senders[s], dir, NULL,
			        now_ms, HAVEN_MARAC_DEFER_BROKER, &m, f,
			        sizeof(f), w, sizeof(w)) == HAVEN_OK) {
				deferred_downstream(m);
				haven_marac_msg_free(&m);
			}
		}
	}
}

/* Lines "key=value" become tags of a header of type data[0] % 17. */
static void
as_tags(const uint8_t *data, size_t size)
{
	haven_header h;
	haven_policy_decision d;
	size_t i = 1;

	if (size < 1) {
		return;
	}
	memset(&h, 0, sizeof(h));
	h.type = data[0] % 17;
	h.has_case = true;
	h.occurred_ms = now_ms - 1000;
	h.n_views = 2;
	(void) snprintf(h.views[0].profile, sizeof(h.views[0].profile),
	    "marac.referral");
	(void) snprintf(h.views[1].profile, sizeof(h.views[1].profile),
	    "marac.m6");
	(void) snprintf(h.purpose, sizeof(h.purpose), "%s",
	    h.type >= 12 && h.type <= 14 ? "dapp" : "marac");
	while (i < size && h.n_tags < HAVEN_MAX_TAGS) {
		haven_tag *t = &h.tags[h.n_tags++];
		size_t k = 0, v = 0;

		while (i < size && data[i] != '=' && data[i] != '\n' &&
		    k + 1 < sizeof(t->key)) {
			t->key[k++] = (char) data[i++];
		}
		i += i < size && data[i] == '=';
		while (i < size && data[i] != '\n' &&
		    v + 1 < sizeof(t->value)) {
			t->value[v++] = (char) data[i++];
		}
		i++;
	}
	if (haven_marac_check_header(NULL, &h, now_ms, &d) != HAVEN_OK &&
	    d.allow) {
		abort(); /* a refusal always says allow = false */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir == NULL) {
		init();
	}
	as_payload(data, size);
	as_json(data, size);
	as_tags(data, size);
	return (0);
}
