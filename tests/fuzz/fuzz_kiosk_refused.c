/*
 * libFuzzer target for the kiosk's refused log (tools/kiosk putback.c),
 * which --put-back and --check-queue read back: the input is the file.
 * Beyond not crashing: every action read has a request id of 32 hex
 * digits, found once, and its fields within the queue's bounds, so what
 * --put-back appends is an action the queue can hold.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aside.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asides s;
	char *copy;
	FILE *f;

	if (size == 0)
		return 0;
	if ((copy = malloc(size)) == NULL)
		abort();
	memcpy(copy, data, size);
	if ((f = fmemopen(copy, size, "r")) == NULL)
		abort();
	if (aside_read(f, &s) != 0)
		abort();
	fclose(f);
	free(copy);
	for (size_t i = 0; i < s.n; i++) {
		const struct aside *x = &s.v[i];
		size_t m = strlen(x->a.method), fam = strlen(x->a.family);

		if (strlen(x->id) != ASIDE_ID_HEX ||
		    strspn(x->id, "0123456789abcdef") != ASIDE_ID_HEX)
			abort();
		if (m == 0 || m > QUEUE_METHOD_MAX || fam == 0 ||
		    fam > QUEUE_ID_MAX || x->a.len > QUEUE_REQ_MAX ||
		    (x->a.len > 0 && x->a.req == NULL))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(s.v[j].id, x->id) == 0)
				abort();
	}
	aside_free(&s);
	return 0;
}
