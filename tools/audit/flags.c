/*
 * carebank-audit flags: the entries of a verified export that were flagged
 * for the coordinator's review (offline door events, sessions closed at
 * the desk, rooms left above their hard ratio), each with the ReviewFlag
 * entry that closed it and its note, or "open". Reviews are calls the
 * coordinator's key signed, so a committee can check offline that every
 * flag was looked into, and by whom.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/bank.h"
#include "carebank/v1/bank.pb-c.h"
#include "carebank/xalloc.h"
#include "audit.h"
#include "csv.h"

#define M_REVIEW "/carebank.v1.Coordinator/ReviewFlag"
#define PREFIX   "/carebank.v1."

struct flag {
	uint64_t entry, review; /* review 0: open */
	int64_t time, review_time;
	char *method, *note;
};

struct flags {
	struct flag *v;
	size_t n, cap;
};

/* find finds the flag of an entry (flags come in log order). */
static struct flag *
find(const struct flags *f, uint64_t entry)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->v[mid].entry < entry)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n && f->v[lo].entry == entry ? &f->v[lo] : NULL;
}

/* on_entry keeps a flagged entry, and a review of one. */
static int
on_entry(void *ctx, const cb_entry *e)
{
	struct flags *f = ctx;
	Carebank__V1__ReviewFlagRequest *q;
	struct flag *g;

	if (e->review) {
		if (f->n == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 16;
			f->v = cb_xreallocarray(f->v, f->cap, sizeof(*f->v));
		}
		f->v[f->n++] = (struct flag){.entry = e->index,
		    .time = e->server_time_ms,
		    .method = cb_xstrdup(e->call->method)};
	}
	if (strcmp(e->call->method, M_REVIEW) != 0)
		return 0;
	q = carebank__v1__review_flag_request__unpack(NULL,
	    e->call->request.len, e->call->request.data);
	if (q == NULL) {
		fprintf(stderr, "carebank-audit: entry %llu: its request does "
				"not parse\n",
		    (unsigned long long)e->index);
		return CB_EFORMAT;
	}
	/* The bank takes a review of an open flag only (audit_walk's replay
	 * of the rules proved it); anything else here is a log that broke
	 * them. */
	if ((g = find(f, q->entry)) == NULL || g->review != 0) {
		fprintf(stderr, "carebank-audit: entry %llu reviews entry "
				"%llu, which %s\n",
		    (unsigned long long)e->index,
		    (unsigned long long)q->entry,
		    g == NULL ? "is not flagged" : "was reviewed before");
		carebank__v1__review_flag_request__free_unpacked(q, NULL);
		return CB_EFORMAT;
	}
	g->review = e->index;
	g->review_time = e->server_time_ms;
	g->note = cb_xstrdup(q->note);
	carebank__v1__review_flag_request__free_unpacked(q, NULL);
	return 0;
}

/* print writes the flags as a table or CSV, and the count for a table. */
static void
print(const struct flags *f, int csv)
{
	char t[32], rt[32], by[24];
	size_t open = 0;

	if (csv) {
		fputs("entry,time,method,reviewed_by,reviewed_at,note", stdout);
		csv_end(stdout);
	} else
		printf("%5s  %-20s  %-28s  %6s  %s\n", "ENTRY", "LOGGED (UTC)",
		    "METHOD", "REVIEW", "NOTE");
	for (size_t i = 0; i < f->n; i++) {
		const struct flag *g = &f->v[i];
		const char *m = g->method;

		if (strncmp(m, PREFIX, strlen(PREFIX)) == 0)
			m += strlen(PREFIX);
		audit_iso_time(g->time, t, sizeof(t));
		rt[0] = by[0] = '\0';
		if (g->review != 0) {
			audit_iso_time(g->review_time, rt, sizeof(rt));
			snprintf(by, sizeof(by), "%llu",
			    (unsigned long long)g->review);
		} else {
			open++;
		}
		if (!csv) {
			printf("%5llu  %-20s  %-28s  %6s  %s\n",
			    (unsigned long long)g->entry, t, m,
			    g->review ? by : "open", g->note ? g->note : "");
			continue;
		}
		printf("%llu,%s,", (unsigned long long)g->entry, t);
		csv_field(stdout, g->method, true);
		printf(",%s,%s,", by, rt);
		csv_field(stdout, g->note ? g->note : "", true);
		csv_end(stdout);
	}
	if (!csv)
		printf("%zu flagged: %zu reviewed, %zu open\n", f->n,
		    f->n - open, open);
}

/* audit_flags verifies an export, then prints its flags and reviews. */
int
audit_flags(const struct audit_args *a, int csv)
{
	struct flags f = {0};
	int rc;

	if ((rc = audit_walk(a, on_entry, &f)) == 0) {
		print(&f, csv);
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
	for (size_t i = 0; i < f.n; i++) {
		free(f.v[i].method);
		free(f.v[i].note);
	}
	free(f.v);
	return rc;
}
