/*
 * Internal: grpc-timeout parsing (timeout.c).
 */
#ifndef RPC_TIMEOUT_H
#define RPC_TIMEOUT_H

#include <stddef.h>
#include <stdint.h>

/* Timeouts from this on are no deadline at all (about 31 years). */
#define RPC_TIMEOUT_NONE ((int64_t)1000000000000000000LL)

/*
 * rpc_timeout_parse reads a grpc-timeout value ("1-8 digits" and a unit of
 * H, M, S, m, u or n) into nanoseconds, saturating at INT64_MAX.
 * Returns 0 or CB_EFORMAT.
 */
int rpc_timeout_parse(const uint8_t *v, size_t len, int64_t *ns);

#endif
