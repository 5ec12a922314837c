/*
 * tests/bench/bench_main.c: haven-bench, end-to-end notifications per
 * second and latency, Haven against Mosquitto, on one machine.
 *
 *   haven-bench [--messages N] [--rate R] [--seconds S]
 *               [--only haven|mosquitto]
 *
 * For each system: a warm-up, a throughput phase (N messages of 1 KiB as
 * fast as a window of 64 in flight allows) and a latency phase (R messages
 * per second offered for S seconds; p50/p99 from the intended send time to
 * the receiver's durable store). Only 127.0.0.1 is used; every phase has a
 * deadline, so the whole run is bounded (about a minute with the defaults).
 * Exit 0 when every message of every phase arrived, 1 otherwise.
 */
#include <mosquitto.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

typedef struct opts {
	size_t messages;
	double rate;
	int seconds;
	bool haven;
	bool mqtt;
} opts;

typedef struct figures {
	hb_result tput;
	hb_result lat;
	size_t lat_n;
	bool ran;
} figures;

typedef int (*run_fn)(void *sys, hb_phase *ph);

static void
usage(void)
{
	fprintf(stderr, "usage: haven-bench [--messages N] [--rate R] "
	    "[--seconds S] [--only haven|mosquitto]\n");
}

static int
parse(int argc, char **argv, opts *o)
{
	*o = (opts) { 5000, 1000.0, 5, true, true };
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v != NULL && strcmp(argv[i], "--messages") == 0) {
			o->messages = (size_t) strtoul(v, NULL, 10);
		} else if (v != NULL && strcmp(argv[i], "--rate") == 0) {
			o->rate = strtod(v, NULL);
		} else if (v != NULL && strcmp(argv[i], "--seconds") == 0) {
			o->seconds = atoi(v);
		} else if (v != NULL && strcmp(argv[i], "--only") == 0) {
			o->haven = strcmp(v, "haven") == 0;
			o->mqtt = strcmp(v, "mosquitto") == 0;
		} else {
			return (-1);
		}
		i++;
	}
	if (o->messages < 1 || o->messages > 200000 || o->rate < 1.0 ||
	    o->rate > 20000.0 || o->seconds < 1 || o->seconds > 30 ||
	    (!o->haven && !o->mqtt)) {
		return (-1);
	}
	return (0);
}

/* One phase: returns 0 if every message arrived without error. */
static int
phase(run_fn run, void *sys, size_t n, double rate, size_t window,
    int timeout_s, hb_result *res)
{
	hb_phase ph;

	memset(res, 0, sizeof(*res));
	if (hb_phase_init(&ph, n, rate, window, timeout_s) != 0) {
		return (-1);
	}
	if (run(sys, &ph) != 0) {
		ph.errors++;
	}
	hb_phase_result(&ph, res);
	if (!res->ok) {
		fprintf(stderr, "haven-bench:   sent %zu, received %zu, "
		    "refused %zu, errors %zu\n", ph.sent, n - res->lost,
		    ph.refused, ph.errors);
	}
	hb_phase_release(&ph);
	return (res->ok ? 0 : -1);
}

static int
measure(const char *name, run_fn run, void *sys, const opts *o,
    figures *fg)
{
	hb_result warm;
	int rc = 0;

	printf("  %-10s warm-up ...\n", name);
	fflush(stdout);
	rc |= phase(run, sys, 200, 0.0, 64, 30, &warm);
	printf("  %-10s throughput: %zu messages, 64 in flight ...\n", name,
	    o->messages);
	fflush(stdout);
	rc |= phase(run, sys, o->messages, 0.0, 64, 40, &fg->tput);
	fg->lat_n = (size_t) (o->rate * o->seconds);
	printf("  %-10s latency: %.0f/s offered for %d s ...\n", name,
	    o->rate, o->seconds);
	fflush(stdout);
	rc |= phase(run, sys, fg->lat_n, o->rate, 4096, o->seconds + 30,
	    &fg->lat);
	fg->ran = true;
	return (rc);
}

static int
run_haven(void *sys, hb_phase *ph)
{
	return (hb_haven_run(sys, ph));
}

static int
run_mqtt(void *sys, hb_phase *ph)
{
	return (hb_mqtt_run(sys, ph));
}

static int
bench_haven(const opts *o, figures *fg)
{
	hb_haven *h = NULL;
	int rc;

	if (hb_haven_start(&h) != 0) {
		return (-1);
	}
	rc = measure("haven", run_haven, h, o, fg);
	hb_haven_stop(&h);
	return (rc);
}

static int
bench_mqtt(const opts *o, bool durable, figures *fg)
{
	hb_mqtt *m = NULL;
	int rc;

	if (hb_mqtt_start(&m, durable) != 0) {
		return (-1);
	}
	rc = measure(durable ? "mosquitto" : "mosq-mem", run_mqtt, m, o, fg);
	hb_mqtt_stop(&m);
	return (rc);
}

static void
print_row(const char *name, const figures *f, double rate)
{
	if (!f->ran) {
		printf("%-22s %14s %12s %12s\n", name, "-", "-", "-");
		return;
	}
	printf("%-22s %14.0f %12.2f %12.2f%s%s\n", name, f->tput.rate,
	    f->lat.p50, f->lat.p99,
	    f->lat.ok && f->tput.ok ? "" : "  (INCOMPLETE)",
	    f->lat.rate < 0.95 * rate ? "  (overloaded: latency is queueing)" :
	    "");
}

static void
print_ratio(const char *what, const figures *hv, const figures *mq)
{
	if (!hv->ran || !mq->ran || mq->tput.rate <= 0 || mq->lat.p50 <= 0 ||
	    mq->lat.p99 <= 0) {
		return;
	}
	printf("ratio Haven / Mosquitto (%s): throughput %.3gx, "
	    "p50 latency %.3gx, p99 latency %.3gx\n", what,
	    hv->tput.rate / mq->tput.rate, hv->lat.p50 / mq->lat.p50,
	    hv->lat.p99 / mq->lat.p99);
}

static void
report(const opts *o, const figures *hv, const figures *mq,
    const figures *mm)
{
	int mmaj = 0, mmin = 0, mrev = 0;

	(void) mosquitto_lib_version(&mmaj, &mmin, &mrev);
	printf("\n== results: 1 KiB payloads, 127.0.0.1, %ld cores ==\n",
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-22s %14s %12s %12s\n", "", "notifications/s",
	    "p50 ms", "p99 ms");
	printf("%-22s %14s %12s %12s\n", "", "(max)", "@offered",
	    "@offered");
	print_row("Haven", hv, o->rate);
	print_row("Mosquitto (durable)", mq, o->rate);
	print_row("Mosquitto (in memory)", mm, o->rate);
	printf("(latency at %.0f messages/s offered for %d s; libmosquitto "
	    "%d.%d.%d)\n", o->rate, o->seconds, mmaj, mmin, mrev);
	print_ratio("durable", hv, mq);
	print_ratio("in memory", hv, mm);
}

int
main(int argc, char **argv)
{
	opts o;
	figures hv, mq, mm;
	int rc = 0;

	memset(&hv, 0, sizeof(hv));
	memset(&mq, 0, sizeof(mq));
	memset(&mm, 0, sizeof(mm));
	if (parse(argc, argv, &o) != 0) {
		usage();
		return (2);
	}
	if (sodium_init() < 0) {
		return (1);
	}
	printf("== haven-bench ==\n");
	if (o.haven && bench_haven(&o, &hv) != 0) {
		rc = 1;
	}
	if (o.mqtt && bench_mqtt(&o, true, &mq) != 0) {
		rc = 1;
	}
	if (o.mqtt && bench_mqtt(&o, false, &mm) != 0) {
		rc = 1;
	}
	report(&o, &hv, &mq, &mm);
	return (rc);
}
