/*
 * carebank-interop-server: grpc.testing.TestService, health and reflection
 * on the carebank transport, for grpc's interop clients and the robustness
 * tests. It prints "listening on HOST port N" per listener, serves until
 * SIGTERM or SIGINT, drains, frees everything and exits 0, so a sanitizer
 * build reports any leak at exit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "carebank/rpc.h"

#include "pool.h"
#include "testservice.h"

#define MAX_HOSTS 4
#define WORKERS   16

extern const unsigned char cb_grpc_descriptors[];
extern const size_t cb_grpc_descriptors_len;
extern const unsigned char cb_testing_descriptors[];
extern const size_t cb_testing_descriptors_len;

struct config {
	const char *hosts[MAX_HOSTS];
	int nhosts;
	unsigned long port, grace_ms;
	struct rpc_tls tls;
	int use_tls, log;
	struct rpc_options opts;
};

/* usage prints the synopsis and exits 2. */
static void __attribute__((noreturn)) usage(void)
{
	fprintf(
	    stderr,
	    "usage: carebank-interop-server [--host addr]... [--port n]\n"
	    "           [--tls-cert file --tls-key file [--tls-ca file\n"
	    "           [--require-client-cert]]] [--idle-ms n]\n"
	    "           [--handshake-ms n] [--write-timeout-ms n] [--stall-ms n]\n"
	    "           [--max-connections n]\n"
	    "           [--max-streams n] [--max-recv n] [--stream-buffer n]\n"
	    "           [--conn-buffer n] [--buffered n] [--grace-ms n] [--log]\n");
	exit(2);
}

/* number parses a decimal in [min, max] or exits with usage. */
static unsigned long
number(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
	    v > max) {
		fprintf(stderr, "carebank-interop-server: bad number %s\n", s);
		usage();
	}
	return v;
}

/* parse_args fills cfg from the command line. */
static void
parse_args(int argc, char **argv, struct config *cfg)
{
	enum {
		HOST = 256,
		PORT,
		CERT,
		KEY,
		CA,
		REQ,
		IDLE,
		HANDSHAKE,
		WRITE,
		STALL,
		MAXCONN,
		MAXSTREAMS,
		MAXRECV,
		SBUF,
		CBUF,
		BUFFERED,
		GRACE,
		LOG
	};
	static const struct option longopts[] = {
	    {"host", required_argument, NULL, HOST},
	    {"port", required_argument, NULL, PORT},
	    {"tls-cert", required_argument, NULL, CERT},
	    {"tls-key", required_argument, NULL, KEY},
	    {"tls-ca", required_argument, NULL, CA},
	    {"require-client-cert", no_argument, NULL, REQ},
	    {"idle-ms", required_argument, NULL, IDLE},
	    {"handshake-ms", required_argument, NULL, HANDSHAKE},
	    {"write-timeout-ms", required_argument, NULL, WRITE},
	    {"stall-ms", required_argument, NULL, STALL},
	    {"max-connections", required_argument, NULL, MAXCONN},
	    {"max-streams", required_argument, NULL, MAXSTREAMS},
	    {"max-recv", required_argument, NULL, MAXRECV},
	    {"stream-buffer", required_argument, NULL, SBUF},
	    {"conn-buffer", required_argument, NULL, CBUF},
	    {"buffered", required_argument, NULL, BUFFERED},
	    {"grace-ms", required_argument, NULL, GRACE},
	    {"log", no_argument, NULL, LOG},
	    {NULL, 0, NULL, 0},
	};
	struct rpc_options *o = &cfg->opts;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case HOST:
			if (cfg->nhosts == MAX_HOSTS)
				usage();
			cfg->hosts[cfg->nhosts++] = optarg;
			break;
		case PORT:
			cfg->port = number(optarg, 0, 65535);
			break;
		case CERT:
			cfg->tls.cert_file = optarg;
			cfg->use_tls = 1;
			break;
		case KEY:
			cfg->tls.key_file = optarg;
			break;
		case CA:
			cfg->tls.ca_file = optarg;
			break;
		case REQ:
			cfg->tls.require_client_cert = 1;
			break;
		case IDLE:
			o->idle_timeout_ms =
			    (unsigned)number(optarg, 0, 86400000);
			break;
		case HANDSHAKE:
			o->handshake_timeout_ms =
			    (unsigned)number(optarg, 1, 86400000);
			break;
		case WRITE:
			o->write_timeout_ms =
			    (unsigned)number(optarg, 1, 86400000);
			break;
		case STALL:
			o->stall_timeout_ms =
			    (unsigned)number(optarg, 1, 86400000);
			break;
		case MAXCONN:
			o->max_connections =
			    (unsigned)number(optarg, 1, 1000000);
			break;
		case MAXSTREAMS:
			o->max_concurrent_streams =
			    (uint32_t)number(optarg, 1, 1000000);
			break;
		case MAXRECV:
			o->max_recv_message = number(optarg, 1, 1u << 30);
			break;
		case SBUF:
			o->stream_send_buffer = number(optarg, 1, 1u << 30);
			break;
		case CBUF:
			o->conn_send_buffer = number(optarg, 1, 1u << 30);
			break;
		case BUFFERED:
			o->max_buffered = number(optarg, 1, (size_t)1 << 40);
			break;
		case GRACE:
			cfg->grace_ms = number(optarg, 0, 3600000);
			break;
		case LOG:
			cfg->log = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (cfg->use_tls && cfg->tls.key_file == NULL))
		usage();
	if (cfg->nhosts == 0)
		cfg->hosts[cfg->nhosts++] = "127.0.0.1";
}

/* log_line prints a connection event. */
static void
log_line(const char *msg, void *arg)
{
	fprintf(stderr, "interop-server: %s\n", msg);
}

/* log_call prints one line per finished call. */
static void
log_call(const struct rpc_call_info *i, void *arg)
{
	fprintf(stderr,
	        "interop-server: call method=%s peer=%s status=%s cancel=%d "
	        "latency_us=%" PRId64 " in=%" PRIu64 " out=%" PRIu64 "\n",
	        i->method, i->peer, rpc_status_name(i->status), i->cancel,
	        i->latency_ns / 1000, i->bytes_in, i->bytes_out);
}

/* Arguments of the signal handler. */
struct sigctx {
	struct rpc_server *srv;
	unsigned grace_ms;
};

/* drain starts the shutdown on SIGTERM or SIGINT. */
static void
drain(evutil_socket_t sig, short what, void *arg)
{
	struct sigctx *ctx = arg;

	rpc_server_shutdown(ctx->srv, ctx->grace_ms);
}

/* setup registers the services and opens the listeners. */
static int
setup(struct rpc_server *srv, struct config *cfg, struct pool *p)
{
	for (int i = 0; i < cfg->nhosts; i++) {
		struct rpc_listen l = {cfg->hosts[i], (uint16_t)cfg->port,
		                       cfg->use_tls ? &cfg->tls : NULL};
		uint16_t port;
		int rc;

		if ((rc = rpc_server_listen(srv, &l, &port)) != 0) {
			fprintf(stderr, "interop-server: listen %s: %s\n",
			        cfg->hosts[i], rpc_strerror(rc));
			return -1;
		}
		printf("listening on %s port %u\n", cfg->hosts[i], port);
	}
	fflush(stdout);
	if (testservice_register(srv, p) != 0 || rpc_health_enable(srv) != 0 ||
	    rpc_health_set(srv, "grpc.testing.TestService",
	                   RPC_HEALTH_SERVING) != 0 ||
	    rpc_reflection_add(srv, cb_grpc_descriptors,
	                       cb_grpc_descriptors_len) != 0 ||
	    rpc_reflection_add(srv, cb_testing_descriptors,
	                       cb_testing_descriptors_len) != 0 ||
	    rpc_reflection_enable(srv) != 0) {
		fprintf(stderr, "interop-server: cannot register services\n");
		return -1;
	}
	return 0;
}

/* main parses flags, serves until a signal, drains and frees everything. */
int
main(int argc, char **argv)
{
	struct config cfg = {.grace_ms = 5000};
	struct rpc_server *srv;
	struct pool *p;
	struct sigctx ctx;
	struct event *sigterm, *sigint;
	int rc = 1;

	rpc_options_init(&cfg.opts);
	parse_args(argc, argv, &cfg);
	if (cfg.log) {
		cfg.opts.on_log = log_line;
		cfg.opts.on_done = log_call;
	}
	signal(SIGPIPE, SIG_IGN);
	if (rpc_server_new(&cfg.opts, &srv) != 0) {
		fprintf(stderr, "interop-server: bad options\n");
		return 2;
	}
	p = pool_new(WORKERS);
	ctx.srv = srv;
	ctx.grace_ms = (unsigned)cfg.grace_ms;
	sigterm = evsignal_new(rpc_server_base(srv), SIGTERM, drain, &ctx);
	sigint = evsignal_new(rpc_server_base(srv), SIGINT, drain, &ctx);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	if (setup(srv, &cfg, p) == 0 && rpc_server_run(srv) == 0)
		rc = 0;
	event_free(sigterm);
	event_free(sigint);
	/* Every call has ended: the workers finish and drop their calls. */
	pool_free(p);
	rpc_server_free(srv);
	return rc;
}
