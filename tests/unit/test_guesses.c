/*
 * The in-memory PIN failure counts of cards nobody holds (guesses.c): a
 * count is kept and read back, a count of zeros forgets it, and a full
 * table gives up the count whose last failure is the oldest.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guesses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
