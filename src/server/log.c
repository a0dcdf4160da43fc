/*
 * Structured logs: one line per event on stderr, logfmt ("key=value ..."),
 * stamped with UTC time, so they read well and parse easily. Never given a
 * PIN or a private key: the callers log ids, methods and codes only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "srv.h"

/* srv_log writes one line: time, level, then the caller's fields. */
void
srv_log(const char *level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char line[1024], stamp[32];
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s ", stamp,
	    ts.tv_nsec / 1000000, level);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines from threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}

/* srv_now_ms reads the wall clock in Unix milliseconds. */
int64_t
srv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
