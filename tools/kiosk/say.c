/*
 * What the kiosk says when the bank refuses an action, or the server cannot
 * do it: a sentence for the parent at the door that says what to do next,
 * chosen by the refusal's name in the carebank-refusal trailer (see
 * docs/rules.md), then the server's own message for the staff. Safety
 * refusals (a refused or unauthorised pickup) always send the parent to
 * the coordinator.
 */
#include <stdio.h>
#include <string.h>

#include "kiosk.h"

/* The words for each refusal a door action can meet; %s is the child. */
static const struct {
	const char *name;
	const char *text;
} words[] = {
    {"REFUSAL_PICKUP_REFUSED",
        "%s cannot be handed to you. Please call the coordinator."},
    {"REFUSAL_PICKUP_NOT_AUTHORISED",
        "You are not on the list of adults who may bring or collect %s. "
        "Please call the coordinator."},
    {"REFUSAL_ROOM_FULL",
        "The room is full for the adults in it now: choose another room "
        "or wait for a volunteer."},
    {"REFUSAL_CHILD_ALREADY_IN", "%s is already checked in."},
    {"REFUSAL_CHILD_NOT_IN", "%s is not checked in."},
    {"REFUSAL_CHECKOUT_BEFORE_CHECKIN",
        "The times of %s's visit do not fit. Please see the coordinator."},
    {"REFUSAL_SHIFT_TIMES",
        "It is not the time for this shift: it can start from an hour "
        "before it begins until it ends."},
    {"REFUSAL_SHIFT_NOT_ASSIGNED", "This shift or swap is not yours."},
    {"REFUSAL_SHIFT_CANCELLED", "This shift was cancelled."},
    {"REFUSAL_VOLUNTEER_ALREADY_IN", "This shift has already started."},
    {"REFUSAL_VOLUNTEER_NOT_IN", "You have not started this shift."},
    {"REFUSAL_ADULT_BUSY", "You are already on another shift now."},
    {"REFUSAL_SWAP_STATE",
        "This swap or shift cannot be changed now (it was answered, "
        "withdrawn or already offered)."},
    {"REFUSAL_ALREADY_ASSIGNED", "That parent already has this shift."},
    {"REFUSAL_FAMILY_LEFT",
        "This family has left the centre. Please see the coordinator."},
    {"REFUSAL_EVENT_TOO_LATE",
        "This happened too long ago for the centre to accept it. Please "
        "see the coordinator."},
    {"REFUSAL_EVENT_IN_FUTURE",
        "The kiosk's clock is ahead of the server's. Please tell the "
        "staff."},
    {"REFUSAL_UNKNOWN_ADULT", "There is no parent with that number."},
    {"REFUSAL_UNKNOWN_CHILD", "The centre does not know this child."},
    {"REFUSAL_UNKNOWN_ROOM", "There is no such room."},
    {"REFUSAL_UNKNOWN_SHIFT", "There is no such shift."},
    {"REFUSAL_UNKNOWN_SWAP", "There is no such swap."},
    {"REFUSAL_KEY_REVOKED",
        "This kiosk may no longer record anything. Please call the "
        "coordinator."},
    {"REFUSAL_ROLE",
        "This kiosk may not do this. Please call the coordinator."},
};

/*
 * say_refusal puts the parent's sentence for refusal (a name such as
 * "REFUSAL_ROOM_FULL"), about the child who (or NULL), into the session's
 * message, then the server's message.
 */
void
say_refusal(struct session *s, const char *refusal, const char *who,
    const char *server_msg)
{
	char line[KIOSK_LINE];

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(refusal, words[i].name) != 0)
			continue;
			/* Every text has at most one %s, for the child. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(line, sizeof(line), words[i].text,
		    who != NULL ? who : "The child");
#pragma GCC diagnostic pop
		act_msg(s, "REFUSED: %s", line);
		act_msg(s, "(%s: %s)", refusal + 8, server_msg);
		return;
	}
	act_msg(s, "REFUSED: %s", server_msg);
	if (refusal[0] != '\0')
		act_msg(s, "(%s)", refusal);
}

/* say_status explains a call that failed other than by a bank refusal. */
void
say_status(struct session *s, const struct cbt_reply *r)
{
	if (r->refusal[0] != '\0') {
		say_refusal(s, r->refusal, NULL, r->message);
		return;
	}
	switch (r->status) {
	case 16: /* UNAUTHENTICATED */
		act_msg(
		    s, "The server does not accept this kiosk's signature.");
		act_msg(s,
		    "Please tell the staff (check the kiosk's clock and "
		    "key): %s",
		    r->message);
		break;
	case 7: /* PERMISSION_DENIED */
		act_msg(s, "This kiosk may not do this. Please call the "
		           "coordinator.");
		act_msg(s, "(%s)", r->message);
		break;
	default:
		act_msg(s, "The server could not do this: %s", r->message);
		break;
	}
}
