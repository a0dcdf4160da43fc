/*
 * Closing a flag: the coordinator looks into an entry flagged for review
 * (carebank flagged lists them) and says, in the log, what was found or
 * done. The flag stays, with its review beside it; each is closed once.
 */
#include <string.h>

#include "coord.h"

#define M_REVIEW "/carebank.v1.Coordinator/ReviewFlag"

/* review closes the review of a flagged entry with a note. */
static int
review(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__ReviewFlagRequest q;
	struct cbt_receipt r;
	int64_t entry;
	int rc;

	carebank__v1__review_flag_request__init(&q);
	if ((rc = coord_entry(co, a->argv[0], &entry)) != 0 ||
	    (rc = coord_text(co, "note", a->val[OPT_NOTE])) != 0)
		return rc;
	q.entry = (uint64_t)entry;
	q.note = (char *)(uintptr_t)a->val[OPT_NOTE];
	if (coord_write(co, M_REVIEW, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "entry %lld reviewed: %s", (long long)entry,
	    q.note);
	return EXIT_OK;
}

const struct coord_cmd flags_review = {
	.name = "review",
	.synopsis = "ENTRY --note TEXT",
	.summary = "close the review of a flagged entry",
	.help =
	    "     Records that the entry numbered ENTRY, flagged for review\n"
	    "     (carebank flagged --open lists those waiting), was looked\n"
	    "     into, and what was found or done. The flag stays, with\n"
	    "     this review beside it. Each flag is reviewed once; to\n"
	    "     correct the entry itself, reverse it (carebank reverse).\n"
	    "\n"
	    "     --note TEXT  what was found or done, at most 128 bytes,\n"
	    "                  kept in the log\n",
	.opts = O(NOTE),
	.required = O(NOTE),
	.min_args = 1,
	.max_args = 1,
	.run = review,
};
