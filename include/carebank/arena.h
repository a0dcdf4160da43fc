/*
 * An arena: many small allocations freed together. The bank builds each entry
 * (postings, strings, decoded state records) in one arena and drops it when
 * the request is done, so no path through a request can leak. It also serves
 * as a protobuf-c allocator, whose free is a no-op.
 */
#ifndef CAREBANK_ARENA_H
#define CAREBANK_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct cb_arena;

/* cb_arena_new makes an empty arena. */
struct cb_arena *cb_arena_new(void);

/* cb_arena_free frees the arena and everything allocated in it; NULL ok. */
void cb_arena_free(struct cb_arena *a);

/* cb_arena_alloc returns size zeroed bytes, aligned for any type. */
void *cb_arena_alloc(struct cb_arena *a, size_t size);

/* cb_arena_strdup copies a string into the arena. */
char *cb_arena_strdup(struct cb_arena *a, const char *s);

/* cb_arena_strndup copies n bytes into the arena as a string. */
char *cb_arena_strndup(struct cb_arena *a, const char *s, size_t n);

/* cb_arena_printf formats into the arena. */
char *cb_arena_printf(struct cb_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * cb_arena_grow makes room for element n of an array of size-byte elements
 * at v with room for *cap: v itself while n < *cap, else a copy in a with
 * twice the room (16 the first time), *cap updated. Growing arrays of
 * postings, records and keys share it.
 */
void *cb_arena_grow(struct cb_arena *a, void *v, size_t n, size_t *cap,
    size_t size);

/* cb_arena_allocator binds a protobuf-c allocator to the arena. */
void cb_arena_allocator(struct cb_arena *a, ProtobufCAllocator *pa);

#endif
