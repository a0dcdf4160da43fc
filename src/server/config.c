/*
 * carebankd's configuration: a file of "key = value" lines ('#' starts a
 * comment), the same settings as the command-line flags, which win. The
 * checks here are the ones `carebankd check-config` reports: every value
 * parses and is in range, cleartext listens only on loopback, the metrics
 * port is loopback only, and the TLS files load (checkconf.c adds the
 * data directory).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "carebank/file.h"
#include "carebank/hostport.h"
#include "carebank/xalloc.h"
#include "srv.h"

#define CONFIG_MAX (64 * 1024)

/* srv_config_defaults fills the defaults. */
void
srv_config_defaults(struct srv_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_batch = 1024;
	c->time_window_ms = 5 * 60 * 1000;
	c->drain_ms = 10000;
	c->max_message = 4u << 20;
	c->max_buffered = 64u << 20;
}

/* srv_config_free frees the strings. */
void
srv_config_free(struct srv_config *c)
{
	free(c->data);
	for (int i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->client_ca);
	free(c->metrics);
	free(c->port_file);
}

/* parse_u64 reads a decimal in [lo, hi]. */
static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* set_string replaces a string setting. */
static void
set_string(char **dst, const char *v)
{
	free(*dst);
	*dst = cb_xstrdup(v);
}

/*
 * srv_config_set applies one setting; used for file lines and flags alike.
 * Returns 0, or -1 with a message in err.
 */
static int
config_set(struct srv_config *c, const char *key, const char *v, char *err,
    size_t errlen)
{
	uint64_t n;

	if (strcmp(key, "data") == 0) {
		set_string(&c->data, v);
	} else if (strcmp(key, "listen") == 0) {
		if (c->nlisten == SRV_MAX_LISTEN) {
			snprintf(err, errlen, "at most %d listen addresses",
			    SRV_MAX_LISTEN);
			return -1;
		}
		c->listen[c->nlisten++] = cb_xstrdup(v);
	} else if (strcmp(key, "tls-cert") == 0) {
		set_string(&c->tls_cert, v);
	} else if (strcmp(key, "tls-key") == 0) {
		set_string(&c->tls_key, v);
	} else if (strcmp(key, "client-ca") == 0) {
		set_string(&c->client_ca, v);
	} else if (strcmp(key, "metrics") == 0) {
		set_string(&c->metrics, v);
	} else if (strcmp(key, "port-file") == 0) {
		set_string(&c->port_file, v);
	} else if (strcmp(key, "workers") == 0) {
		if (parse_u64(v, 0, 256, &n) != 0)
			goto range;
		c->workers = (unsigned)n;
	} else if (strcmp(key, "max-batch") == 0) {
		if (parse_u64(v, 1, 65536, &n) != 0)
			goto range;
		c->max_batch = (unsigned)n;
	} else if (strcmp(key, "time-window-ms") == 0) {
		if (parse_u64(v, 1000, 24 * 3600 * 1000ull, &n) != 0)
			goto range;
		c->time_window_ms = (int64_t)n;
	} else if (strcmp(key, "drain-ms") == 0) {
		if (parse_u64(v, 0, 600000, &n) != 0)
			goto range;
		c->drain_ms = (unsigned)n;
	} else if (strcmp(key, "map-size-mb") == 0) {
		if (parse_u64(v, 1, 1u << 24, &n) != 0)
			goto range;
		c->map_size = n << 20;
	} else if (strcmp(key, "buffers-mb") == 0) {
		if (parse_u64(v, 1, 1u << 20, &n) != 0)
			goto range;
		c->max_buffered = (size_t)n << 20;
	} else if (strcmp(key, "max-message-bytes") == 0) {
		if (parse_u64(v, 1024, 64u << 20, &n) != 0)
			goto range;
		c->max_message = (size_t)n;
	} else {
		snprintf(err, errlen, "unknown setting \"%s\"", key);
		return -1;
	}
	return 0;
range:
	snprintf(err, errlen, "%s: \"%s\" is not a number in range", key, v);
	return -1;
}

/* trim strips leading and trailing blanks in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A key the file has set, and where: a second setting is a mistake. */
struct seen {
	const char *key;
	int line;
};

/* seen_at returns the line that set key, or 0. */
static int
seen_at(const struct seen *seen, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(seen[i].key, key) == 0)
			return seen[i].line;
	return 0;
}

/*
 * cut_comment ends a line at its comment: a '#' that starts the line or
 * follows a space or tab. One inside a value ("data = /srv/cb#2") is
 * the value's.
 */
static void
cut_comment(char *line)
{
	for (char *p = line; *p != '\0'; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

/* srv_config_file reads a configuration file over c. */
int
srv_config_file(struct srv_config *c, const char *path, char *err,
    size_t errlen)
{
	uint8_t *buf;
	size_t len;
	char *line, *next, msg[160];
	struct seen seen[64];
	size_t nseen = 0;
	int rc, lineno = 0, at;

	if ((rc = cb_file_read(path, CONFIG_MAX, &buf, &len)) != 0) {
		snprintf(err, errlen, "%s: %s", path, cb_strerror(rc));
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: not a text file", path);
		free(buf);
		return -1;
	}
	/* Line by line, blank ones counted too, so errors name the line. */
	for (line = (char *)buf; line != NULL; line = next) {
		char *eq, *key, *val;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		cut_comment(line);
		line = trim(line);
		if (*line == '\0')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			    path, lineno);
			free(buf);
			return -1;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (strcmp(key, "listen") != 0 &&
		    (at = seen_at(seen, nseen, key)) != 0) {
			snprintf(err, errlen, "%s:%d: %s is set on line %d already",
			    path, lineno, key, at);
			free(buf);
			return -1;
		}
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = (struct seen){key, lineno};
		if (config_set(c, key, val, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

/* srv_config_flag applies a command-line setting. */
int
srv_config_flag(struct srv_config *c, const char *key, const char *v,
    char *err, size_t errlen)
{
	return config_set(c, key, v, err, errlen);
}

/*
 * srv_config_parse_addr splits HOST:PORT or [V6]:PORT, where HOST is an
 * IPv4 or IPv6 address or localhost: the listener binds numeric addresses
 * only, so a name is refused here rather than when serving.
 */
int
srv_config_parse_addr(const char *s, char *host, size_t hostlen,
    uint16_t *port)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (cb_hostport_split(s, host, hostlen, port) != 0)
		return -1;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, hostlen, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a4) != 1 &&
	    inet_pton(AF_INET6, host, &a6) != 1)
		return -1;
	return 0;
}

/*
 * same_socket says whether two addresses (as srv_config_parse_addr takes
 * them) would bind the same port where one would refuse the other: the
 * same address, or a wildcard of it ("::" takes IPv4 too). Port 0 is any
 * free port, never a clash.
 */
static int
same_socket(const char *a, const char *b)
{
	char ha[64], hb[64];
	uint8_t xa[16], xb[16];
	uint16_t pa, pb;
	int fa, fb;

	if (srv_config_parse_addr(a, ha, sizeof(ha), &pa) != 0 ||
	    srv_config_parse_addr(b, hb, sizeof(hb), &pb) != 0 || pa != pb ||
	    pa == 0)
		return 0;
	if (strcmp(ha, "::") == 0 || strcmp(hb, "::") == 0)
		return 1;
	fa = inet_pton(AF_INET, ha, xa) == 1 ? AF_INET : AF_INET6;
	fb = inet_pton(AF_INET, hb, xb) == 1 ? AF_INET : AF_INET6;
	if (fa != fb)
		return 0;
	if (fa == AF_INET6 && (inet_pton(AF_INET6, ha, xa) != 1 ||
				  inet_pton(AF_INET6, hb, xb) != 1))
		return 0;
	if (fa == AF_INET &&
	    (strcmp(ha, "0.0.0.0") == 0 || strcmp(hb, "0.0.0.0") == 0))
		return 1;
	return memcmp(xa, xb, fa == AF_INET ? 4 : 16) == 0;
}

/* clash finds two of the listen and metrics addresses that would clash. */
static int
clash(const struct srv_config *c, char *err, size_t errlen)
{
	const char *all[SRV_MAX_LISTEN + 1];
	int n = 0;

	for (int i = 0; i < c->nlisten; i++)
		all[n++] = c->listen[i];
	if (c->metrics != NULL)
		all[n++] = c->metrics;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (same_socket(all[i], all[j])) {
				snprintf(err, errlen,
				    "%s %s and %s %s are the same port: the "
				    "server could not listen on both",
				    i < c->nlisten ? "listen" : "metrics",
				    all[i],
				    j < c->nlisten ? "listen" : "metrics",
				    all[j]);
				return -1;
			}
	return 0;
}

/* port_file_dir_ok says whether the port file's directory is there. */
static int
port_file_dir_ok(const char *path, char *err, size_t errlen)
{
	char *dir = cb_xstrdup(path), *slash = strrchr(dir, '/');
	struct stat st;
	int ok;

	if (slash == NULL) {
		free(dir);
		return 0;
	}
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	if (!ok)
		snprintf(err, errlen, "port-file %s: its directory %s is not "
				      "there",
		    path, dir);
	free(dir);
	return ok ? 0 : -1;
}

/* srv_config_check validates the whole configuration. */
int
srv_config_check(const struct srv_config *c, char *err, size_t errlen)
{
	char host[64];
	uint16_t port;
	int tls = c->tls_cert != NULL || c->tls_key != NULL;

	if (c->data == NULL) {
		snprintf(err, errlen, "no data directory (--data)");
		return -1;
	}
	if (c->nlisten == 0) {
		snprintf(err, errlen, "no listen address (--listen HOST:PORT)");
		return -1;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		snprintf(err, errlen, "TLS needs both --tls-cert and --tls-key");
		return -1;
	}
	if (c->client_ca != NULL && !tls) {
		snprintf(err, errlen, "--client-ca needs TLS");
		return -1;
	}
	if (tls) {
		struct rpc_tls t = {c->tls_cert, c->tls_key, c->client_ca,
		    c->client_ca != NULL};

		if (rpc_tls_check(&t, err, errlen) != 0)
			return -1;
	}
	for (int i = 0; i < c->nlisten; i++) {
		if (srv_config_parse_addr(c->listen[i], host, sizeof(host),
			&port) != 0) {
			snprintf(err, errlen,
			    "listen address \"%s\" is not HOST:PORT (HOST: "
			    "an IPv4 or IPv6 address, or localhost)",
			    c->listen[i]);
			return -1;
		}
		if (!tls && !cb_host_is_loopback(host)) {
			snprintf(err, errlen,
			    "%s is not loopback: cleartext is only allowed on "
			    "loopback; give --tls-cert and --tls-key",
			    c->listen[i]);
			return -1;
		}
	}
	if (c->max_buffered < c->max_message) {
		snprintf(err, errlen,
		    "buffers-mb (%zu MiB) must hold at least one message of "
		    "max-message-bytes (%zu)", c->max_buffered >> 20,
		    c->max_message);
		return -1;
	}
	if (c->metrics != NULL &&
	    (srv_config_parse_addr(c->metrics, host, sizeof(host), &port) !=
		    0 ||
		!cb_host_is_loopback(host))) {
		snprintf(err, errlen,
		    "metrics address \"%s\" must be loopback HOST:PORT",
		    c->metrics);
		return -1;
	}
	if (clash(c, err, errlen) != 0)
		return -1;
	if (c->port_file != NULL &&
	    port_file_dir_ok(c->port_file, err, errlen) != 0)
		return -1;
	return 0;
}
