/*
 * Times, money and minutes as a coordinator types and reads them. The bank
 * counts Unix milliseconds, whole fen and whole minutes; people write
 * "2027-03-01 09:00" in the centre's local time (its policy's UTC offset),
 * "12.50" yuan and "1:30" hours. Conversions use integer calendar
 * arithmetic (days from the civil date, as in H. Hinnant's algorithms), not
 * the C library's time zone, so the centre's offset is the only one that
 * counts, whatever the machine's TZ says. Every number is parsed whole,
 * within bounds, or refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"

#define DAY_MS    INT64_C(86400000)
#define MINUTE_MS INT64_C(60000)
#define YEAR_MIN  1970
#define YEAR_MAX  9999

/* floor_div divides, rounding toward minus infinity. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* days_from_civil counts days from 1970-01-01 to y-m-d. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* civil_from_days finds the date of a day number. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* days_in_month is the length of month m of year y. */
static int
days_in_month(int64_t y, int m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

/* digits reads exactly n decimal digits at *s and advances; -1 if not. */
static int
digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

/* parse_zone reads "Z", "+HH:MM", "+HHMM" or "+HH"; minutes east. */
static int
parse_zone(const char *s, int *offset)
{
	int sign, h, m = 0;

	if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
		*offset = 0;
		return 0;
	}
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s++ == '-' ? -1 : 1;
	if (digits(&s, 2, &h) != 0)
		return -1;
	if (*s == ':') {
		s++;
		if (digits(&s, 2, &m) != 0)
			return -1; /* "+08:" is not a zone */
	} else if (*s != '\0' && digits(&s, 2, &m) != 0) {
		return -1;
	}
	/* No zone is more than 14 hours from UTC. */
	if (*s != '\0' || m > 59 || h * 60 + m > 14 * 60)
		return -1;
	*offset = sign * (h * 60 + m);
	return 0;
}

/* units_parse_time reads a local date and time, or ISO 8601. */
int
units_parse_time(const char *s, int offset, struct units_when *t)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;

	if (digits(&s, 4, &y) != 0 || *s++ != '-' || digits(&s, 2, &mo) != 0 ||
	    *s++ != '-' || digits(&s, 2, &d) != 0)
		return -1;
	if (y < YEAR_MIN || y > YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo))
		return -1;
	t->date_only = *s == '\0';
	if (!t->date_only) {
		if (*s != ' ' && *s != 'T' && *s != 't')
			return -1;
		s++;
		if (digits(&s, 2, &h) != 0 || *s++ != ':' ||
		    digits(&s, 2, &mi) != 0)
			return -1;
		if (*s == ':' && (s++, digits(&s, 2, &sec) != 0))
			return -1;
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		if (*s != '\0' && parse_zone(s, &offset) != 0)
			return -1;
	}
	t->ms = days_from_civil(y, mo, d) * DAY_MS +
	    ((int64_t)h * 3600 + mi * 60 + sec) * 1000 - offset * MINUTE_MS;
	return 0;
}

/* local_civil splits ms into a local date and the minute of the day. */
static void
local_civil(int64_t ms, int offset, int64_t *y, int *m, int *d, int *minute)
{
	int64_t local = ms + offset * MINUTE_MS;
	int64_t day = floor_div(local, DAY_MS);

	civil_from_days(day, y, m, d);
	*minute = (int)((local - day * DAY_MS) / MINUTE_MS);
}

/* units_time formats a local date and time. */
void
units_time(int64_t ms, int offset, char *buf, size_t len)
{
	int64_t y;
	int m, d, minute;

	local_civil(ms, offset, &y, &m, &d, &minute);
	snprintf(buf, len, "%04" PRId64 "-%02d-%02d %02d:%02d", y, m, d,
	    minute / 60, minute % 60);
}

/* units_date formats a local date. */
void
units_date(int64_t ms, int offset, char *buf, size_t len)
{
	int64_t y;
	int m, d, minute;

	local_civil(ms, offset, &y, &m, &d, &minute);
	snprintf(buf, len, "%04" PRId64 "-%02d-%02d", y, m, d);
}

/* units_civil_ms is local midnight of y-m-d, in Unix ms. */
int64_t
units_civil_ms(int64_t y, int m, int d, int offset)
{
	return days_from_civil(y, m, d) * DAY_MS - offset * MINUTE_MS;
}

/* units_weekday names the local weekday. */
const char *
units_weekday(int64_t ms, int offset)
{
	static const char *const names[] = {"Mon", "Tue", "Wed", "Thu", "Fri",
	    "Sat", "Sun"};
	int64_t day = floor_div(ms + offset * MINUTE_MS, DAY_MS);

	/* 1970-01-01 was a Thursday. */
	return names[((day + 3) % 7 + 7) % 7];
}

/* units_week_start finds the local Monday 00:00 on or before ms. */
int64_t
units_week_start(int64_t ms, int offset)
{
	int64_t day = floor_div(ms + offset * MINUTE_MS, DAY_MS);
	/* 1970-01-01 was a Thursday, three days after a Monday. */
	int64_t monday = day - (((day + 3) % 7) + 7) % 7;

	return monday * DAY_MS - offset * MINUTE_MS;
}

/* units_month_start finds the local 1st 00:00 on or before ms. */
int64_t
units_month_start(int64_t ms, int offset)
{
	int64_t y;
	int m, d, minute;

	local_civil(ms, offset, &y, &m, &d, &minute);
	return units_civil_ms(y, m, 1, offset);
}

/* units_parse_int reads a whole decimal number within bounds. */
int
units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* units_parse_yuan reads a positive amount of yuan, exactly, as fen. */
int
units_parse_yuan(const char *s, int64_t *fen)
{
	const char *dot = strchr(s, '.');
	size_t whole = dot ? (size_t)(dot - s) : strlen(s);
	int64_t v = 0;

	if (whole == 0 || whole > 13 || strspn(s, "0123456789") != whole)
		return -1;
	for (size_t i = 0; i < whole; i++)
		v = v * 10 + (s[i] - '0');
	v *= 100;
	if (dot != NULL) {
		size_t frac = strlen(dot + 1);

		if (frac < 1 || frac > 2 ||
		    strspn(dot + 1, "0123456789") != frac)
			return -1;
		v += (dot[1] - '0') * 10 + (frac == 2 ? dot[2] - '0' : 0);
	}
	if (v <= 0 || v > UNITS_MONEY_LIMIT)
		return -1;
	*fen = v;
	return 0;
}

/* units_parse_minutes reads minutes, or hours and minutes as h:mm. */
int
units_parse_minutes(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *colon = strchr(s, ':');
	int64_t h, m, v;
	char hours[24];
	bool neg = *s == '-';

	if (colon == NULL)
		return units_parse_int(s, min, max, out);
	if ((size_t)(colon - s) >= sizeof(hours) || strlen(colon + 1) != 2)
		return -1;
	memcpy(hours, s, (size_t)(colon - s));
	hours[colon - s] = '\0';
	if (units_parse_int(hours, -1000000, 1000000, &h) != 0 ||
	    units_parse_int(colon + 1, 0, 59, &m) != 0 || colon[1] == '-')
		return -1;
	v = neg ? h * 60 - m : h * 60 + m;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* units_fen writes fen as yuan and fen, with a sign when negative. */
void
units_fen(int64_t fen, char *buf, size_t len)
{
	uint64_t a = fen < 0 ? 0 - (uint64_t)fen : (uint64_t)fen;

	snprintf(buf, len, "%s%" PRIu64 ".%02" PRIu64, fen < 0 ? "-" : "",
	    a / 100, a % 100);
}

/* units_minutes writes minutes as hours and minutes. */
void
units_minutes(int64_t minutes, char *buf, size_t len)
{
	uint64_t a = minutes < 0 ? 0 - (uint64_t)minutes : (uint64_t)minutes;

	snprintf(buf, len, "%s%" PRIu64 ":%02" PRIu64, minutes < 0 ? "-" : "",
	    a / 60, a % 60);
}

/* units_id_valid checks a bank id: one kind letter, then digits. */
bool
units_id_valid(const char *id, char kind)
{
	size_t n = strlen(id);

	return n >= 2 && n < COORD_ID_MAX && id[0] == kind &&
	    strspn(id + 1, "0123456789") == n - 1;
}
