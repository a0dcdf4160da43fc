/*
 * The offline queue file (see queue.h). Integers are big-endian:
 *
 *   header  +----------+-------------+--------------------------------+
 *           | CBKIOSKQ | version = 2 | CRC-32C of the 12 bytes before |
 *           +----------+-------------+--------------------------------+
 *              8 bytes    4 bytes       4 bytes
 *   record  +------------+------------------+-------------------+------+
 *           | length (4) | CRC-32C of the   | CRC-32C of length | body |
 *           |            | length (4)       | and body (4)      |      |
 *           +------------+------------------+-------------------+------+
 *   action  1 | seq (8) | made_ms (8) | flags (1) | method length (1) |
 *           method | family length (1) | family | request length (4) |
 *           request (the request message's bytes, never re-encoded)
 *   done    2 | seq (8) | state (1) | entry index (8)
 *
 * A record is built whole in memory and written with one pwrite at the end
 * of what is known good, then fsynced; a failed write is cut back off. So
 * after any crash the file is good records and, at most, one torn record at
 * the end: fewer bytes than a record header, a length (whose own checksum
 * holds) that runs past the end of the file, or zeros to the end (space a
 * file system extended but never wrote). Those, and only those, are cut
 * off on opening. A record that is all there but fails a checksum, has an
 * impossible length or an unknown kind, or marks an action that does not
 * exist, is damage: opening stops there and says where, and queue_salvage
 * keeps the file aside. The length's own checksum is what tells a torn
 * tail from a damaged length: without it, one flipped bit in the length of
 * a record in the middle would read as a tail cut short, and every record
 * after it would be cut off as if never written.
 *
 * Version 1 (a kiosk of an earlier carebank) had no checksum of the length
 * alone: its records are read, and written, as they were until the queue
 * is next empty, when the file starts again as version 2. An action's done
 * record comes after it; once every action is done the file is cut back to
 * its header, which is safe at any moment since nothing is pending.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "carebank/codec.h"
#include "queue.h"

#define MAGIC       "CBKIOSKQ"
#define VERSION     2
#define HEADER_LEN  16
#define REC_HEAD_V1 8
#define REC_HEAD    12
#define REC_MAX     (QUEUE_REQ_MAX + 128)
#define KIND_ACTION 1
#define KIND_DONE   2
#define DONE_LEN    18

struct queue {
	int fd;
	unsigned version; /* of the file's header and records */
	off_t size; /* bytes known good */
	struct queue_action *a;
	size_t n, cap, pending;
	uint64_t next_seq;
};

/* crc_update runs CRC-32C over more bytes, bit by bit (records are small). */
static uint32_t
crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return crc;
}

/* queue_crc32c computes CRC-32C (Castagnoli). */
uint32_t
queue_crc32c(const uint8_t *p, size_t n)
{
	return ~crc_update(0xffffffffu, p, n);
}

/* record_crc is a record's checksum: its length field, then its body. */
static uint32_t
record_crc(const uint8_t lenfield[4], const uint8_t *body, size_t n)
{
	return ~crc_update(crc_update(0xffffffffu, lenfield, 4), body, n);
}

/* header fills the 16-byte file header of a version. */
static void
header(uint8_t h[HEADER_LEN], unsigned version)
{
	memcpy(h, MAGIC, 8);
	cb_be_put(h + 8, version, 4);
	cb_be_put(h + 12, queue_crc32c(h, 12), 4);
}

/* head_len is the length of a record's header in a version. */
static size_t
head_len(unsigned version)
{
	return version == 1 ? REC_HEAD_V1 : REC_HEAD;
}

/* The state of a parse: what is read so far, and how it ended. */
struct parse {
	const uint8_t *buf;
	size_t size, off;
	unsigned version;
	struct queue *q;
	struct queue_report *rep;
};

/* damaged says where the file is damaged and why; returns CB_ECORRUPT. */
static int
damaged(struct parse *p, const char *why)
{
	p->rep->bad_offset = (off_t)p->off;
	p->rep->bad_record = p->rep->records + 1;
	snprintf(p->rep->why, sizeof(p->rep->why), "%s", why);
	return CB_ECORRUPT;
}

/* find returns the action with seq, or NULL. */
static struct queue_action *
find(struct queue *q, uint64_t seq)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->a[i].seq == seq)
			return &q->a[i];
	return NULL;
}

/* take_string reads a length-prefixed string of at most max bytes. */
static int
take_string(const uint8_t **b, const uint8_t *end, char *out, size_t max)
{
	size_t n;

	if (*b >= end || (n = **b) > max || (size_t)(end - *b - 1) < n)
		return -1;
	memcpy(out, *b + 1, n);
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL)
		return -1;
	*b += 1 + n;
	return 0;
}

/* parse_action reads an action body into a new slot of q. */
static int
parse_action(struct parse *p, const uint8_t *b, const uint8_t *end)
{
	struct queue_action a = {0};
	size_t n;

	if (end - b < 17)
		return damaged(p, "an action record is too short");
	a.seq = cb_be_get(b, 8);
	a.made_ms = (int64_t)cb_be_get(b + 8, 8);
	a.flags = b[16];
	b += 17;
	if (take_string(&b, end, a.method, QUEUE_METHOD_MAX) != 0 ||
	    take_string(&b, end, a.family, QUEUE_ID_MAX) != 0 || end - b < 4)
		return damaged(p, "an action record's fields do not fit");
	n = (size_t)cb_be_get(b, 4);
	b += 4;
	if (n == 0 || n > QUEUE_REQ_MAX || (size_t)(end - b) != n)
		return damaged(p, "an action's request length is wrong");
	if (a.seq == 0 || a.seq < p->q->next_seq || p->q->n >= QUEUE_ACTIONS)
		return damaged(p, "an action is out of sequence");
	a.req = cb_xmemdup(b, n);
	a.len = n;
	if (p->q->n == p->q->cap) {
		p->q->cap = p->q->cap ? 2 * p->q->cap : 16;
		p->q->a = cb_xreallocarray(p->q->a, p->q->cap, sizeof(a));
	}
	p->q->a[p->q->n++] = a;
	p->q->pending++;
	p->q->next_seq = a.seq + 1;
	p->rep->actions++;
	return 0;
}

/* parse_done reads a done record and marks its action. */
static int
parse_done(struct parse *p, const uint8_t *b, const uint8_t *end)
{
	struct queue_action *a;
	int state;

	if (end - b != DONE_LEN - 1)
		return damaged(p, "a done record has the wrong length");
	state = b[8];
	if ((a = find(p->q, cb_be_get(b, 8))) == NULL ||
	    a->state != QUEUE_PENDING ||
	    (state != QUEUE_ACCEPTED && state != QUEUE_REFUSED))
		return damaged(p, "a done record marks no pending action");
	a->state = state;
	a->index = cb_be_get(b + 9, 8);
	p->q->pending--;
	return 0;
}

/* zeros says whether the rest of the file is all zero bytes. */
static bool
zeros(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* version_of reads a header: its version, or 0 if it is none we know. */
static unsigned
version_of(const uint8_t *buf, size_t size)
{
	uint8_t h[HEADER_LEN];

	for (unsigned v = 1; v <= VERSION && size >= HEADER_LEN; v++) {
		header(h, v);
		if (memcmp(buf, h, HEADER_LEN) == 0)
			return v;
	}
	return 0;
}

/*
 * record_len reads the record header at r, left bytes from the end: 0 with
 * *len, TORN for a torn tail, or CB_ECORRUPT.
 */
#define TORN 1
static int
record_len(struct parse *p, const uint8_t *r, size_t left, size_t *len)
{
	size_t head = head_len(p->version);

	if (zeros(r, left) || left < head)
		return TORN;
	if (p->version > 1 && cb_be_get(r + 4, 4) != queue_crc32c(r, 4))
		return damaged(p, "a record's length fails its checksum");
	*len = (size_t)cb_be_get(r, 4);
	if (*len == 0 || *len > REC_MAX)
		return damaged(p, "a record has an impossible length");
	if (*len > left - head)
		return TORN;
	if (cb_be_get(r + head - 4, 4) != record_crc(r, r + head, *len))
		return damaged(p, "a record fails its checksum");
	return 0;
}

/*
 * parse reads records from the header on. Returns 0 with p->off at the end
 * of the good records (a torn tail after it), or CB_ECORRUPT.
 */
static int
parse(struct parse *p)
{
	size_t head;
	int rc;

	if ((p->version = version_of(p->buf, p->size)) == 0)
		return damaged(p, "the file does not start with a queue "
		                  "header (version 1 or 2)");
	head = head_len(p->version);
	p->off = HEADER_LEN;
	while (p->off < p->size) {
		const uint8_t *r = p->buf + p->off, *body = r + head;
		size_t len;

		if ((rc = record_len(p, r, p->size - p->off, &len)) != 0)
			return rc == TORN ? 0 : rc;
		if (body[0] == KIND_ACTION)
			rc = parse_action(p, body + 1, body + len);
		else if (body[0] == KIND_DONE)
			rc = parse_done(p, body + 1, body + len);
		else
			rc = damaged(p, "a record of an unknown kind");
		if (rc != 0)
			return rc;
		p->off += head + len;
		p->rep->records++;
	}
	return 0;
}

/* read_all reads the whole file at fd into a new buffer. */
static int
read_all(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		return CB_EIO;
	if (st.st_size < 0 || (uint64_t)st.st_size > QUEUE_FILE_MAX)
		return CB_ETOOBIG;
	buf = cb_xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n =
		    pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return CB_EIO;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	return 0;
}

/* free_actions frees every action's request. */
static void
free_actions(struct queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->a[i].req);
	q->n = q->pending = 0;
}

/* cut truncates the file to size and makes that durable. */
static int
cut(int fd, off_t size)
{
	if (ftruncate(fd, size) != 0 || fsync(fd) != 0)
		return CB_EIO;
	return 0;
}

/* write_at writes all of buf at off. */
static int
write_at(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ENOSPC || errno == EFBIG ||
			               errno == EDQUOT
			           ? CB_EFULL
			           : CB_EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* open_locked opens path, creating it with a header, and locks it. */
static int
open_locked(const char *path, int *fdp)
{
	uint8_t h[HEADER_LEN];
	int fd, rc;

	header(h, VERSION);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno == ENOENT) {
		rc = cb_file_write(path, h, sizeof(h), 0600, CB_FILE_EXCLUSIVE);
		if (rc != 0 && rc != CB_EEXIST)
			return rc;
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ENOENT ? CB_ENOTFOUND : CB_EIO;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? CB_EBUSY : CB_EIO;
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

/*
 * restart empties the queue: the file is cut back to a header of this
 * version (an older file's last records go with it) and made durable.
 * Nothing is pending, so a crash at any point leaves an empty queue.
 */
static int
restart(struct queue *q)
{
	uint8_t h[HEADER_LEN];
	int rc;

	free_actions(q);
	header(h, VERSION);
	if (ftruncate(q->fd, HEADER_LEN) != 0)
		return CB_EIO;
	if ((rc = write_at(q->fd, h, sizeof(h), 0)) != 0)
		return rc;
	if (fsync(q->fd) != 0)
		return CB_EIO;
	q->version = VERSION;
	q->size = HEADER_LEN;
	return 0;
}

/* load reads and checks the file at fd into q. */
static int
load(struct queue *q, struct queue_report *rep)
{
	struct parse p = {.q = q, .rep = rep};
	uint8_t *buf;
	size_t len;
	int rc;

	if ((rc = read_all(q->fd, &buf, &len)) != 0)
		return rc;
	q->next_seq = 1;
	if (len == 0) {
		/* Only an outside hand leaves an empty file: start it. */
		free(buf);
		return restart(q);
	}
	p.buf = buf;
	p.size = len;
	rc = parse(&p);
	free(buf);
	if (rc != 0)
		return rc;
	rep->torn = len - p.off;
	q->version = p.version;
	q->size = (off_t)p.off;
	if (q->pending == 0 && (q->n > 0 || q->version != VERSION))
		return restart(q);
	if (rep->torn != 0)
		return cut(q->fd, q->size);
	return 0;
}

/* queue_open opens, locks and reads the queue. */
int
queue_open(const char *path, struct queue **out, struct queue_report *rep)
{
	struct queue *q;
	int rc;

	memset(rep, 0, sizeof(*rep));
	q = cb_xcalloc(1, sizeof(*q));
	if ((rc = open_locked(path, &q->fd)) != 0) {
		free(q);
		return rc;
	}
	if ((rc = load(q, rep)) != 0) {
		queue_close(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* queue_close unlocks and frees. */
void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	free_actions(q);
	free(q->a);
	close(q->fd);
	free(q);
}

/* queue_salvage keeps a damaged file aside and saves its intact part. */
int
queue_salvage(
    const char *path, char *kept, size_t keptlen, struct queue_report *rep)
{
	struct queue q = {.fd = -1};
	struct parse p = {.q = &q, .rep = rep};
	struct timespec ts;
	uint8_t *buf = NULL, h[HEADER_LEN];
	size_t len;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if ((rc = open_locked(path, &q.fd)) != 0)
		return rc;
	if ((rc = read_all(q.fd, &buf, &len)) != 0)
		goto out;
	p.buf = buf;
	p.size = len;
	q.next_seq = 1;
	if (parse(&p) == 0) {
		rc = 0; /* not damaged after all: nothing to do */
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(kept, keptlen, "%s.damaged-%lld", path,
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	/* Keep the damaged file first: a crash before the new queue is in
	 * place leaves both, and the next start salvages again. */
	if (link(path, kept) != 0 || cb_file_fsync_dir(kept) != 0) {
		rc = CB_EIO;
		goto out;
	}
	if (rep->bad_offset < HEADER_LEN) {
		header(h, VERSION);
		rc = cb_file_write(path, h, sizeof(h), 0600, CB_FILE_REPLACE);
	} else {
		rc = cb_file_write(
		    path, buf, (size_t)rep->bad_offset, 0600, CB_FILE_REPLACE);
	}
out:
	free(buf);
	free_actions(&q);
	free(q.a);
	if (q.fd >= 0)
		close(q.fd);
	return rc;
}

/* append writes one record whole at the end and fsyncs it. */
static int
append(struct queue *q, const uint8_t *body, size_t len)
{
	size_t head = head_len(q->version);
	uint8_t *rec = cb_xmalloc(head + len);
	int rc;

	cb_be_put(rec, len, 4);
	if (q->version > 1)
		cb_be_put(rec + 4, queue_crc32c(rec, 4), 4);
	cb_be_put(rec + head - 4, record_crc(rec, body, len), 4);
	memcpy(rec + head, body, len);
	rc = write_at(q->fd, rec, head + len, q->size);
	if (rc == 0 && fsync(q->fd) != 0)
		rc = CB_EIO;
	free(rec);
	if (rc != 0) {
		/* Cut a partial record off, so later ones follow good ones. */
		(void)cut(q->fd, q->size);
		return rc;
	}
	q->size += (off_t)(head + len);
	return 0;
}

/* queue_append writes and fsyncs an action. */
int
queue_append(struct queue *q, const struct queue_action *a, uint64_t *seq)
{
	size_t ml = strlen(a->method), fl = strlen(a->family), len;
	uint8_t *body, *b;
	struct queue_action *slot;
	int rc;

	if (ml == 0 || ml > QUEUE_METHOD_MAX || fl > QUEUE_ID_MAX ||
	    a->len == 0 || a->len > QUEUE_REQ_MAX)
		return CB_EINVAL;
	if (q->n >= QUEUE_ACTIONS)
		return CB_EFULL;
	len = 1 + 8 + 8 + 1 + 1 + ml + 1 + fl + 4 + a->len;
	b = body = cb_xmalloc(len);
	*b++ = KIND_ACTION;
	cb_be_put(b, q->next_seq, 8);
	cb_be_put(b + 8, (uint64_t)a->made_ms, 8);
	b[16] = a->flags;
	b += 17;
	*b++ = (uint8_t)ml;
	memcpy(b, a->method, ml);
	b += ml;
	*b++ = (uint8_t)fl;
	memcpy(b, a->family, fl);
	b += fl;
	cb_be_put(b, a->len, 4);
	memcpy(b + 4, a->req, a->len);
	rc = append(q, body, len);
	free(body);
	if (rc != 0)
		return rc;
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 16;
		q->a = cb_xreallocarray(q->a, q->cap, sizeof(*q->a));
	}
	slot = &q->a[q->n++];
	*slot = *a;
	slot->seq = q->next_seq++;
	slot->req = cb_xmemdup(a->req, a->len);
	slot->state = QUEUE_PENDING;
	slot->index = 0;
	q->pending++;
	*seq = slot->seq;
	return 0;
}

/* queue_done writes an action's fate, and empties a queue all done. */
int
queue_done(struct queue *q, uint64_t seq, int state, uint64_t index)
{
	struct queue_action *a = find(q, seq);
	uint8_t body[DONE_LEN];
	int rc;

	if (a == NULL || a->state != QUEUE_PENDING ||
	    (state != QUEUE_ACCEPTED && state != QUEUE_REFUSED))
		return CB_ENOTFOUND;
	body[0] = KIND_DONE;
	cb_be_put(body + 1, seq, 8);
	body[9] = (uint8_t)state;
	cb_be_put(body + 10, index, 8);
	if ((rc = append(q, body, sizeof(body))) != 0)
		return rc;
	a->state = state;
	a->index = index;
	return --q->pending == 0 ? restart(q) : 0;
}

/* queue_count returns the number of actions held. */
size_t
queue_count(const struct queue *q)
{
	return q->n;
}

/* queue_pending returns the number of actions not done. */
size_t
queue_pending(const struct queue *q)
{
	return q->pending;
}

/* queue_at returns action i. */
const struct queue_action *
queue_at(const struct queue *q, size_t i)
{
	return i < q->n ? &q->a[i] : NULL;
}

/* queue_size returns the file's size. */
off_t
queue_size(const struct queue *q)
{
	return q->size;
}
