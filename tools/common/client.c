/*
 * The client programs' shared connection and signing (see client.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "carebank/call.h"
#include "carebank/codec.h"
#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "client.h"

#define CONFIG_MAX 8192
#define DEFAULT_TIMEOUT_MS 30000

struct cbt {
	struct rpcc_conn *conn;
	struct cb_key *key;
	char centre[64];
	unsigned timeout_ms;
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
	};
	char *eq = strchr(line, '='), *k = line, *v, *e;

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
				*f = cb_xstrdup(v);
			return 0;
		}
	}
	return -1;
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
			snprintf(err, errlen, "%s:%d: expected server, key, "
					      "centre, ca, cert or cert-key = "
					      "value",
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

/* split_addr splits HOST:PORT or [V6]:PORT. */
static int
split_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long p;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (hl == 0 || hl >= hostlen || errno || *end || p == 0 || p > 65535 ||
	    colon[1] == '\0')
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* cbt_open loads the key and connects to the server. */
int
cbt_open(const struct cbt_opts *o, struct cbt **out, char *err,
    size_t errlen)
{
	struct rpcc_tls tls = {o->ca, o->cert, o->cert_key, NULL};
	struct rpcc_options ro;
	struct cbt *c;
	char host[256], why[256] = "";
	uint16_t port;
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
	if (split_addr(o->server, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "server \"%s\" is not HOST:PORT",
		    o->server);
		return -1;
	}
	c = cb_xcalloc(1, sizeof(*c));
	snprintf(c->centre, sizeof(c->centre), "%s", o->centre);
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	if ((rc = cb_key_load(o->key, &c->key)) != 0) {
		snprintf(err, errlen, "key %s: %s%s", o->key, cb_strerror(rc),
		    rc == CB_EPERM ? " (only its owner may read it: chmod 600)" :
				     "");
		free(c);
		return -1;
	}
	rpcc_options_init(&ro);
	ro.errbuf = why;
	ro.errbuf_size = sizeof(why);
	if ((rc = rpcc_conn_open_opts(host, port, o->ca ? &tls : NULL, &ro,
		 &c->conn)) != 0) {
		snprintf(err, errlen, "cannot reach %s: %s", o->server,
		    why[0] ? why : rpcc_strerror(rc));
		cb_key_free(c->key);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* cbt_close closes and frees. */
void
cbt_close(struct cbt *c)
{
	if (c == NULL)
		return;
	rpcc_conn_close(c->conn);
	cb_key_free(c->key);
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
	struct rpcc_request rq = {method, req, len, NULL, 4, c->timeout_ms};
	struct rpcc_result res = {0};
	struct cbt_signed s;
	const struct rpc_md *ref;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = cbt_sign(&s, c->key, c->centre, method, now_ms(), req,
		 len)) != 0) {
		r->status = 13; /* INTERNAL */
		snprintf(r->message, sizeof(r->message), "signing failed: %s",
		    cb_strerror(rc));
		return r->status;
	}
	rq.md = s.md;
	rc = rpcc_unary(c->conn, &rq, &res);
	if (rc < 0) {
		r->status = 14; /* UNAVAILABLE: no call could start */
		snprintf(r->message, sizeof(r->message), "%s",
		    rpcc_conn_error(c->conn) ? rpcc_conn_error(c->conn) :
					       rpcc_strerror(rc));
		rpcc_result_free(&res);
		return r->status;
	}
	r->status = res.status;
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

/* pack serializes a request into a new buffer. */
static uint8_t *
pack(const ProtobufCMessage *req, size_t *len)
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
	uint8_t *buf = pack(req, &len);
	int rc = cbt_call_bytes(c, method, buf, len, r);

	free(buf);
	return rc;
}

/* cbt_stream_start signs and starts a server-streaming call. */
int
cbt_stream_start(struct cbt *c, const char *method,
    const ProtobufCMessage *req, struct rpcc_call **out)
{
	struct rpcc_request rq = {method, NULL, 0, NULL, 4, 0};
	struct cbt_signed s;
	size_t len;
	uint8_t *buf = pack(req, &len);
	int rc;

	if ((rc = cbt_sign(&s, c->key, c->centre, method, now_ms(), buf,
		 len)) == 0) {
		rq.msg = buf;
		rq.len = len;
		rq.md = s.md;
		rc = rpcc_stream_start(c->conn, &rq, out);
	}
	free(buf);
	return rc;
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
