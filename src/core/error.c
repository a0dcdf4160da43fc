/*
 * Names and descriptions of the core's error codes, generated from the
 * CB_ERRORS table in error.h so the enum and its strings cannot drift apart.
 */
#include "carebank/error.h"

/* cb_strerror describes code. */
const char *
cb_strerror(int code)
{
	switch (code) {
#define CB_ERR_TEXT(name, value, text)                                        \
	case value:                                                           \
		return text;
		CB_ERRORS(CB_ERR_TEXT)
#undef CB_ERR_TEXT
	}
	return "unknown error";
}

/* cb_errname names code. */
const char *
cb_errname(int code)
{
	switch (code) {
#define CB_ERR_NAME(name, value, text)                                        \
	case value:                                                           \
		return #name;
		CB_ERRORS(CB_ERR_NAME)
#undef CB_ERR_NAME
	}
	return "CB_EUNKNOWN";
}
