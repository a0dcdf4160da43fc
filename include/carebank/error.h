/*
 * Error codes of the carebank core library.
 *
 * Every core function that can fail returns 0 on success and one of these
 * negative codes on failure. Codes from LMDB, OpenSSL and protobuf-c are
 * translated where those libraries are called; the server maps these codes to
 * gRPC status in exactly one place.
 */
#ifndef CAREBANK_ERROR_H
#define CAREBANK_ERROR_H

/* X(name, value, description) */
#define CB_ERRORS(X)                                                          \
	X(CB_OK, 0, "success")                                                \
	X(CB_EINVAL, -1, "invalid argument")                                  \
	X(CB_ENOMEM, -2, "out of memory")                                     \
	X(CB_EFORMAT, -3, "malformed data")                                   \
	X(CB_ENONCANON, -4, "data not in canonical form")                     \
	X(CB_ESIG, -5, "signature does not verify")                           \
	X(CB_ENOTFOUND, -6, "not found")                                      \
	X(CB_EEXIST, -7, "already exists")                                    \
	X(CB_EIO, -8, "input/output error")                                   \
	X(CB_EFULL, -9, "storage full")                                       \
	X(CB_EPERM, -10, "file permissions too open")                         \
	X(CB_ERANGE, -11, "out of range")                                     \
	X(CB_ECRYPTO, -12, "cryptographic library failure")                   \
	X(CB_EINCONSISTENT, -13, "inconsistent with an earlier state")        \
	X(CB_ETOOBIG, -14, "too large")                                       \
	X(CB_ECORRUPT, -15, "stored data does not verify")                    \
	X(CB_ESTOPPED, -16, "writes stopped after a commit failure")          \
	X(CB_EUNKNOWNKEY, -17, "no known key")                                \
	X(CB_EMISMATCH, -18, "does not match")                                \
	X(CB_EBUSY, -19, "busy")                                              \
	X(CB_EACCES, -20, "permission denied")                                \
	X(CB_ENOTREG, -21, "not a regular file (a directory, FIFO or device)")

enum cb_err {
#define CB_ERR_ENUM(name, value, text) name = value,
	CB_ERRORS(CB_ERR_ENUM)
#undef CB_ERR_ENUM
};

/* cb_strerror returns a static description of code; never NULL. */
const char *cb_strerror(int code);

/* cb_errname returns the code's name ("CB_EFORMAT"); never NULL. */
const char *cb_errname(int code);

#if defined(__GNUC__)
#define CB_MUST_CHECK __attribute__((warn_unused_result))
#else
#define CB_MUST_CHECK
#endif

#endif
