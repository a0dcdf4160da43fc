/*
 * gRPC status codes and the grpc-message encoding. Status text travels in a
 * trailer, so it is percent-encoded (grpc's PROTOCOL-HTTP2): every byte
 * outside printable ASCII, and '%' itself, becomes %XX; UTF-8 survives byte
 * for byte. Also the library's error strings.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "status.h"

static const char *const status_names[] = {
    [RPC_STATUS_OK] = "OK",
    [RPC_STATUS_CANCELLED] = "CANCELLED",
    [RPC_STATUS_UNKNOWN] = "UNKNOWN",
    [RPC_STATUS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [RPC_STATUS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
    [RPC_STATUS_NOT_FOUND] = "NOT_FOUND",
    [RPC_STATUS_ALREADY_EXISTS] = "ALREADY_EXISTS",
    [RPC_STATUS_PERMISSION_DENIED] = "PERMISSION_DENIED",
    [RPC_STATUS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
    [RPC_STATUS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
    [RPC_STATUS_ABORTED] = "ABORTED",
    [RPC_STATUS_OUT_OF_RANGE] = "OUT_OF_RANGE",
    [RPC_STATUS_UNIMPLEMENTED] = "UNIMPLEMENTED",
    [RPC_STATUS_INTERNAL] = "INTERNAL",
    [RPC_STATUS_UNAVAILABLE] = "UNAVAILABLE",
    [RPC_STATUS_DATA_LOSS] = "DATA_LOSS",
    [RPC_STATUS_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

/* rpc_status_name names a gRPC status code. */
const char *
rpc_status_name(int code)
{
	if (!rpc_status_valid(code))
		return "?";
	return status_names[code];
}

/* rpc_status_valid says whether code is one of the 17 gRPC codes. */
int
rpc_status_valid(int code)
{
	return code >= RPC_STATUS_OK && code <= RPC_STATUS_UNAUTHENTICATED;
}

/* rpc_strerror describes a code this library returns. */
const char *
rpc_strerror(int code)
{
	if (code == RPC_ECLOSED)
		return "call has ended";
	return cb_strerror(code);
}

/* plain says whether a grpc-message byte may go out unencoded. */
static int
plain(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e && c != '%';
}

/*
 * rpc_status_encode percent-encodes message for grpc-message into a new
 * string the caller frees, and sets *outlen.
 */
char *
rpc_status_encode(const char *message, size_t *outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(message), n = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		n += plain((uint8_t)message[i]) ? 1 : 3;
	out = cb_xmalloc(n + 1);
	n = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)message[i];

		if (plain(c)) {
			out[n++] = (char)c;
			continue;
		}
		out[n++] = '%';
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 15];
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}
