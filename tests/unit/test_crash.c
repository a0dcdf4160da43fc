/*
 * Crash consistency: a child process appends batches in a loop and reports
 * each batch on a pipe only after its commit returned; the parent kills it
 * with SIGKILL at a random moment, reopens the store, and checks that the log
 * verifies and holds every reported entry (index and leaf hash). Repeated
 * CRASH_ROUNDS times (environment CB_CRASH_ROUNDS overrides).
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "carebank/verify.h"
#include "carebank/xalloc.h"
#include "testlog.h"
#include "testutil.h"

#define CRASH_ROUNDS 60

struct report_rec {
	uint64_t index;
	uint8_t leaf_hash[32];
};

/* child_loop appends forever, reporting each committed entry. */
static void __attribute__((noreturn))
child_loop(struct tl *t, int fd, unsigned seed)
{
	struct cb_centre_info info;

	srand(seed);
	/* Reopen: the parent's handle must not be shared across fork. */
	assert_int_equal(cb_store_open(t->dir, NULL, &t->store), 0);
	assert_int_equal(cb_store_set_log_key(t->store, TL_CENTRE,
			     tl_log_key()),
	    0);
	assert_int_equal(cb_store_centre(t->store, TL_CENTRE, &info), 0);
	t->seq = info.size;
	for (;;) {
		struct cb_batch *b;
		struct report_rec recs[20];
		int n = 1 + rand() % 20;

		if (cb_batch_begin(t->store, &b) != 0)
			_exit(3);
		for (int i = 0; i < n; i++) {
			struct cb_appended a;

			tl_append(t, b, &a);
			recs[i].index = a.index;
			memcpy(recs[i].leaf_hash, a.leaf_hash, 32);
		}
		if (cb_batch_commit(b) != 0)
			_exit(4);
		cb_batch_free(b);
		/* Only now is the batch durable, and only now is it told. */
		if (write(fd, recs, (size_t)n * sizeof(recs[0])) !=
		    (ssize_t)((size_t)n * sizeof(recs[0])))
			_exit(5);
	}
}

/* read_reports reads whole records until the pipe closes. */
static void
read_reports(int fd, struct report_rec **all, size_t *nall)
{
	uint8_t buf[4096];
	size_t have = 0;
	ssize_t r;

	while ((r = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		size_t whole;

		have += (size_t)r;
		whole = have / sizeof(struct report_rec);
		*all = cb_xreallocarray(*all, *nall + whole,
		    sizeof(struct report_rec));
		memcpy(*all + *nall, buf, whole * sizeof(struct report_rec));
		*nall += whole;
		memmove(buf, buf + whole * sizeof(struct report_rec),
		    have - whole * sizeof(struct report_rec));
		have -= whole * sizeof(struct report_rec);
	}
}

static void
test_sigkill_rounds(void **state)
{
	struct tl t;
	struct report_rec *all = NULL;
	size_t nall = 0;
	const char *env = getenv("CB_CRASH_ROUNDS");
	long rounds = env ? strtol(env, NULL, 10) : CRASH_ROUNDS;
	unsigned seed = (unsigned)time(NULL);

	(void)state;
	print_message("crash test: %ld rounds, seed %u\n", rounds, seed);
	srand(seed);
	tl_open(&t, "crash");
	for (long round = 0; round < rounds; round++) {
		struct cb_report rep;
		struct cb_centre_info info;
		int fds[2], status;
		pid_t pid;

		cb_store_close(t.store);
		t.store = NULL;
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child_loop(&t, fds[1], seed + (unsigned)round);
		}
		close(fds[1]);
		usleep((useconds_t)(rand() % 40000));
		kill(pid, SIGKILL);
		read_reports(fds[0], &all, &nall);
		close(fds[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("round %ld: the writer exited (%d) before the "
				 "kill",
			    round, WEXITSTATUS(status));

		assert_int_equal(cb_store_open(t.dir, NULL, &t.store), 0);
		if (cb_verify_store(t.store, TL_CENTRE, &rep) != 0)
			fail_msg("round %ld: %s: %s", round, rep.where,
			    rep.why);
		assert_int_equal(cb_store_centre(t.store, TL_CENTRE, &info), 0);
		assert_int_equal(info.signed_size, info.size);
		/* Every entry reported durable is there, unchanged. (A batch
		 * committed just before the kill may be there unreported.) */
		for (size_t i = 0; i < nall; i++) {
			uint8_t *leaf, h[32];
			size_t len;

			assert_true(all[i].index < info.size);
			assert_true(i == 0 || all[i].index > all[i - 1].index);
			assert_int_equal(cb_store_leaf(t.store, TL_CENTRE,
					     all[i].index, &leaf, &len),
			    0);
			cb_merkle_leaf_hash(leaf, len, h);
			assert_memory_equal(h, all[i].leaf_hash, 32);
			free(leaf);
		}
	}
	print_message("crash test: %zu entries reported durable, all present\n",
	    nall);
	free(all);
	tl_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_rounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
