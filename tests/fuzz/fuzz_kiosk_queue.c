/*
 * libFuzzer target for the kiosk's offline queue file (tools/kiosk
 * queue.c): the input, less its first byte, is written to an anonymous
 * file and opened with queue_open. When the first byte is even the target
 * first fixes the header's and every whole record's CRC-32C, so the
 * fuzzer reaches the record bodies rather than the checksums. Beyond not
 * crashing: a damaged file is left exactly as it was; a file that opens
 * opens again with nothing more to cut off and the same actions.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "queue.h"

#define HEADER_LEN 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* fix_crcs sets the header's CRC and that of every whole record, in the
 * layout of the version the header names (1: length, then the CRC of
 * length and body; 2: length, its own CRC, then that one). */
static void
fix_crcs(uint8_t *f, size_t n)
{
	size_t off = HEADER_LEN, head;
	uint8_t *tmp;

	if (n < HEADER_LEN)
		return;
	put32(f + 12, queue_crc32c(f, 12));
	head = get32(f + 8) == 1 ? 8 : 12;
	while (off + head <= n) {
		uint32_t len = get32(f + off);

		if (len > n - off - head)
			return;
		if (head == 12)
			put32(f + off + 4, queue_crc32c(f + off, 4));
		tmp = malloc(4 + (size_t)len);
		if (tmp == NULL)
			abort();
		memcpy(tmp, f + off, 4);
		memcpy(tmp + 4, f + off + head, len);
		put32(f + off + head - 4, queue_crc32c(tmp, 4 + (size_t)len));
		free(tmp);
		off += head + (size_t)len;
	}
}

/* file_bytes reads the whole anonymous file back. */
static uint8_t *
file_bytes(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *p = malloc(end > 0 ? (size_t)end : 1);

	if (end < 0 || p == NULL || pread(fd, p, (size_t)end, 0) != end)
		abort();
	*n = (size_t)end;
	return p;
}

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_report rep, rep2;
	struct queue *q, *q2;
	uint8_t *f, *after;
	size_t n, alen, count;
	char path[64];
	int fd, rc;

	if (size < 1)
		return 0;
	n = size - 1;
	f = malloc(n + 1);
	if (f == NULL)
		abort();
	memcpy(f, data + 1, n);
	if (data[0] % 2 == 0)
		fix_crcs(f, n);
	if ((fd = memfd_create("queue", 0)) < 0 ||
	    (n > 0 && write(fd, f, n) != (ssize_t)n))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(&rep, 0, sizeof(rep));
	rc = queue_open(path, &q, &rep);
	if (rc == CB_ECORRUPT) {
		after = file_bytes(fd, &alen);
		if (alen != n || memcmp(after, f, n) != 0)
			abort();
		free(after);
	} else if (rc == 0) {
		count = queue_count(q);
		for (size_t i = 0; i < count; i++)
			if (queue_at(q, i)->len > QUEUE_REQ_MAX)
				abort();
		queue_close(q);
		memset(&rep2, 0, sizeof(rep2));
		if (queue_open(path, &q2, &rep2) != 0 || rep2.torn != 0 ||
		    queue_count(q2) != count)
			abort();
		queue_close(q2);
	}
	close(fd);
	free(f);
	return 0;
}
