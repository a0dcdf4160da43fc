/*
 * Atomic file writes and bounded reads (see file.h). Key files, checkpoints and
 * exported tiles go through here, so a reader never sees half a file.
 */
#define _GNU_SOURCE /* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/xalloc.h"

/* errno_code translates errno after a failed write-side call. */
static int
errno_code(int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return CB_EFULL;
	if (e == EEXIST)
		return CB_EEXIST;
	if (e == ENOENT)
		return CB_ENOTFOUND;
	if (e == EACCES || e == EPERM || e == EROFS)
		return CB_EACCES;
	return CB_EIO;
}

/* write_all writes len bytes to fd, resuming after short writes. */
static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_code(errno);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* cb_file_fsync_dir makes a rename or create in path's directory durable. */
int
cb_file_fsync_dir(const char *path)
{
	char *dir = cb_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int fd, rc = 0;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = CB_EIO;
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* cb_file_write writes path atomically through a temporary file. */
int
cb_file_write(const char *path, const void *data, size_t len, mode_t mode,
    int flags)
{
	char *tmp;
	int fd, rc = 0;

	bool sync = (flags & CB_FILE_NOSYNC) == 0;

	if ((flags & CB_FILE_EXCLUSIVE) && access(path, F_OK) == 0)
		return CB_EEXIST;
	tmp = cb_xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0) {
		rc = errno_code(errno);
		goto out_free;
	}
	/* open() applies the umask; the caller's mode is what it asked for. */
	if (fchmod(fd, mode) != 0 || (rc = write_all(fd, data, len)) != 0 ||
	    (sync && fsync(fd) != 0)) {
		rc = rc ? rc : errno_code(errno);
		close(fd);
		goto out_unlink;
	}
	if (close(fd) != 0) {
		rc = errno_code(errno);
		goto out_unlink;
	}
	if (flags & CB_FILE_EXCLUSIVE) {
		/* link() fails if path exists, closing the race with access(). */
		if (link(tmp, path) != 0) {
			rc = errno_code(errno);
			goto out_unlink;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		rc = errno_code(errno);
		goto out_unlink;
	}
	free(tmp);
	return sync ? cb_file_fsync_dir(path) : 0;

out_unlink:
	unlink(tmp);
out_free:
	free(tmp);
	return rc;
}

/* cb_file_syncfs flushes the whole file system holding path. */
int
cb_file_syncfs(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return errno_code(errno);
	rc = syncfs(fd) == 0 ? 0 : errno_code(errno);
	close(fd);
	return rc;
}

/*
 * cb_file_read reads a whole file of at most max bytes. Only a regular
 * file: opened without blocking, so that a FIFO put where a file should be
 * (in an export an auditor is given) is refused rather than waited on.
 */
int
cb_file_read(const char *path, size_t max, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf;
	size_t len = 0, cap;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno_code(errno);
	if (fstat(fd, &st) != 0) {
		close(fd);
		return CB_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return CB_ENOTREG;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return CB_ETOOBIG;
	}
	cap = (size_t)st.st_size + 1;
	buf = cb_xmalloc(cap);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = CB_EIO;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			/* The file grew since fstat(). */
			if (cap > max) {
				rc = CB_ETOOBIG;
				break;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = cb_xreallocarray(buf, cap, 1);
		}
	}
	close(fd);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * made makes one directory of cb_file_mkdirs; one it creates is synced into
 * its parent, so that a crash does not lose what is then written under it.
 */
static int
made(const char *p, mode_t mode)
{
	if (mkdir(p, mode) == 0)
		return cb_file_fsync_dir(p);
	return errno == EEXIST ? 0 : errno_code(errno);
}

/* cb_file_mkdirs is mkdir -p, durable. */
int
cb_file_mkdirs(const char *dir, mode_t mode)
{
	char *p = cb_xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		rc = made(p, mode);
		*s = '/';
		if (rc)
			break;
	}
	if (rc == 0)
		rc = made(p, mode);
	free(p);
	return rc;
}
