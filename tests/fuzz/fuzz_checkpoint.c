/*
 * libFuzzer target for checkpoint bodies: cb_checkpoint_parse on arbitrary
 * bytes. A body that parses must format back to its own first three lines,
 * byte for byte, which is what strict parsing means here: one tree head, one
 * text form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_checkpoint cp;
	char *body;
	size_t len;

	if (cb_checkpoint_parse((const char *)data, size, &cp) != 0)
		return 0;
	if (cb_checkpoint_format(&cp, &body, &len) != 0 || len > size ||
	    memcmp(body, data, len) != 0)
		abort();
	free(body);
	return 0;
}
