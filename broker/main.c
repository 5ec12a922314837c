/*
 * broker/main.c: haven-broker, the partnership's message broker.
 *
 *   haven-broker --config FILE [--check]
 *
 * Runs in the foreground and logs to stderr (docs/broker.md). Exit codes:
 * 0 success; 2 the config, keys, directory or policy were refused (the
 * message names the key or file); 1 any other error. Signal handlers only
 * set flags; the loop does the work (SIGHUP reload, SIGTERM/SIGINT stop
 * after the current batch with a final audit checkpoint).
 */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "config.h"
#include "log.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t hup_flag;

static void
on_stop(int sig)
{
	(void) sig;
	stop_flag = 1;
}

static void
on_hup(int sig)
{
	(void) sig;
	hup_flag = 1;
}

static void
usage(FILE *to)
{
	(void) fprintf(to,
	    "usage: haven-broker --config FILE [--check]\n"
	    "  --config FILE  broker configuration (JSON, see docs/broker.md)\n"
	    "  --check        validate config, keys, directory and policy, "
	    "then exit\n"
	    "  --help         this text\n"
	    "exit codes: 0 ok, 2 configuration refused, 1 other error\n");
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0) {
		return (-1);
	}
	sa.sa_handler = on_hup;
	if (sigaction(SIGHUP, &sa, NULL) != 0) {
		return (-1);
	}
	sa.sa_handler = SIG_IGN;
	return (sigaction(SIGPIPE, &sa, NULL));
}

static int
check(const haven_bconf *cfg)
{
	char err[512] = "";
	haven_docs d;

	if (haven__docs_load(&d, cfg, err, sizeof(err)) != HAVEN_OK ||
	    haven__docs_check_stale(&d, cfg, err, sizeof(err)) != HAVEN_OK) {
		haven__blog("HAVEN-BRK-REFUSED", "%s", err);
		haven__docs_release(&d);
		return (2);
	}
	haven__blog("HAVEN-BRK-CHECK", "ok directory=%llu policy=%llu",
	    (unsigned long long) haven_directory_version(d.dir),
	    (unsigned long long) haven_policy_version(d.policy));
	haven__docs_release(&d);
	return (0);
}

static int
serve(const haven_bconf *cfg)
{
	haven_broker *b = NULL;
	haven_fail fail = HAVEN_FAIL_NONE;
	haven_err rv;

	if (install_signals() != 0) {
		haven__blog("HAVEN-BRK-FATAL", "no signal handlers");
		return (1);
	}
	if (haven__broker_open(&b, cfg, &fail) != HAVEN_OK) {
		return (fail == HAVEN_FAIL_REFUSED ? 2 : 1);
	}
	rv = haven__broker_run(b, &stop_flag, &hup_flag);
	haven__broker_close(&b);
	return (rv == HAVEN_OK ? 0 : 1);
}

/* Parse argv; returns -1 to continue, else an exit code. */
static int
parse_args(int argc, char **argv, const char **config, int *check_only)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return (0);
		} else if (strcmp(argv[i], "--check") == 0) {
			*check_only = 1;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			*config = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			*config = argv[i] + 9;
		} else {
			usage(stderr);
			return (2);
		}
	}
	if (*config == NULL) {
		usage(stderr);
		return (2);
	}
	return (-1);
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	char err[512] = "";
	int check_only = 0, rc;
	haven_bconf cfg;

	if ((rc = parse_args(argc, argv, &config, &check_only)) >= 0) {
		return (rc);
	}
	if (sodium_init() < 0) {
		haven__blog("HAVEN-BRK-FATAL", "sodium_init failed");
		return (1);
	}
	haven__blog("HAVEN-BRK-START", "version=%s config=%s",
	    "0.1.0", config);
	if (haven__bconf_load(&cfg, config, err, sizeof(err)) != HAVEN_OK) {
		haven__blog("HAVEN-BRK-CONFIG-REFUSED", "%s", err);
		return (2);
	}
	return (check_only ? check(&cfg) : serve(&cfg));
}
