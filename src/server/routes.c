/*
 * The server's method table: every method of carebank.v1's three services,
 * with the roles that may call it and how it is served. Methods that make
 * entries come from the bank's own table (bank.h), so the rules and the
 * server can never disagree about who may do what.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/v1/service.pb-c.h"
#include "srv.h"

#define COORD   CB_ROLES_COORDINATOR
#define DOOR    (CB_ROLES_COORDINATOR | CB_ROLES_KIOSK)
#define AUDIT   (CB_ROLES_COORDINATOR | CB_ROLES_AUDITOR)
#define MSG(n)  &carebank__v1__##n##__descriptor
#define C(m)    "/carebank.v1.Coordinator/" m
#define K(m)    "/carebank.v1.Kiosk/" m
#define A(m)    "/carebank.v1.Audit/" m

/* Methods that make no entry. */
#define READ(p, r, who, f)                                                    \
	{.path = (p), .request = MSG(r), .roles = (who), .kind = JOB_READ,    \
	    .fn = (f), .rpc_kind = RPC_UNARY}
#define WRITER(p, r, who, f)                                                  \
	{.path = (p), .request = MSG(r), .roles = (who), .kind = JOB_WRITER,  \
	    .fn = (f), .rpc_kind = RPC_UNARY}
#define STREAM(p, r, who, f)                                                  \
	{.path = (p), .request = MSG(r), .roles = (who), .kind = JOB_READ,    \
	    .fn = (f), .rpc_kind = RPC_SERVER_STREAM,                         \
	    .on_writable = srv_stream_writable,                               \
	    .on_cancel = srv_stream_cancel}

static const struct srv_method reads[] = {
	READ(K("Identify"), identify_request, DOOR, srv_identify),
	/* Hashes the PIN on a worker, then changes the directory on the
	 * writer (directory.c). */
	READ(C("SetDirectory"), directory_request, COORD, srv_set_directory),
	WRITER(C("PreviewSettlement"), settle_request, COORD,
	    srv_preview_settlement),
	READ(C("Balances"), centre_request, COORD, srv_balances),
	READ(C("GetStatement"), statement_request, COORD, srv_statement),
	READ(C("Fund"), centre_request, COORD, srv_fund),
	READ(C("Flagged"), flagged_request, COORD, srv_flagged),
	READ(C("Present"), centre_request, COORD, srv_present),
	READ(C("Roster"), roster_request, COORD, srv_roster),
	READ(A("GetCheckpoint"), centre_request, AUDIT, srv_get_checkpoint),
	STREAM(A("Entries"), entries_request, AUDIT, srv_entries),
	READ(A("Inclusion"), inclusion_request, AUDIT, srv_inclusion),
	READ(A("Consistency"), consistency_request, AUDIT, srv_consistency),
	STREAM(A("WatchCheckpoints"), centre_request, AUDIT,
	    srv_watch_checkpoints),
};

#define NREADS (sizeof(reads) / sizeof(reads[0]))

static struct srv_method *table;
static size_t ntable;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* build joins the bank's writes and the reads into one table, once. */
static void
build(void)
{
	const struct cb_bank_method *w;
	size_t nw;

	w = cb_bank_methods(&nw);
	ntable = nw + NREADS;
	table = calloc(ntable, sizeof(*table));
	if (table == NULL)
		abort();
	for (size_t i = 0; i < nw; i++)
		table[i] = (struct srv_method){.path = w[i].path,
		    .request = w[i].request,
		    .roles = w[i].roles,
		    .kind = JOB_WRITE,
		    .rpc_kind = RPC_UNARY};
	memcpy(table + nw, reads, sizeof(reads));
}

/* srv_methods returns the whole table. */
const struct srv_method *
srv_methods(size_t *n)
{
	pthread_once(&once, build);
	*n = ntable;
	return table;
}

/* srv_method_find finds a method by its gRPC path. */
const struct srv_method *
srv_method_find(const char *path)
{
	size_t n;
	const struct srv_method *t = srv_methods(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].path, path) == 0)
			return &t[i];
	return NULL;
}
