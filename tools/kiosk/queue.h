/*
 * The kiosk's offline queue: door requests the server has not taken yet,
 * in a file that survives SIGKILL and power loss. Each record is appended
 * whole, with its length and a CRC-32C, and fsynced before the kiosk says
 * "pending"; on opening, a torn tail (a record cut short by a crash) is
 * cut off, and any other damage is reported, never repaired silently.
 * The format is drawn in queue.c.
 */
#ifndef CAREBANK_KIOSK_QUEUE_H
#define CAREBANK_KIOSK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "carebank/error.h"

#define QUEUE_METHOD_MAX 64
#define QUEUE_ID_MAX     23
#define QUEUE_REQ_MAX    4096  /* a door request is a few hundred bytes */
#define QUEUE_ACTIONS    10000 /* then the queue is full */
#define QUEUE_FILE_MAX   (64u << 20)

/* An action's fate, in its done record. */
enum {
	QUEUE_PENDING = 0,
	QUEUE_ACCEPTED = 1, /* the server made an entry (index) */
	QUEUE_REFUSED = 2,  /* the server refused it: see the refused log */
};

/* flags of an action */
#define QUEUE_TRIED 0x01 /* sent once online: the server may have it */

/* One queued action. */
struct queue_action {
	uint64_t seq;    /* 1, 2, ... within the file */
	int64_t made_ms; /* when the parent asked, kiosk clock */
	uint8_t flags;
	char method[QUEUE_METHOD_MAX + 1];
	char family[QUEUE_ID_MAX + 1];
	uint8_t *req; /* the request bytes, owned by the queue */
	size_t len;
	int state;      /* QUEUE_PENDING, _ACCEPTED, _REFUSED */
	uint64_t index; /* accepted: the entry */
};

/* What opening found. */
struct queue_report {
	size_t records;    /* intact records */
	size_t actions;    /* of which actions */
	uint64_t torn;     /* bytes of a torn tail cut off */
	off_t bad_offset;  /* damaged: where the damage starts */
	size_t bad_record; /* damaged: which record, from 1 */
	char why[160];     /* damaged: what is wrong there */
};

struct queue;

/*
 * queue_open opens (creating it, mode 0600, if missing) and locks the
 * queue file, reads every record and cuts off a torn tail. Returns 0;
 * CB_ECORRUPT when the file is damaged (rep says where and why; the file is
 * left exactly as it was); CB_EBUSY when another process holds it; CB_EIO,
 * CB_ETOOBIG.
 */
int queue_open(const char *path, struct queue **out,
    struct queue_report *rep) CB_MUST_CHECK;

/* queue_close unlocks and frees; NULL is allowed. */
void queue_close(struct queue *q);

/*
 * queue_salvage deals with a damaged queue file: it keeps the file under a
 * new name (path.damaged-<unix ms>, written to kept) and puts in its place
 * a queue of the intact records that came before the damage. Returns 0 or
 * a code; rep is filled as by queue_open.
 */
int queue_salvage(const char *path, char *kept, size_t keptlen,
    struct queue_report *rep) CB_MUST_CHECK;

/*
 * queue_append writes an action (a's seq, state and index are ignored)
 * and fsyncs it. Returns 0 and the new seq; CB_EFULL (the queue holds
 * QUEUE_ACTIONS, or the disk is full), CB_EINVAL (a field too long) or
 * CB_EIO. On failure the file is as before.
 */
int queue_append(
    struct queue *q, const struct queue_action *a, uint64_t *seq) CB_MUST_CHECK;

/*
 * queue_done records an action's fate (QUEUE_ACCEPTED with its entry
 * index, or QUEUE_REFUSED) and fsyncs it. When no action is left pending,
 * the file is emptied back to its header. Returns 0, CB_ENOTFOUND or
 * CB_EIO.
 */
int queue_done(
    struct queue *q, uint64_t seq, int state, uint64_t index) CB_MUST_CHECK;

/* queue_count returns the number of actions held (pending or not). */
size_t queue_count(const struct queue *q);

/* queue_pending returns the number of actions not yet done. */
size_t queue_pending(const struct queue *q);

/* queue_at returns action i (0 <= i < queue_count), owned by q. */
const struct queue_action *queue_at(const struct queue *q, size_t i);

/* queue_size returns the file's size in bytes. */
off_t queue_size(const struct queue *q);

/* queue_crc32c is CRC-32C (Castagnoli), as the records use. */
uint32_t queue_crc32c(const uint8_t *p, size_t n);

#endif
