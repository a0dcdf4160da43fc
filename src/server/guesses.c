/*
 * The PIN failure counts of cards and member codes that nobody holds
 * (kiosk.c). They lock like an adult's count, so that the answers do not
 * tell a card someone holds from one nobody does; but they are kept here,
 * in memory, not in the store, where every mistyped or made-up code would
 * leave a record for good. The table is fixed: when it is full, the count
 * whose last failure is the oldest gives way. A restart forgets them all.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "reads.h"

#define GUESS_KEY (CB_CENTRE_ID_MAX + 4 + SRV_DIR_KEY_MAX)

struct guess {
	char key[GUESS_KEY]; /* "" when the slot is free */
	struct srv_pin_count count;
};

struct srv_guesses {
	pthread_mutex_t mu;
	size_t n, cap;
	struct guess *slot;
};

/* srv_guesses_new makes an empty table of cap counts. */
struct srv_guesses *
srv_guesses_new(size_t cap)
{
	struct srv_guesses *g = cb_xcalloc(1, sizeof(*g));

	pthread_mutex_init(&g->mu, NULL);
	g->cap = cap;
	g->slot = cb_xcalloc(cap, sizeof(*g->slot));
	return g;
}

/* srv_guesses_free frees the table; NULL is allowed. */
void
srv_guesses_free(struct srv_guesses *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g->slot);
	free(g);
}

/* find returns key's slot, or NULL; called locked. */
static struct guess *
find(struct srv_guesses *g, const char *key)
{
	for (size_t i = 0; i < g->cap; i++)
		if (g->slot[i].key[0] != '\0' &&
		    strcmp(g->slot[i].key, key) == 0)
			return &g->slot[i];
	return NULL;
}

/* srv_guesses_get copies key's count into *c: zeros when there is none. */
void
srv_guesses_get(struct srv_guesses *g, const char *key,
    struct srv_pin_count *c)
{
	struct guess *s;

	pthread_mutex_lock(&g->mu);
	s = find(g, key);
	if (s != NULL)
		*c = s->count;
	else
		memset(c, 0, sizeof(*c));
	pthread_mutex_unlock(&g->mu);
}

/* srv_guesses_put keeps *c as key's count; a count of zeros forgets it. */
void
srv_guesses_put(struct srv_guesses *g, const char *key,
    const struct srv_pin_count *c)
{
	bool forget = c->failures == 0 && c->until_ms == 0;
	struct guess *s;

	pthread_mutex_lock(&g->mu);
	if ((s = find(g, key)) == NULL && !forget) {
		/* a free slot, or the one whose last failure is oldest */
		s = &g->slot[0];
		for (size_t i = 0; i < g->cap && s->key[0] != '\0'; i++)
			if (g->slot[i].key[0] == '\0' ||
			    g->slot[i].count.last_ms < s->count.last_ms)
				s = &g->slot[i];
		if (s->key[0] == '\0')
			g->n++;
		snprintf(s->key, sizeof(s->key), "%s", key);
	}
	if (s != NULL && forget) {
		memset(s, 0, sizeof(*s));
		g->n--;
	} else if (s != NULL) {
		s->count = *c;
	}
	pthread_mutex_unlock(&g->mu);
}

/* srv_guesses_count says how many counts the table holds. */
size_t
srv_guesses_count(struct srv_guesses *g)
{
	size_t n;

	pthread_mutex_lock(&g->mu);
	n = g->n;
	pthread_mutex_unlock(&g->mu);
	return n;
}
