/*
 * Client connections: the socket, TLS records and the wait loop around the
 * HTTP/2 engine (client_h2.c). Opening resolves the host, connects without
 * blocking past connect_timeout_ms, does the TLS handshake (checking the
 * certificate and ALPN h2) and waits for the server's SETTINGS, so a
 * connection that opens is known to speak HTTP/2. Afterwards every byte
 * moves in step(): expire deadlines, write what nghttp2 produced, poll,
 * read, feed, write again. Output waits in one bounded buffer of wire bytes;
 * TLS runs over memory BIOs so the socket is only touched with send(),
 * MSG_NOSIGNAL, and recv(). A connection fails once, through
 * rpcc_conn_fail, which ends every unfinished call as UNAVAILABLE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "carebank/xalloc.h"

#include "client.h"
#include "tls.h"

#define DEFAULT_UA "carebank-rpcc/0.1"
#define READ_CHUNK 16384
#define READS_PER_STEP 64 /* at most 1 MiB read before writing again */

/* rpcc_now_ns reads the monotonic clock. */
int64_t
rpcc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* rpcc_options_init fills in the defaults. */
void
rpcc_options_init(struct rpcc_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_recv_message = 4u << 20;
	o->max_send_message = 4u << 20;
	o->max_metadata = 8192;
	o->max_conn_buffer = 64u << 20;
	o->window_size = 1u << 20;
	o->connect_timeout_ms = 10000;
}

/* visible says whether s is non-empty printable ASCII without spaces. */
static int
visible(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 1024)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* options_ok checks the limits a caller set. */
static int
options_ok(const struct rpcc_options *o)
{
	return o->max_recv_message > 0 &&
	    o->max_recv_message <= UINT32_MAX && o->max_send_message > 0 &&
	    o->max_send_message <= UINT32_MAX - RPC_FRAME_HDR &&
	    o->max_metadata >= 1024 && o->max_metadata <= (1u << 20) &&
	    o->max_conn_buffer >= o->max_recv_message &&
	    o->window_size >= 65535 &&
	    o->window_size <= NGHTTP2_MAX_WINDOW_SIZE &&
	    o->connect_timeout_ms > 0 &&
	    (o->user_agent == NULL || visible(o->user_agent)) &&
	    (o->authority == NULL || visible(o->authority));
}

/* out_append adds wire bytes to the output buffer. */
static void
out_append(struct rpcc_conn *c, const uint8_t *p, size_t n)
{
	if (c->outoff > 0 && c->outlen + n > c->outcap) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 16384;

		while (cap < c->outlen + n)
			cap *= 2;
		c->out = cb_xreallocarray(c->out, cap, 1);
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	c->appended += n;
}

/* drain_wbio moves TLS records from OpenSSL's write BIO to the buffer. */
static void
drain_wbio(struct rpcc_conn *c)
{
	uint8_t buf[READ_CHUNK];
	int n;

	while (BIO_ctrl_pending(c->wbio) > 0 &&
	    (n = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
		out_append(c, buf, (size_t)n);
}

/* rpcc_conn_out_full says whether nghttp2 should stop writing for now. */
int
rpcc_conn_out_full(const struct rpcc_conn *c)
{
	return c->outlen - c->outoff >= RPCC_OUT_LIMIT;
}

/* rpcc_conn_write queues plaintext, encrypting it first under TLS. */
int
rpcc_conn_write(struct rpcc_conn *c, const uint8_t *p, size_t n)
{
	int r;

	if (c->ssl == NULL) {
		out_append(c, p, n);
		return 0;
	}
	while (n > 0) {
		r = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		if (r <= 0) {
			ERR_clear_error();
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	drain_wbio(c);
	return 0;
}

/* sock_flush sends buffered wire bytes until the socket is full. */
static int
sock_flush(struct rpcc_conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n > 0)
			c->outoff += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else
			return n < 0 ? errno : EPIPE;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	return 0;
}

/* rpcc_conn_fail ends the connection and every call still running on it. */
void
rpcc_conn_fail(struct rpcc_conn *c, int code, const char *fmt, ...)
{
	char now[RPCC_WHY], before[RPCC_WHY];
	struct rpcc_call *call;
	va_list ap;

	if (c->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(now, sizeof(now), fmt, ap);
	va_end(ap);
	/* Keep what a GOAWAY said: it explains the close that follows. */
	memcpy(before, c->why, sizeof(before));
	if (c->goaway &&
	    snprintf(c->why, sizeof(c->why), "%s; %s", before, now) < 0)
		c->why[0] = '\0';
	else if (!c->goaway)
		memcpy(c->why, now, sizeof(c->why));
	c->failed = code;
	TAILQ_FOREACH(call, &c->calls, entry) {
		rpcc_call_finish(call, RPC_STATUS_UNAVAILABLE, RPCC_ECLOSED,
		    c->why);
		rpcc_h2_forget(call);
	}
}

static void read_some(struct rpcc_conn *c);

/* flush lets nghttp2 write and sends, until either has nothing more. */
static void
flush(struct rpcc_conn *c)
{
	uint64_t before;
	int err, produced;

	while (!c->failed) {
		before = c->appended;
		if (c->ng != NULL && rpcc_h2_send(c) != 0) {
			rpcc_conn_fail(c, RPCC_EPROTO, "HTTP/2 error: %s",
			    c->h2err);
			return;
		}
		produced = c->appended != before;
		if ((err = sock_flush(c)) != 0) {
			/* The server's last words (alert, GOAWAY) say more. */
			read_some(c);
			rpcc_conn_fail(c, RPCC_ECLOSED,
			    "cannot write to the server: %s", strerror(err));
			return;
		}
		c->unflushed = 0;
		/* Stop when the socket is full or nghttp2 has nothing more. */
		if (c->outlen > c->outoff || !produced || c->ng == NULL ||
		    !nghttp2_session_want_write(c->ng))
			return;
	}
}

/* rpcc_conn_kick flushes without waiting. */
void
rpcc_conn_kick(struct rpcc_conn *c)
{
	flush(c);
}

/* feed passes received bytes through TLS (if any) to nghttp2. */
static void
feed(struct rpcc_conn *c, const uint8_t *p, size_t n)
{
	uint8_t plain[READ_CHUNK];
	char err[160];
	int r;

	if (c->ssl == NULL) {
		if (rpcc_h2_recv(c, p, n) != 0)
			rpcc_conn_fail(c, RPCC_EPROTO,
			    "HTTP/2 protocol error from the server: %s",
			    c->h2err);
		return;
	}
	if (BIO_write(c->rbio, p, (int)n) != (int)n) {
		rpcc_conn_fail(c, RPCC_ETLS, "TLS buffer failure");
		return;
	}
	while (!c->failed) {
		r = SSL_read(c->ssl, plain, sizeof(plain));
		if (r > 0) {
			if (rpcc_h2_recv(c, plain, (size_t)r) != 0)
				rpcc_conn_fail(c, RPCC_EPROTO,
				    "HTTP/2 protocol error from the server: %s",
				    c->h2err);
			continue;
		}
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			drain_wbio(c);
			return;
		case SSL_ERROR_ZERO_RETURN:
			rpcc_conn_fail(c, RPCC_ECLOSED,
			    "the server closed the TLS session");
			return;
		default:
			ERR_error_string_n(ERR_get_error(), err, sizeof(err));
			ERR_clear_error();
			rpcc_conn_fail(c, RPCC_ETLS, "TLS error: %s", err);
			return;
		}
	}
}

/* ended fails a connection whose session is over, naming the cause. */
static void
ended(struct rpcc_conn *c, const char *otherwise)
{
	if (c->h2fatal != 0)
		rpcc_conn_fail(c, RPCC_EPROTO,
		    "HTTP/2 protocol error by the server (%s): %s",
		    nghttp2_http2_strerror(c->h2fatal), c->h2err);
	else
		rpcc_conn_fail(c, RPCC_ECLOSED, "%s", otherwise);
}

/* read_some reads what the socket has, up to a bound per step. */
static void
read_some(struct rpcc_conn *c)
{
	uint8_t buf[READ_CHUNK];
	ssize_t n;

	for (int i = 0; i < READS_PER_STEP && !c->failed; i++) {
		/* nghttp2 gave up on the server: its GOAWAY goes out first. */
		if (c->ng != NULL && !nghttp2_session_want_read(c->ng))
			return;
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			feed(c, buf, (size_t)n);
			/* Frames nghttp2 owes (PING ACK, its GOAWAY) first. */
			if (!c->failed && c->ng != NULL &&
			    rpcc_h2_send(c) != 0)
				rpcc_conn_fail(c, RPCC_EPROTO,
				    "HTTP/2 error: %s", c->h2err);
		} else if (n == 0) {
			c->eof = 1;
			ended(c, "the server closed the connection");
		} else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		else
			rpcc_conn_fail(c, RPCC_ECLOSED,
			    "connection to the server failed: %s",
			    strerror(errno));
	}
}

/* poll_ms turns an absolute deadline into a poll() timeout. */
static int
poll_ms(int64_t until, int64_t now)
{
	int64_t ms;

	if (until == 0)
		return -1;
	if (until <= now)
		return 0;
	ms = (until - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* step expires deadlines, then does one round of I/O. */
static void
step(struct rpcc_conn *c, int64_t until)
{
	int64_t now = rpcc_now_ns(), next = until;
	struct rpcc_call *call;
	struct pollfd pfd;
	int expired = 0;

	TAILQ_FOREACH(call, &c->calls, entry) {
		if (rpcc_call_expire(call, now))
			expired = 1;
		else if (!call->finished && call->deadline_ns != 0 &&
		    (next == 0 || call->deadline_ns < next))
			next = call->deadline_ns;
	}
	flush(c);
	/* A call just ended: let the caller see it before waiting again. */
	if (c->failed || expired)
		return;
	/*
	 * nghttp2 reads no more once it has given up (its GOAWAY went out,
	 * as far as the socket took it) or both sides said GOAWAY and no
	 * stream is left: nothing can happen on this connection any more.
	 */
	if (!nghttp2_session_want_read(c->ng)) {
		ended(c, "the connection has ended");
		return;
	}
	pfd.fd = c->fd;
	pfd.events = POLLIN | (c->outlen > c->outoff ? POLLOUT : 0);
	pfd.revents = 0;
	if (poll(&pfd, 1, poll_ms(next, now)) < 0 && errno != EINTR) {
		rpcc_conn_fail(c, RPCC_ECLOSED, "poll: %s", strerror(errno));
		return;
	}
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
		read_some(c);
	flush(c);
	if (!c->failed && !nghttp2_session_want_read(c->ng))
		ended(c, "the connection has ended");
}

/* deliver runs the callbacks of finished non-blocking calls. */
static int
deliver(struct rpcc_conn *c)
{
	struct rpcc_call *call;
	int n = 0;

	while ((call = TAILQ_FIRST(&c->done)) != NULL) {
		TAILQ_REMOVE(&c->done, call, done_entry);
		call->done(&call->res, call->arg);
		rpcc_call_free(call);
		n++;
	}
	return n;
}

/* rpcc_conn_wait steps until done(arg), failure or until_ns. */
int
rpcc_conn_wait(struct rpcc_conn *c, int (*done)(void *arg), void *arg,
    int64_t until_ns)
{
	for (;;) {
		deliver(c);
		if (done(arg))
			return 0;
		if (c->failed)
			return c->failed;
		if (until_ns != 0 && rpcc_now_ns() >= until_ns)
			return CB_EBUSY;
		step(c, until_ns);
	}
}

/* rpcc_pump steps until a call finished or the time is up. */
int
rpcc_pump(struct rpcc_conn *c, int timeout_ms)
{
	int64_t until = timeout_ms < 0 ? 0 :
	    rpcc_now_ns() + (int64_t)timeout_ms * 1000000;
	int n = deliver(c);

	while (n == 0 && !c->failed) {
		/* Idle with no time limit: nothing could ever end the wait. */
		if (until == 0 && c->pending == 0 && c->outlen == c->outoff &&
		    !nghttp2_session_want_write(c->ng))
			break;
		step(c, until);
		n += deliver(c);
		if (until != 0 && rpcc_now_ns() >= until)
			break;
	}
	/* Send what the callbacks started. */
	flush(c);
	n += deliver(c);
	if (n == 0 && c->failed)
		return RPCC_ECLOSED;
	return n;
}

/* wait_fd polls the socket for events until the deadline; 0 on time-out. */
static int
wait_fd(int fd, short events, int64_t until)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	do {
		n = poll(&pfd, 1, poll_ms(until, rpcc_now_ns()));
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : n == 0 ? 0 : pfd.revents;
}

/* handshake runs the TLS handshake to the end, or to a clear failure. */
static int
handshake(struct rpcc_conn *c, int64_t until, unsigned timeout_ms)
{
	const unsigned char *alpn;
	unsigned int alpnlen;
	uint8_t buf[READ_CHUNK];
	int r, e, eof = 0, ev;
	ssize_t n;

	for (;;) {
		r = SSL_do_handshake(c->ssl);
		drain_wbio(c);
		/* Best effort: an alert we could not send changes nothing. */
		(void)sock_flush(c);
		if (r == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return rpcc_tls_judge(c, r);
		if (eof) {
			snprintf(c->why, sizeof(c->why),
			    "TLS handshake failed: the server closed the "
			    "connection");
			return RPCC_ETLS;
		}
		ev = wait_fd(c->fd,
		    POLLIN | (c->outlen > c->outoff ? POLLOUT : 0), until);
		if (ev == 0) {
			snprintf(c->why, sizeof(c->why),
			    "TLS handshake timed out after %u ms", timeout_ms);
			return RPCC_ETIMEDOUT;
		}
		while (ev > 0) {
			n = recv(c->fd, buf, sizeof(buf), 0);
			if (n > 0)
				BIO_write(c->rbio, buf, (int)n);
			else if (n == 0)
				eof = 1;
			else if (errno == EINTR)
				continue;
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				ev = -1;
			if (n <= 0)
				break;
		}
		if (ev < 0) {
			snprintf(c->why, sizeof(c->why),
			    "TLS handshake failed: %s", strerror(errno));
			return RPCC_ETLS;
		}
	}
	SSL_get0_alpn_selected(c->ssl, &alpn, &alpnlen);
	if (!rpc_tls_alpn_ok(c->ssl)) {
		snprintf(c->why, sizeof(c->why),
		    "the server did not negotiate ALPN h2 (it chose %s%.*s%s)",
		    alpnlen ? "\"" : "none", (int)alpnlen, (const char *)alpn,
		    alpnlen ? "\"" : "");
		return RPCC_EALPN;
	}
	return 0;
}

/* dial connects to one of host's addresses before the deadline. */
static int
dial(const char *host, uint16_t port, int64_t until, char *why,
    size_t whylen, int *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL, *ai;
	char service[8];
	int fd = -1, err = 0, refused = 0, timedout = 0, gai, ev;
	socklen_t len;

	snprintf(service, sizeof(service), "%u", port);
	if ((gai = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
		    gai_strerror(gai));
		return RPCC_ERESOLVE;
	}
	for (ai = res; ai != NULL && !timedout; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			if ((ev = wait_fd(fd, POLLOUT, until)) == 0) {
				timedout = 1;
				err = ETIMEDOUT;
			} else {
				len = sizeof(err);
				if (ev < 0 || getsockopt(fd, SOL_SOCKET,
						  SO_ERROR, &err, &len) != 0)
					err = errno;
				if (err == 0)
					break;
			}
		}
		refused |= err == ECONNREFUSED;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	snprintf(why, whylen, "cannot connect to %s port %u: %s", host, port,
	    strerror(err));
	return timedout ? RPCC_ETIMEDOUT : refused ? RPCC_EREFUSED
						   : RPCC_ECONNECT;
}

/* conn_free releases a connection without a word to the server. */
static void
conn_free(struct rpcc_conn *c)
{
	if (c->ng != NULL)
		nghttp2_session_del(c->ng);
	if (c->ssl != NULL)
		SSL_free(c->ssl); /* and its BIOs */
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	free(c->authority);
	free(c->user_agent);
	free(c);
}

/* is_ready says whether the server's SETTINGS arrived. */
static int
is_ready(void *arg)
{
	return ((struct rpcc_conn *)arg)->ready;
}

/* report copies a failed open's reason to the caller's buffer. */
static void
report(const struct rpcc_options *o, const char *why)
{
	if (o->errbuf != NULL && o->errbuf_size > 0)
		snprintf(o->errbuf, o->errbuf_size, "%s", why);
}

/* authority builds ":authority" from host and port (0: host alone). */
static char *
authority(const struct rpcc_options *o, const char *host, uint16_t port)
{
	if (o->authority != NULL)
		return cb_xstrdup(o->authority);
	if (port == 0)
		return cb_xstrdup(host);
	if (strchr(host, ':') != NULL)
		return cb_xasprintf("[%s]:%u", host, port);
	return cb_xasprintf("%s:%u", host, port);
}

/* start sets up TLS and HTTP/2 on a connected socket; closes it on failure. */
static int
start(int fd, const char *host, uint16_t port, const struct rpcc_tls *tls,
    const struct rpcc_options *o, int64_t until, struct rpcc_conn **out)
{
	struct rpcc_conn *c = cb_xcalloc(1, sizeof(*c));
	int one = 1, flags, rc;

	c->fd = fd;
	c->https = tls != NULL;
	c->max_recv = o->max_recv_message;
	c->max_send = o->max_send_message;
	c->max_metadata = o->max_metadata;
	c->window = o->window_size;
	c->budget.limit = o->max_conn_buffer;
	c->authority = authority(o, host, port);
	c->user_agent = cb_xstrdup(o->user_agent ? o->user_agent : DEFAULT_UA);
	TAILQ_INIT(&c->calls);
	TAILQ_INIT(&c->done);
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(c->why, sizeof(c->why), "fcntl: %s", strerror(errno));
		rc = RPCC_ECONNECT;
		goto fail;
	}
	/* Small frames must not wait for Nagle; fails harmlessly on AF_UNIX. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!visible(c->authority)) {
		snprintf(c->why, sizeof(c->why), "bad host name");
		rc = CB_EINVAL;
		goto fail;
	}
	if (tls != NULL &&
	    ((rc = rpcc_tls_setup(c, tls,
		  tls->server_name ? tls->server_name : host)) != 0 ||
		(rc = handshake(c, until, o->connect_timeout_ms)) != 0))
		goto fail;
	if ((rc = rpcc_h2_new(c)) != 0) {
		snprintf(c->why, sizeof(c->why), "cannot start HTTP/2");
		goto fail;
	}
	rc = rpcc_conn_wait(c, is_ready, c, until);
	if (rc == CB_EBUSY) {
		snprintf(c->why, sizeof(c->why),
		    "no HTTP/2 SETTINGS from the server within %u ms",
		    o->connect_timeout_ms);
		rc = RPCC_ETIMEDOUT;
	} else if (rc == RPCC_ECLOSED && c->ssl != NULL) {
		/*
		 * It agreed to h2, then hung up: under TLS 1.3 that is how a
		 * server refuses the client's certificate without an alert.
		 */
		snprintf(c->why, sizeof(c->why), "the server closed the "
		    "connection after the TLS handshake, before its HTTP/2 "
		    "SETTINGS (client certificate refused?)");
		rc = RPCC_ETLS;
	} else if (rc == RPCC_ECLOSED) {
		snprintf(c->why, sizeof(c->why), "the server closed the "
		    "connection before its HTTP/2 SETTINGS (not HTTP/2?)");
		rc = RPCC_EPROTO;
	}
	if (rc != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	if (c->why[0] == '\0')
		snprintf(c->why, sizeof(c->why), "%s", rpcc_strerror(rc));
	report(o, c->why);
	conn_free(c);
	return rc;
}

/* rpcc_conn_open connects with the default options. */
int
rpcc_conn_open(const char *host, uint16_t port, const struct rpcc_tls *tls,
    struct rpcc_conn **out)
{
	return rpcc_conn_open_opts(host, port, tls, NULL, out);
}

/* rpcc_conn_open_opts resolves, connects and sets up one connection. */
int
rpcc_conn_open_opts(const char *host, uint16_t port,
    const struct rpcc_tls *tls, const struct rpcc_options *opts,
    struct rpcc_conn **out)
{
	struct rpcc_options o;
	char why[RPCC_WHY];
	int64_t until;
	int fd, rc;

	if (opts != NULL)
		o = *opts;
	else
		rpcc_options_init(&o);
	if (host == NULL || !visible(host) || port == 0 || out == NULL ||
	    !options_ok(&o)) {
		report(&o, "invalid argument");
		return CB_EINVAL;
	}
	until = rpcc_now_ns() + (int64_t)o.connect_timeout_ms * 1000000;
	if ((rc = dial(host, port, until, why, sizeof(why), &fd)) != 0) {
		report(&o, why);
		return rc;
	}
	return start(fd, host, port, tls, &o, until, out);
}

/* rpcc_conn_adopt sets up a connection on a socket the caller connected. */
int
rpcc_conn_adopt(int fd, const char *host, const struct rpcc_tls *tls,
    const struct rpcc_options *opts, struct rpcc_conn **out)
{
	struct rpcc_options o;

	if (opts != NULL)
		o = *opts;
	else
		rpcc_options_init(&o);
	if (fd < 0 || host == NULL || !visible(host) || out == NULL ||
	    !options_ok(&o)) {
		if (fd >= 0)
			close(fd);
		report(&o, "invalid argument");
		return CB_EINVAL;
	}
	return start(fd, host, 0, tls, &o,
	    rpcc_now_ns() + (int64_t)o.connect_timeout_ms * 1000000, out);
}

/* rpcc_conn_close cancels what is left, says GOAWAY and frees c. */
void
rpcc_conn_close(struct rpcc_conn *c)
{
	struct rpcc_call *call;

	if (c == NULL)
		return;
	TAILQ_FOREACH(call, &c->calls, entry) {
		rpcc_call_finish(call, RPC_STATUS_CANCELLED, RPCC_ECANCELLED,
		    "connection closed by the client");
		rpcc_h2_forget(call);
	}
	deliver(c);
	if (!c->failed) {
		rpcc_h2_goaway(c);
		flush(c);
		if (c->ssl != NULL && !c->failed) {
			SSL_shutdown(c->ssl);
			drain_wbio(c);
			(void)sock_flush(c);
		}
	}
	/* Streams the caller still holds outlive the connection. */
	while ((call = TAILQ_FIRST(&c->calls)) != NULL) {
		TAILQ_REMOVE(&c->calls, call, entry);
		call->conn = NULL;
		call->id = 0;
	}
	conn_free(c);
}

/* rpcc_conn_fd returns the socket. */
int
rpcc_conn_fd(const struct rpcc_conn *c)
{
	return c->fd;
}

/* rpcc_conn_events returns what poll() should wait for. */
short
rpcc_conn_events(const struct rpcc_conn *c)
{
	if (c->failed)
		return 0;
	return POLLIN |
	    (c->outlen > c->outoff || c->unflushed ? POLLOUT : 0);
}

/* rpcc_conn_error says why the connection failed or drains, or NULL. */
const char *
rpcc_conn_error(const struct rpcc_conn *c)
{
	return c->failed || c->draining ? c->why : NULL;
}

/* rpcc_conn_pending counts unfinished calls. */
size_t
rpcc_conn_pending(const struct rpcc_conn *c)
{
	return c->pending;
}
