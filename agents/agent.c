/*
 * agents/agent.c: load config, keys, directory and store (see agent.h).
 *
 * Trust chain: the admin public key file (installed out of band) signs the
 * directory; the directory gives the broker's CurveZMQ server key (so the
 * transport authenticates the broker) and its receipt-signing key. A
 * directory older than one this agent already accepted is refused
 * (rollback), using the version recorded in the sealed store.
 */
#include "agent.h"

#include <sodium.h>
#include <string.h>

#include "util.h"

static int
fail(haven__agent *a, haven_err rv, const char *field, const char *why)
{
	return (haven__agt_out_fail(&a->out, rv, -1, field, NULL, "%s", why));
}

static haven_err
load_config(haven__agent *a, const char *path, int *ec)
{
	char field[64] = "", why[256] = "";
	haven_err rv;

	rv = haven__agent_config_load(&a->cfg, path, field, sizeof(field), why,
	    sizeof(why));
	if (rv != HAVEN_OK) {
		*ec = haven__agt_out_fail(&a->out, rv,
		    rv == HAVEN_EINVAL || rv == HAVEN_EMSGSIZE ? 2 : 1,
		    field[0] != '\0' ? field : "config", NULL, "%s", why);
	}
	return (rv);
}

static haven_err
load_keys(haven__agent *a, int *ec)
{
	char err[256] = "";
	haven_err rv;

	rv = haven_keys_load(&a->keys, a->cfg.keys, err, sizeof(err));
	if (rv != HAVEN_OK) {
		*ec = fail(a, rv, "keys", err[0] != '\0' ? err :
		    "cannot load the agency key file");
		return (rv);
	}
	if (strcmp(haven_keys_agency(a->keys), a->cfg.agency) != 0) {
		*ec = fail(a, HAVEN_EINVAL, "keys",
		    "key file is for another agency");
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

static void
file_id(const char *path, haven__file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) == 0) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		id->size = st.st_size;
		id->mtime = st.st_mtim;
	}
}

static bool
file_id_same(const haven__file_id *x, const haven__file_id *y)
{
	return (x->dev == y->dev && x->ino == y->ino && x->size == y->size &&
	    x->mtime.tv_sec == y->mtime.tv_sec &&
	    x->mtime.tv_nsec == y->mtime.tv_nsec);
}

/* The broker's current transport key from `dir`. */
static haven_err
broker_curve(const haven_directory *dir, uint8_t pk[HAVEN_KEY_BYTES])
{
	const haven_agency *b = haven_directory_find(dir, "broker");
	const haven_agency_key *k = b != NULL ? haven_agency_key_current(b) :
	    NULL;

	if (k == NULL || b->revoked) {
		return (HAVEN_EUNKNOWN);
	}
	memcpy(pk, k->curve_pk, HAVEN_KEY_BYTES);
	return (HAVEN_OK);
}

static haven_err
load_directory(haven__agent *a, int *ec)
{
	haven_pubkey admin;
	char err[256] = "";
	haven_err rv;

	if ((rv = haven_pubkey_load(&admin, a->cfg.admin_pub, err,
	    sizeof(err))) != HAVEN_OK) {
		*ec = fail(a, rv, "admin_pub", err[0] != '\0' ? err :
		    "cannot load the admin public key");
		return (rv);
	}
	memcpy(a->admin_pk, admin.sign_pk, HAVEN_KEY_BYTES);
	file_id(a->cfg.directory, &a->dir_file);
	rv = haven_directory_load(&a->dir, a->cfg.directory, a->admin_pk,
	    err, sizeof(err));
	if (rv != HAVEN_OK) {
		*ec = fail(a, rv, "directory", err[0] != '\0' ? err :
		    "cannot load the signed directory");
	}
	return (rv);
}

static haven_err
broker_keys(haven__agent *a, int *ec)
{
	if (broker_curve(a->dir, a->broker_curve_pk) != HAVEN_OK) {
		*ec = fail(a, HAVEN_EUNKNOWN, "directory",
		    "no current key for agency 'broker'");
		return (HAVEN_EUNKNOWN);
	}
	return (HAVEN_OK);
}

static haven_err
open_store(haven__agent *a, int *ec)
{
	haven_err rv;

	rv = haven__agt_store_open(&a->store, a->cfg.data_dir,
	    haven_keys_store_key(a->keys));
	if (rv != HAVEN_OK) {
		*ec = fail(a, rv, "data_dir", rv == HAVEN_EAUTH ?
		    "store was created with another store key" :
		    "cannot open the agent store");
		return (rv);
	}
	rv = haven__agt_store_dir_version(a->store,
	    haven_directory_version(a->dir));
	if (rv != HAVEN_OK) {
		*ec = fail(a, rv, "directory", rv == HAVEN_ESTALE ?
		    "older than a directory already accepted (rollback)" :
		    "cannot record the directory version");
	}
	return (rv);
}

/* The signed policy, when the config names one: verified like the
 * directory; its settings (not its rules: the broker enforces those). */
static haven_err
load_policy(haven__agent *a, int *ec)
{
	char err[256] = "";
	haven_err rv;

	if (a->cfg.policy[0] == '\0') {
		return (HAVEN_OK);
	}
	rv = haven_policy_load(&a->policy, a->cfg.policy, a->admin_pk, err,
	    sizeof(err));
	if (rv != HAVEN_OK) {
		*ec = fail(a, rv, "policy", err[0] != '\0' ? err :
		    "cannot load the signed policy");
	}
	return (rv);
}

/* The partnership pseudonym key, when the config names one: a MARAC
 * message's payload is checked against its header's case with it. */
static haven_err
load_pseudonym(haven__agent *a, int *ec)
{
	char err[256] = "";
	haven_err rv;

	if (a->cfg.pseudonym_key[0] == '\0') {
		return (HAVEN_OK);
	}
	rv = haven_pseudonym_key_load(&a->pseudonym, a->cfg.pseudonym_key, err,
	    sizeof(err));
	if (rv != HAVEN_OK) {
		*ec = fail(a, rv, "pseudonym_key", err[0] != '\0' ? err :
		    "cannot load the pseudonym key");
	}
	return (rv);
}

haven_err
haven__agent_open(haven__agent *a, const char *config_path, int *exit_code)
{
	haven_err rv;

	if ((rv = load_config(a, config_path, exit_code)) != HAVEN_OK ||
	    (rv = load_keys(a, exit_code)) != HAVEN_OK ||
	    (rv = load_directory(a, exit_code)) != HAVEN_OK ||
	    (rv = load_policy(a, exit_code)) != HAVEN_OK ||
	    (rv = load_pseudonym(a, exit_code)) != HAVEN_OK ||
	    (rv = broker_keys(a, exit_code)) != HAVEN_OK ||
	    (rv = open_store(a, exit_code)) != HAVEN_OK) {
		haven__agent_close(a);
	}
	return (rv);
}

void
haven__agent_close(haven__agent *a)
{
	haven__agt_client_close(&a->cl);
	haven__agt_store_close(&a->store);
	haven_directory_destroy(&a->dir);
	haven_policy_destroy(&a->policy);
	haven_pseudonym_key_destroy(&a->pseudonym);
	haven_keys_destroy(&a->keys);
}

haven_err
haven__agent_connect(haven__agent *a)
{
	if (a->cl != NULL) {
		return (HAVEN_OK);
	}
	return (haven__agt_client_open(&a->cl, a->cfg.broker, a->keys,
	    a->broker_curve_pk));
}

haven_err
haven__agent_reconnect(haven__agent *a)
{
	haven__agt_client_close(&a->cl);
	return (haven__agent_connect(a));
}

/* Take `nd` (verified) in place of the current directory. */
static haven_err
dir_swap(haven__agent *a, haven_directory **nd, bool *changed)
{
	uint8_t pk[HAVEN_KEY_BYTES];
	haven_err rv;

	if ((rv = broker_curve(*nd, pk)) != HAVEN_OK ||
	    (rv = haven__agt_store_dir_version(a->store,
	    haven_directory_version(*nd))) != HAVEN_OK) {
		return (rv);
	}
	if (sodium_memcmp(pk, a->broker_curve_pk, HAVEN_KEY_BYTES) != 0) {
		memcpy(a->broker_curve_pk, pk, HAVEN_KEY_BYTES);
		haven__agt_client_close(&a->cl);
	}
	haven_directory_destroy(&a->dir);
	a->dir = *nd;
	*nd = NULL;
	*changed = true;
	return (HAVEN_OK);
}

haven_err
haven__agent_dir_refresh(haven__agent *a, bool *changed)
{
	haven_directory *nd = NULL;
	haven__file_id now;
	char err[256] = "";
	haven_err rv;

	*changed = false;
	file_id(a->cfg.directory, &now);
	if (file_id_same(&now, &a->dir_file)) {
		return (HAVEN_OK);
	}
	a->dir_file = now; /* a bad file is reported once, not every pass */
	rv = haven_directory_load(&nd, a->cfg.directory, a->admin_pk, err,
	    sizeof(err));
	if (rv == HAVEN_OK) {
		rv = dir_swap(a, &nd, changed);
	}
	haven_directory_destroy(&nd);
	return (rv);
}

haven_err
haven__agent_receipt_verify(const haven__agent *a, const haven_receipt *r)
{
	const haven_agency *b = haven_directory_find(a->dir, "broker");

	if (b == NULL) {
		return (HAVEN_EUNKNOWN);
	}
	for (size_t i = 0; i < b->n_keys; i++) {
		if (haven_receipt_verify(r, b->keys[i].sign_pk) == HAVEN_OK) {
			return (HAVEN_OK);
		}
	}
	return (HAVEN_ESIG);
}
