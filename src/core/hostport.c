/*
 * HOST:PORT splitting (see hostport.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "carebank/hostport.h"

/* cb_host_is_loopback says whether a numeric host is a loopback address. */
int
cb_host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	       IN6_IS_ADDR_LOOPBACK(&a6);
}

/* cb_hostport_split splits HOST:PORT or [V6]:PORT. */
int
cb_hostport_split(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *h = s, *d;
	size_t hl;
	uint32_t p = 0;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || colon[1] == '\0')
		return -1;
	for (d = colon + 1; *d != '\0'; d++) {
		if (*d < '0' || *d > '9' || d - colon > 5)
			return -1;
		p = p * 10 + (uint32_t)(*d - '0');
	}
	if (p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}
