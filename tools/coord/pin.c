/*
 * Reading a parent's PIN. A PIN never comes from the command line, where
 * any user of the machine could read it in the process list and the shell
 * would keep it in its history: on a terminal it is typed without echo,
 * twice; otherwise it is the first line of stdin (a script pipes it in).
 * The terminal's settings are put back even when the coordinator presses
 * ^C, and every buffer that held the PIN is wiped.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "carebank/xalloc.h"
#include "coord.h"

#define LINE_MAX_PIN 64

/* The terminal as it was, for the signal handler to restore. */
static struct termios saved;
static volatile sig_atomic_t echo_off;

/* restore puts the terminal back and dies of the signal. */
static void
restore(int sig)
{
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* read_line reads one line of at most len - 1 bytes; -1 on EOF. */
static int
read_line(char *buf, size_t len)
{
	size_t n = 0;
	char c = '\0';

	for (;;) {
		ssize_t r = read(STDIN_FILENO, &c, 1);

		if (r <= 0)
			break;
		if (c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
		else
			n = len; /* too long: refused below */
	}
	if (n >= len) {
		cb_wipe(buf, len);
		buf[0] = '\0';
		return 0;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return n == 0 && c != '\n' ? -1 : 0;
}

/* ask reads a line from the terminal without echo. */
static int
ask(const char *prompt, char *buf, size_t len)
{
	struct termios quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved) != 0)
		return -1;
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	signal(SIGINT, restore);
	signal(SIGTERM, restore);
	signal(SIGHUP, restore);
	echo_off = 1;
	/* Echo goes off before the prompt, so nothing typed is shown. */
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fputs(prompt, stderr);
	fflush(stderr);
	rc = read_line(buf, len);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	echo_off = 0;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	fputc('\n', stderr);
	return rc;
}

/* valid checks the PIN's shape as the server does: 4 to 12 digits. */
static bool
valid(const char *pin)
{
	size_t n = strlen(pin);

	return n >= 4 && n <= 12 && strspn(pin, "0123456789") == n;
}

/* pin_read reads a PIN from the terminal or stdin. */
int
pin_read(char buf[PIN_MAX])
{
	char line[LINE_MAX_PIN], again[LINE_MAX_PIN];
	int rc = -1;

	if (!isatty(STDIN_FILENO)) {
		if (read_line(line, sizeof(line)) != 0) {
			coord_err("--pin: stdin ended before a PIN; pipe the "
				  "PIN in on one line");
			goto out;
		}
	} else if (ask("PIN: ", line, sizeof(line)) != 0 ||
		   ask("PIN again: ", again, sizeof(again)) != 0) {
		coord_err("--pin: could not read the PIN from the terminal");
		goto out;
	} else if (strcmp(line, again) != 0) {
		coord_err("--pin: the two PINs differ; nothing was changed");
		goto out;
	}
	if (!valid(line)) {
		coord_err("--pin: a PIN is 4 to 12 digits");
		goto out;
	}
	memcpy(buf, line, strlen(line) + 1);
	rc = 0;
out:
	cb_wipe(line, sizeof(line));
	cb_wipe(again, sizeof(again));
	return rc;
}
