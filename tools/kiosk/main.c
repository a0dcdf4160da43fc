/*
 * carebank-kiosk: the door of the centre. This file reads the settings
 * (flags, then the environment, then the config file, as every carebank
 * client does), opens the offline queue and the family cache, and runs the
 * idle screen: it waits for a card or a member code, hands the visit to
 * door.c, and between visits sends what the queue holds once the server is
 * back. Exit status: 0 when stopped (end of input, SIGTERM), 1 on failure,
 * 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "carebank/codec.h"
#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "kiosk.h"
#include "queue.h"
#include "receipt.h"

#define REDRAW_MS   30000

#include "usage.h"

/* The one kiosk; static so that what the settings keep stays reachable. */
static struct kiosk kiosk;

/* kiosk_now_ms reads the wall clock, Unix milliseconds. */
int64_t
kiosk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where log lines go: stderr, or syslog when stderr is the kiosk's screen. */
static bool log_to_syslog;

/* kiosk_log logs a line: ids only, never a PIN, a card or a name. */
void
kiosk_log(const char *fmt, ...)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	if (log_to_syslog) {
		vsyslog(LOG_INFO, fmt, ap);
		va_end(ap);
		return;
	}
	when[0] = '\0';
	if (localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s carebank-kiosk: ", when);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* usage prints the manual page, or its synopsis, and exits. */
static void __attribute__((noreturn))
usage(int code)
{
	fputs(code ? usage_synopsis : usage_text, code ? stderr : stdout);
	exit(code);
}

/* seconds parses a count of seconds within [min, max]; -1 if it is not. */
static long
seconds(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/* add_room takes "ID", "ID=LABEL" or "ID LABEL"; -1 if it is not one. */
static int
add_room(struct kiosk *k, const char *s)
{
	size_t n = strcspn(s, "= \t");
	struct room *r;

	if (k->nrooms == KIOSK_ROOMS_MAX || n < 2 || n >= FAM_ID ||
	    s[0] < 'a' || s[0] > 'z' || strspn(s + 1, "0123456789") != n - 1)
		return -1;
	r = &k->rooms[k->nrooms++];
	memcpy(r->id, s, n);
	r->id[n] = '\0';
	s += n + strspn(s + n, "= \t");
	snprintf(r->label, sizeof(r->label), "%s", *s ? s : r->id);
	return 0;
}

/* Settings only the kiosk has, before they are checked. */
struct own {
	const char *queue, *idle, *retry, *timeout, *prefix, *label;
	const char *aside;    /* --set-aside: the action's number */
	const char *back;     /* --put-back: the request's id */
	const char *make_key; /* --make-key: the file */
	bool rooms_given; /* by flags: the config file's are ignored */
};

/* extra takes the kiosk's own keys from the config file. */
static int
extra(void *arg, const char *key, const char *value)
{
	struct own *w = arg;
	const char **slot = NULL;

	if (strcmp(key, "room") == 0)
		return w->rooms_given ? 0 : add_room(&kiosk, value);
	if (strcmp(key, "queue") == 0)
		slot = &w->queue;
	else if (strcmp(key, "idle") == 0)
		slot = &w->idle;
	else if (strcmp(key, "retry") == 0)
		slot = &w->retry;
	else if (strcmp(key, "timeout") == 0)
		slot = &w->timeout;
	else if (strcmp(key, "card-prefix") == 0)
		slot = &w->prefix;
	else if (strcmp(key, "label") == 0)
		slot = &w->label;
	if (slot == NULL)
		return -1;
	if (*slot == NULL)
		*slot = cb_xstrdup(value);
	return 0;
}

/* What the settings found; static, as kiosk. */
static struct own own;

enum {
	OPT_CA = 256,
	OPT_CERT,
	OPT_CERT_KEY,
	OPT_VKEY,
	OPT_QUEUE,
	OPT_IDLE,
	OPT_RETRY,
	OPT_TIMEOUT,
	OPT_ROOM,
	OPT_PREFIX,
	OPT_LABEL,
	OPT_CHECK,
	OPT_ASIDE,
	OPT_BACK,
	OPT_MAKE_KEY,
};

static const struct option options[] = {
    {"server", required_argument, NULL, 's'},
    {"key", required_argument, NULL, 'k'},
    {"centre", required_argument, NULL, 'c'},
    {"ca", required_argument, NULL, OPT_CA},
    {"cert", required_argument, NULL, OPT_CERT},
    {"cert-key", required_argument, NULL, OPT_CERT_KEY},
    {"vkey", required_argument, NULL, OPT_VKEY},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"idle", required_argument, NULL, OPT_IDLE},
    {"retry", required_argument, NULL, OPT_RETRY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"room", required_argument, NULL, OPT_ROOM},
    {"card-prefix", required_argument, NULL, OPT_PREFIX},
    {"label", required_argument, NULL, OPT_LABEL},
    {"check-queue", no_argument, NULL, OPT_CHECK},
    {"set-aside", required_argument, NULL, OPT_ASIDE},
    {"put-back", required_argument, NULL, OPT_BACK},
    {"make-key", required_argument, NULL, OPT_MAKE_KEY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* make_key writes a new kiosk key and prints what to enrol; exit code. */
static int
make_key(const char *path)
{
	char hex[2 * CB_ED25519_PUBLIC_LEN + 1], id[2 * CB_KEY_ID_LEN + 1];
	uint8_t kid[CB_KEY_ID_LEN];
	struct cb_key *key = NULL;
	int rc;

	if ((rc = cb_key_generate(&key)) == 0 &&
	    (rc = cb_key_save(key, path)) == 0) {
		cb_hex_encode(cb_key_public(key), CB_ED25519_PUBLIC_LEN, hex);
		cb_key_id(key, kid);
		cb_hex_encode(kid, sizeof(kid), id);
		printf("public key %s\nkey id %s\n", hex, id);
		printf("Ask the coordinator to enrol this public key with the "
		       "role KIOSK.\n");
	}
	if (rc != 0)
		fprintf(stderr, "carebank-kiosk: cannot make %s: %s\n", path,
		    cb_strerror(rc));
	cb_key_free(key);
	return rc == 0 ? 0 : 1;
}

/* parse_flags reads the command line; returns whether to check the queue. */
static bool
parse_flags(int argc, char **argv, struct kiosk *k, struct own *w)
{
	bool check = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "s:k:c:h", options, NULL)) != -1) {
		switch (ch) {
		case 's':
			k->o.server = optarg;
			break;
		case 'k':
			k->o.key = optarg;
			break;
		case 'c':
			k->o.centre = optarg;
			break;
		case OPT_CA:
			k->o.ca = optarg;
			break;
		case OPT_CERT:
			k->o.cert = optarg;
			break;
		case OPT_CERT_KEY:
			k->o.cert_key = optarg;
			break;
		case OPT_VKEY:
			k->o.vkey = optarg;
			break;
		case OPT_QUEUE:
			w->queue = optarg;
			break;
		case OPT_IDLE:
			w->idle = optarg;
			break;
		case OPT_RETRY:
			w->retry = optarg;
			break;
		case OPT_TIMEOUT:
			w->timeout = optarg;
			break;
		case OPT_PREFIX:
			w->prefix = optarg;
			break;
		case OPT_LABEL:
			w->label = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_ASIDE:
			w->aside = optarg;
			break;
		case OPT_BACK:
			w->back = optarg;
			break;
		case OPT_MAKE_KEY:
			w->make_key = optarg;
			break;
		case OPT_ROOM:
			w->rooms_given = true;
			if (add_room(k, optarg) != 0) {
				fprintf(stderr,
				    "carebank-kiosk: --room %s: "
				    "expected ID or ID=LABEL (an id "
				    "like r1)\n",
				    optarg);
				exit(2);
			}
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	/* --check-queue, --set-aside, --put-back and --make-key: one. */
	if (optind != argc || check + (w->aside != NULL) + (w->back != NULL) +
	                              (w->make_key != NULL) >
	                          1)
		usage(2);
	if (w->make_key != NULL)
		exit(make_key(w->make_key));
	return check;
}

/* settle checks the kiosk's own settings and fills k; -1 if bad. */
static int
settle(struct kiosk *k, const struct own *w)
{
	const char *home = getenv("HOME"), *q = w->queue;
	long idle = w->idle ? seconds(w->idle, 5, 3600) : 60;
	long retry = w->retry ? seconds(w->retry, 1, 3600) : 15;
	long timeout = w->timeout ? seconds(w->timeout, 1, 600) : 10;

	if (idle < 0 || retry < 0 || timeout < 0) {
		fprintf(stderr, "carebank-kiosk: idle must be 5 to 3600 "
		                "seconds, retry 1 to 3600, timeout 1 to 600\n");
		return -1;
	}
	k->idle_s = (unsigned)idle;
	k->retry_s = (unsigned)retry;
	k->o.timeout_ms = (unsigned)timeout * 1000;
	k->o.connect_timeout_ms =
	    k->o.timeout_ms < 5000 ? k->o.timeout_ms : 5000;
	k->o.lazy = true;
	if (w->prefix != NULL && strlen(w->prefix) >= sizeof(k->card_prefix)) {
		fprintf(stderr, "carebank-kiosk: the card prefix is at most "
		                "15 bytes\n");
		return -1;
	}
	snprintf(k->card_prefix, sizeof(k->card_prefix), "%s",
	    w->prefix ? w->prefix : "");
	snprintf(k->label, sizeof(k->label), "%s", w->label ? w->label : "");
	if (q == NULL && (q = getenv("CAREBANK_KIOSK_QUEUE")) != NULL && !*q)
		q = NULL;
	if (q == NULL) {
		if (home == NULL || *home == '\0') {
			fprintf(stderr, "carebank-kiosk: say where the queue "
			                "is (--queue FILE)\n");
			return -1;
		}
		snprintf(k->queue_path, sizeof(k->queue_path),
		    "%s/.local/state/carebank/kiosk.queue", home);
	} else if (snprintf(k->queue_path, sizeof(k->queue_path), "%s", q) >=
	           (int)sizeof(k->queue_path)) {
		fprintf(stderr, "carebank-kiosk: the queue path is too long\n");
		return -1;
	}
	snprintf(k->refused_path, sizeof(k->refused_path), "%s.refused",
	    k->queue_path);
	return 0;
}

/* check_queue reports on the queue file and exits: 0 good, 1 damaged. */
static int
check_queue(struct kiosk *k)
{
	struct queue_report rep;
	struct queue *q;
	int rc;

	if (access(k->queue_path, F_OK) != 0) {
		printf(
		    "%s: no queue file: nothing is waiting\n", k->queue_path);
		aside_list(k);
		return 0;
	}
	rc = queue_open(k->queue_path, &q, &rep);

	if (rc == CB_ECORRUPT) {
		printf("%s: DAMAGED at byte %lld (record %zu): %s; %zu intact "
		       "records (%zu actions) before it\n",
		    k->queue_path, (long long)rep.bad_offset, rep.bad_record,
		    rep.why, rep.records, rep.actions);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "carebank-kiosk: %s: %s\n", k->queue_path,
		    cb_strerror(rc));
		return 1;
	}
	printf("%s: %zu action%s waiting%s\n", k->queue_path, queue_pending(q),
	    queue_pending(q) == 1 ? "" : "s",
	    rep.torn ? " (a torn tail was cut off)" : "");
	for (size_t i = 0; i < queue_count(q); i++) {
		const struct queue_action *a = queue_at(q, i);

		char seq[24];

		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)a->seq);
		if (a->state == QUEUE_PENDING)
			aside_print(seq, a);
	}
	queue_close(q);
	aside_list(k);
	return 0;
}

/* start opens what the kiosk needs; -1 with the reason said. */
static int
start(struct kiosk *k)
{
	char err[512], dir[KIOSK_PATH_MAX], views[KIOSK_PATH_MAX + 16];
	char *slash;

	if (cbt_open(&k->o, &k->cbt, err, sizeof(err)) != 0) {
		fprintf(stderr, "carebank-kiosk: %s\n", err);
		return -1;
	}
	k->has_vk = cbt_vkey(k->cbt) != NULL;
	snprintf(dir, sizeof(dir), "%s", k->queue_path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (cb_file_mkdirs(dir, 0700) != 0) {
			fprintf(
			    stderr, "carebank-kiosk: cannot make %s\n", dir);
			return -1;
		}
	}
	if (sync_recover(k) != 0)
		return -1;
	snprintf(views, sizeof(views), "%s.views", k->queue_path);
	if (views_open(views, &k->views, err, sizeof(err)) != 0)
		kiosk_log("%s", err);
	/* Log lines must not land on the screen the parents read. */
	if (isatty(STDERR_FILENO)) {
		openlog("carebank-kiosk", LOG_PID, LOG_USER);
		log_to_syslog = true;
	}
	if (term_open(&k->t) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: cannot set the terminal up: "
		    "%s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* between does what is due between visits: send the queue, or look. */
static void
between(struct kiosk *k)
{
	char err[256];

	if (!sync_try_due(k))
		return;
	if (queue_pending(k->q) > 0) {
		(void)sync_run(k);
		return;
	}
	if (cbt_connect(k->cbt, err, sizeof(err)) != 0) {
		sync_went_offline(k, err);
	} else {
		if (k->offline)
			kiosk_log("the server is back");
		k->offline = false;
		k->retry_at_ms = kiosk_now_ms() + (int64_t)k->retry_s * 1000;
	}
}

/* idle runs the welcome screen until the input ends or a signal. */
static void
idle(struct kiosk *k)
{
	char line[KIOSK_CARD_MAX + 16], shown[4 * KIOSK_LINE] = "",
	                                          now[4 * KIOSK_LINE];
	struct term_typed typed;
	const char *value;
	bool card;
	int rc;

	for (;;) {
		between(k);
		/* Plain lines are printed again only when they change. */
		snprintf(now, sizeof(now), "%d %zu %s %s %s", k->offline,
		    queue_pending(k->q), k->banner[0], k->banner[1],
		    k->banner[2]);
		if (term_ansi(k->t) || strcmp(now, shown) != 0)
			screen_idle(k);
		memcpy(shown, now, sizeof(shown));
		if (k->arrival.ready) {
			/* Come while the last visit was still on screen. */
			memcpy(line, k->arrival.line, sizeof(line));
			typed = k->arrival.typed;
			cb_wipe(&k->arrival, sizeof(k->arrival));
			rc = 1;
		} else {
			rc = term_line(k->t, line, sizeof(line),
			    term_ansi(k->t) && k->retry_s * 1000 > REDRAW_MS
			        ? REDRAW_MS
			        : (int)k->retry_s * 1000,
			    false, &typed);
		}
		if (rc == TERM_EOF || rc == TERM_QUIT)
			return;
		if (rc != 1)
			continue;
		card = door_card(k, line, &typed, &value);
		if (*value == '\0' ||
		    strlen(value) > (card ? KIOSK_CARD_MAX : 32)) {
			cb_wipe(line, sizeof(line));
			continue;
		}
		shown[0] = '\0';
		rc = door_visit(k, card, value);
		cb_wipe(line, sizeof(line));
		if (rc == TERM_EOF || rc == TERM_QUIT)
			return;
	}
}

int
main(int argc, char **argv)
{
	struct kiosk *k = &kiosk;
	char err[512];
	bool check;
	int rc = 1;

	setlocale(LC_CTYPE, "");
	if (argc > 1 && strcmp(argv[1], "help") == 0)
		usage(0);
	check = parse_flags(argc, argv, k, &own);
	k->o.extra = extra;
	k->o.extra_arg = &own;
	if (cbt_settings(&k->o, err, sizeof(err)) != 0) {
		fprintf(stderr, "carebank-kiosk: %s\n", err);
		return 2;
	}
	if (settle(k, &own) != 0)
		return 2;
	if (check)
		return check_queue(k);
	if (own.aside != NULL)
		return aside_action(k, own.aside);
	if (own.back != NULL)
		return aside_put_back(k, own.back);
	if (start(k) == 0) {
		kiosk_log("ready: centre %s, queue %s, %zu waiting%s",
		    k->o.centre, k->queue_path, queue_pending(k->q),
		    k->has_vk ? ", receipts verified" : "");
		idle(k);
		rc = 0;
	}
	term_close(k->t);
	views_close(k->views);
	queue_close(k->q);
	cbt_close(k->cbt);
	return rc;
}
