/*
 * Billing periods in the centre's local time, computed with integer civil
 * calendar arithmetic (Howard Hinnant's days_from_civil and civil_from_days)
 * rather than the C library's time zone machinery, so that the result depends
 * on the policy alone and is the same on every machine that replays the log.
 * Times are those of a centre's life (server and event times, never a raw
 * request value): far from the int64 limits, so the arithmetic cannot
 * overflow.
 */
#include "bank_int.h"

#define DAY_MS 86400000LL

/* floor_div divides rounding toward minus infinity. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* days_from_civil counts days from 1970-01-01 to y-m-d (proleptic). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* civil_from_days turns a day count into year and month. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* bank_period_start finds the start of the billing period holding t. */
int64_t
bank_period_start(const bank_policy *p, int64_t t)
{
	int64_t off = (int64_t)p->utc_offset_minutes * 60000;
	int64_t day = floor_div(t + off, DAY_MS), y;
	unsigned m;

	if (p->billing_period == CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_WEEK) {
		/* 1970-01-01 was a Thursday: Monday-based weekday is +3. */
		int64_t wd = ((day + 3) % 7 + 7) % 7;

		return (day - wd) * DAY_MS - off;
	}
	civil_from_days(day, &y, &m);
	return days_from_civil(y, m, 1) * DAY_MS - off;
}

/* bank_period_end finds the start of the period after the one at start. */
int64_t
bank_period_end(const bank_policy *p, int64_t start)
{
	int64_t off = (int64_t)p->utc_offset_minutes * 60000;
	int64_t day = floor_div(start + off, DAY_MS), y;
	unsigned m;

	if (p->billing_period == CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_WEEK)
		return start + 7 * DAY_MS;
	civil_from_days(day, &y, &m);
	if (m == 12)
		return days_from_civil(y + 1, 1, 1) * DAY_MS - off;
	return days_from_civil(y, m + 1, 1) * DAY_MS - off;
}
