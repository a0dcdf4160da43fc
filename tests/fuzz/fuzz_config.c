/*
 * libFuzzer target for carebankd's configuration file (src/server/config.c):
 * the input is written to an anonymous file and read with srv_config_file,
 * then checked with srv_config_check, as `carebankd check-config` does; the
 * same bytes go to srv_config_parse_addr as one address. Beyond not
 * crashing (or leaking), a parsed address must have a host that fits and
 * comes from the text.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "srv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srv_config c;
	char path[64], err[256], host[64], *text;
	uint16_t port;
	int fd;

	if ((fd = memfd_create("config", 0)) < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	srv_config_defaults(&c);
	if (srv_config_file(&c, path, err, sizeof(err)) == 0)
		(void)srv_config_check(&c, err, sizeof(err));
	srv_config_free(&c);
	close(fd);
	text = strndup((const char *)data, size);
	if (text == NULL)
		abort();
	if (srv_config_parse_addr(text, host, sizeof(host), &port) == 0 &&
	    (strlen(host) >= sizeof(host) || strstr(text, host) == NULL))
		abort();
	free(text);
	return 0;
}
