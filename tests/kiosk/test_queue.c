/*
 * The kiosk's offline queue file (tools/kiosk/queue.c): actions kept across
 * reopening in order and byte for byte, done records, the file cut back once
 * nothing is pending; a torn tail cut at every possible byte, and a tail of
 * zeros; a bad checksum at the end or in the middle, an impossible length,
 * a bad header and a done record for nothing, all reported as damage with
 * the file left exactly as it was; a flipped bit in any length field, in
 * the middle or at the end, never taken for a torn tail; a version 1 file
 * (an earlier kiosk's) read, appended to and started again as version 2;
 * salvage; the lock; a write that fails
 * (the file-size limit) leaving the file as before; and a child killed with
 * SIGKILL while appending, whose every acknowledged action is found again.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "carebank/codec.h"
#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "queue.h"
#include "testutil.h"

#define METHOD       "/carebank.v1.Kiosk/CheckInChild"
#define CRASH_ROUNDS 20

static char *dir;

/* path_of names a file in the test directory (caller frees). */
static char *
path_of(const char *name)
{
	return tu_path(dir, name);
}

/* action fills an action whose request bytes are n repeated. */
static struct queue_action
action(uint8_t n, uint8_t *req, size_t len)
{
	struct queue_action a = {.made_ms = 1700000000000 + n, .flags = 0};

	memset(req, n, len);
	a.req = req;
	a.len = len;
	snprintf(a.method, sizeof(a.method), "%s", METHOD);
	snprintf(a.family, sizeof(a.family), "f%u", n);
	return a;
}

/* fill makes a queue of n actions at path; returns the file's size. */
static off_t
fill(const char *path, int n)
{
	struct queue_report rep;
	struct queue *q;
	uint8_t req[40];
	uint64_t seq;
	off_t size;

	unlink(path);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	for (int i = 1; i <= n; i++) {
		struct queue_action a = action((uint8_t)i, req, 20 + i);

		assert_int_equal(queue_append(q, &a, &seq), 0);
		assert_int_equal(seq, (uint64_t)i);
	}
	size = queue_size(q);
	queue_close(q);
	return size;
}

/* slurp reads a whole file (caller frees). */
static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *buf;

	assert_int_equal(cb_file_read(path, 1 << 20, &buf, len), 0);
	return buf;
}

/* put writes a whole file. */
static void
put(const char *path, const uint8_t *buf, size_t len)
{
	assert_int_equal(
	    cb_file_write(path, buf, len, 0600, CB_FILE_REPLACE), 0);
}

/* file_size returns a file's size. */
static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* CRC-32C's check value (RFC 3720 B.4). */
static void
test_crc32c(void **state)
{
	uint8_t zeros[32] = {0};

	(void)state;
	assert_int_equal(
	    queue_crc32c((const uint8_t *)"123456789", 9), 0xe3069283u);
	assert_int_equal(queue_crc32c(zeros, 32), 0x8a9136aau);
}

/* Actions come back in order, byte for byte; done ones do not. */
static void
test_roundtrip(void **state)
{
	char *path = path_of("roundtrip");
	struct queue_report rep;
	struct queue *q;
	uint8_t req[40];

	(void)state;
	fill(path, 3);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(rep.records, 3);
	assert_int_equal(rep.torn, 0);
	assert_int_equal(queue_pending(q), 3);
	for (size_t i = 0; i < 3; i++) {
		const struct queue_action *a = queue_at(q, i);

		action((uint8_t)(i + 1), req, 21 + i);
		assert_int_equal(a->seq, i + 1);
		assert_int_equal(a->made_ms, 1700000000001 + (int64_t)i);
		assert_string_equal(a->method, METHOD);
		assert_int_equal(a->len, 21 + i);
		assert_memory_equal(a->req, req, a->len);
		assert_int_equal(a->state, QUEUE_PENDING);
	}
	assert_int_equal(queue_done(q, 1, QUEUE_ACCEPTED, 42), 0);
	assert_int_equal(queue_done(q, 1, QUEUE_ACCEPTED, 42), CB_ENOTFOUND);
	assert_int_equal(queue_done(q, 9, QUEUE_ACCEPTED, 42), CB_ENOTFOUND);
	queue_close(q);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(queue_pending(q), 2);
	assert_int_equal(queue_at(q, 0)->state, QUEUE_ACCEPTED);
	assert_int_equal(queue_at(q, 0)->index, 42);
	assert_int_equal(queue_done(q, 2, QUEUE_REFUSED, 0), 0);
	assert_int_equal(queue_done(q, 3, QUEUE_ACCEPTED, 43), 0);
	/* Nothing pending: back to the header. */
	assert_int_equal(queue_count(q), 0);
	assert_int_equal(file_size(path), 16);
	{
		struct queue_action a = action(4, req, 10);
		uint64_t seq;

		assert_int_equal(queue_append(q, &a, &seq), 0);
		assert_int_equal(queue_pending(q), 1);
	}
	queue_close(q);
	free(path);
}

/* A record cut at any byte is a torn tail: cut off, the rest kept. */
static void
test_torn_tail(void **state)
{
	char *path = path_of("torn");
	struct queue_report rep;
	struct queue *q;
	off_t two, three;
	uint8_t *full;
	size_t len;

	(void)state;
	two = fill(path, 2);
	three = fill(path, 3);
	full = slurp(path, &len);
	for (off_t cut = two + 1; cut < three; cut++) {
		put(path, full, (size_t)cut);
		assert_int_equal(queue_open(path, &q, &rep), 0);
		assert_int_equal(rep.torn, (uint64_t)(cut - two));
		assert_int_equal(queue_pending(q), 2);
		queue_close(q);
		assert_int_equal(file_size(path), two);
	}
	/* A tail the file system extended but never wrote: zeros. */
	{
		uint8_t *z = cb_xcalloc(1, len + 300);

		memcpy(z, full, len);
		put(path, z, len + 300);
		assert_int_equal(queue_open(path, &q, &rep), 0);
		assert_int_equal(rep.torn, 300);
		assert_int_equal(queue_pending(q), 3);
		queue_close(q);
		free(z);
	}
	free(full);
	free(path);
}

/* A torn done record leaves its action pending: it will be sent again. */
static void
test_torn_done(void **state)
{
	char *path = path_of("torndone");
	struct queue_report rep;
	struct queue *q;
	uint8_t *buf;
	size_t len;

	(void)state;
	fill(path, 2);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(queue_done(q, 1, QUEUE_ACCEPTED, 7), 0);
	queue_close(q);
	buf = slurp(path, &len);
	put(path, buf, len - 5);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(queue_pending(q), 2);
	queue_close(q);
	free(buf);
	free(path);
}

/* open_damaged expects damage at record n and the file left as it was. */
static void
open_damaged(
    const char *path, const uint8_t *buf, size_t len, size_t n, off_t at)
{
	struct queue_report rep;
	struct queue *q = NULL;
	uint8_t *after;
	size_t alen;

	put(path, buf, len);
	assert_int_equal(queue_open(path, &q, &rep), CB_ECORRUPT);
	assert_null(q);
	assert_int_equal(rep.bad_record, n);
	assert_int_equal(rep.bad_offset, at);
	assert_true(rep.why[0] != '\0');
	after = slurp(path, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(after, buf, len);
	free(after);
}

/* three_records makes a queue of three actions at path and reads it
 * back; at[i] is the file's size after i + 1 of them (caller frees). */
static uint8_t *
three_records(const char *path, off_t at[3], size_t *len)
{
	uint8_t *buf;

	for (int i = 0; i < 3; i++)
		at[i] = fill(path, i + 1);
	buf = slurp(path, len);
	assert_int_equal(*len, (size_t)at[2]);
	return buf;
}

/* Damage that is not a torn tail is reported, never cut. */
static void
test_damage(void **state)
{
	char *path = path_of("damage");
	off_t at[3], one, two, three;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = three_records(path, at, &len);
	one = at[0];
	two = at[1];
	three = at[2];
	/* A bad checksum in the last record, all of it there. */
	buf[three - 3] ^= 1;
	open_damaged(path, buf, len, 3, two);
	buf[three - 3] ^= 1;
	/* A record in the middle: its body, then each checksum field. */
	buf[one + 16] ^= 0x80;
	open_damaged(path, buf, len, 2, one);
	buf[one + 16] ^= 0x80;
	buf[one + 5] ^= 0x01;
	open_damaged(path, buf, len, 2, one);
	buf[one + 5] ^= 0x01;
	buf[one + 9] ^= 0x01;
	open_damaged(path, buf, len, 2, one);
	buf[one + 9] ^= 0x01;
	/* An impossible length in the middle. */
	buf[one] = 0xff;
	open_damaged(path, buf, len, 2, one);
	buf[one] = 0;
	/* A zero length followed by more records is not a zero tail. */
	memset(buf + one, 0, 8);
	open_damaged(path, buf, len, 2, one);
	/* The header. */
	free(buf);
	buf = slurp(path, &len);
	buf[3] ^= 0x20;
	open_damaged(path, buf, len, 1, 0);
	open_damaged(path, buf, 10, 1, 0);
	free(buf);
	free(path);
}

/*
 * One flipped bit in a length field, of a record in the middle or of the
 * last one, is damage: read as a torn tail, it would cut off every record
 * after it, actions a parent was told are saved.
 */
static void
test_length_flip(void **state)
{
	char *path = path_of("lengthflip");
	off_t at[3], one, two;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = three_records(path, at, &len);
	one = at[0];
	two = at[1];
	for (int bit = 0; bit < 32; bit++) {
		buf[one + bit / 8] ^= (uint8_t)(1u << bit % 8);
		open_damaged(path, buf, len, 2, one);
		buf[one + bit / 8] ^= (uint8_t)(1u << bit % 8);
		buf[two + bit / 8] ^= (uint8_t)(1u << bit % 8);
		open_damaged(path, buf, len, 3, two);
		buf[two + bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	free(buf);
	free(path);
}

/* v1_action appends a version 1 record (length, then the CRC-32C of
 * length and body) of an action to buf at *len. */
static void
v1_action(uint8_t *buf, size_t *len, uint8_t n, size_t reqlen)
{
	uint8_t body[128], req[40], *b = body, *r = buf + *len, crc[128 + 4];
	struct queue_action a = action(n, req, reqlen);
	size_t ml = strlen(a.method), fl = strlen(a.family), bl;

	*b++ = 1;
	cb_be_put(b, n, 8);
	cb_be_put(b + 8, (uint64_t)a.made_ms, 8);
	b[16] = 0;
	b += 17;
	*b++ = (uint8_t)ml;
	memcpy(b, a.method, ml);
	b += ml;
	*b++ = (uint8_t)fl;
	memcpy(b, a.family, fl);
	b += fl;
	cb_be_put(b, reqlen, 4);
	memcpy(b + 4, req, reqlen);
	bl = (size_t)(b + 4 + reqlen - body);
	cb_be_put(r, bl, 4);
	memcpy(crc, r, 4);
	memcpy(crc + 4, body, bl);
	cb_be_put(r + 4, queue_crc32c(crc, 4 + bl), 4);
	memcpy(r + 8, body, bl);
	*len += 8 + bl;
}

/*
 * A queue an earlier kiosk wrote (version 1, no checksum of the length
 * alone) is read as it was, appended to in its own format, its torn tail
 * still cut, and started again as version 2 once nothing is pending.
 */
static void
test_version_one(void **state)
{
	char *path = path_of("v1");
	struct queue_report rep;
	struct queue *q;
	uint8_t file[1024], req[40], *after;
	size_t len = 16, two, alen;
	uint64_t seq;
	off_t size;

	(void)state;
	memcpy(file, "CBKIOSKQ", 8);
	cb_be_put(file + 8, 1, 4);
	cb_be_put(file + 12, queue_crc32c(file, 12), 4);
	v1_action(file, &len, 1, 21);
	v1_action(file, &len, 2, 22);
	two = len;
	v1_action(file, &len, 3, 23);
	/* A torn last record, cut off; the two before it read back. */
	put(path, file, len - 7);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(rep.torn, len - 7 - two);
	assert_int_equal(queue_pending(q), 2);
	for (size_t i = 0; i < 2; i++) {
		action((uint8_t)(i + 1), req, 21 + i);
		assert_int_equal(queue_at(q, i)->seq, i + 1);
		assert_int_equal(queue_at(q, i)->len, 21 + i);
		assert_memory_equal(queue_at(q, i)->req, req, 21 + i);
	}
	/* Appended in version 1's format: the bytes an earlier kiosk wrote. */
	{
		struct queue_action a = action(3, req, 23);

		assert_int_equal(queue_append(q, &a, &seq), 0);
		assert_int_equal(seq, 3);
	}
	queue_close(q);
	after = slurp(path, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(after, file, len);
	free(after);
	/* Every action done: the file starts again as version 2. */
	assert_int_equal(queue_open(path, &q, &rep), 0);
	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(queue_done(q, i, QUEUE_ACCEPTED, 10 + i), 0);
	assert_int_equal(queue_size(q), 16);
	size = queue_size(q);
	{
		struct queue_action a = action(4, req, 24);

		assert_int_equal(queue_append(q, &a, &seq), 0);
	}
	/* A version 2 record: a header of 12 bytes, then the body. */
	assert_int_equal(queue_size(q) - size, 4 + (len - two) + 1);
	queue_close(q);
	after = slurp(path, &alen);
	assert_int_equal(cb_be_get(after + 8, 4), 2);
	assert_int_equal(cb_be_get(after + 20, 4), queue_crc32c(after + 16, 4));
	free(after);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(queue_pending(q), 1);
	assert_int_equal(queue_at(q, 0)->len, 24);
	queue_close(q);
	/* An empty version 1 file is started again at once. */
	put(path, file, 16);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	queue_close(q);
	after = slurp(path, &alen);
	assert_int_equal(alen, 16);
	assert_int_equal(cb_be_get(after + 8, 4), 2);
	free(after);
	free(path);
}

/* A done record for an action that is not there is damage. */
static void
test_done_for_nothing(void **state)
{
	char *path = path_of("nothing"), *other = path_of("other");
	struct queue_report rep;
	struct queue *q;
	uint8_t *a, *b, *joined;
	size_t alen, blen;
	off_t acts;

	(void)state;
	/* Take a done record for seq 2 from one file, append it to a file
	 * that holds only seq 1. */
	acts = fill(other, 2);
	assert_int_equal(queue_open(other, &q, &rep), 0);
	assert_int_equal(queue_done(q, 2, QUEUE_ACCEPTED, 1), 0);
	queue_close(q);
	b = slurp(other, &blen);
	fill(path, 1);
	a = slurp(path, &alen);
	joined = cb_xmalloc(alen + blen - (size_t)acts);
	memcpy(joined, a, alen);
	memcpy(joined + alen, b + acts, blen - (size_t)acts);
	open_damaged(path, joined, alen + blen - (size_t)acts, 2, (off_t)alen);
	free(joined);
	free(a);
	free(b);
	free(path);
	free(other);
}

/* Salvage keeps the damaged file whole and carries the intact part. */
static void
test_salvage(void **state)
{
	char *path = path_of("salvage"), kept[512];
	struct queue_report rep;
	struct queue *q;
	uint8_t *buf, *k;
	size_t len, klen;
	off_t two;

	(void)state;
	fill(path, 2);
	two = file_size(path);
	fill(path, 4);
	buf = slurp(path, &len);
	buf[two + 10] ^= 0x10; /* the third record */
	put(path, buf, len);
	assert_int_equal(queue_salvage(path, kept, sizeof(kept), &rep), 0);
	assert_int_equal(rep.bad_record, 3);
	assert_int_equal(rep.actions, 2);
	k = slurp(kept, &klen);
	assert_int_equal(klen, len);
	assert_memory_equal(k, buf, len);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(queue_pending(q), 2);
	assert_int_equal(queue_at(q, 1)->seq, 2);
	queue_close(q);
	free(k);
	free(buf);
	free(path);
}

/* One kiosk at a time; an empty file is started afresh. */
static void
test_lock_and_empty(void **state)
{
	char *path = path_of("lock");
	struct queue_report rep;
	struct queue *q, *q2 = NULL;

	(void)state;
	put(path, (const uint8_t *)"", 0);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(file_size(path), 16);
	assert_int_equal(queue_open(path, &q2, &rep), CB_EBUSY);
	assert_null(q2);
	queue_close(q);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	queue_close(q);
	free(path);
}

/* Fields too long are refused; a failed write leaves the file as it was. */
static void
test_append_fails(void **state)
{
	char *path = path_of("full");
	struct queue_report rep;
	struct queue *q;
	struct queue_action a;
	struct rlimit old, lim;
	uint8_t req[QUEUE_REQ_MAX + 1];
	uint64_t seq;
	off_t size;

	(void)state;
	size = fill(path, 2);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	a = action(9, req, QUEUE_REQ_MAX + 1);
	assert_int_equal(queue_append(q, &a, &seq), CB_EINVAL);
	a = action(9, req, 30);
	memset(a.family, 'f', sizeof(a.family) - 1);
	a.family[sizeof(a.family) - 1] = '\0';
	assert_int_equal(queue_append(q, &a, &seq), 0);
	size = queue_size(q);
	/* The file may grow by a few bytes only: the record is cut short. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	a = action(10, req, 300);
	assert_int_equal(queue_append(q, &a, &seq), CB_EFULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(queue_size(q), size);
	assert_int_equal(file_size(path), size);
	assert_int_equal(queue_pending(q), 3);
	/* The next one follows the good records. */
	assert_int_equal(queue_append(q, &a, &seq), 0);
	queue_close(q);
	assert_int_equal(queue_open(path, &q, &rep), 0);
	assert_int_equal(queue_pending(q), 4);
	assert_int_equal(rep.torn, 0);
	queue_close(q);
	free(path);
}

/* child_appends appends forever, writing each acknowledged seq to fd. */
static void __attribute__((noreturn))
child_appends(const char *path, int fd)
{
	struct queue_report rep;
	struct queue *q;
	uint8_t req[200];
	uint64_t seq;

	if (queue_open(path, &q, &rep) != 0)
		_exit(3);
	for (uint8_t n = 1;; n++) {
		struct queue_action a = action(n, req, 100 + n % 90);

		if (queue_append(q, &a, &seq) != 0)
			_exit(4);
		if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(5);
	}
}

/* SIGKILL while appending: every acknowledged action is there. */
static void
test_sigkill(void **state)
{
	char *path = path_of("crash");

	(void)state;
	unlink(path);
	for (int round = 0; round < CRASH_ROUNDS; round++) {
		struct queue_report rep;
		struct queue *q;
		uint64_t seq, last = 0;
		int fds[2], status;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		if ((pid = fork()) == 0) {
			close(fds[0]);
			child_appends(path, fds[1]);
		}
		close(fds[1]);
		usleep((useconds_t)(1000 + rand() % 20000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		while (read(fds[0], &seq, sizeof(seq)) == sizeof(seq))
			last = seq;
		close(fds[0]);
		assert_int_equal(queue_open(path, &q, &rep), 0);
		assert_true(queue_count(q) >= last);
		for (size_t i = 0; i < queue_count(q); i++)
			assert_int_equal(queue_at(q, i)->seq, i + 1);
		queue_close(q);
	}
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_torn_tail),
	    cmocka_unit_test(test_torn_done),
	    cmocka_unit_test(test_damage),
	    cmocka_unit_test(test_length_flip),
	    cmocka_unit_test(test_version_one),
	    cmocka_unit_test(test_done_for_nothing),
	    cmocka_unit_test(test_salvage),
	    cmocka_unit_test(test_lock_and_empty),
	    cmocka_unit_test(test_append_fails),
	    cmocka_unit_test(test_sigkill),
	};
	int rc;

	srand((unsigned)time(NULL));
	dir = tu_tmpdir("kioskq");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_rmrf(dir);
	free(dir);
	return rc;
}
