/*
 * tests/bench/bench_mqtt.c: the Mosquitto side of haven-bench.
 *
 * A private mosquitto on a free 127.0.0.1 port with persistence on and
 * autosave_on_changes with autosave_interval 1, i.e. the in-memory database
 * is written out (temp file, fsync, rename) after every change that counts
 * (queued messages among them): the closest Mosquitto comes to storing each
 * QoS 1 message. For reference it also runs with Mosquitto's default
 * autosave (every 1800 s), where messages live in memory only. The
 * publisher and the subscriber (persistent session, clean_session false)
 * use libmosquitto, MQTT 3.1.1, QoS 1, TCP_NODELAY, 1 KiB payloads. The
 * subscriber hands each message to a committer thread that stores what has
 * arrived in one fsync'd LMDB transaction, like the Haven receiver. There
 * is nothing to verify or decrypt: MQTT carries the payload in clear, and
 * libmosquitto acknowledges (PUBACK) before the application has stored it.
 */
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define TOPIC "haven-bench/oe"

typedef struct rx_msg {
	uint64_t idx;
	int64_t t0;
	uint8_t payload[HB_PAYLOAD];
} rx_msg;

struct hb_mqtt {
	char dir[512];
	int port;
	bool durable;     /* autosave on every change, else every 30 min */
	pid_t broker;
	struct mosquitto *pub;
	struct mosquitto *sub;
	hb_store store;
	bool has_store;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t inflight;  /* publisher: sent, not yet PUBACKed */
	bool subscribed;
	hb_phase *ph;     /* the running phase */
	rx_msg *q;        /* subscriber -> committer queue */
	size_t q_cap, q_head, q_tail;
	size_t q_dropped;
};

/* ------------------------------------------------------------- broker */

static int
write_conf(hb_mqtt *m, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		return (-1);
	}
	fprintf(f, "listener %d 127.0.0.1\n"
	    "allow_anonymous true\n"
	    "persistence true\n"
	    "persistence_location %s/\n"
	    "persistence_file mosquitto.db\n"
	    "autosave_on_changes %s\n"
	    "autosave_interval %d\n"
	    "max_inflight_messages %d\n"
	    "max_queued_messages 0\n"
	    "set_tcp_nodelay true\n"
	    "log_dest stderr\n"
	    "log_type error\nlog_type warning\n", m->port, m->dir,
	    m->durable ? "true" : "false", m->durable ? 1 : 1800,
	    HB_BATCH_MAX);
	if (geteuid() == 0) {
		/* Keep root so that it can write its db in our temp dir. */
		fprintf(f, "user root\n");
	}
	return (fclose(f) == 0 ? 0 : -1);
}

static int
start_broker(hb_mqtt *m)
{
	char conf[1024], log[1024];
	const char *argv[] = { "mosquitto", "-c", conf, NULL };

	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", m->dir);
	snprintf(log, sizeof(log), "%s/mosquitto.log", m->dir);
	if (write_conf(m, conf) != 0 ||
	    (m->broker = hb_spawn(argv, log)) < 0 ||
	    !hb_port_ready(m->port, 10000, m->broker)) {
		fprintf(stderr, "haven-bench: mosquitto did not start "
		    "(see %s)\n", log);
		return (-1);
	}
	return (0);
}

/* ---------------------------------------------------------- callbacks */

static void
on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	hb_mqtt *m = obj;

	(void) mosq;
	(void) mid;
	pthread_mutex_lock(&m->mu);
	if (m->inflight > 0) {
		m->inflight--;
	}
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static void
on_sub_connect(struct mosquitto *mosq, void *obj, int rc)
{
	(void) obj;
	if (rc == 0) {
		(void) mosquitto_subscribe(mosq, NULL, TOPIC, 1);
	}
}

static void
on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n,
    const int *qos)
{
	hb_mqtt *m = obj;

	(void) mosq;
	(void) mid;
	pthread_mutex_lock(&m->mu);
	m->subscribed = n == 1 && qos[0] == 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static void
on_message(struct mosquitto *mosq, void *obj,
    const struct mosquitto_message *msg)
{
	hb_mqtt *m = obj;
	rx_msg *r;

	(void) mosq;
	pthread_mutex_lock(&m->mu);
	if (m->q_tail - m->q_head >= m->q_cap) {
		m->q_dropped++;
	} else {
		r = &m->q[m->q_tail % m->q_cap];
		if (hb_payload_read(msg->payload, (size_t) msg->payloadlen,
		    &r->idx, &r->t0)) {
			memcpy(r->payload, msg->payload, HB_PAYLOAD);
			m->q_tail++;
		}
	}
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* ------------------------------------------------------------ clients */

static struct mosquitto *
client(hb_mqtt *m, const char *id, bool clean)
{
	struct mosquitto *c = mosquitto_new(id, clean, m);

	if (c == NULL) {
		return (NULL);
	}
	(void) mosquitto_int_option(c, MOSQ_OPT_TCP_NODELAY, 1);
	(void) mosquitto_max_inflight_messages_set(c, HB_BATCH_MAX);
	mosquitto_publish_callback_set(c, on_publish);
	mosquitto_connect_callback_set(c, on_sub_connect);
	mosquitto_subscribe_callback_set(c, on_subscribe);
	mosquitto_message_callback_set(c, on_message);
	if (mosquitto_connect(c, "127.0.0.1", m->port, 30) !=
	        MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(c) != MOSQ_ERR_SUCCESS) {
		mosquitto_destroy(c);
		return (NULL);
	}
	return (c);
}

static bool
wait_subscribed(hb_mqtt *m, int timeout_ms)
{
	int64_t end = hb_now_ns() + (int64_t) timeout_ms * 1000000;
	bool ok;

	pthread_mutex_lock(&m->mu);
	while (!m->subscribed && hb_now_ns() < end) {
		pthread_mutex_unlock(&m->mu);
		hb_sleep_until(hb_now_ns() + 5000000);
		pthread_mutex_lock(&m->mu);
	}
	ok = m->subscribed;
	pthread_mutex_unlock(&m->mu);
	return (ok);
}

int
hb_mqtt_start(hb_mqtt **out, bool durable)
{
	hb_mqtt *m = calloc(1, sizeof(*m));
	char sdir[1024];

	*out = NULL;
	if (m == NULL) {
		return (-1);
	}
	m->durable = durable;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	mosquitto_lib_init();
	if (hb_tempdir(m->dir, sizeof(m->dir), "mqtt") != 0 ||
	    (m->port = hb_free_port()) < 0 || start_broker(m) != 0) {
		goto fail;
	}
	snprintf(sdir, sizeof(sdir), "%s/bench-inbox", m->dir);
	if (hb_store_open(&m->store, sdir) != 0) {
		goto fail;
	}
	m->has_store = true;
	if ((m->sub = client(m, "haven-bench-sub", false)) == NULL ||
	    !wait_subscribed(m, 10000) ||
	    (m->pub = client(m, "haven-bench-pub", true)) == NULL) {
		fprintf(stderr, "haven-bench: MQTT clients did not connect\n");
		goto fail;
	}
	*out = m;
	return (0);
fail:
	hb_mqtt_stop(&m);
	return (-1);
}

/* ------------------------------------------------------------- a phase */

static void
pub_wait_slot(hb_mqtt *m, hb_phase *ph)
{
	pthread_mutex_lock(&m->mu);
	while (m->inflight >= ph->window && hb_now_ns() < ph->deadline_ns) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		(void) pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	m->inflight++;
	pthread_mutex_unlock(&m->mu);
}

static void
run_publisher(hb_mqtt *m, hb_phase *ph)
{
	uint8_t payload[HB_PAYLOAD];
	int64_t start = hb_now_ns();

	ph->t_start_ns = start;
	while (ph->sent < ph->n && hb_now_ns() < ph->deadline_ns) {
		int64_t due = ph->rate > 0.0 ? start + (int64_t) ((double)
		    ph->sent * 1e9 / ph->rate) : 0;

		hb_sleep_until(due);
		pub_wait_slot(m, ph);
		hb_payload_fill(payload, ph->sent, due > 0 ? due : hb_now_ns());
		if (mosquitto_publish(m->pub, NULL, TOPIC, HB_PAYLOAD, payload,
		    1, false) != MOSQ_ERR_SUCCESS) {
			ph->errors++;
			break;
		}
		ph->sent++;
	}
}

/* Take what the subscriber queued, store it in one fsync'd commit. */
static size_t
commit_batch(hb_mqtt *m, hb_phase *ph, rx_msg *batch)
{
	size_t n = 0;
	uint8_t key[8];
	int64_t now;

	pthread_mutex_lock(&m->mu);
	while (n < HB_BATCH_MAX && m->q_head < m->q_tail) {
		batch[n++] = m->q[m->q_head++ % m->q_cap];
	}
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < n; i++) {
		memcpy(key, batch[i].payload, sizeof(key));
		if (hb_store_put(&m->store, key, sizeof(key), batch[i].payload,
		    HB_PAYLOAD) != 0) {
			ph->errors++;
		}
	}
	if (n > 0 && hb_store_commit(&m->store) != 0) {
		ph->errors++;
	}
	now = hb_now_ns();
	for (size_t i = 0; i < n; i++) {
		(void) hb_phase_mark(ph, batch[i].idx, batch[i].t0, now);
	}
	return (n);
}

static void *
committer(void *arg)
{
	hb_mqtt *m = arg;
	hb_phase *ph = m->ph;
	rx_msg *batch = malloc(HB_BATCH_MAX * sizeof(rx_msg));

	while (batch != NULL && !atomic_load(&ph->stop) &&
	    atomic_load(&ph->received) < ph->n &&
	    hb_now_ns() < ph->deadline_ns) {
		if (commit_batch(m, ph, batch) == 0) {
			hb_sleep_until(hb_now_ns() + 200000);
		}
	}
	free(batch);
	return (NULL);
}

int
hb_mqtt_run(hb_mqtt *m, hb_phase *ph)
{
	pthread_t th;

	pthread_mutex_lock(&m->mu);
	m->ph = ph;
	m->q_cap = ph->n;
	m->q_head = m->q_tail = 0;
	m->inflight = 0;
	m->q_dropped = 0;
	free(m->q);
	m->q = malloc(ph->n * sizeof(rx_msg));
	pthread_mutex_unlock(&m->mu);
	if (m->q == NULL || pthread_create(&th, NULL, committer, m) != 0) {
		return (-1);
	}
	run_publisher(m, ph);
	hb_phase_wait(ph);
	atomic_store(&ph->stop, true);
	pthread_join(th, NULL);
	ph->errors += m->q_dropped;
	return (0);
}

static void
client_close(struct mosquitto **c)
{
	if (*c != NULL) {
		(void) mosquitto_disconnect(*c);
		(void) mosquitto_loop_stop(*c, false);
		mosquitto_destroy(*c);
		*c = NULL;
	}
}

void
hb_mqtt_stop(hb_mqtt **mp)
{
	hb_mqtt *m = *mp;

	if (m == NULL) {
		return;
	}
	client_close(&m->pub);
	client_close(&m->sub);
	if (m->has_store) {
		hb_store_close(&m->store);
	}
	hb_stop(m->broker);
	if (getenv("HAVEN_BENCH_KEEP") == NULL) {
		hb_rmtree(m->dir);
	}
	mosquitto_lib_cleanup();
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m->q);
	free(m);
	*mp = NULL;
}
