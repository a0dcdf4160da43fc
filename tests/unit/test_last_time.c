/*
 * carebankd's writer starts stamping entries no earlier than each centre's
 * newest entry (srv_last_entry_ms, read when the server starts), so a clock
 * set back while the server was down cannot put an entry before the last
 * one, or a charge into a billing period already settled.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "srv.h"
#include "testlog.h"

static void
test_newest_entry_time(void **state)
{
	struct cb_centre_info info;
	struct tl t;
	int64_t ms = 0;

	(void)state;
	tl_open(&t, "lasttime");
	/* A centre with no entries leaves the start where it was. */
	assert_int_equal(cb_store_centre(t.store, TL_CENTRE, &info), 0);
	assert_int_equal(info.size, 0);
	assert_int_equal(srv_last_entry_ms(t.store, &info, &ms), 0);
	assert_int_equal(ms, 0);
	/* Entry k is stamped 1700000000500 + k (testlog.c). */
	tl_fill(&t, 7, 3);
	assert_int_equal(cb_store_centre(t.store, TL_CENTRE, &info), 0);
	assert_int_equal(info.size, 7);
	assert_int_equal(srv_last_entry_ms(t.store, &info, &ms), 0);
	assert_int_equal(ms, 1700000000500 + 6);
	/* It only ever raises the start: another centre may be newer. */
	ms = 1800000000000;
	assert_int_equal(srv_last_entry_ms(t.store, &info, &ms), 0);
	assert_int_equal(ms, 1800000000000);
	/* A centre the store does not hold is an error, not a zero. */
	strcpy(info.id, "elsewhere");
	assert_int_equal(srv_last_entry_ms(t.store, &info, &ms),
	    CB_ENOTFOUND);
	tl_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newest_entry_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
