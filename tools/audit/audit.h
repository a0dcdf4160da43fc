/*
 * carebank-audit's commands (main.c): export from a data directory or a
 * server (export.c), and offline verification (verify.c).
 */
#ifndef CAREBANK_AUDIT_H
#define CAREBANK_AUDIT_H

#include "carebank/entry.h"
#include "carebank/note.h"

struct audit_args {
	const char *data, *centre, *out, *server, *key, *ca, *since;
	const char *family, *statement;
	int64_t window_ms; /* verify --call-window, or -1 */
};

/* audit_entries prints a verified export's entries (CSV or JSON lines). */
int audit_entries(const struct audit_args *a, int csv);

/*
 * audit_walk verifies the export in a->out, then calls fn on each entry in
 * log order; a non-zero return stops it. Returns an exit status (a failure
 * printed).
 */
int audit_walk(const struct audit_args *a,
    int (*fn)(void *ctx, const cb_entry *e), void *ctx);

/* audit_flags prints the flagged entries of an export and their reviews. */
int audit_flags(const struct audit_args *a, int csv);

/* audit_iso_time writes Unix ms as UTC ISO 8601. */
void audit_iso_time(int64_t ms, char *buf, size_t len);

/* audit_statement writes a family's statement; audit_verify_statement
 * checks one. Both return an exit status. */
int audit_statement(const struct audit_args *a);
int audit_verify_statement(const struct audit_args *a);

/*
 * audit_check verifies the export in a->out with every check verify makes,
 * the replay of the rules included, and fills cp; on failure it says why
 * on stderr. Returns 0 or a carebank error code.
 */
int audit_check(const struct audit_args *a, const struct cb_vkey *vk,
    struct cb_checkpoint *cp);

/* audit_verify verifies the export in a->out; returns an exit status. */
int audit_verify(const struct audit_args *a);

/* audit_export_server exports through a server's Audit service. */
int audit_export_server(const struct audit_args *a);

/* audit_vkey reads a verifier key line, or a file holding one. */
int audit_vkey(const char *arg, struct cb_vkey *vk);

#endif
