/*
 * A carebankd of the bench's own: a new directory under TMPDIR, a centre
 * made there by `carebankd init`, and `carebankd serve` on 127.0.0.1 port 0
 * (the port read back from --port-file), its log in serve.log beside the
 * data. Stopping sends SIGTERM, which drains, and waits for a clean exit.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "bench.h"

extern char **environ;

#define CENTRE "bench"

static pid_t running; /* a server to stop if the bench dies */

/* stop_running ends a server the bench started, when it exits early. */
static void
stop_running(void)
{
	if (running > 0) {
		kill(running, SIGTERM);
		(void)waitpid(running, NULL, 0);
	}
}

/* launch starts argv with stdout and stderr appended to log. */
static pid_t
launch(char **argv, const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log,
	    O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		bench_die("cannot run %s: %s", argv[0], strerror(rc));
	return pid;
}

/* read_port reads the port file once it is complete; 0 until then. */
static uint16_t
read_port(const char *path)
{
	uint8_t *buf;
	size_t len;
	char *end;
	unsigned long p;

	if (cb_file_read(path, 64, &buf, &len) != 0)
		return 0;
	if (len == 0 || buf[len - 1] != '\n') {
		free(buf);
		return 0;
	}
	buf[len - 1] = '\0';
	p = strtoul((char *)buf, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535)
		bench_die("port file %s holds \"%s\"", path, (char *)buf);
	free(buf);
	return (uint16_t)p;
}

/* spawn_start makes a centre and serves it; extra are more serve flags. */
void
spawn_start(struct spawn *sp, const char *carebankd, char **extra,
    size_t nextra)
{
	const char *tmp = getenv("TMPDIR");
	char *log, *portfile, **argv;
	struct timespec nap = {0, 20000000};
	int status;
	pid_t pid;
	size_t k = 0;

	memset(sp, 0, sizeof(*sp));
	snprintf(sp->centre, sizeof(sp->centre), "%s", CENTRE);
	sp->dir = cb_xasprintf("%s/carebank-bench-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(sp->dir) == NULL)
		bench_die("mkdtemp %s: %s", sp->dir, strerror(errno));
	sp->data = cb_xasprintf("%s/data", sp->dir);
	sp->key = cb_xasprintf("%s/keys/%s.coordinator.pem", sp->data, CENTRE);
	log = cb_xasprintf("%s/serve.log", sp->dir);
	portfile = cb_xasprintf("%s/port", sp->dir);
	argv = cb_xcalloc(12 + nextra, sizeof(*argv));
	argv[k++] = (char *)(uintptr_t)carebankd;
	argv[k++] = "init";
	argv[k++] = "--data";
	argv[k++] = sp->data;
	argv[k++] = "--centre";
	argv[k++] = CENTRE;
	argv[k] = NULL;
	pid = launch(argv, log);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		bench_die("carebankd init failed; see %s", log);
	k = 1;
	argv[k++] = "serve";
	argv[k++] = "--data";
	argv[k++] = sp->data;
	argv[k++] = "--listen";
	argv[k++] = "127.0.0.1:0";
	argv[k++] = "--port-file";
	argv[k++] = portfile;
	for (size_t i = 0; i < nextra; i++)
		argv[k++] = extra[i];
	argv[k] = NULL;
	sp->pid = running = launch(argv, log);
	atexit(stop_running);
	for (int i = 0; i < 1500 && sp->port == 0; i++) {
		if (waitpid(sp->pid, &status, WNOHANG) == sp->pid)
			bench_die("carebankd exited at start; see %s", log);
		nanosleep(&nap, NULL);
		sp->port = read_port(portfile);
	}
	if (sp->port == 0)
		bench_die("carebankd did not write its port in 30 s; see %s",
		    log);
	free(argv);
	free(log);
	free(portfile);
}

/* rm_one removes one file or directory, deepest first. */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * spawn_stop sends SIGTERM, waits, and removes the directory unless keep.
 * Returns 0 if carebankd exited with 0.
 */
int
spawn_stop(struct spawn *sp, bool keep)
{
	int status = 0;

	if (sp->pid > 0) {
		kill(sp->pid, SIGTERM);
		while (waitpid(sp->pid, &status, 0) < 0 && errno == EINTR)
			;
		sp->pid = running = 0;
	}
	if (keep)
		fprintf(stderr, "carebank-bench: kept %s\n", sp->dir);
	else
		(void)nftw(sp->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(sp->dir);
	free(sp->data);
	free(sp->key);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
