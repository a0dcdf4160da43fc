/*
 * The kiosk's terminal: a keyboard and a card or QR scanner that types like
 * one (a line ending in Enter), and a small screen. Input is read key by
 * key with termios in raw mode, so nothing is echoed by the terminal: the
 * kiosk echoes what it chooses (a star for each PIN digit, never the digit)
 * and the terminal's own signal keys are off (a parent pressing Ctrl-C does
 * not stop the door; SIGTERM does). When stdin is not a terminal the same
 * code reads lines from it. The screen is cleared and drawn whole with two
 * ANSI sequences, each line cut to the terminal's width in columns; when
 * TERM is dumb or stdout is not a terminal, screens are plain lines.
 */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "carebank/xalloc.h"
#include "kiosk.h"

#define ESC_WAIT_MS 30 /* an escape sequence's bytes follow within this */
#define LF_AFTER_CR 50 /* "\r\n" is one Enter */
/* A key to go on is a key alone: a person waits for the screen, where a
 * person typing a code, or a scanner, goes on within this. */
#define CHOICE_QUIET_MS 300

struct term {
	int in, out;
	bool raw, ansi;
	struct termios saved;
	int64_t cr_ms; /* when the last '\r' came */
};

/* Set by signal handlers; a program has one terminal. */
static volatile sig_atomic_t quit_signal;

/* on_quit notes SIGTERM, SIGINT or SIGHUP; reads return TERM_QUIT. */
static void
on_quit(int sig)
{
	quit_signal = sig;
}

/* term_open sets the terminal up; 0, or -1 if termios fails on a tty. */
int
term_open(struct term **out)
{
	struct term *t = cb_xcalloc(1, sizeof(*t));
	struct sigaction sa;
	const char *term = getenv("TERM");

	t->in = STDIN_FILENO;
	t->out = STDOUT_FILENO;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_quit;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (isatty(t->in)) {
		struct termios raw;

		if (tcgetattr(t->in, &t->saved) != 0) {
			free(t);
			return -1;
		}
		raw = t->saved;
		raw.c_lflag &=
		    ~(tcflag_t)(ICANON | ECHO | ECHONL | ISIG | IEXTEN);
		raw.c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IXON);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(t->in, TCSAFLUSH, &raw) != 0) {
			free(t);
			return -1;
		}
		t->raw = true;
	}
	t->ansi = isatty(t->out) && term != NULL && *term != '\0' &&
	          strcmp(term, "dumb") != 0;
	*out = t;
	return 0;
}

/* term_close puts the terminal back as it was; NULL is allowed. */
void
term_close(struct term *t)
{
	if (t == NULL)
		return;
	if (t->ansi)
		dprintf(t->out, "\033[0m\n");
	if (t->raw)
		tcsetattr(t->in, TCSAFLUSH, &t->saved);
	free(t);
}

/* term_ansi says whether screens are drawn, or printed as plain lines. */
bool
term_ansi(const struct term *t)
{
	return t->ansi;
}

/* term_cols returns the screen's width in columns (80 if unknown). */
int
term_cols(const struct term *t)
{
	struct winsize ws;

	if (ioctl(t->out, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col > KIOSK_LINE - 1 ? KIOSK_LINE - 1 : ws.ws_col;
	return 80;
}

/* wait_in waits for input; 1 ready, 0 timed out, TERM_QUIT. */
static int
wait_in(struct term *t, int timeout_ms)
{
	struct pollfd p = {.fd = t->in, .events = POLLIN};
	int64_t end = kiosk_now_ms() + timeout_ms;

	for (;;) {
		int left = timeout_ms < 0 ? -1 : (int)(end - kiosk_now_ms());
		int n;

		if (quit_signal)
			return TERM_QUIT;
		if (timeout_ms >= 0 && left < 0)
			left = 0;
		n = poll(&p, 1, left);
		if (n > 0)
			return 1;
		if (n == 0)
			return TERM_TIMEOUT;
		if (errno != EINTR)
			return 1; /* let read report it */
	}
}

/* read_byte reads one byte; 1, or TERM_EOF. */
static int
read_byte(struct term *t, unsigned char *c)
{
	for (;;) {
		ssize_t n = read(t->in, c, 1);

		if (n == 1)
			return 1;
		if (n < 0 && errno == EINTR && !quit_signal)
			continue;
		return TERM_EOF;
	}
}

/* skip_sequence reads the rest of an escape sequence (arrow keys...). */
static void
skip_sequence(struct term *t)
{
	unsigned char c;

	for (int i = 0; i < 16; i++) {
		if (wait_in(t, ESC_WAIT_MS) != 1 || read_byte(t, &c) != 1)
			return;
		if (i > 0 && c >= 0x40 && c <= 0x7e)
			return;
	}
}

/*
 * term_key waits up to timeout_ms (negative: forever) for a key. Returns
 * the key (a byte; TERM_ENTER, TERM_ESC, 127 for backspace), TERM_TIMEOUT,
 * TERM_EOF or TERM_QUIT.
 */
int
term_key(struct term *t, int timeout_ms)
{
	int64_t end = kiosk_now_ms() + timeout_ms;
	unsigned char c;
	int rc;

	for (;;) {
		int left = timeout_ms < 0 ? -1 : (int)(end - kiosk_now_ms());

		if (timeout_ms >= 0 && left < 0)
			left = 0;
		if ((rc = wait_in(t, left)) != 1)
			return rc;
		if ((rc = read_byte(t, &c)) != 1)
			return rc;
		if (c == '\n' && kiosk_now_ms() - t->cr_ms < LF_AFTER_CR) {
			t->cr_ms = 0;
			continue;
		}
		if (c == '\r')
			t->cr_ms = kiosk_now_ms();
		if (c == '\r' || c == '\n')
			return TERM_ENTER;
		if (c == 8 || c == 127)
			return 127;
		if (c != TERM_ESC)
			return c;
		if (wait_in(t, ESC_WAIT_MS) != 1)
			return TERM_ESC;
		/* An escape sequence, not the Esc key: ignore it. */
		skip_sequence(t);
	}
}

/* echo writes what a typed key shows. */
static void
echo(struct term *t, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(t->out, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/*
 * line_from reads keys into buf after the n bytes already there (not
 * echoed again), as term_line does; last is when the last of them came.
 */
static int
line_from(struct term *t, char *buf, size_t len, size_t n, int64_t last,
    int timeout_ms, bool secret, struct term_typed *typed)
{
	int key;

	for (;;) {
		key = term_key(t, timeout_ms);
		if (key == TERM_ENTER && n > 0)
			break;
		if (key == TERM_ENTER)
			continue;
		if (key == TERM_ESC)
			key = TERM_CANCEL;
		if (key < 0 || key == TERM_TIMEOUT) {
			cb_wipe(buf, len);
			return key;
		}
		if (key == 127) {
			while (
			    n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 0) {
				n--;
				echo(t, "\b \b", 3);
			}
			continue;
		}
		if (key < 0x20 || n + 1 >= len)
			continue;
		if (typed != NULL) {
			int64_t now = kiosk_now_ms();

			if (n > 0 && now - last > typed->max_gap_ms)
				typed->max_gap_ms = now - last;
			last = now;
			typed->n = n + 1;
		}
		buf[n++] = (char)key;
		echo(t, secret ? "*" : &buf[n - 1], 1);
	}
	buf[n] = '\0';
	echo(t, "\r\n", 2);
	return 1;
}

/*
 * term_line reads a line of at most len - 1 bytes, echoing each byte, or a
 * star if secret. timeout_ms counts from the last key. Returns 1 with the
 * line in buf (never empty), TERM_TIMEOUT, TERM_CANCEL (Esc), TERM_EOF or
 * TERM_QUIT; on anything but 1, buf is wiped. typed, if not NULL, says how
 * fast the line came.
 */
int
term_line(struct term *t, char *buf, size_t len, int timeout_ms, bool secret,
    struct term_typed *typed)
{
	if (typed != NULL)
		memset(typed, 0, sizeof(*typed));
	return line_from(t, buf, len, 0, 0, timeout_ms, secret, typed);
}

/*
 * term_choice waits up to timeout_ms (from the last key) for a choice: one
 * key, then Enter. A choice is a line of one key so that it is never the
 * first key of a longer line: a card scanned, or a member code typed, by
 * the next parent at a screen the last one left open, however fast or
 * slowly. Returns the key; TERM_ARRIVAL with such a line in a (of
 * a->line's size); TERM_ESC; or TERM_TIMEOUT, TERM_EOF or TERM_QUIT.
 */
int
term_choice(struct term *t, int timeout_ms, struct term_arrival *a)
{
	int rc;

	memset(&a->typed, 0, sizeof(a->typed));
	rc = line_from(t, a->line, sizeof(a->line), 0, 0, timeout_ms, false,
	    &a->typed);
	if (rc == TERM_CANCEL)
		return TERM_ESC;
	if (rc != 1)
		return rc;
	if (a->line[1] == '\0') {
		rc = (unsigned char)a->line[0];
		cb_wipe(a->line, sizeof(a->line));
		return rc;
	}
	return TERM_ARRIVAL;
}

/*
 * term_any_key waits up to timeout_ms for any key, to go on from a
 * message, but tells it from the first key of a line, as term_choice
 * does: when another key but Enter follows within CHOICE_QUIET_MS, the
 * line is read to its Enter into a: TERM_ARRIVAL, a->line empty if it did
 * not end in time. Other returns are term_key's.
 */
int
term_any_key(struct term *t, int timeout_ms, struct term_arrival *a)
{
	int key = term_key(t, timeout_ms), next;
	int64_t first = kiosk_now_ms(), now;

	if (key < 0x20 || key == 127)
		return key;
	next = term_key(t, CHOICE_QUIET_MS);
	if (next == TERM_TIMEOUT || next == TERM_ENTER || next == TERM_EOF ||
	    next == TERM_QUIT)
		return key; /* the end of input or a signal shows next */
	if (next < 0x20 || next == 127)
		return next;
	now = kiosk_now_ms();
	a->line[0] = (char)key;
	a->line[1] = (char)next;
	a->typed.n = 2;
	a->typed.max_gap_ms = now - first;
	if (line_from(t, a->line, sizeof(a->line), 2, now, timeout_ms, false,
	        &a->typed) != 1)
		a->line[0] = '\0';
	return TERM_ARRIVAL;
}

/* term_flush drops the keys typed but not read yet, at a terminal. */
void
term_flush(struct term *t)
{
	if (t->raw)
		(void)tcflush(t->in, TCIFLUSH);
}

/* fit writes s cut to cols columns into out (of outlen bytes). */
static size_t
fit(const char *s, int cols, char *out, size_t outlen)
{
	mbstate_t st;
	size_t i = 0, o = 0, n = strlen(s);
	int used = 0;

	memset(&st, 0, sizeof(st));
	while (i < n) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, n - i, &st);
		int w;

		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			k = 1;
			w = 1;
		} else {
			w = wcwidth(wc);
			if (w < 0)
				w = 1;
		}
		if (used + w > cols || o + k >= outlen)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
		used += w;
	}
	out[o] = '\0';
	return o;
}

/*
 * term_draw shows a screen: cleared and drawn from the top, or, in plain
 * mode, printed after a blank line. The last line is left open for input.
 */
void
term_draw(struct term *t, char lines[][KIOSK_LINE], size_t n)
{
	int cols = term_cols(t);
	char cut[KIOSK_LINE * 4];

	if (t->ansi)
		echo(t, "\033[H\033[2J", 7);
	else
		echo(t, "\r\n", 2);
	for (size_t i = 0; i < n; i++) {
		size_t len = fit(lines[i], cols, cut, sizeof(cut));

		echo(t, cut, len);
		if (i + 1 < n)
			echo(t, "\r\n", 2);
	}
}
