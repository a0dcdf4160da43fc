/*
 * Figures: exact latency percentiles from every sample (sorted once), and
 * what /proc says about a process: user and system CPU from
 * /proc/PID/stat, peak and current resident memory (VmHWM, VmRSS) from
 * /proc/PID/status. The kernel keeps VmHWM as the most the process ever
 * held, so it is the peak over the server's whole life, setup included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

/* read_cpu reads utime and stime (fields 14 and 15) of /proc/PID/stat. */
static int
read_cpu(pid_t pid, double *cpu)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces; fields resume after its ')'. */
	if ((p = strrchr(buf, ')')) == NULL || tck <= 0)
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			  "%llu",
		&ut, &st) != 2)
		return -1;
	*cpu = (double)(ut + st) / (double)tck;
	return 0;
}

/* read_kb finds "Name:   N kB" in /proc/PID/status. */
static int
read_kb(pid_t pid, const char *name, double *mib)
{
	char path[64], line[256];
	size_t len = strlen(name);
	unsigned long long kb;
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, len) == 0 && line[len] == ':' &&
		    sscanf(line + len + 1, "%llu", &kb) == 1) {
			*mib = (double)kb / 1024.0;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* stats_proc_read samples a process's CPU and memory. */
void
stats_proc_read(pid_t pid, struct stats_proc *p)
{
	memset(p, 0, sizeof(*p));
	p->ok = pid > 0 && read_cpu(pid, &p->cpu) == 0 &&
		read_kb(pid, "VmHWM", &p->hwm_mib) == 0 &&
		read_kb(pid, "VmRSS", &p->rss_mib) == 0;
}

/* stats_self_cpu is this process's user and system CPU seconds. */
double
stats_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* cmp orders int64 samples. */
static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* stats_sort sorts samples ascending. */
void
stats_sort(int64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp);
}

/*
 * stats_pct_ms is the pct-th percentile of sorted ns samples, in ms: the
 * smallest sample at or above pct percent of them (nearest rank).
 */
double
stats_pct_ms(const int64_t *sorted, size_t n, double pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)((pct / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1e6;
}
