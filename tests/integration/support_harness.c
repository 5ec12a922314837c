/*
 * tests/integration/support_harness.c: spawn and drive real Haven processes.
 *
 * Everything runs on 127.0.0.1 in a mkdtemp directory. Programs are started
 * with posix_spawn, optionally under HAVEN_TEST_WRAPPER (valgrind), and are
 * always reaped: a test that fails still kills its broker on destroy.
 */
#include "support_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ARGS 64

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		return (-1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *) &sa, &len) == 0) {
		port = ntohs(sa.sin_port);
	}
	close(fd);
	return (port);
}

const char *
hv_path(const hv_partnership *p, const char *rel)
{
	static char slots[8][PATH_MAX];
	static int next;
	char *buf = slots[next++ % 8];
	size_t dl = strlen(p->dir), rl = strlen(rel);

	if (dl + 1 + rl >= PATH_MAX) {
		buf[0] = '\0';
		return (buf);
	}
	memcpy(buf, p->dir, dl);
	buf[dl] = '/';
	memcpy(buf + dl + 1, rel, rl + 1);
	return (buf);
}

const char *
hv_agent_config(const hv_partnership *p, const char *agency)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "agents/%.64s/agent.json", agency);
	return (hv_path(p, rel));
}

/* Build argv: [wrapper words...] program args... NULL. Words point into
 * `wrapbuf`, which the caller keeps alive. */
static int
build_argv(const char *prog, const char *const *args, char *wrapbuf,
    size_t wraplen, const char **argv)
{
	const char *wrap = getenv("HAVEN_TEST_WRAPPER");
	int n = 0;

	if (wrap != NULL && wrap[0] != '\0') {
		snprintf(wrapbuf, wraplen, "%s", wrap);
		for (char *tok = strtok(wrapbuf, " "); tok != NULL && n < 16;
		     tok = strtok(NULL, " ")) {
			argv[n++] = tok;
		}
	}
	argv[n++] = prog;
	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		if (n >= MAX_ARGS - 1) {
			return (-1);
		}
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return (0);
}

static pid_t
spawn_io(const char *prog, const char *const *args, int out_fd, int err_fd)
{
	char path[PATH_MAX], wrapbuf[512];
	const char *argv[MAX_ARGS];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	if (prog[0] == '/') {
		snprintf(path, sizeof(path), "%s", prog);
	} else {
		snprintf(path, sizeof(path), "%s/%s", HAVEN_BIN_DIR, prog);
	}
	if (build_argv(path, args, wrapbuf, sizeof(wrapbuf), argv) != 0) {
		return (-1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	}
	if (err_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *) argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	return (rc == 0 ? pid : -1);
}

static int
open_log(const hv_partnership *p, const char *name)
{
	return (open(hv_path(p, name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600));
}

int
hv_wait(pid_t pid, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(status)) {
				return (WEXITSTATUS(status));
			}
			return (128 + WTERMSIG(status));
		}
		if (r < 0 && errno != EINTR) {
			return (-1);
		}
		if (mono_ms() >= deadline) {
			return (-1);
		}
		usleep(10000);
	}
}

int
hv_partnership_create(hv_partnership *p)
{
	char script[PATH_MAX], port[16];
	pid_t pid;
	int fd;

	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "/tmp/haven-it-XXXXXX");
	if (mkdtemp(p->dir) == NULL || (p->port = free_port()) < 0) {
		return (-1);
	}
	snprintf(script, sizeof(script), "%s/deploy/demo/partnership.sh",
	    HAVEN_SOURCE_DIR);
	snprintf(port, sizeof(port), "%d", p->port);
	setenv("HAVEN_BIN_DIR", HAVEN_BIN_DIR, 1);
	fd = open_log(p, "partnership.log");
	/* The script is not a Haven program: never run it under the wrapper. */
	{
		const char *argv[] = {"/bin/sh", script, p->dir, port, NULL};
		posix_spawn_file_actions_t fa;
		int rc;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fd, 1);
		posix_spawn_file_actions_adddup2(&fa, fd, 2);
		rc = posix_spawn(&pid, "/bin/sh", &fa, NULL,
		    (char *const *) argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fd);
		if (rc != 0) {
			return (-1);
		}
	}
	return (hv_wait(pid, 60000) == 0 ? 0 : -1);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return (stat(path, &st) == 0 ? st.st_size : 0);
}

static int
log_has_after(const char *path, off_t from, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int found = 0;

	if (f == NULL) {
		return (0);
	}
	if (fseeko(f, from, SEEK_SET) == 0) {
		while (!found && fgets(line, sizeof(line), f) != NULL) {
			found = strstr(line, needle) != NULL;
		}
	}
	fclose(f);
	return (found);
}

int
hv_broker_start(hv_partnership *p)
{
	const char *args[] = {"--config", NULL, NULL};
	char logpath[PATH_MAX];
	long long deadline;
	off_t from;
	int fd;

	snprintf(logpath, sizeof(logpath), "%s", hv_path(p, "broker.log"));
	args[1] = hv_path(p, "broker.json");
	from = file_size(logpath);
	if ((fd = open_log(p, "broker.log")) < 0) {
		return (-1);
	}
	p->broker = spawn_io("haven-broker", args, fd, fd);
	close(fd);
	if (p->broker <= 0) {
		p->broker = 0;
		return (-1);
	}
	deadline = mono_ms() + 30000;
	while (mono_ms() < deadline) {
		int status;
		if (log_has_after(logpath, from, "HAVEN-BRK-READY")) {
			return (0);
		}
		if (waitpid(p->broker, &status, WNOHANG) == p->broker) {
			p->broker = 0;
			return (-1);
		}
		usleep(20000);
	}
	hv_broker_kill(p);
	return (-1);
}

int
hv_broker_stop(hv_partnership *p)
{
	int rc;

	if (p->broker <= 0) {
		return (-1);
	}
	kill(p->broker, SIGTERM);
	rc = hv_wait(p->broker, 60000);
	if (rc < 0) {
		kill(p->broker, SIGKILL);
		(void) hv_wait(p->broker, 10000);
	}
	p->broker = 0;
	return (rc);
}

void
hv_broker_kill(hv_partnership *p)
{
	if (p->broker <= 0) {
		return;
	}
	kill(p->broker, SIGKILL);
	(void) hv_wait(p->broker, 10000);
	p->broker = 0;
}

int
hv_broker_reload(hv_partnership *p)
{
	const char *args[] = {"directory", "sign", "--dir", NULL, "--admin-key",
	    NULL, "--out", NULL, NULL};
	int rc;

	args[3] = hv_path(p, "directory.json");
	args[5] = hv_path(p, "admin.key");
	args[7] = hv_path(p, "directory.signed");
	if ((rc = hv_run(p, "havenctl", args, 30000, NULL)) != 0) {
		return (rc);
	}
	if (p->broker > 0) {
		kill(p->broker, SIGHUP);
	}
	return (0);
}

static void
rm_rf(const char *path)
{
	const char *argv[] = {"/bin/rm", "-rf", path, NULL};
	pid_t pid;

	if (posix_spawn(&pid, "/bin/rm", NULL, NULL, (char *const *) argv,
	        environ) == 0) {
		(void) hv_wait(pid, 30000);
	}
}

void
hv_partnership_destroy(hv_partnership *p)
{
	(void) unsetenv("HAVEN_TEST_CLOCK_FILE");
	if (p->broker > 0) {
		(void) hv_broker_stop(p);
	}
	if (p->dir[0] != '\0' && getenv("HAVEN_TEST_KEEP") == NULL) {
		rm_rf(p->dir);
	}
	p->dir[0] = '\0';
}

/* Read everything from fd until EOF or the deadline. */
static int
slurp(int fd, long long deadline, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL) {
		return (-1);
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0) {
			free(buf);
			return (-1);
		}
		if (poll(&pfd, 1, (int) left) <= 0) {
			continue;
		}
		if (len + 1024 > cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				return (-1);
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += (size_t) n;
	}
	buf[len] = '\0';
	*out = buf;
	return (0);
}

int
hv_run(const hv_partnership *p, const char *prog, const char *const *args,
    int timeout_ms, char **out)
{
	char logname[PATH_MAX];
	long long deadline = mono_ms() + timeout_ms;
	char *text = NULL;
	int pfd[2], errfd, rc;
	pid_t pid;

	if (out != NULL) {
		*out = NULL;
	}
	snprintf(logname, sizeof(logname), "%s.log", prog);
	if (pipe(pfd) != 0) {
		return (-2);
	}
	(void) fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	(void) fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
	errfd = open_log(p, logname);
	pid = spawn_io(prog, args, pfd[1], errfd);
	close(pfd[1]);
	if (errfd >= 0) {
		close(errfd);
	}
	if (pid < 0) {
		close(pfd[0]);
		return (-2);
	}
	rc = slurp(pfd[0], deadline, &text);
	close(pfd[0]);
	if (rc != 0) {
		kill(pid, SIGKILL);
		(void) hv_wait(pid, 10000);
		return (-1);
	}
	rc = hv_wait(pid, (int) (deadline - mono_ms() > 0 ? deadline - mono_ms() : 1));
	if (rc < 0) {
		kill(pid, SIGKILL);
		(void) hv_wait(pid, 10000);
	}
	if (out != NULL) {
		*out = text;
	} else {
		free(text);
	}
	return (rc);
}

pid_t
hv_spawn(const hv_partnership *p, const char *prog, const char *const *args)
{
	char logname[PATH_MAX];
	pid_t pid;
	int fd;

	snprintf(logname, sizeof(logname), "%s-bg.log", prog);
	fd = open_log(p, logname);
	pid = spawn_io(prog, args, fd, fd);
	if (fd >= 0) {
		close(fd);
	}
	return (pid);
}

json_t *
hv_json(const char *text)
{
	json_error_t je;

	if (text == NULL) {
		return (NULL);
	}
	return (json_loads(text, 0, &je));
}

int
hv_write(const hv_partnership *p, const char *rel, const char *text)
{
	FILE *f = fopen(hv_path(p, rel), "w");
	int rc;

	if (f == NULL) {
		return (-1);
	}
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0) {
		rc = -1;
	}
	return (rc);
}

int
hv_clock_set(const hv_partnership *p, const char *when)
{
	char tmp[PATH_MAX], path[PATH_MAX];

	(void) snprintf(tmp, sizeof(tmp), "%s/clock.tmp", p->dir);
	(void) snprintf(path, sizeof(path), "%s/clock", p->dir);
	if (hv_write(p, "clock.tmp", when) != 0 || rename(tmp, path) != 0) {
		return (-1);
	}
	return (setenv("HAVEN_TEST_CLOCK_FILE", path, 1));
}

bool
hv_eventually(bool (*pred)(void *arg), void *arg, int timeout_ms)
{
	for (int waited = 0; ; waited += 50) {
		if (pred(arg)) {
			return (true);
		}
		if (waited >= timeout_ms) {
			return (false);
		}
		(void) usleep(50 * 1000);
	}
}
