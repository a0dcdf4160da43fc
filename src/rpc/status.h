/*
 * Internal: status code checks and grpc-message percent-encoding (status.c).
 */
#ifndef RPC_STATUS_H
#define RPC_STATUS_H

#include <stddef.h>

/* rpc_status_valid says whether code is a gRPC status code. */
int rpc_status_valid(int code);

/* rpc_status_encode percent-encodes message; caller frees; sets *outlen. */
char *rpc_status_encode(const char *message, size_t *outlen);

#endif
