/*
 * Enrolment: families, adults, children, rooms and pickup lists, and the
 * directory of personal data beside the log. The log knows people only by
 * ids; a name, phone number, card, member code or PIN goes only to the
 * directory (SetDirectory), after the entry that made the id. Everything a
 * command will send is checked before its first write, and a PIN is read
 * first of all, so a mistake does not leave an adult half enrolled.
 */
#include <string.h>

#include "carebank/xalloc.h"
#include "coord.h"

#define M_ENROL_FAMILY "/carebank.v1.Coordinator/EnrolFamily"
#define M_LEAVE_FAMILY "/carebank.v1.Coordinator/LeaveFamily"
#define M_ADD_ADULT    "/carebank.v1.Coordinator/AddAdult"
#define M_ADD_CHILD    "/carebank.v1.Coordinator/AddChild"
#define M_SET_PICKUP   "/carebank.v1.Coordinator/SetPickup"
#define M_ADD_ROOM     "/carebank.v1.Coordinator/AddRoom"
#define M_SET_ROOM     "/carebank.v1.Coordinator/SetRoom"
#define M_DIRECTORY    "/carebank.v1.Coordinator/SetDirectory"

#define NAME_MAX_BYTES  128
#define PHONE_MAX_BYTES 32
#define CARD_MAX_BYTES  64
#define CODE_MAX_BYTES  32
#define LABEL_MAX_BYTES 64

/* Personal data from the command line, for the directory. */
struct person {
	const char *name, *phone, *card, *code;
	char pin[PIN_MAX];
	bool has_pin;
};

/*
 * printable says whether s is 2..max printable ASCII characters, as the
 * server wants a card or member code: one key at the kiosk is a choice.
 */
static bool
printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < 2 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s > '~')
			return false;
	return true;
}

/* text_ok says whether s is at most max bytes without control characters. */
static bool
text_ok(const char *s, size_t max)
{
	return strlen(s) <= max && coord_plain(s);
}

/* person_read takes and checks the directory options (and the PIN). */
static int
person_read(struct coord *co, const struct coord_args *a, struct person *p)
{
	memset(p, 0, sizeof(*p));
	p->name = a->val[OPT_NAME];
	p->phone = a->val[OPT_PHONE];
	p->card = a->val[OPT_CARD];
	p->code = a->val[OPT_MEMBER_CODE];
	if (p->name && (p->name[0] == '\0' || !text_ok(p->name,
						  NAME_MAX_BYTES)))
		return coord_usage(co, "--name is 1 to 128 bytes, without "
				       "control characters");
	if (p->phone && (p->phone[0] == '\0' || strlen(p->phone) >
		 PHONE_MAX_BYTES || strspn(p->phone, "0123456789 +-()") !=
		 strlen(p->phone)))
		return coord_usage(co, "--phone is at most 32 digits, spaces "
				       "and + - ( )");
	if (p->card && !printable(p->card, CARD_MAX_BYTES))
		return coord_usage(co, "--card is 2 to 64 printable "
				       "characters, no spaces");
	if (p->code && !printable(p->code, CODE_MAX_BYTES))
		return coord_usage(co, "--member-code is 2 to 32 printable "
				       "characters, no spaces");
	if (a->val[OPT_PIN] != NULL) {
		if (pin_read(p->pin) != 0)
			return EXIT_FAIL;
		p->has_pin = true;
	}
	return 0;
}

/* person_any says whether there is anything for the directory. */
static bool
person_any(const struct person *p)
{
	return p->name || p->phone || p->card || p->code || p->has_pin;
}

/* append adds a word to a list of what was set. */
static void
append(char *buf, size_t len, const char *word)
{
	size_t n = strlen(buf);

	/* A list too long for buf ends where it is cut. */
	if (snprintf(buf + n, len - n, "%s%s", n ? ", " : "", word) < 0)
		buf[n] = '\0';
}

/* directory sends the person's data for id; 0, or an exit status. */
static int
directory(struct coord *co, const char *id, struct person *p, bool clear)
{
	Carebank__V1__DirectoryRequest q;
	ProtobufCMessage *reply;
	char what[128] = "";
	int rc;

	carebank__v1__directory_request__init(&q);
	q.id = (char *)(uintptr_t)id;
	q.clear = clear;
	if (p != NULL) {
		if (p->name)
			q.name = (char *)(uintptr_t)p->name;
		if (p->phone)
			q.phone = (char *)(uintptr_t)p->phone;
		if (p->card)
			q.card = (char *)(uintptr_t)p->card;
		if (p->code)
			q.member_code = (char *)(uintptr_t)p->code;
		if (p->has_pin)
			q.pin = p->pin;
	}
	rc = coord_read(co, M_DIRECTORY, &q.base,
	    &carebank__v1__directory_reply__descriptor, &reply);
	if (p != NULL)
		cb_wipe(p->pin, sizeof(p->pin));
	if (rc != 0)
		return EXIT_FAIL;
	coord_reply_free(reply);
	if (co->quiet)
		return 0;
	if (clear) {
		printf("directory record of %s erased (the log is unchanged)\n",
		    id);
		return 0;
	}
	if (p->name)
		append(what, sizeof(what), "name");
	if (p->phone)
		append(what, sizeof(what), "phone");
	if (p->card)
		append(what, sizeof(what), "card");
	if (p->code)
		append(what, sizeof(what), "member code");
	if (p->has_pin)
		append(what, sizeof(what), "PIN");
	printf("directory of %s: %s set\n", id, what);
	return 0;
}

/* after_write sends the directory data for a new id, if any. */
static int
after_write(struct coord *co, const char *id, struct person *p)
{
	if (!person_any(p))
		return EXIT_OK;
	if (directory(co, id, p, false) != 0) {
		coord_err("%s was made, but its directory data was not "
			  "stored: run carebank directory set %s with them",
		    id, id);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/*
 * add_record sends req, which makes a record (family, adult, child), says
 * "KIND ID DONE", and stores the person's directory data under the new id.
 */
static int
add_record(struct coord *co, const struct coord_args *a, const char *method,
    ProtobufCMessage *req, const char *kind, const char *done)
{
	struct cbt_receipt r;
	struct person p;
	char id[COORD_ID_MAX];
	int rc;

	if ((rc = person_read(co, a, &p)) != 0)
		return rc;
	if (coord_write(co, method, req, &r) != 0) {
		cb_wipe(p.pin, sizeof(p.pin));
		return EXIT_FAIL;
	}
	cbt_unctrl(r.msg->result->id); /* the server's: printed */
	snprintf(id, sizeof(id), "%s", r.msg->result->id);
	coord_confirm(co, &r, "%s %s %s", kind, id, done);
	return after_write(co, id, &p);
}

/* family_add enrols a family. */
static int
family_add(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__EnrolFamilyRequest q;

	carebank__v1__enrol_family_request__init(&q);
	return add_record(co, a, M_ENROL_FAMILY, &q.base, "family",
	    "enrolled");
}

/* family_leave records that a family leaves the centre. */
static int
family_leave(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__LeaveFamilyRequest q;
	struct cbt_receipt r;
	int rc;

	carebank__v1__leave_family_request__init(&q);
	if ((rc = coord_need_id(co, "FAMILY", a->argv[0], 'f')) != 0)
		return rc;
	if (a->val[OPT_CASH] && a->val[OPT_WAIVE])
		return coord_usage(co, "--cash or --waive, not both");
	q.family = a->argv[0];
	if (a->val[OPT_CASH])
		q.negative = CAREBANK__V1__LEAVE_NEGATIVE__LEAVE_NEGATIVE_CASH;
	else if (a->val[OPT_WAIVE])
		q.negative = CAREBANK__V1__LEAVE_NEGATIVE__LEAVE_NEGATIVE_WAIVE;
	if (coord_write(co, M_LEAVE_FAMILY, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "family %s has left the centre", q.family);
	return EXIT_OK;
}

/* adult_add adds an adult to a family, then their directory data. */
static int
adult_add(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__AddAdultRequest q;
	char done[96];
	int rc;

	carebank__v1__add_adult_request__init(&q);
	if ((rc = coord_need_id(co, "--family", a->val[OPT_FAMILY], 'f')) != 0)
		return rc;
	q.family = (char *)(uintptr_t)a->val[OPT_FAMILY];
	q.guardian = a->val[OPT_GUARDIAN] != NULL;
	snprintf(done, sizeof(done), "added to family %s%s", q.family,
	    q.guardian ? " (a legal guardian)" : "");
	return add_record(co, a, M_ADD_ADULT, &q.base, "adult", done);
}

/* child_add adds a child to a family, then its name. */
static int
child_add(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__AddChildRequest q;
	char done[96];
	int rc;

	carebank__v1__add_child_request__init(&q);
	if ((rc = coord_need_id(co, "--family", a->val[OPT_FAMILY], 'f')) != 0)
		return rc;
	q.family = (char *)(uintptr_t)a->val[OPT_FAMILY];
	snprintf(done, sizeof(done), "added to family %s", q.family);
	return add_record(co, a, M_ADD_CHILD, &q.base, "child", done);
}

/* list_text writes ids as "a4, a7", or "nobody". */
static void
list_text(char ids[][COORD_ID_MAX], size_t n, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		append(buf, len, ids[i]);
	if (n == 0)
		snprintf(buf, len, "nobody");
}

/* pickup_set replaces a child's pickup lists. */
static int
pickup_set(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__SetPickupRequest q;
	char auth[COORD_LIST_MAX][COORD_ID_MAX];
	char ref[COORD_LIST_MAX][COORD_ID_MAX];
	char *authp[COORD_LIST_MAX], *refp[COORD_LIST_MAX];
	char at[COORD_LIST_MAX * COORD_ID_MAX];
	char rt[COORD_LIST_MAX * COORD_ID_MAX];
	struct cbt_receipt r;
	size_t na, nr;
	int rc;

	carebank__v1__set_pickup_request__init(&q);
	if ((rc = coord_need_id(co, "CHILD", a->argv[0], 'c')) != 0)
		return rc;
	if (!a->val[OPT_AUTHORISED] && !a->val[OPT_REFUSED])
		return coord_usage(co, "give --authorised, --refused or both "
				       "(an empty list: --authorised '')");
	if (coord_ids(co, a, OPT_AUTHORISED, auth, COORD_LIST_MAX, &na) != 0 ||
	    coord_ids(co, a, OPT_REFUSED, ref, COORD_LIST_MAX, &nr) != 0)
		return EXIT_USAGE;
	for (size_t i = 0; i < na; i++)
		if ((rc = coord_need_id(co, "--authorised", auth[i], 'a')) != 0)
			return rc;
		else
			authp[i] = auth[i];
	for (size_t i = 0; i < nr; i++)
		if ((rc = coord_need_id(co, "--refused", ref[i], 'a')) != 0)
			return rc;
		else
			refp[i] = ref[i];
	q.child = a->argv[0];
	q.authorised = authp;
	q.n_authorised = na;
	q.refused = refp;
	q.n_refused = nr;
	if (coord_write(co, M_SET_PICKUP, &q.base, &r) != 0)
		return EXIT_FAIL;
	list_text(auth, na, at, sizeof(at));
	list_text(ref, nr, rt, sizeof(rt));
	coord_confirm(co, &r, "pickup lists of %s replaced: may collect: %s; "
			      "refused: %s",
	    q.child, at, rt);
	return EXIT_OK;
}

/* A room's label and ratios, as room add and room set take them. */
struct room_fields {
	const char *label;
	int32_t soft, hard; /* 0: the policy's */
	char said[96];      /* the ratios, in words */
};

/* room_fields_parse checks --label, --soft and --hard. */
static int
room_fields_parse(struct coord *co, const struct coord_args *a,
    struct room_fields *f)
{
	int64_t soft = 0, hard = 0;

	if (a->val[OPT_LABEL][0] == '\0' ||
	    !text_ok(a->val[OPT_LABEL], LABEL_MAX_BYTES))
		return coord_usage(co, "--label is 1 to 64 bytes, without "
				       "control characters");
	if ((a->val[OPT_SOFT] &&
		units_parse_int(a->val[OPT_SOFT], 1, 50, &soft) != 0) ||
	    (a->val[OPT_HARD] &&
		units_parse_int(a->val[OPT_HARD], 1, 50, &hard) != 0))
		return coord_usage(co, "--soft and --hard are 1 to 50 children "
				       "per adult");
	if (soft && hard && hard < soft)
		return coord_usage(co, "--hard may not be below --soft");
	f->label = a->val[OPT_LABEL];
	f->soft = (int32_t)soft;
	f->hard = (int32_t)hard;
	snprintf(f->said, sizeof(f->said), "the policy's ratios");
	if (soft || hard)
		snprintf(f->said, sizeof(f->said), "children per adult: warn "
						   "above %s, refuse above %s",
		    a->val[OPT_SOFT] ? a->val[OPT_SOFT] : "the policy's",
		    a->val[OPT_HARD] ? a->val[OPT_HARD] : "the policy's");
	return EXIT_OK;
}

/* room_add adds a room with optional ratios. */
static int
room_add(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__AddRoomRequest q;
	struct room_fields f;
	struct cbt_receipt r;
	int rc;

	carebank__v1__add_room_request__init(&q);
	if ((rc = room_fields_parse(co, a, &f)) != EXIT_OK)
		return rc;
	q.label = (char *)(uintptr_t)f.label;
	q.ratio_soft = f.soft;
	q.ratio_hard = f.hard;
	if (coord_write(co, M_ADD_ROOM, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "room %s added: %s (%s)", r.msg->result->id,
	    q.label, f.said);
	return EXIT_OK;
}

/* room_set replaces a room's label and ratios. */
static int
room_set(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__SetRoomRequest q;
	struct room_fields f;
	struct cbt_receipt r;
	int rc;

	carebank__v1__set_room_request__init(&q);
	if ((rc = coord_need_id(co, "ROOM", a->argv[0], 'r')) != 0 ||
	    (rc = room_fields_parse(co, a, &f)) != EXIT_OK)
		return rc;
	q.room = (char *)(uintptr_t)a->argv[0];
	q.label = (char *)(uintptr_t)f.label;
	q.ratio_soft = f.soft;
	q.ratio_hard = f.hard;
	if (coord_write(co, M_SET_ROOM, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "room %s is now %s (%s)", q.room, q.label,
	    f.said);
	return EXIT_OK;
}

/* directory_set stores personal data for a family, adult or child. */
static int
directory_set(struct coord *co, const struct coord_args *a)
{
	const char *id = a->argv[0];
	struct person p;
	int rc;

	if (!units_id_valid(id, 'f') && !units_id_valid(id, 'a') &&
	    !units_id_valid(id, 'c'))
		return coord_usage(co, "\"%s\" is not a family, adult or "
				       "child id",
		    id);
	if ((rc = person_read(co, a, &p)) != 0)
		return rc;
	if (!person_any(&p))
		return coord_usage(co, "nothing to set: give --name, --phone, "
				       "--card, --member-code or --pin");
	return directory(co, id, &p, false) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* directory_clear erases a record of personal data. */
static int
directory_clear(struct coord *co, const struct coord_args *a)
{
	const char *id = a->argv[0];

	if (!units_id_valid(id, 'f') && !units_id_valid(id, 'a') &&
	    !units_id_valid(id, 'c'))
		return coord_usage(co, "\"%s\" is not a family, adult or "
				       "child id",
		    id);
	return directory(co, id, NULL, true) == 0 ? EXIT_OK : EXIT_FAIL;
}

const struct coord_cmd enrol_family_add = {
	.name = "family add",
	.synopsis = "[--name NAME]",
	.summary = "enrol a family",
	.help =
	    "     Enrols a new family and prints its id (f12). --name NAME\n"
	    "     stores the family's name in the directory, beside the log,\n"
	    "     where reports find it; the log itself holds no names.\n",
	.opts = O(NAME),
	.run = family_add,
};

const struct coord_cmd enrol_family_leave = {
	.name = "family leave",
	.synopsis = "FAMILY [--cash | --waive]",
	.summary = "settle a family that leaves the centre",
	.help =
	    "     Records that FAMILY leaves. Its minute balance returns to\n"
	    "     0: a positive balance is bought back by the fund or donated\n"
	    "     to the centre (policy leave_positive); a negative one must\n"
	    "     be settled, which you choose:\n"
	    "\n"
	    "     --cash     the family pays the minutes at the hourly rate\n"
	    "     --waive    the centre waives them\n"
	    "\n"
	    "     Refused while one of its children is in or one of its\n"
	    "     adults is on a shift (carebank close ends those).\n",
	.opts = O(CASH) | O(WAIVE),
	.min_args = 1,
	.max_args = 1,
	.run = family_leave,
};

#define PERSON_HELP                                                           \
	"     --name NAME         the name shown in reports and at the "     \
	"kiosk\n"                                                             \
	"     --phone PHONE       digits, spaces and + - ( )\n"               \
	"     --card CARD         what the card or QR scanner types\n"        \
	"     --member-code CODE  a code to type instead of a card\n"         \
	"     --pin               read a PIN (4 to 12 digits): typed twice "  \
	"without\n"                                                           \
	"                         echo on a terminal, else the first line "   \
	"of stdin.\n"                                                         \
	"                         A PIN is never given on the command line.\n"

const struct coord_cmd enrol_adult_add = {
	.name = "adult add",
	.synopsis = "--family FAMILY [--guardian] [--name NAME] [--phone "
		    "PHONE] [--card CARD] [--member-code CODE] [--pin]",
	.summary = "add an adult to a family",
	.help =
	    "     Adds an adult to FAMILY and prints the adult's id (a13);\n"
	    "     then stores the personal data given in the directory,\n"
	    "     never in the log. A legal guardian (--guardian) is not by\n"
	    "     that alone allowed to collect a child: carebank pickup set\n"
	    "     says who may.\n"
	    "\n"
	    "     --family FAMILY     the adult's family\n"
	    "     --guardian          the adult is a legal guardian\n"
	    PERSON_HELP
	    "\n"
	    "     Example:\n"
	    "          echo 2468 | carebank adult add --family f3 \\\n"
	    "              --guardian --name \"Wang Fang\" --card 0412 --pin\n",
	.opts = O(FAMILY) | O(GUARDIAN) | O(NAME) | O(PHONE) | O(CARD) |
	    O(MEMBER_CODE) | O(PIN),
	.required = O(FAMILY),
	.run = adult_add,
};

const struct coord_cmd enrol_child_add = {
	.name = "child add",
	.synopsis = "--family FAMILY [--name NAME]",
	.summary = "add a child to a family",
	.help =
	    "     Adds a child to FAMILY and prints the child's id (c14).\n"
	    "     --name NAME stores the child's name in the directory. Then\n"
	    "     say who may collect the child: carebank pickup set.\n",
	.opts = O(FAMILY) | O(NAME),
	.required = O(FAMILY),
	.run = child_add,
};

const struct coord_cmd enrol_pickup_set = {
	.name = "pickup set",
	.synopsis = "CHILD [--authorised ADULT,...] [--refused ADULT,...]",
	.summary = "say who may and may not collect a child",
	.help =
	    "     Replaces CHILD's pickup lists. Only an adult on the\n"
	    "     authorised list may collect the child, and never one on the\n"
	    "     refused list; an adult may be on one list only. Each list\n"
	    "     holds at most 32 adults, of any family. A list not given is\n"
	    "     replaced by an empty one.\n"
	    "\n"
	    "     --authorised ADULT,...  who may collect (repeatable)\n"
	    "     --refused ADULT,...     who may never (repeatable)\n",
	.opts = O(AUTHORISED) | O(REFUSED),
	.min_args = 1,
	.max_args = 1,
	.run = pickup_set,
};

const struct coord_cmd enrol_room_add = {
	.name = "room add",
	.synopsis = "--label LABEL [--soft N] [--hard N]",
	.summary = "add a room",
	.help =
	    "     Adds a room and prints its id (r15). Each room has a ratio\n"
	    "     of children per adult present: above the soft one a\n"
	    "     check-in warns; the hard one is never exceeded.\n"
	    "\n"
	    "     --label LABEL  the room's name, at most 64 bytes\n"
	    "     --soft N       children per adult before a warning (1..50;\n"
	    "                    default: the policy's ratio_soft)\n"
	    "     --hard N       children per adult at most (1..50; default:\n"
	    "                    the policy's ratio_hard)\n",
	.opts = O(LABEL) | O(SOFT) | O(HARD),
	.required = O(LABEL),
	.run = room_add,
};

const struct coord_cmd enrol_room_set = {
	.name = "room set",
	.synopsis = "ROOM --label LABEL [--soft N] [--hard N]",
	.summary = "change a room's name and ratios",
	.help =
	    "     Replaces ROOM's label and ratios; the children and adults\n"
	    "     in it stay. A ratio not given is the policy's. If the room\n"
	    "     then holds more children than its hard ratio allows, nobody\n"
	    "     is sent away, no child is let in until it is within it\n"
	    "     again, and the entry is flagged for review. Change a room\n"
	    "     this way before a policy whose ratios it would cross.\n"
	    "\n"
	    "     --label LABEL  the room's name, at most 64 bytes\n"
	    "     --soft N       children per adult before a warning (1..50)\n"
	    "     --hard N       children per adult at most (1..50)\n",
	.opts = O(LABEL) | O(SOFT) | O(HARD),
	.required = O(LABEL),
	.min_args = 1,
	.max_args = 1,
	.run = room_set,
};

const struct coord_cmd enrol_directory_set = {
	.name = "directory set",
	.synopsis = "ID [--name NAME] [--phone PHONE] [--card CARD] "
		    "[--member-code CODE] [--pin]",
	.summary = "change a person's directory data",
	.help =
	    "     Stores personal data for a family, adult or child (ID) in\n"
	    "     the directory beside the log. Fields not given are left as\n"
	    "     they are. Families and children have only a name.\n"
	    "\n" PERSON_HELP,
	.opts = O(NAME) | O(PHONE) | O(CARD) | O(MEMBER_CODE) | O(PIN),
	.min_args = 1,
	.max_args = 1,
	.run = directory_set,
};

const struct coord_cmd enrol_directory_clear = {
	.name = "directory clear",
	.synopsis = "ID",
	.summary = "erase a person's directory data",
	.help =
	    "     Erases the directory record of a family, adult or child:\n"
	    "     name, phone, card, member code and PIN. The log keeps only\n"
	    "     the id, so every proof stays valid.\n",
	.min_args = 1,
	.max_args = 1,
	.run = directory_clear,
};
