/*
 * The in-memory PIN failure counts of cards nobody holds (guesses.c): a
 * count is kept and read back, a count of zeros forgets it, and a full
 * table gives up the count whose last failure is the oldest; and each
 * device's budget of wrong PINs: a burst, then one per window / burst.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "srv.h"

static struct srv_pin_count
count_of(uint32_t failures, int64_t last, int64_t until)
{
	return (struct srv_pin_count){failures, last, until};
}

static void
expect(struct srv_guesses *g, const char *key, uint32_t failures,
    int64_t last)
{
	struct srv_pin_count c;

	srv_guesses_get(g, key, &c);
	assert_int_equal(c.failures, failures);
	assert_int_equal(c.last_ms, last);
}

static void
test_guesses(void **state)
{
	struct srv_guesses *g = srv_guesses_new(3);
	struct srv_pin_count c;

	(void)state;
	expect(g, "huada/L/x", 0, 0);
	c = count_of(1, 100, 0);
	srv_guesses_put(g, "huada/L/a", &c);
	c = count_of(5, 50, 900);
	srv_guesses_put(g, "huada/L/b", &c);
	c = count_of(2, 300, 0);
	srv_guesses_put(g, "huada/L/c", &c);
	assert_int_equal(srv_guesses_count(g), 3);
	expect(g, "huada/L/b", 5, 50);
	expect(g, "nanshan/L/b", 0, 0);
	/* Full: d takes b's place, the oldest last failure. */
	c = count_of(1, 400, 0);
	srv_guesses_put(g, "huada/L/d", &c);
	assert_int_equal(srv_guesses_count(g), 3);
	expect(g, "huada/L/b", 0, 0);
	expect(g, "huada/L/a", 1, 100);
	expect(g, "huada/L/d", 1, 400);
	/* A count updated in place; one of zeros forgotten. */
	c = count_of(2, 500, 0);
	srv_guesses_put(g, "huada/L/a", &c);
	expect(g, "huada/L/a", 2, 500);
	c = count_of(0, 0, 0);
	srv_guesses_put(g, "huada/L/c", &c);
	srv_guesses_put(g, "huada/L/never", &c);
	assert_int_equal(srv_guesses_count(g), 2);
	expect(g, "huada/L/c", 0, 0);
	c = count_of(1, 600, 0);
	srv_guesses_put(g, "huada/L/e", &c);
	assert_int_equal(srv_guesses_count(g), 3);
	expect(g, "huada/L/a", 2, 500);
	expect(g, "huada/L/d", 1, 400);
	srv_guesses_free(g);
}

static void
test_device_budget(void **state)
{
	struct srv_guesses *g = srv_guesses_new(3);
	uint8_t door[CB_KEY_ID_LEN] = {1}, hall[CB_KEY_ID_LEN] = {2};
	const int64_t w = 32000, t = w / SRV_KIOSK_BURST; /* 1 s each */
	int64_t now = 1000000;

	(void)state;
	/* A burst of SRV_KIOSK_BURST failures at once, then no more. */
	for (int i = 0; i < SRV_KIOSK_BURST; i++) {
		assert_int_equal(srv_guesses_kiosk_wait(g, "huada", door, now,
				     w), 0);
		srv_guesses_kiosk_fail(g, "huada", door, now, w);
	}
	assert_int_equal(srv_guesses_kiosk_wait(g, "huada", door, now, w), t);
	/* Other devices, and the same key at another centre, are free. */
	assert_int_equal(srv_guesses_kiosk_wait(g, "huada", hall, now, w), 0);
	assert_int_equal(srv_guesses_kiosk_wait(g, "nanshan", door, now, w),
	    0);
	/* One more each interval: never two. */
	now += t - 1;
	assert_int_equal(srv_guesses_kiosk_wait(g, "huada", door, now, w), 1);
	now += 1;
	assert_int_equal(srv_guesses_kiosk_wait(g, "huada", door, now, w), 0);
	srv_guesses_kiosk_fail(g, "huada", door, now, w);
	assert_int_equal(srv_guesses_kiosk_wait(g, "huada", door, now, w), t);
	/* A sustained guesser gets exactly one per interval: in the 10
	 * windows after its last failure, SRV_KIOSK_BURST per window. */
	int spent = 0;
	for (int64_t end = now + 10 * w; now <= end; now += 100)
		if (srv_guesses_kiosk_wait(g, "huada", door, now, w) == 0) {
			srv_guesses_kiosk_fail(g, "huada", door, now, w);
			spent++;
		}
	assert_int_equal(spent, 10 * SRV_KIOSK_BURST);
	/* A window later the budget is whole again. */
	now += w;
	for (int i = 0; i < SRV_KIOSK_BURST; i++) {
		assert_int_equal(srv_guesses_kiosk_wait(g, "huada", door, now,
				     w), 0);
		srv_guesses_kiosk_fail(g, "huada", door, now, w);
	}
	assert_true(srv_guesses_kiosk_wait(g, "huada", door, now, w) > 0);
	/* A policy that locks nothing sets no budget. */
	assert_int_equal(srv_guesses_kiosk_wait(g, "huada", door, now, 0), 0);
	/* Many devices: the table grows, and forgets the whole ones. */
	for (int i = 0; i < 100; i++) {
		uint8_t k[CB_KEY_ID_LEN] = {3, (uint8_t)i};

		srv_guesses_kiosk_fail(g, "huada", k, now + i * w, w);
		assert_int_equal(srv_guesses_kiosk_wait(g, "huada", k,
				     now + i * w, w), 0);
	}
	srv_guesses_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guesses),
		cmocka_unit_test(test_device_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
