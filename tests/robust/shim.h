/*
 * What the LD_PRELOAD shims of the robustness tests share: finding the
 * function a shim stands in front of.
 */
#ifndef CB_TEST_SHIM_H
#define CB_TEST_SHIM_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* shim_next finds the library's own name, or aborts saying who missed it. */
static inline void *
shim_next(const char *shim, const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		fprintf(stderr, "%s: no %s to call\n", shim, name);
		abort();
	}
	return f;
}

#endif
