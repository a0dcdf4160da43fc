/*
 * Internal: an index over serialized FileDescriptorSets (descset.c), for
 * reflection. The index points into the sets' bytes; they must outlive it.
 */
#ifndef RPC_DESCSET_H
#define RPC_DESCSET_H

#include <stddef.h>
#include <stdint.h>

struct rpc_dfile {
	const uint8_t *data; /* the serialized FileDescriptorProto */
	size_t len;
	char *name;
	char **deps;
	size_t ndeps;
};

struct rpc_dsym {
	char *name; /* fully qualified, no leading dot */
	size_t file;
	int type; /* nonzero for messages (extendable types) */
};

struct rpc_dext {
	char *extendee; /* fully qualified, no leading dot */
	int32_t number;
	size_t file;
};

struct rpc_descset {
	struct rpc_dfile *files;
	size_t nfiles, capfiles;
	struct rpc_dsym *syms;
	size_t nsyms, capsyms;
	struct rpc_dext *exts;
	size_t nexts, capexts;
};

/*
 * rpc_descset_add indexes a FileDescriptorSet; a file already known by name
 * is skipped. Returns 0 or CB_EFORMAT (the index is then unchanged).
 */
int rpc_descset_add(struct rpc_descset *ds, const uint8_t *set, size_t len);

/* rpc_descset_file finds a file by name; returns its index or -1. */
long rpc_descset_file(const struct rpc_descset *ds, const char *name);

/* rpc_descset_symbol finds the symbol's entry, or NULL. */
const struct rpc_dsym *rpc_descset_symbol(const struct rpc_descset *ds,
                                          const char *name);

/* rpc_descset_extension finds the file declaring an extension, or -1. */
long rpc_descset_extension(const struct rpc_descset *ds, const char *type,
                           int32_t number);

/* rpc_descset_free frees the index, not the sets. */
void rpc_descset_free(struct rpc_descset *ds);

#endif
