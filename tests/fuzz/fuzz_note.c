/*
 * libFuzzer target for signed notes: cb_note_open with a known key and
 * cb_vkey_parse, on the same arbitrary bytes. Beyond not crashing, an opened
 * note's text must be a newline-terminated prefix of it, and a verifier key
 * that parses must format back to exactly the bytes it came from (one key,
 * one text form).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/note.h"

#define PETER_VKEY \
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cb_vkey known, vk;
	size_t textlen = 0;
	char *back;

	if (cb_vkey_parse(PETER_VKEY, strlen(PETER_VKEY), &known) != 0)
		abort();
	if (cb_note_open(text, size, &known, 1, &textlen) == 0 &&
	    (textlen == 0 || textlen >= size || text[textlen - 1] != '\n'))
		abort();
	if (cb_vkey_parse(text, size, &vk) == 0) {
		back = cb_vkey_format(&vk);
		if (strlen(back) != size || memcmp(back, text, size) != 0)
			abort();
		free(back);
	}
	return 0;
}
