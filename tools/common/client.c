/*
 * The client programs' shared connection and signing (see client.h).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/rand.h>

#include "carebank/call.h"
#include "carebank/codec.h"
#include "carebank/file.h"
#include "carebank/hostport.h"
#include "carebank/xalloc.h"
#include "client.h"

#define CONFIG_MAX 8192
#define VKEY_FILE_MAX 4096
#define DEFAULT_TIMEOUT_MS 30000

struct cbt {
	struct rpcc_conn *conn; /* NULL until connected, or after a failure */
	struct cb_key *key;
	char centre[64];
	struct cb_vkey vkey;
	int has_vkey;
	unsigned timeout_ms, connect_timeout_ms;
	char host[256];
	uint16_t port;
	char *server, *ca, *cert, *cert_key; /* copies, for reconnecting */
};

/* env_or keeps a value, or takes it from the environment. */
static void
env_or(const char **v, const char *name)
{
	const char *e;

	if (*v == NULL && (e = getenv(name)) != NULL && *e != '\0')
		*v = e;
}

/* config_path names the client's config file (caller frees). */
static char *
config_path(void)
{
	const char *p = getenv("CAREBANK_CONFIG"), *home = getenv("HOME");

	if (p != NULL && *p != '\0')
		return cb_xstrdup(p);
	if (home == NULL || *home == '\0')
		return NULL;
	return cb_xasprintf("%s/.config/carebank/client.conf", home);
}

/* apply_line takes one "key = value" line for fields still unset. */
static int
apply_line(struct cbt_opts *o, char *line)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{"server", offsetof(struct cbt_opts, server)},
		{"key", offsetof(struct cbt_opts, key)},
		{"centre", offsetof(struct cbt_opts, centre)},
		{"ca", offsetof(struct cbt_opts, ca)},
		{"cert", offsetof(struct cbt_opts, cert)},
		{"cert-key", offsetof(struct cbt_opts, cert_key)},
		{"vkey", offsetof(struct cbt_opts, vkey)},
	};
	char *eq = strchr(line, '='), *k = line, *v, *e;

	_Static_assert(sizeof(keys) / sizeof(keys[0]) <=
		sizeof(o->owned) / sizeof(o->owned[0]),
	    "a config value per key fits in owned");
	if (eq == NULL)
		return -1;
	*eq = '\0';
	v = eq + 1;
	while (*k == ' ' || *k == '\t')
		k++;
	for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
		e[-1] = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t' ||
					     e[-1] == '\r');
	     e--)
		e[-1] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char **f = (const char **)((char *)o + keys[i].off);

		if (strcmp(k, keys[i].name) == 0) {
			if (*f == NULL)
				*f = o->owned[i] = cb_xstrdup(v);
			return 0;
		}
	}
	return o->extra != NULL ? o->extra(o->extra_arg, k, v) : -1;
}

/* cbt_settings completes o from the environment and the config file. */
int
cbt_settings(struct cbt_opts *o, char *err, size_t errlen)
{
	char *path, *line, *save = NULL;
	uint8_t *buf;
	size_t len;
	int rc, n = 0;

	env_or(&o->server, "CAREBANK_SERVER");
	env_or(&o->key, "CAREBANK_KEY");
	env_or(&o->centre, "CAREBANK_CENTRE");
	env_or(&o->ca, "CAREBANK_CA");
	env_or(&o->cert, "CAREBANK_CERT");
	env_or(&o->cert_key, "CAREBANK_CERT_KEY");
	env_or(&o->vkey, "CAREBANK_VKEY");
	if ((path = config_path()) == NULL)
		return 0;
	rc = cb_file_read(path, CONFIG_MAX, &buf, &len);
	if (rc == CB_ENOTFOUND) {
		free(path);
		return 0;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, cb_strerror(rc));
		free(path);
		return -1;
	}
	for (line = strtok_r((char *)buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#');

		n++;
		if (hash != NULL)
			*hash = '\0';
		if (strspn(line, " \t\r") == strlen(line))
			continue;
		if (apply_line(o, line) != 0) {
			snprintf(err, errlen, "%s:%d: expected a known setting "
					      "(server, key, centre, ca, cert, "
					      "cert-key, vkey, ...) = value",
			    path, n);
			free(buf);
			free(path);
			return -1;
		}
	}
	free(buf);
	free(path);
	return 0;
}

/* cbt_opts_free frees what the config file gave. */
void
cbt_opts_free(struct cbt_opts *o)
{
	for (size_t i = 0; i < sizeof(o->owned) / sizeof(o->owned[0]); i++) {
		free(o->owned[i]);
		o->owned[i] = NULL;
	}
}

/* split_addr splits HOST:PORT or [V6]:PORT; a client needs a port. */
static int
split_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	return cb_hostport_split(s, host, hostlen, port) != 0 || *port == 0 ?
		   -1 :
		   0;
}

/* dup_or_null copies an optional string. */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? cb_xstrdup(s) : NULL;
}

/* private_file says whether path is a regular file only its owner may
 * read, as a private key's file must be (the signing key's is checked the
 * same way when it is loaded). */
static bool
private_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (st.st_mode & 077) == 0;
}

/* cbt_open loads the key and, unless lazy, connects to the server. */
int
cbt_open(const struct cbt_opts *o, struct cbt **out, char *err,
    size_t errlen)
{
	struct cbt *c;
	int rc;

	if (o->server == NULL || o->key == NULL || o->centre == NULL) {
		snprintf(err, errlen, "say which %s (flag, CAREBANK_%s, or the "
				      "config file)",
		    o->server == NULL ? "server" :
		    o->key == NULL    ? "key file" :
					"centre",
		    o->server == NULL ? "SERVER" :
		    o->key == NULL    ? "KEY" :
					"CENTRE");
		return -1;
	}
	c = cb_xcalloc(1, sizeof(*c));
	if (split_addr(o->server, c->host, sizeof(c->host), &c->port) != 0) {
		snprintf(err, errlen, "server \"%s\" is not HOST:PORT",
		    o->server);
		free(c);
		return -1;
	}
	snprintf(c->centre, sizeof(c->centre), "%s", o->centre);
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->connect_timeout_ms = o->connect_timeout_ms;
	if (o->vkey != NULL) {
		if (cbt_vkey_read(o->vkey, &c->vkey, err, errlen) != 0) {
			free(c);
			return -1;
		}
		c->has_vkey = 1;
	}
	if ((rc = cb_key_load(o->key, &c->key)) != 0) {
		snprintf(err, errlen, "key %s: %s%s", o->key, cb_strerror(rc),
		    rc == CB_EPERM ? " (only its owner may read it: chmod 600)" :
				     "");
		free(c);
		return -1;
	}
	if (o->cert_key != NULL && !private_file(o->cert_key)) {
		snprintf(err, errlen, "cert-key %s: others may read it, or it "
				      "is not a file (chmod 600)",
		    o->cert_key);
		cb_key_free(c->key);
		free(c);
		return -1;
	}
	c->server = cb_xstrdup(o->server);
	c->ca = dup_or_null(o->ca);
	c->cert = dup_or_null(o->cert);
	c->cert_key = dup_or_null(o->cert_key);
	if (!o->lazy && cbt_connect(c, err, errlen) != 0) {
		cbt_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* drop closes a failed connection so the next call opens another. */
static void
drop(struct cbt *c)
{
	rpcc_conn_close(c->conn);
	c->conn = NULL;
}

#define LOOPBACK_MAX 4 /* addresses of a loopback name tried in turn */

/*
 * loopback_at says whether every address host resolves to is this
 * machine's loopback, and gives the first few, numeric, in addr (*n of
 * them): the ones to connect to, in order, so that no second lookup can
 * lead elsewhere ("localhost" may be ::1 first, a server on 127.0.0.1).
 */
static bool
loopback_at(const char *host, char addr[][INET6_ADDRSTRLEN], size_t *n)
{
	struct addrinfo hints, *res, *p;
	bool all = true;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	*n = 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	for (p = res; p != NULL && all; p = p->ai_next) {
		char num[INET6_ADDRSTRLEN];

		all = getnameinfo(p->ai_addr, p->ai_addrlen, num, sizeof(num),
			  NULL, 0, NI_NUMERICHOST) == 0 &&
		    cb_host_is_loopback(num);
		if (all && *n < LOOPBACK_MAX)
			memcpy(addr[(*n)++], num, sizeof(num));
	}
	freeaddrinfo(res);
	return all && *n > 0;
}

/* cbt_connect opens a connection unless a healthy one is open. */
int
cbt_connect(struct cbt *c, char *err, size_t errlen)
{
	struct rpcc_tls tls = {c->ca, c->cert, c->cert_key, NULL};
	char addr[LOOPBACK_MAX][INET6_ADDRSTRLEN];
	bool mine = c->cert != NULL || c->cert_key != NULL, plain;
	struct rpcc_options ro;
	char why[256] = "", first[256] = "";
	const char *hint = "";
	size_t n = 0;
	int rc;

	/* A pump without waiting notices a server that has gone away. */
	if (c->conn != NULL &&
	    (rpcc_pump(c->conn, 0) < 0 || rpcc_conn_error(c->conn) != NULL))
		drop(c);
	if (c->conn != NULL)
		return 0;
	/* Cleartext only to this machine, and never with a certificate of
	 * ours to show: elsewhere TLS, checked with the CA file given or the
	 * system's. */
	plain = c->ca == NULL && !mine && loopback_at(c->host, addr, &n);
	rpcc_options_init(&ro);
	ro.errbuf = why;
	ro.errbuf_size = sizeof(why);
	if (c->connect_timeout_ms != 0)
		ro.connect_timeout_ms = c->connect_timeout_ms;
	rc = CB_EINVAL;
	for (size_t i = 0; plain && i < n && rc != 0; i++) {
		why[0] = '\0';
		rc = rpcc_conn_open_opts(addr[i], c->port, NULL, &ro, &c->conn);
		/* Say why the first address that answered failed, not that a
		 * later one refused. */
		if (rc != 0 && (first[0] == '\0' ||
				   strstr(first, "cannot connect") != NULL))
			memcpy(first, why, sizeof(first));
	}
	if (!plain) {
		rc = rpcc_conn_open_opts(c->host, c->port, &tls, &ro, &c->conn);
		memcpy(first, why, sizeof(first));
	}
	if (rc == 0)
		return 0;
	c->conn = NULL;
	if (!plain && c->ca == NULL && strstr(first, "TLS") != NULL)
		hint = mine && loopback_at(c->host, addr, &n) ?
		    " (TLS, since a client certificate was given)" :
		    " (TLS, as to any server off loopback: a cleartext "
		    "carebankd on this machine is reached at 127.0.0.1)";
	snprintf(err, errlen, "cannot reach %s: %s%s", c->server,
	    first[0] ? first : rpcc_strerror(rc), hint);
	return -1;
}

/* cbt_close closes and frees. */
void
cbt_close(struct cbt *c)
{
	if (c == NULL)
		return;
	rpcc_conn_close(c->conn);
	cb_key_free(c->key);
	free(c->server);
	free(c->ca);
	free(c->cert);
	free(c->cert_key);
	free(c);
}

/* cbt_centre returns the centre. */
const char *
cbt_centre(const struct cbt *c)
{
	return c->centre;
}

/* cbt_key returns the signing key. */
const struct cb_key *
cbt_key(const struct cbt *c)
{
	return c->key;
}

/* cbt_vkey returns the pinned verifier key, if one was given. */
const struct cb_vkey *
cbt_vkey(const struct cbt *c)
{
	return c->has_vkey ? &c->vkey : NULL;
}

/* cbt_vkey_read reads a verifier key line, or a file holding one. */
int
cbt_vkey_read(const char *arg, struct cb_vkey *vk, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (cb_vkey_parse(arg, strlen(arg), vk) == 0)
		return 0;
	if ((rc = cb_file_read(arg, VKEY_FILE_MAX, &buf, &len)) != 0) {
		snprintf(err, errlen, "verifier key %s is neither a key line "
				      "(name+hex8+base64) nor a readable file "
				      "(%s)",
		    arg, cb_strerror(rc));
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	rc = cb_vkey_parse((const char *)buf, len, vk);
	free(buf);
	if (rc != 0) {
		snprintf(err, errlen, "%s does not hold a verifier key line "
				      "(name+hex8+base64, as carebankd init "
				      "printed it)",
		    arg);
		return -1;
	}
	return 0;
}

/* now_ms reads the wall clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* cbt_sign fills the metadata that signs a call as key for centre. */
int
cbt_sign(struct cbt_signed *s, const struct cb_key *key, const char *centre,
    const char *method, int64_t time_ms, const uint8_t *req, size_t len)
{
	uint8_t kid[CB_KEY_ID_LEN];
	int rc;

	cb_key_id(key, kid);
	cb_hex_encode(kid, CB_KEY_ID_LEN, s->kid);
	snprintf(s->time, sizeof(s->time), "%lld", (long long)time_ms);
	if ((rc = cb_call_sign(key, method, time_ms, req, len, s->sig)) != 0)
		return rc;
	s->md[0] = (struct rpc_md){"carebank-key", (const uint8_t *)s->kid,
	    strlen(s->kid)};
	s->md[1] = (struct rpc_md){"carebank-time", (const uint8_t *)s->time,
	    strlen(s->time)};
	s->md[2] = (struct rpc_md){"carebank-signature-bin", s->sig,
	    sizeof(s->sig)};
	s->md[3] = (struct rpc_md){"carebank-centre",
	    (const uint8_t *)centre, strlen(centre)};
	return 0;
}

/* cbt_call_bytes signs and sends serialized request bytes. */
int
cbt_call_bytes(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, struct cbt_reply *r)
{
	struct cbt_signed s;
	int rc;

	if ((rc = cbt_sign(&s, c->key, c->centre, method, now_ms(), req,
		 len)) != 0) {
		memset(r, 0, sizeof(*r));
		r->status = 13; /* INTERNAL */
		snprintf(r->message, sizeof(r->message), "signing failed: %s",
		    cb_strerror(rc));
		return r->status;
	}
	return cbt_call_md(c, method, req, len, s.md, 4, r);
}

/* cbt_call_md sends request bytes with the metadata given. */
int
cbt_call_md(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, const struct rpc_md *md, size_t nmd, struct cbt_reply *r)
{
	struct rpcc_request rq = {method, req, len, md, nmd, c->timeout_ms};
	struct rpcc_result res = {0};
	const struct rpc_md *ref;
	int rc = RPCC_ECLOSED;

	memset(r, 0, sizeof(*r));
	/* A call that could not start sent nothing: one more try on a new
	 * connection is safe. */
	for (int tries = 0; tries < 2; tries++) {
		if (cbt_connect(c, r->message, sizeof(r->message)) != 0) {
			r->status = 14; /* UNAVAILABLE */
			return r->status;
		}
		rpcc_result_free(&res);
		if ((rc = rpcc_unary(c->conn, &rq, &res)) >= 0)
			break;
		snprintf(r->message, sizeof(r->message), "%s",
		    rpcc_conn_error(c->conn) ? rpcc_conn_error(c->conn) :
					       rpcc_strerror(rc));
		drop(c);
	}
	if (rc < 0) {
		r->status = 14; /* UNAVAILABLE: no call could start */
		rpcc_result_free(&res);
		return r->status;
	}
	if (res.error == RPCC_ECLOSED || rpcc_conn_error(c->conn) != NULL)
		drop(c);
	r->status = res.status;
	r->from_server = res.error == 0;
	snprintf(r->message, sizeof(r->message), "%s", res.message);
	ref = rpcc_md_find(res.trailers, res.ntrailers, "carebank-refusal");
	if (ref != NULL)
		snprintf(r->refusal, sizeof(r->refusal), "%.*s",
		    (int)ref->len, (const char *)ref->value);
	if (res.status == 0) {
		r->body = res.data;
		r->len = res.len;
		res.data = NULL;
	}
	rpcc_result_free(&res);
	return r->status;
}

/* cbt_pack serializes a message into a new buffer. */
uint8_t *
cbt_pack(const ProtobufCMessage *req, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(req);
	buf = cb_xmalloc(*len ? *len : 1);
	protobuf_c_message_pack(req, buf);
	return buf;
}

/* cbt_call serializes, signs and sends a request. */
int
cbt_call(struct cbt *c, const char *method, const ProtobufCMessage *req,
    struct cbt_reply *r)
{
	size_t len;
	uint8_t *buf = cbt_pack(req, &len);
	int rc = cbt_call_bytes(c, method, buf, len, r);

	free(buf);
	return rc;
}

/* cbt_stream_start signs and starts a server-streaming call. */
int
cbt_stream_start(struct cbt *c, const char *method,
    const ProtobufCMessage *req, bool deadline, struct rpcc_call **out)
{
	size_t len;
	uint8_t *buf = cbt_pack(req, &len);
	int rc = cbt_stream_bytes(c, method, buf, len,
	    deadline ? c->timeout_ms : 0, out);

	free(buf);
	return rc;
}

/* cbt_stream_bytes signs request bytes and starts a stream with them. */
int
cbt_stream_bytes(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, unsigned timeout_ms, struct rpcc_call **out)
{
	struct rpcc_request rq = {method, req, len, NULL, 4, timeout_ms};
	struct cbt_signed s;
	char why[256];
	int rc;

	if (cbt_connect(c, why, sizeof(why)) != 0)
		return RPCC_ECLOSED;
	if ((rc = cbt_sign(&s, c->key, c->centre, method, now_ms(), req,
		 len)) != 0)
		return rc;
	rq.md = s.md;
	return rpcc_stream_start(c->conn, &rq, out);
}

/* cbt_unctrl replaces control characters with '?'. */
void
cbt_unctrl(char *s)
{
	for (unsigned char *p = (unsigned char *)s; p != NULL && *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?', p++;
	}
}

/* cbt_request_id makes a time-ordered request id. */
void
cbt_request_id(uint8_t id[16])
{
	uint64_t t = (uint64_t)now_ms();

	for (int i = 0; i < 8; i++)
		id[7 - i] = (uint8_t)(t >> (8 * i));
	if (RAND_bytes(id + 8, 8) != 1)
		abort(); /* no randomness: ids could repeat */
}

/* cbt_set_common fills request_id and centre by field name. */
void
cbt_set_common(struct cbt *c, ProtobufCMessage *req, uint8_t id[16])
{
	cbt_fill_common(req, id, c->centre);
}

/* cbt_fill_common fills request_id (a new id) and centre by field name. */
void
cbt_fill_common(ProtobufCMessage *req, uint8_t id[16], const char *centre)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field_by_name(req->descriptor,
	    "request_id");
	if (f != NULL) {
		cbt_request_id(id);
		*(ProtobufCBinaryData *)((char *)req + f->offset) =
		    (ProtobufCBinaryData){16, id};
	}
	f = protobuf_c_message_descriptor_get_field_by_name(req->descriptor,
	    "centre");
	if (f != NULL)
		*(const char **)((char *)req + f->offset) = centre;
}
