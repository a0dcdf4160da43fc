/*
 * grpc-timeout: "TimeoutValue TimeoutUnit", at most eight ASCII digits and
 * one of H (hours), M (minutes), S, m, u, n (seconds down to nanoseconds).
 * Eight digits of hours overflow a signed 64-bit count of nanoseconds, so
 * values past that saturate to INT64_MAX, which callers treat as no deadline.
 */
#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"

#include "timeout.h"

/* rpc_timeout_parse converts a grpc-timeout header value to nanoseconds. */
int
rpc_timeout_parse(const uint8_t *v, size_t len, int64_t *ns)
{
	int64_t n = 0, unit;

	if (len < 2 || len > 9)
		return CB_EFORMAT;
	for (size_t i = 0; i + 1 < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return CB_EFORMAT;
		n = n * 10 + (v[i] - '0');
	}
	switch (v[len - 1]) {
	case 'H':
		unit = 3600LL * 1000000000LL;
		break;
	case 'M':
		unit = 60LL * 1000000000LL;
		break;
	case 'S':
		unit = 1000000000LL;
		break;
	case 'm':
		unit = 1000000LL;
		break;
	case 'u':
		unit = 1000LL;
		break;
	case 'n':
		unit = 1;
		break;
	default:
		return CB_EFORMAT;
	}
	*ns = n > INT64_MAX / unit ? INT64_MAX : n * unit;
	return 0;
}
