/*
 * The door, from the desk: children in and out, volunteers' shifts started
 * and ended, and the sessions nobody closed. Parents do these at the kiosk;
 * the coordinator's key may make the same calls, for a kiosk that is
 * broken or an event written down on paper (--at places it in the past,
 * within the policy's late limit, and the entry is marked late). A
 * forgotten session is closed by the coordinator at the time it really
 * ended; it is always flagged for review and, unless --settle says so,
 * neither charges nor credits anything.
 */
#include <string.h>

#include "coord.h"

#define M_CHILD_IN  "/carebank.v1.Kiosk/CheckInChild"
#define M_CHILD_OUT "/carebank.v1.Kiosk/CheckOutChild"
#define M_START     "/carebank.v1.Kiosk/StartShift"
#define M_END       "/carebank.v1.Kiosk/EndShift"
#define M_CLOSE     "/carebank.v1.Coordinator/CloseSession"


/* event_time reads --at, if given; 0 means now. */
static int
event_time(struct coord *co, const struct coord_args *a, int64_t *ms)
{
	struct units_when t;
	int rc;

	*ms = 0;
	if (a->val[OPT_AT] == NULL)
		return 0;
	if ((rc = coord_when(co, "--at", a->val[OPT_AT], &t)) != 0)
		return rc;
	if (t.date_only)
		return coord_usage(co, "--at needs a time of day");
	*ms = t.ms;
	return 0;
}

/* at_text says when, for a confirmation: " at 2027-03-01 09:00" or "". */
static void
at_text(struct coord *co, int64_t ms, char *buf, size_t len)
{
	int offset;

	buf[0] = '\0';
	if (ms != 0 && coord_offset(co, &offset) == 0) {
		snprintf(buf, len, " at ");
		units_time(ms, offset, buf + 4, len - 4);
	}
}

/* child_in checks a child in to a room. */
static int
child_in(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__ChildCheckInRequest q;
	struct cbt_receipt r;
	char at[UNITS_TIME_MAX + 8];
	int rc;

	carebank__v1__child_check_in_request__init(&q);
	if ((rc = coord_need_id(co, "CHILD", a->argv[0], 'c')) != 0 ||
	    (rc = coord_need_id(co, "--room", a->val[OPT_ROOM], 'r')) != 0 ||
	    (rc = coord_need_id(co, "--adult", a->val[OPT_ADULT], 'a')) != 0 ||
	    (rc = event_time(co, a, &q.event_time_ms)) != 0)
		return rc;
	q.child = a->argv[0];
	q.room = (char *)(uintptr_t)a->val[OPT_ROOM];
	q.adult = (char *)(uintptr_t)a->val[OPT_ADULT];
	if (coord_write(co, M_CHILD_IN, &q.base, &r) != 0)
		return EXIT_FAIL;
	at_text(co, q.event_time_ms, at, sizeof(at));
	coord_confirm(co, &r, "child %s checked in to room %s by %s%s",
	    q.child, q.room, q.adult, at);
	return EXIT_OK;
}

/* child_out checks a child out to an adult who may collect it. */
static int
child_out(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__ChildCheckOutRequest q;
	struct cbt_receipt r;
	char at[UNITS_TIME_MAX + 8];
	int rc;

	carebank__v1__child_check_out_request__init(&q);
	if ((rc = coord_need_id(co, "CHILD", a->argv[0], 'c')) != 0 ||
	    (rc = coord_need_id(co, "--adult", a->val[OPT_ADULT], 'a')) != 0 ||
	    (rc = event_time(co, a, &q.event_time_ms)) != 0)
		return rc;
	q.child = a->argv[0];
	q.adult = (char *)(uintptr_t)a->val[OPT_ADULT];
	if (coord_write(co, M_CHILD_OUT, &q.base, &r) != 0)
		return EXIT_FAIL;
	at_text(co, q.event_time_ms, at, sizeof(at));
	coord_confirm(co, &r, "child %s checked out, collected by %s%s",
	    q.child, q.adult, at);
	return EXIT_OK;
}

/* shift_event starts or ends a volunteer's shift. */
static int
shift_event(struct coord *co, const struct coord_args *a, bool start)
{
	Carebank__V1__VolunteerCheckInRequest in;
	Carebank__V1__VolunteerCheckOutRequest out;
	struct cbt_receipt r;
	char at[UNITS_TIME_MAX + 8];
	int64_t when;
	int rc;

	carebank__v1__volunteer_check_in_request__init(&in);
	carebank__v1__volunteer_check_out_request__init(&out);
	if ((rc = coord_need_id(co, "SHIFT", a->argv[0], 's')) != 0 ||
	    (rc = coord_need_id(co, "--adult", a->val[OPT_ADULT], 'a')) != 0 ||
	    (rc = event_time(co, a, &when)) != 0)
		return rc;
	in.shift = out.shift = a->argv[0];
	in.adult = out.adult = (char *)(uintptr_t)a->val[OPT_ADULT];
	in.event_time_ms = out.event_time_ms = when;
	if (coord_write(co, start ? M_START : M_END,
		start ? &in.base : &out.base, &r) != 0)
		return EXIT_FAIL;
	at_text(co, when, at, sizeof(at));
	coord_confirm(co, &r, "%s %s shift %s%s", in.adult,
	    start ? "started" : "ended", in.shift, at);
	return EXIT_OK;
}

/* shift_start starts a shift. */
static int
shift_start(struct coord *co, const struct coord_args *a)
{
	return shift_event(co, a, true);
}

/* shift_end ends a shift. */
static int
shift_end(struct coord *co, const struct coord_args *a)
{
	return shift_event(co, a, false);
}

/* close_session closes a child's session or a shift nobody ended. */
static int
close_session(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__CloseSessionRequest q;
	struct cbt_receipt r;
	struct units_when t;
	char at[UNITS_TIME_MAX];
	int offset, rc;

	carebank__v1__close_session_request__init(&q);
	if (!a->val[OPT_CHILD] == !a->val[OPT_SHIFT])
		return coord_usage(co, "say --child CHILD or --shift SHIFT");
	if ((a->val[OPT_CHILD] && (rc = coord_need_id(co, "--child",
				       a->val[OPT_CHILD], 'c')) != 0) ||
	    (a->val[OPT_SHIFT] && (rc = coord_need_id(co, "--shift",
				       a->val[OPT_SHIFT], 's')) != 0))
		return rc;
	if ((rc = coord_text(co, "reason", a->val[OPT_REASON])) != 0)
		return rc;
	if ((rc = coord_when(co, "--at", a->val[OPT_AT], &t)) != 0)
		return rc;
	if (t.date_only)
		return coord_usage(co, "--at needs a time of day");
	if (a->val[OPT_CHILD])
		q.child = (char *)(uintptr_t)a->val[OPT_CHILD];
	if (a->val[OPT_SHIFT])
		q.shift = (char *)(uintptr_t)a->val[OPT_SHIFT];
	q.end_ms = t.ms;
	q.settle = a->val[OPT_SETTLE] != NULL;
	q.reason = (char *)(uintptr_t)a->val[OPT_REASON];
	if (coord_write(co, M_CLOSE, &q.base, &r) != 0)
		return EXIT_FAIL;
	if (coord_offset(co, &offset) != 0)
		offset = 0;
	units_time(t.ms, offset, at, sizeof(at));
	coord_confirm(co, &r, "%s %s closed at %s%s",
	    a->val[OPT_CHILD] ? "the care session of child" : "shift",
	    a->val[OPT_CHILD] ? q.child : q.shift, at,
	    q.settle ? ", settled as if checked out then" :
		       ", with no charge and no credit");
	return EXIT_OK;
}

#define AT_HELP                                                               \
	"     --at TIME      when it happened, if not now: \"2027-03-01 "    \
	"09:00\"\n"                                                           \
	"                    (local) or ISO 8601, within the policy's "       \
	"late\n"                                                              \
	"                    limit; the entry is then marked late\n"

const struct coord_cmd door_child_in = {
	.name = "child in",
	.synopsis = "CHILD --room ROOM --adult ADULT [--at TIME]",
	.summary = "check a child in (as the kiosk would)",
	.help =
	    "     Checks CHILD in to ROOM, brought by ADULT (of the child's\n"
	    "     family or on its authorised list). Refused when the room\n"
	    "     would exceed its hard ratio of children per adult present.\n"
	    "\n"
	    "     --room ROOM    where the child stays\n"
	    "     --adult ADULT  who brings the child\n" AT_HELP,
	.opts = O(ROOM) | O(ADULT) | O(AT),
	.required = O(ROOM) | O(ADULT),
	.min_args = 1,
	.max_args = 1,
	.run = child_in,
};

const struct coord_cmd door_child_out = {
	.name = "child out",
	.synopsis = "CHILD --adult ADULT [--at TIME]",
	.summary = "check a child out (as the kiosk would)",
	.help =
	    "     Checks CHILD out to ADULT, who must be on the child's\n"
	    "     authorised list. The care is paid in minutes down to the\n"
	    "     floor and the rest in cash; the answer says how.\n"
	    "\n"
	    "     --adult ADULT  who collects the child\n" AT_HELP,
	.opts = O(ADULT) | O(AT),
	.required = O(ADULT),
	.min_args = 1,
	.max_args = 1,
	.run = child_out,
};

const struct coord_cmd door_shift_start = {
	.name = "shift start",
	.synopsis = "SHIFT --adult ADULT [--at TIME]",
	.summary = "start a volunteer's shift (as the kiosk would)",
	.help =
	    "     Records that ADULT, responsible for SHIFT, has started it\n"
	    "     (from an hour before its start until its end).\n"
	    "\n"
	    "     --adult ADULT  the volunteer\n" AT_HELP,
	.opts = O(ADULT) | O(AT),
	.required = O(ADULT),
	.min_args = 1,
	.max_args = 1,
	.run = shift_start,
};

const struct coord_cmd door_shift_end = {
	.name = "shift end",
	.synopsis = "SHIFT --adult ADULT [--at TIME]",
	.summary = "end a volunteer's shift (as the kiosk would)",
	.help =
	    "     Records that ADULT has ended SHIFT. The time worked,\n"
	    "     rounded down by the policy, is credited one minute for one.\n"
	    "\n"
	    "     --adult ADULT  the volunteer\n" AT_HELP,
	.opts = O(ADULT) | O(AT),
	.required = O(ADULT),
	.min_args = 1,
	.max_args = 1,
	.run = shift_end,
};

const struct coord_cmd door_close = {
	.name = "close",
	.synopsis = "--child CHILD | --shift SHIFT --at TIME --reason TEXT "
		    "[--settle]",
	.summary = "close a session nobody checked out",
	.help =
	    "     Closes a child's care session, or a volunteer's shift, that\n"
	    "     nobody ended (end of day). The closing is flagged for\n"
	    "     review (carebank flagged). Without --settle it charges and\n"
	    "     credits nothing; with --settle it is posted exactly as a\n"
	    "     check-out at TIME, and can be reversed like one.\n"
	    "\n"
	    "     --child CHILD   the child still checked in, or\n"
	    "     --shift SHIFT   the shift still being worked\n"
	    "     --at TIME       when it really ended (a time that has "
	    "passed)\n"
	    "     --reason TEXT   why, at most 128 bytes\n"
	    "     --settle        charge or credit it as if ended at TIME\n",
	.opts = O(CHILD) | O(SHIFT) | O(AT) | O(REASON) | O(SETTLE),
	.required = O(AT) | O(REASON),
	.run = close_session,
};
