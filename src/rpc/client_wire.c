/*
 * The client's pure encodings, from grpc's PROTOCOL-HTTP2: grpc-timeout
 * written from a deadline, grpc-message percent-decoded, and the two tables
 * that turn what HTTP says (a non-200 status, an RST_STREAM code) into a gRPC
 * status. Also the client's error strings. No I/O, no state.
 */
#include <stdint.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/rpc.h"
#include "carebank/rpc_client.h"
#include "carebank/xalloc.h"

#include "client.h"

#define PATH_MAX_LEN 1024

/* rpcc_strerror describes a client code, or any carebank code. */
const char *
rpcc_strerror(int code)
{
	switch (code) {
#define RPCC_ERR_CASE(name, value, text)                                      \
	case name:                                                            \
		return text;
		RPCC_ERRORS(RPCC_ERR_CASE)
#undef RPCC_ERR_CASE
	default:
		return cb_strerror(code);
	}
}

/* rpcc_timeout_encode picks the finest unit whose count fits 8 digits. */
void
rpcc_timeout_encode(int64_t ns, char out[RPCC_TIMEOUT_LEN])
{
	static const struct {
		int64_t ns;
		char unit;
	} units[] = {
		{1, 'n'},
		{1000, 'u'},
		{1000000, 'm'},
		{1000000000, 'S'},
		{60LL * 1000000000, 'M'},
		{3600LL * 1000000000, 'H'},
	};
	char digits[8];
	size_t i, n = 0, k = 0;
	int64_t v = 0;

	if (ns < 1)
		ns = 1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		/* Round up: a deadline must never arrive early. */
		v = ns / units[i].ns + (ns % units[i].ns != 0);
		if (v <= 99999999)
			break;
	}
	if (i == sizeof(units) / sizeof(units[0])) {
		i--;
		v = 99999999;
	}
	/* v has 1 to 8 digits: written by hand, the bound is plain. */
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < sizeof(digits));
	while (n > 0)
		out[k++] = digits[--n];
	out[k++] = units[i].unit;
	out[k] = '\0';
}

/* rpcc_percent_decode undoes %XX escapes; broken ones are kept as sent. */
char *
rpcc_percent_decode(const uint8_t *in, size_t len)
{
	char *out = cb_xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t b;

		if (in[i] == '%' && i + 2 < len &&
		    cb_hex_decode((const char *)in + i + 1, 2, &b, 1) == 0) {
			out[n++] = (char)b;
			i += 2;
		} else
			out[n++] = (char)in[i];
	}
	out[n] = '\0';
	return out;
}

/* rpcc_http_status follows grpc's doc/http-grpc-status-mapping.md. */
int
rpcc_http_status(int http)
{
	switch (http) {
	case 400:
		return RPC_STATUS_INTERNAL;
	case 401:
		return RPC_STATUS_UNAUTHENTICATED;
	case 403:
		return RPC_STATUS_PERMISSION_DENIED;
	case 404:
		return RPC_STATUS_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return RPC_STATUS_UNAVAILABLE;
	default:
		return RPC_STATUS_UNKNOWN;
	}
}

/* rpcc_rst_status follows PROTOCOL-HTTP2's RST_STREAM table. */
int
rpcc_rst_status(uint32_t code)
{
	switch (code) {
	case NGHTTP2_REFUSED_STREAM:
		return RPC_STATUS_UNAVAILABLE;
	case NGHTTP2_CANCEL:
		return RPC_STATUS_CANCELLED;
	case NGHTTP2_ENHANCE_YOUR_CALM:
		return RPC_STATUS_RESOURCE_EXHAUSTED;
	case NGHTTP2_INADEQUATE_SECURITY:
		return RPC_STATUS_PERMISSION_DENIED;
	default:
		return RPC_STATUS_INTERNAL;
	}
}

/* rpcc_path_ok accepts "/" followed by visible ASCII, bounded. */
int
rpcc_path_ok(const char *path)
{
	size_t len;

	if (path == NULL || path[0] != '/')
		return 0;
	len = strlen(path);
	if (len < 2 || len > PATH_MAX_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)path[i] <= 0x20 || (uint8_t)path[i] >= 0x7f)
			return 0;
	return 1;
}
