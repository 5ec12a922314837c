/*
 * tests/bench/bench.h: haven-bench, Haven against Mosquitto on loopback.
 *
 * One run of one system ("phase") sends `n` 1 KiB notifications from a
 * sender to a receiver through a broker and records, per message, the time
 * from the sender's t0 (written into the payload) to the receiver's durable
 * store. Sender and receiver are threads of this process, so they share one
 * monotonic clock. Everything talks to 127.0.0.1 only and every wait is
 * bounded.
 */
#ifndef HAVEN_BENCH_H
#define HAVEN_BENCH_H

#include <lmdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HB_PAYLOAD 1024
#define HB_BATCH_MAX 256

/* ------------------------------------------------------------ a phase */

typedef struct hb_phase {
	/* set by the caller */
	size_t n;            /* messages to send */
	double rate;         /* offered messages/s; 0 = as fast as window */
	size_t window;       /* max unacknowledged at the sender */
	int64_t deadline_ns; /* monotonic time by which the phase gives up */
	/* shared between sender and receiver */
	atomic_size_t received;
	atomic_bool stop;
	/* results */
	size_t sent;
	size_t refused;      /* rejected by the broker */
	size_t errors;       /* anything else that went wrong */
	int64_t t_start_ns;  /* first send */
	int64_t t_end_ns;    /* last durable store at the receiver */
	double *lat_ms;      /* [n], < 0 until received */
} hb_phase;

typedef struct hb_result {
	double rate;  /* messages/s end to end */
	double p50;   /* ms */
	double p99;   /* ms */
	size_t lost;  /* sent but not received by the deadline */
	bool ok;
} hb_result;

int hb_phase_init(hb_phase *ph, size_t n, double rate, size_t window,
    int timeout_s);
void hb_phase_release(hb_phase *ph);

/** The receiver saw message `idx` durably stored now; false if out of
 * range or a duplicate (a redelivery), which is not counted twice. */
bool hb_phase_mark(hb_phase *ph, uint64_t idx, int64_t t0_ns, int64_t now);

/** Wait (bounded by the deadline) until the receiver has everything. */
void hb_phase_wait(hb_phase *ph);

/** Throughput and latency percentiles of a finished phase. */
void hb_phase_result(const hb_phase *ph, hb_result *out);

/** Monotonic nanoseconds. */
int64_t hb_now_ns(void);

/** Sleep until monotonic time `t_ns` (returns at once if past). */
void hb_sleep_until(int64_t t_ns);

/** The payload: be64 index, be64 t0_ns, then filler up to HB_PAYLOAD. */
void hb_payload_fill(uint8_t buf[HB_PAYLOAD], uint64_t idx, int64_t t0_ns);
bool hb_payload_read(const uint8_t *buf, size_t len, uint64_t *idx,
    int64_t *t0_ns);

/* --------------------------------------------- receiver's durable store */

/* An LMDB environment (default flags: every commit is fsync'd), one
 * transaction per receive batch. */
typedef struct hb_store {
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn; /* open batch or NULL */
} hb_store;

int hb_store_open(hb_store *s, const char *dir);
int hb_store_put(hb_store *s, const uint8_t *key, size_t klen,
    const uint8_t *val, size_t vlen);
/** Commit the open batch (fsync); 0 if there was none. */
int hb_store_commit(hb_store *s);
void hb_store_close(hb_store *s);

/* ---------------------------------------------------------- processes */

/** Free TCP port on 127.0.0.1, or -1. */
int hb_free_port(void);

/** mkdtemp under $TMPDIR or /tmp; path into buf. */
int hb_tempdir(char *buf, size_t len, const char *tag);

/** rm -rf (only paths under the temp dirs this program made). */
void hb_rmtree(const char *path);

/** Start argv[0] with stdout+stderr appended to `log`; pid or -1. */
pid_t hb_spawn(const char *const *argv, const char *log);

/** Wait up to timeout_ms: exit code, 128+signal, -1 on timeout. */
int hb_wait(pid_t pid, int timeout_ms);

/** SIGTERM, wait up to 5 s, then SIGKILL. */
void hb_stop(pid_t pid);

/** True once something accepts TCP connections on 127.0.0.1:port. */
bool hb_port_ready(int port, int timeout_ms, pid_t pid);

/* ------------------------------------------------------------ systems */

typedef struct hb_haven hb_haven;

/** Make a partnership in a temp dir and start haven-broker. */
int hb_haven_start(hb_haven **out);
/** Run one phase police.cambs -> school.urn.110123. */
int hb_haven_run(hb_haven *h, hb_phase *ph);
/** Stop the broker and remove the temp dir. */
void hb_haven_stop(hb_haven **h);

typedef struct hb_mqtt hb_mqtt;

/** Start mosquitto: `durable` saves its db after every change (fsync),
 * else Mosquitto's default of every 1800 s. */
int hb_mqtt_start(hb_mqtt **out, bool durable);
int hb_mqtt_run(hb_mqtt *m, hb_phase *ph);
void hb_mqtt_stop(hb_mqtt **m);

#endif
