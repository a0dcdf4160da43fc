/*
 * Reads still being written (kiosk.c, reports.c, audit.c, directory.c
 * replace these).
 */
#include "srv.h"

#define PENDING(name)                                                         \
	void name(struct srv *s, struct srv_job *j)                           \
	{                                                                     \
		(void)s;                                                      \
		srv_fail(j, RPC_STATUS_UNIMPLEMENTED, "not yet");             \
	}

PENDING(srv_get_checkpoint)
PENDING(srv_entries)
PENDING(srv_inclusion)
PENDING(srv_consistency)
PENDING(srv_watch_checkpoints)

void
srv_stream_writable(struct rpc_call *call, void *arg)
{
	(void)call;
	(void)arg;
}

void
srv_stream_cancel(struct rpc_call *call, int reason, void *arg)
{
	(void)call;
	(void)reason;
	(void)arg;
}

void
srv_watch_notify(struct srv *s, const char *centre)
{
	(void)s;
	(void)centre;
}

void
srv_watch_release(struct srv *s)
{
	(void)s;
}
