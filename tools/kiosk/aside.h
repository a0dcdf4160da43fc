/*
 * The actions the staff set aside (aside.c) and may put back (putback.c),
 * as the kiosk's refused log (QUEUE.refused) records them: each set-aside
 * line holds the action whole, and a put-back line after it says it went
 * back to the queue.
 */
#ifndef CAREBANK_KIOSK_ASIDE_H
#define CAREBANK_KIOSK_ASIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "queue.h"

/* A request id in the refused log's lines: 32 hex digits. */
#define ASIDE_ID_HEX 32

/* One set-aside action, as its latest lines in the refused log leave it. */
struct aside {
	char id[ASIDE_ID_HEX + 1];
	bool back;   /* a put-back line came after its set-aside line */
	uint64_t as; /* put back: the queue number it was given, or 0 */
	struct queue_action a; /* seq, state and index unused */
};

/* The set-aside actions of a refused log, in the order first set aside. */
struct asides {
	struct aside *v;
	size_t n, cap;
};

/*
 * aside_read reads a refused log from f into s (one entry per request id;
 * lines that are not whole set-aside or put-back lines are passed over).
 * Returns 0, or -1 with errno set on a read error (s is then empty).
 */
int aside_read(FILE *f, struct asides *s);

/* aside_free frees what aside_read read, and empties s. */
void aside_free(struct asides *s);

/* aside_find returns the action of request id in s, or NULL. */
struct aside *aside_find(struct asides *s, const char *id);

/* aside_is_id says whether s is a request id as the refused log has it. */
bool aside_is_id(const char *s);

#endif
