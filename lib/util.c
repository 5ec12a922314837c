/*
 * lib/util.c: file, hex, byte-order, clock and size helpers.
 *
 * Nothing here logs: callers decide what (non-personal) detail to report.
 */
#define _POSIX_C_SOURCE 200809L

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
haven__errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	(void) vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

haven_err
haven__strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src);

	if (n >= dstlen) {
		if (dstlen > 0) {
			dst[0] = '\0';
		}
		return (HAVEN_EMSGSIZE);
	}
	memcpy(dst, src, n + 1);
	return (HAVEN_OK);
}

static haven_err
read_fd(int fd, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t have = 0;

	if (fstat(fd, &st) != 0) {
		return (HAVEN_ESYSERR | errno);
	}
	if (!S_ISREG(st.st_mode)) {
		return (HAVEN_EINVAL);
	}
	if ((uint64_t) st.st_size > max) {
		return (HAVEN_EMSGSIZE);
	}
	if ((buf = malloc((size_t) st.st_size + 1)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	while (have < (size_t) st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t) st.st_size - have);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			int e = (n < 0) ? errno : EIO;
			free(buf);
			return (HAVEN_ESYSERR | e);
		}
		have += (size_t) n;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return (HAVEN_OK);
}

haven_err
haven__read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	haven_err rv;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return (HAVEN_ESYSERR | errno);
	}
	rv = read_fd(fd, max, out, len);
	(void) close(fd);
	return (rv);
}

static haven_err
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return (HAVEN_ESYSERR | errno);
		}
		p += n;
		len -= (size_t) n;
	}
	return (HAVEN_OK);
}

static void
fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	if (haven__strlcpy(dir, path, sizeof(dir)) != HAVEN_OK) {
		return;
	}
	if ((slash = strrchr(dir, '/')) == NULL) {
		(void) strcpy(dir, ".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void) fsync(fd);
		(void) close(fd);
	}
}

haven_err
haven__write_file(const char *path, const void *buf, size_t len,
    unsigned mode, bool excl)
{
	char tmp[PATH_MAX];
	haven_err rv;
	int fd;

	if (excl && access(path, F_OK) == 0) {
		return (HAVEN_EEXIST);
	}
	/* An unpredictable name opened O_EXCL|O_NOFOLLOW: a file or symlink
	 * planted in a shared directory can neither be followed nor
	 * truncated in our name. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%08x", path,
	    (long) getpid(), (unsigned) randombytes_random()) >=
	    (int) sizeof(tmp)) {
		return (HAVEN_EMSGSIZE);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    (mode_t) mode);
	if (fd < 0) {
		return (HAVEN_ESYSERR | errno);
	}
	/* open() honours the umask; the mode must be exact for key files. */
	if (fchmod(fd, (mode_t) mode) != 0) {
		rv = HAVEN_ESYSERR | errno;
		goto fail;
	}
	if ((rv = write_all(fd, buf, len)) != HAVEN_OK) {
		goto fail;
	}
	if (fsync(fd) != 0) {
		rv = HAVEN_ESYSERR | errno;
		goto fail;
	}
	(void) close(fd);
	if (rename(tmp, path) != 0) {
		rv = HAVEN_ESYSERR | errno;
		(void) unlink(tmp);
		return (rv);
	}
	fsync_parent(path);
	return (HAVEN_OK);
fail:
	(void) close(fd);
	(void) unlink(tmp);
	return (rv);
}

void
haven__hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9') {
		return (c - '0');
	}
	if (c >= 'a' && c <= 'f') {
		return (c - 'a' + 10);
	}
	if (c >= 'A' && c <= 'F') {
		return (c - 'A' + 10);
	}
	return (-1);
}

haven_err
haven__hex_decode(uint8_t *out, size_t len, const char *hex)
{
	if (hex == NULL || strlen(hex) != 2 * len) {
		return (HAVEN_EINVAL);
	}
	for (size_t i = 0; i < len; i++) {
		int hi = hex_val(hex[2 * i]);
		int lo = hex_val(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return (HAVEN_EINVAL);
		}
		out[i] = (uint8_t) ((hi << 4) | lo);
	}
	return (HAVEN_OK);
}

void
haven__be64_put(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t) (v & 0xff);
		v >>= 8;
	}
}

uint64_t
haven__be64_get(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v = (v << 8) | in[i];
	}
	return (v);
}

void
haven__be32_put(uint8_t out[4], uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		out[i] = (uint8_t) (v & 0xff);
		v >>= 8;
	}
}

uint32_t
haven__be32_get(const uint8_t in[4])
{
	return ((uint32_t) in[0] << 24) | ((uint32_t) in[1] << 16) |
	    ((uint32_t) in[2] << 8) | (uint32_t) in[3];
}

int64_t
haven__clock_ms(clockid_t id)
{
	struct timespec ts;

	(void) clock_gettime(id, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
haven__mono_ms(void)
{
	return (haven__clock_ms(CLOCK_MONOTONIC));
}

haven_err
haven__size_add(size_t a, size_t b, size_t *out)
{
	if (a > SIZE_MAX - b) {
		return (HAVEN_EOVERFLOW);
	}
	*out = a + b;
	return (HAVEN_OK);
}

haven_err
haven__size_mul(size_t a, size_t b, size_t *out)
{
	if (a != 0 && b > SIZE_MAX / a) {
		return (HAVEN_EOVERFLOW);
	}
	*out = a * b;
	return (HAVEN_OK);
}

haven_err
haven__mkdirs(const char *path)
{
	char buf[PATH_MAX];

	if (haven__strlcpy(buf, path, sizeof(buf)) != HAVEN_OK) {
		return (HAVEN_EMSGSIZE);
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/') {
			continue;
		}
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			return (HAVEN_ESYSERR | errno);
		}
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
		return (HAVEN_ESYSERR | errno);
	}
	return (HAVEN_OK);
}

haven_err
haven__mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return (HAVEN_OK);
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return (HAVEN_EFULL);
	case MDB_NOTFOUND:
		return (HAVEN_ENOTFOUND);
	case MDB_KEYEXIST:
		return (HAVEN_EEXIST);
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return (HAVEN_ECORRUPT);
	case ENOMEM:
		return (HAVEN_ENOMEM);
	default:
		if (rc > 0) {
			return (HAVEN_ESYSERR | rc);
		}
		return (HAVEN_EIO);
	}
}

/* Length of the sequence led by c (0 if c cannot lead one), and the
 * smallest code point it may encode (to refuse overlong forms). */
static size_t
utf8_lead(unsigned c, uint32_t *cp, uint32_t *min)
{
	if (c >= 0xc2 && c <= 0xdf) {
		*cp = c & 0x1f;
		*min = 0x80;
		return (1);
	}
	if (c >= 0xe0 && c <= 0xef) {
		*cp = c & 0x0f;
		*min = 0x800;
		return (2);
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*cp = c & 0x07;
		*min = 0x10000;
		return (3);
	}
	return (0);
}

bool
haven__utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p != 0) {
		uint32_t cp = 0;
		uint32_t min = 0;
		size_t n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((n = utf8_lead(*p, &cp, &min)) == 0) {
			return (false);
		}
		/* A NUL continuation byte fails the test, so no overread. */
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				return (false);
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return (false);
		}
		p += n + 1;
	}
	return (true);
}

bool
haven__text_ok(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);

	if (end == NULL) {
		return (false);
	}
	for (; s < end; s++) {
		unsigned char c = (unsigned char) *s;
		if (c < 0x20 || c == 0x7f) {
			return (false);
		}
	}
	return (true);
}
