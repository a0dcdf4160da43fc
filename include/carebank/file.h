/*
 * Files that matter: written to a temporary name in the same directory,
 * fsynced, renamed into place, and the directory fsynced, so a crash leaves
 * either the old file or the new one, never a torn one.
 */
#ifndef CAREBANK_FILE_H
#define CAREBANK_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "carebank/error.h"

enum {
	CB_FILE_REPLACE = 0,   /* replace an existing file */
	CB_FILE_EXCLUSIVE = 1, /* fail with CB_EEXIST if the file exists */
	CB_FILE_NOSYNC = 2,    /* still atomic, but durable only after the
				  caller syncs the file system (many files) */
};

/*
 * cb_file_write writes len bytes to path with the given mode, atomically.
 * flags is CB_FILE_REPLACE or CB_FILE_EXCLUSIVE, optionally with
 * CB_FILE_NOSYNC. Returns 0, CB_EEXIST,
 * CB_EFULL (no space) or CB_EIO.
 */
int cb_file_write(const char *path, const void *data, size_t len,
    mode_t mode, int flags) CB_MUST_CHECK;

/*
 * cb_file_read reads all of path, at most max bytes, into a new buffer
 * (*out, freed by the caller, with a NUL after the *outlen bytes).
 * Returns 0, CB_ENOTFOUND, CB_ETOOBIG or CB_EIO.
 */
int cb_file_read(const char *path, size_t max, uint8_t **out,
    size_t *outlen) CB_MUST_CHECK;

/* cb_file_syncfs makes every file on the file system of path durable. */
int cb_file_syncfs(const char *path) CB_MUST_CHECK;

/* cb_file_fsync_dir fsyncs the directory that holds path. */
int cb_file_fsync_dir(const char *path) CB_MUST_CHECK;

/* cb_file_mkdirs creates dir and its missing parents with mode, each one
 * it creates synced into its parent. */
int cb_file_mkdirs(const char *dir, mode_t mode) CB_MUST_CHECK;

#endif
