/*
 * failsync: an LD_PRELOAD shim that makes the disk's flushes fail. The
 * first CB_FAILSYNC_AFTER calls of fsync, fdatasync, msync, syncfs and
 * sync_file_range (together, in any thread) go through to the C library;
 * every later one fails with EIO without flushing anything, as a disk
 * that has gone bad does. Unset, nothing fails. Each failure is said once
 * on stderr, so a test can tell the shim was in play.
 *
 * With an AddressSanitizer build the sanitizer's runtime must come first:
 * LD_PRELOAD="libasan.so.N failsync.so", or ASAN_OPTIONS with
 * verify_asan_link_order=0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

int fsync(int fd);
int fdatasync(int fd);
int msync(void *addr, size_t len, int flags);
int syncfs(int fd);
int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags);

static atomic_long calls;
static atomic_int told;

/* failing counts one flush and says whether it must fail. */
static int
failing(const char *what)
{
	const char *env = getenv("CB_FAILSYNC_AFTER");
	char *end;
	long after, n = atomic_fetch_add(&calls, 1);

	if (env == NULL || *env == '\0')
		return 0;
	after = strtol(env, &end, 10);
	if (*end != '\0' || after < 0 || n < after)
		return 0;
	if (atomic_exchange(&told, 1) == 0)
		fprintf(stderr, "failsync: %s call %ld fails with EIO, and every "
				"flush after it\n",
		    what, n + 1);
	errno = EIO;
	return 1;
}

int
fsync(int fd)
{
	int (*f)(int) = shim_next("failsync", "fsync");

	return failing("fsync") ? -1 : f(fd);
}

int
fdatasync(int fd)
{
	int (*f)(int) = shim_next("failsync", "fdatasync");

	return failing("fdatasync") ? -1 : f(fd);
}

int
msync(void *addr, size_t len, int flags)
{
	int (*f)(void *, size_t, int) = shim_next("failsync", "msync");

	return failing("msync") ? -1 : f(addr, len, flags);
}

int
syncfs(int fd)
{
	int (*f)(int) = shim_next("failsync", "syncfs");

	return failing("syncfs") ? -1 : f(fd);
}

int
sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	int (*f)(int, off64_t, off64_t, unsigned int) =
	    shim_next("failsync", "sync_file_range");

	return failing("sync_file_range") ? -1 : f(fd, off, n, flags);
}
