/*
 * Flags and their review: an entry that needs a look is flagged as it is
 * made; ReviewFlag closes the review once, with a note, and keeps the flag.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/v1/state.pb-c.h"
#include "testbank.h"

/* review asks for the flag on entry to be closed with note. */
static int
review(struct tb *t, const struct cb_key *key, uint64_t entry,
    const char *note)
{
	Carebank__V1__ReviewFlagRequest r;

	carebank__v1__review_flag_request__init(&r);
	r.entry = entry;
	r.note = (char *)(uintptr_t)note;
	return tb_call(t, key, TB_C("ReviewFlag"), &r);
}

/* flag_of reads the flag record of entry; NULL if it has none. */
static Carebank__V1__FlagState *
flag_of(struct tb *t, uint64_t entry)
{
	char key[32];

	snprintf(key, sizeof(key), "g/%016llx", (unsigned long long)entry);
	return tb_view(t, key, &carebank__v1__flag_state__descriptor);
}

/* is_open says whether entry's flag has its open mark, p/<index>. */
static bool
is_open(struct tb *t, uint64_t entry)
{
	char key[32];
	ProtobufCMessage *m;

	snprintf(key, sizeof(key), "p/%016llx", (unsigned long long)entry);
	/* The mark is empty: it decodes as an empty message when present. */
	if ((m = tb_view(t, key, &carebank__v1__flag_state__descriptor)) ==
	    NULL)
		return false;
	protobuf_c_message_free_unpacked(m, NULL);
	return true;
}

/* overstay makes a shift ended over an hour late: a flagged entry. */
static uint64_t
overstay(struct tb *t, const char *room, const char *adult)
{
	const char *s = tb_shift(t, room, t->now, t->now + 2 * TB_HOUR, adult);

	assert_int_equal(tb_shift_in(t, s, adult), 0);
	t->now += 3 * TB_HOUR + TB_MIN;
	assert_int_equal(tb_shift_out(t, s, adult), 0);
	assert_true(t->op.entry->review);
	t->now += 20 * TB_HOUR;
	return t->index;
}

/*
 * A review names a flagged entry of the log and says what was found. It is
 * refused for an entry that is not there yet, not flagged, or reviewed
 * already (naming the review), without a note or with one too long, and
 * from a kiosk. The flag keeps its reason and gains the review; the review
 * itself is not flagged and is not reversed.
 */
static void
test_flags_review(void **state)
{
	struct tb t;
	Carebank__V1__FlagState *f;
	const char *f1, *a1, *room;
	uint64_t flagged, plain, done;
	char toolong[130], want[96];

	(void)state;
	tb_open(&t, NULL);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	room = tb_room(&t);
	plain = t.index;
	t.now += 8 * TB_HOUR;
	flagged = overstay(&t, room, a1);

	/* The flag as it is made: the entry and why, no review. */
	f = flag_of(&t, flagged);
	assert_non_null(f);
	assert_int_equal(f->entry, flagged);
	assert_string_equal(f->what,
	    "checked out over an hour after the shift's end");
	assert_int_equal(f->reviewed_by, 0);
	protobuf_c_message_free_unpacked(&f->base, NULL);
	assert_true(is_open(&t, flagged));
	assert_false(is_open(&t, plain));

	memset(toolong, 'n', 129);
	toolong[129] = '\0';
	TB_REFUSED(&t, TB_R(MISSING_FIELD), review(&t, t.coord, flagged, ""));
	TB_REFUSED(&t, TB_R(TOO_LONG), review(&t, t.coord, flagged, toolong));
	TB_REFUSED(&t, TB_R(UNKNOWN_ENTRY),
	    review(&t, t.coord, t.index + 1, "x"));
	TB_REFUSED(&t, TB_R(UNKNOWN_ENTRY),
	    review(&t, t.coord, UINT64_MAX, "x"));
	TB_REFUSED(&t, TB_R(NOT_FLAGGED), review(&t, t.coord, plain, "x"));
	assert_non_null(strstr(t.op.message, "is not flagged"));
	TB_REFUSED(&t, TB_R(NOT_FLAGGED), review(&t, t.coord, 0, "x"));
	TB_REFUSED(&t, TB_R(ROLE), review(&t, t.kiosk, flagged, "x"));

	assert_int_equal(review(&t, t.coord, flagged,
			     "asked the parent: left at 5, forgot the kiosk"),
	    0);
	done = t.index;
	assert_false(t.op.entry->review);
	assert_int_equal(t.op.entry->n_postings, 0);
	assert_null(flag_of(&t, done));
	assert_false(is_open(&t, flagged));
	assert_false(is_open(&t, done));
	f = flag_of(&t, flagged);
	assert_non_null(f);
	assert_string_equal(f->what,
	    "checked out over an hour after the shift's end");
	assert_int_equal(f->reviewed_by, done);
	assert_string_equal(f->note,
	    "asked the parent: left at 5, forgot the kiosk");
	protobuf_c_message_free_unpacked(&f->base, NULL);

	TB_REFUSED(&t, TB_R(ALREADY_REVIEWED),
	    review(&t, t.coord, flagged, "again"));
	snprintf(want, sizeof(want), "entry %llu was reviewed by entry %llu",
	    (unsigned long long)flagged, (unsigned long long)done);
	assert_non_null(strstr(t.op.message, want));
	TB_REFUSED(&t, TB_R(NOT_FLAGGED), review(&t, t.coord, done, "x"));
	TB_REFUSED(&t, TB_R(NOT_REVERSIBLE), tb_reverse(&t, done));

	/* Another flag is reviewed on its own; the first stays reviewed. */
	flagged = overstay(&t, room, a1);
	assert_true(is_open(&t, flagged));
	assert_int_equal(review(&t, t.coord, flagged, "fine"), 0);
	assert_false(is_open(&t, flagged));
	tb_check(&t);
	tb_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags_review),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
