/*
 * carebank-audit entries: a verified export as rows for a spreadsheet (CSV,
 * one row per posting) or as JSON lines (one object per entry, with the
 * request the actor signed decoded). The export is verified first, so only
 * entries the centre's key vouches for are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carebank/bank.h"
#include "carebank/codec.h"
#include "carebank/tiles.h"
#include "audit.h"
#include "csv.h"
#include "json.h"

/* audit_iso_time formats Unix milliseconds as UTC ISO 8601. */
void
audit_iso_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* csv_row prints one posting (or an entry with none) as a row. */
static void
csv_row(const cb_entry *e, const cb_posting *p)
{
	char t[32];

	audit_iso_time(e->server_time_ms, t, sizeof(t));
	printf("%llu,%s,", (unsigned long long)e->index, t);
	csv_field(stdout, e->call->method, true);
	putchar(',');
	if (p != NULL) {
		csv_field(stdout, p->account, true);
		printf(",%s,%lld,%lld",
		    p->unit == CAREBANK__V1__UNIT__UNIT_MINUTES ? "minutes" :
								  "fen",
		    (long long)p->amount, (long long)p->balance);
	} else {
		fputs(",,,", stdout);
	}
	printf(",%d,%d", e->late ? 1 : 0, e->review ? 1 : 0);
	csv_end(stdout);
}

/* print_json prints one entry as a JSON line, its request decoded. */
static void
print_json(const cb_entry *e)
{
	const struct cb_bank_method *m = cb_bank_method_find(e->call->method);
	ProtobufCMessage *req = NULL;
	char kid[2 * 8 + 1];

	cb_hex_encode(e->call->key_id.data, e->call->key_id.len < 8 ?
						e->call->key_id.len :
						8,
	    kid);
	printf("{\"index\":%llu,\"server_time_ms\":%lld,\"method\":",
	    (unsigned long long)e->index, (long long)e->server_time_ms);
	cbt_json_string(stdout, e->call->method);
	printf(",\"key_id\":\"%s\",\"client_time_ms\":%lld", kid,
	    (long long)e->call->client_time_ms);
	if (m != NULL && (req = protobuf_c_message_unpack(m->request, NULL,
			      e->call->request.len,
			      e->call->request.data)) != NULL) {
		fputs(",\"request\":", stdout);
		cbt_json_message(stdout, req);
		protobuf_c_message_free_unpacked(req, NULL);
	}
	/* The entry's own fields, minus the call printed above. */
	{
		cb_entry copy = *e;

		copy.call = NULL;
		copy.prev_leaf_hash.len = 0;
		fputs(",\"entry\":", stdout);
		cbt_json_message(stdout, &copy.base);
	}
	puts("}");
}

struct rows {
	int csv;
};

/* on_entry prints one verified entry. */
static int
on_entry(void *ctx, const cb_entry *e)
{
	struct rows *r = ctx;

	if (!r->csv)
		print_json(e);
	else if (e->n_postings == 0)
		csv_row(e, NULL);
	else
		for (size_t i = 0; i < e->n_postings; i++)
			csv_row(e, e->postings[i]);
	return 0;
}

struct walk {
	int (*fn)(void *ctx, const cb_entry *e);
	void *ctx;
};

/* on_leaf decodes one verified leaf for the walk's function. */
static int
on_leaf(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	struct walk *w = ctx;
	cb_entry *e;
	int rc;

	(void)index;
	if (cb_entry_decode(leaf, len, &e) != 0)
		return CB_EFORMAT;
	rc = w->fn(w->ctx, e);
	cb_entry_free(e);
	return rc;
}

/* audit_walk verifies an export, then hands fn its entries in order. */
int
audit_walk(const struct audit_args *a,
    int (*fn)(void *ctx, const cb_entry *e), void *ctx)
{
	struct cb_vkey vk;
	struct cb_checkpoint cp;
	struct cb_report rep;
	struct cb_tiles_reader *rd;
	struct walk w = {fn, ctx};
	int rc;

	if (audit_vkey(a->key, &vk) != 0)
		return 2;
	if (audit_check(a, &vk, &cp) != 0)
		return 1;
	if (cb_tiles_open(a->out, &vk, &rd, &cp, &rep) != 0) {
		fprintf(stderr, "carebank-audit: %s: %s\n", rep.where, rep.why);
		return 1;
	}
	rc = cb_tiles_read_leaves(rd, 0, cp.size, on_leaf, &w);
	cb_tiles_close(rd);
	if (rc != 0 || rep.code != 0) {
		fprintf(stderr, "carebank-audit: reading the export failed\n");
		return 1;
	}
	return 0;
}

/* audit_entries verifies an export, then prints its entries. */
int
audit_entries(const struct audit_args *a, int csv)
{
	struct rows r = {csv};
	int rc;

	if (csv) {
		fputs("index,time,method,account,unit,amount,balance,late,"
		      "review",
		    stdout);
		csv_end(stdout);
	}
	if ((rc = audit_walk(a, on_entry, &r)) != 0)
		return rc;
	return fflush(stdout) == 0 ? 0 : 1;
}
