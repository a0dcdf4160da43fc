/*
 * The arena (see arena.h): a list of blocks, bump-allocated. Large requests
 * get a block of their own, so the waste is bounded by one block per arena.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/arena.h"
#include "carebank/xalloc.h"

#define BLOCK_SIZE 8192
#define ALIGN      16

struct block {
	struct block *next;
	size_t used, size;
	_Alignas(ALIGN) unsigned char data[];
};

struct cb_arena {
	struct block *head;
};

/* cb_arena_new makes an empty arena. */
struct cb_arena *
cb_arena_new(void)
{
	return cb_xcalloc(1, sizeof(struct cb_arena));
}

/* cb_arena_free releases every block. */
void
cb_arena_free(struct cb_arena *a)
{
	if (a == NULL)
		return;
	for (struct block *b = a->head, *next; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

/* cb_arena_alloc bumps within the head block or starts a new one. */
void *
cb_arena_alloc(struct cb_arena *a, size_t size)
{
	struct block *b = a->head;
	size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (need < size)
		abort(); /* size_t overflow */
	if (b == NULL || b->size - b->used < need) {
		size_t cap = need > BLOCK_SIZE ? need : BLOCK_SIZE;

		if (cap > SIZE_MAX - sizeof(*b))
			abort();
		b = cb_xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->size = cap;
		/* A big one-off block goes behind the head, which keeps room. */
		if (a->head != NULL && need > BLOCK_SIZE) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

/* cb_arena_strdup copies s. */
char *
cb_arena_strdup(struct cb_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(cb_arena_alloc(a, n), s, n);
}

/* cb_arena_strndup copies n bytes and ends them with a NUL. */
char *
cb_arena_strndup(struct cb_arena *a, const char *s, size_t n)
{
	char *d = cb_arena_alloc(a, n + 1); /* zeroed: d[n] is the NUL */

	return memcpy(d, s, n);
}

/* cb_arena_printf formats a string into the arena. */
char *
cb_arena_printf(struct cb_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	s = cb_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* cb_arena_grow doubles an array in the arena when it is full. */
void *
cb_arena_grow(struct cb_arena *a, void *v, size_t n, size_t *cap,
    size_t size)
{
	size_t room = *cap ? 2 * *cap : 16, bytes;
	void *nv;

	if (n < *cap)
		return v;
	if (room < *cap || __builtin_mul_overflow(room, size, &bytes))
		abort(); /* size_t overflow */
	nv = cb_arena_alloc(a, bytes);
	if (n)
		memcpy(nv, v, n * size);
	*cap = room;
	return nv;
}

/* pb_alloc serves protobuf-c from the arena. */
static void *
pb_alloc(void *ctx, size_t size)
{
	return cb_arena_alloc(ctx, size);
}

/* pb_free does nothing: the arena frees everything at once. */
static void
pb_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p;
}

/* cb_arena_allocator makes protobuf-c allocate in the arena. */
void
cb_arena_allocator(struct cb_arena *a, ProtobufCAllocator *pa)
{
	pa->alloc = pb_alloc;
	pa->free = pb_free;
	pa->allocator_data = a;
}
