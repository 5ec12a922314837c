/*
 * tests/bench/bench_phase.c: the bookkeeping of one benchmark phase, the
 * payload format, the clock, and the receiver's durable LMDB store.
 *
 * Latency is measured from t0 to the moment the receiver's LMDB commit
 * (fsync) returned. In paced phases t0 is the *intended* send time, so a
 * sender that falls behind its schedule shows up as latency instead of
 * hiding it (no coordinated omission).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench.h"

int64_t
hb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec);
}

void
hb_sleep_until(int64_t t_ns)
{
	struct timespec ts;

	if (t_ns <= hb_now_ns()) {
		return;
	}
	ts.tv_sec = t_ns / 1000000000;
	ts.tv_nsec = t_ns % 1000000000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR) {
	}
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t) (v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v = (v << 8) | p[i];
	}
	return (v);
}

void
hb_payload_fill(uint8_t buf[HB_PAYLOAD], uint64_t idx, int64_t t0_ns)
{
	put64(buf, idx);
	put64(buf + 8, (uint64_t) t0_ns);
	for (size_t i = 16; i < HB_PAYLOAD; i++) {
		buf[i] = (uint8_t) (i * 31u + idx);
	}
}

bool
hb_payload_read(const uint8_t *buf, size_t len, uint64_t *idx,
    int64_t *t0_ns)
{
	if (buf == NULL || len != HB_PAYLOAD) {
		return (false);
	}
	*idx = get64(buf);
	*t0_ns = (int64_t) get64(buf + 8);
	return (true);
}

/* ---------------------------------------------------------------- phase */

int
hb_phase_init(hb_phase *ph, size_t n, double rate, size_t window,
    int timeout_s)
{
	memset(ph, 0, sizeof(*ph));
	ph->n = n;
	ph->rate = rate;
	ph->window = window;
	ph->deadline_ns = hb_now_ns() + (int64_t) timeout_s * 1000000000;
	atomic_init(&ph->received, 0);
	atomic_init(&ph->stop, false);
	if ((ph->lat_ms = malloc(n * sizeof(double))) == NULL) {
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		ph->lat_ms[i] = -1.0;
	}
	return (0);
}

void
hb_phase_release(hb_phase *ph)
{
	free(ph->lat_ms);
	ph->lat_ms = NULL;
}

bool
hb_phase_mark(hb_phase *ph, uint64_t idx, int64_t t0_ns, int64_t now)
{
	if (idx >= ph->n || ph->lat_ms[idx] >= 0.0) {
		return (false);
	}
	ph->lat_ms[idx] = (double) (now - t0_ns) / 1e6;
	ph->t_end_ns = now;
	atomic_fetch_add(&ph->received, 1);
	return (true);
}

void
hb_phase_wait(hb_phase *ph)
{
	while (atomic_load(&ph->received) < ph->n &&
	    hb_now_ns() < ph->deadline_ns) {
		hb_sleep_until(hb_now_ns() + 2000000);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return ((x > y) - (x < y));
}

static double
pct(const double *v, size_t n, double p)
{
	size_t i = (size_t) (p * (double) (n - 1) + 0.5);

	return (n == 0 ? 0.0 : v[i < n ? i : n - 1]);
}

void
hb_phase_result(const hb_phase *ph, hb_result *out)
{
	size_t got = 0;
	double *v = malloc((ph->n + 1) * sizeof(double));

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; v != NULL && i < ph->n; i++) {
		if (ph->lat_ms[i] >= 0.0) {
			v[got++] = ph->lat_ms[i];
		}
	}
	if (v != NULL && got > 0) {
		qsort(v, got, sizeof(double), cmp_double);
		out->p50 = pct(v, got, 0.50);
		out->p99 = pct(v, got, 0.99);
	}
	if (got > 0 && ph->t_end_ns > ph->t_start_ns) {
		out->rate = (double) got * 1e9 /
		    (double) (ph->t_end_ns - ph->t_start_ns);
	}
	out->lost = ph->n - got;
	out->ok = v != NULL && got == ph->n && ph->refused == 0 &&
	    ph->errors == 0;
	free(v);
}

/* ---------------------------------------------------------------- store */

int
hb_store_open(hb_store *s, const char *dir)
{
	MDB_txn *txn = NULL;

	memset(s, 0, sizeof(*s));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		return (-1);
	}
	if (mdb_env_create(&s->env) != 0 ||
	    mdb_env_set_mapsize(s->env, (size_t) 1 << 30) != 0 ||
	    mdb_env_open(s->env, dir, 0, 0600) != 0 ||
	    mdb_txn_begin(s->env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &s->dbi) != 0 ||
	    mdb_txn_commit(txn) != 0) {
		hb_store_close(s);
		return (-1);
	}
	return (0);
}

int
hb_store_put(hb_store *s, const uint8_t *key, size_t klen,
    const uint8_t *val, size_t vlen)
{
	MDB_val k = { klen, (void *) key }, v = { vlen, (void *) val };

	if (s->txn == NULL && mdb_txn_begin(s->env, NULL, 0, &s->txn) != 0) {
		s->txn = NULL;
		return (-1);
	}
	return (mdb_put(s->txn, s->dbi, &k, &v, 0) == 0 ? 0 : -1);
}

int
hb_store_commit(hb_store *s)
{
	int rc;

	if (s->txn == NULL) {
		return (0);
	}
	rc = mdb_txn_commit(s->txn);
	s->txn = NULL;
	return (rc == 0 ? 0 : -1);
}

void
hb_store_close(hb_store *s)
{
	if (s->txn != NULL) {
		mdb_txn_abort(s->txn);
		s->txn = NULL;
	}
	if (s->env != NULL) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
}
