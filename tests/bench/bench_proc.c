/*
 * tests/bench/bench_proc.c: temp dirs, free loopback ports and child
 * processes for haven-bench.
 *
 * Children are started with posix_spawn, their output appended to a log in
 * the temp dir, and always reaped: every wait is bounded and a child that
 * does not stop on SIGTERM within 5 s is killed.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t) port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return (sa);
}

int
hb_free_port(void)
{
	struct sockaddr_in sa = loopback(0);
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		return (-1);
	}
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *) &sa, &len) == 0) {
		port = ntohs(sa.sin_port);
	}
	close(fd);
	return (port);
}

int
hb_tempdir(char *buf, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0') {
		tmp = "/tmp";
	}
	if ((size_t) snprintf(buf, len, "%s/haven-bench-%s-XXXXXX", tmp,
	    tag) >= len) {
		return (-1);
	}
	return (mkdtemp(buf) == NULL ? -1 : 0);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	(void) remove(path); /* best effort: keep walking */
	return (0);
}

void
hb_rmtree(const char *path)
{
	/* Refuse anything that is not one of our temp dirs. */
	if (path == NULL || strstr(path, "/haven-bench-") == NULL) {
		return;
	}
	(void) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

pid_t
hb_spawn(const char *const *argv, const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int fd, rc;

	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		return (-1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_adddup2(&fa, fd, 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *) argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd);
	return (rc == 0 ? pid : -1);
}

int
hb_wait(pid_t pid, int timeout_ms)
{
	int64_t end = hb_now_ns() + (int64_t) timeout_ms * 1000000;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			return (WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st));
		}
		if (r < 0 && errno != EINTR) {
			return (-1);
		}
		if (hb_now_ns() >= end) {
			return (-1);
		}
		hb_sleep_until(hb_now_ns() + 10000000);
	}
}

void
hb_stop(pid_t pid)
{
	if (pid <= 0) {
		return;
	}
	(void) kill(pid, SIGTERM);
	if (hb_wait(pid, 5000) < 0) {
		(void) kill(pid, SIGKILL);
		(void) hb_wait(pid, 5000);
	}
}

bool
hb_port_ready(int port, int timeout_ms, pid_t pid)
{
	int64_t end = hb_now_ns() + (int64_t) timeout_ms * 1000000;
	struct sockaddr_in sa = loopback(port);

	while (hb_now_ns() < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = fd >= 0 &&
		    connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;

		if (fd >= 0) {
			close(fd);
		}
		if (ok) {
			return (true);
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid) {
			return (false); /* it died */
		}
		hb_sleep_until(hb_now_ns() + 50000000);
	}
	return (false);
}
