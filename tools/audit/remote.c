/*
 * carebank-audit export --server: written once the C gRPC client lands.
 */
#include <stdio.h>

#include "audit.h"

/* audit_export_server is not available in this build yet. */
int
audit_export_server(const struct audit_args *a)
{
	(void)a;
	fprintf(stderr, "carebank-audit: export --server is not built yet; "
			"use --data\n");
	return 1;
}
