/*
 * Fuzz target: arbitrary bytes as a log leaf. The entry reader must refuse or
 * accept without fault, and the log checker must judge the leaf (as the first
 * entry of a log, where it may enrol keys) without fault either.
 */
#include <stddef.h>
#include <stdint.h>

#include "carebank/entry.h"
#include "carebank/logcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_report rep = {0};
	struct cb_logcheck *lc;
	cb_entry *e;

	if (cb_entry_decode(data, size, &e) == 0)
		cb_entry_free(e);
	lc = cb_logcheck_new(NULL, NULL, NULL, &rep);
	(void)cb_logcheck_leaf(lc, 0, data, size, NULL);
	cb_logcheck_free(lc);
	return 0;
}
