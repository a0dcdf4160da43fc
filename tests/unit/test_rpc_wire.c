/*
 * The transport's byte-level pieces: message framing (split, reassembled,
 * oversized, bad flags, the connection budget), grpc-timeout units, -bin
 * metadata both ways, grpc-message percent-encoding, the method table and the
 * descriptor-set index behind reflection.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/rpc.h"

#include "descset.h"
#include "frame.h"
#include "md.h"
#include "router.h"
#include "status.h"
#include "timeout.h"

extern const unsigned char cb_grpc_descriptors[];
extern const size_t cb_grpc_descriptors_len;

/* Messages a frame test collected. */
struct got {
	size_t n;
	size_t len[8];
	uint8_t first[8];
	int compressed[8];
};

/* collect records each whole message the framer hands over. */
static int
collect(void *arg, const uint8_t *msg, size_t len, int compressed)
{
	struct got *g = arg;

	assert_true(g->n < 8);
	g->len[g->n] = len;
	g->first[g->n] = len ? msg[0] : 0;
	g->compressed[g->n] = compressed;
	g->n++;
	return 0;
}

/* frame appends a framed message of len bytes of value c to buf. */
static size_t
frame(uint8_t *buf, size_t len, uint8_t c)
{
	rpc_frame_header(buf, len);
	memset(buf + RPC_FRAME_HDR, c, len);
	return RPC_FRAME_HDR + len;
}

/* Messages split byte by byte, and several in one chunk. */
static void
test_frame_split_and_joined(void **state)
{
	uint8_t buf[4096];
	size_t n = 0;
	struct rpc_budget b = {.limit = 1 << 20};
	struct rpc_frame_rx rx;
	struct got g = {0};

	(void)state;
	n += frame(buf + n, 3, 'a');
	n += frame(buf + n, 0, 0);
	n += frame(buf + n, 1000, 'b');
	n += frame(buf + n, 7, 'c');
	rpc_frame_rx_init(&rx, 1 << 20, &b);
	/* One byte at a time: every boundary falls inside something. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rpc_frame_feed(&rx, buf + i, 1, collect, &g),
		                 0);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.len[0], 3);
	assert_int_equal(g.first[0], 'a');
	assert_int_equal(g.len[1], 0);
	assert_int_equal(g.len[2], 1000);
	assert_int_equal(g.first[2], 'b');
	assert_int_equal(g.len[3], 7);
	assert_false(rpc_frame_partial(&rx));
	assert_int_equal(b.used, 0);
	/* All at once: four messages out of one chunk. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(rpc_frame_feed(&rx, buf, n, collect, &g), 0);
	assert_int_equal(g.n, 4);
	/* A partial prefix is pending until the rest comes. */
	assert_int_equal(rpc_frame_feed(&rx, buf, 2, collect, &g), 0);
	assert_true(rpc_frame_partial(&rx));
	rpc_frame_rx_free(&rx);
}

/* Oversized, peer-sized, bad-flag and over-budget messages are refused. */
static void
test_frame_limits(void **state)
{
	uint8_t buf[64];
	struct rpc_budget b = {.limit = 1 << 20}, tight = {.limit = 100};
	struct rpc_frame_rx rx;
	struct got g = {0};

	(void)state;
	rpc_frame_rx_init(&rx, 10, &b);
	rpc_frame_header(buf, 11);
	assert_int_equal(rpc_frame_feed(&rx, buf, 5, collect, &g), CB_ETOOBIG);
	rpc_frame_rx_free(&rx);

	/* A peer announcing 4 GiB gets nothing allocated. */
	rpc_frame_rx_init(&rx, 1 << 20, &b);
	memcpy(buf, "\0\xff\xff\xff\xff", 5);
	assert_int_equal(rpc_frame_feed(&rx, buf, 5, collect, &g), CB_ETOOBIG);
	assert_int_equal(b.used, 0);
	rpc_frame_rx_free(&rx);

	rpc_frame_rx_init(&rx, 1 << 20, &b);
	memcpy(buf, "\2\0\0\0\0", 5);
	assert_int_equal(rpc_frame_feed(&rx, buf, 5, collect, &g), CB_EFORMAT);
	rpc_frame_rx_free(&rx);

	/* Compressed flag is reported, not judged, here. */
	rpc_frame_rx_init(&rx, 1 << 20, &b);
	memcpy(buf, "\1\0\0\0\1x", 6);
	assert_int_equal(rpc_frame_feed(&rx, buf, 6, collect, &g), 0);
	assert_int_equal(g.compressed[0], 1);
	rpc_frame_rx_free(&rx);

	/* A partial message beyond the connection budget is refused. */
	rpc_frame_rx_init(&rx, 1 << 20, &tight);
	rpc_frame_header(buf, 1000);
	memset(buf + 5, 0, 50);
	assert_int_equal(rpc_frame_feed(&rx, buf, 55, collect, &g), CB_ETOOBIG);
	rpc_frame_rx_free(&rx);
	assert_int_equal(tight.used, 0);

	/* A budget already over its limit (headers are charged without a
	 * check) has no room, rather than the wrap of limit - used. */
	tight.used = 150;
	rpc_frame_rx_init(&rx, 1 << 20, &tight);
	assert_int_equal(rpc_frame_feed(&rx, buf, 55, collect, &g), CB_ETOOBIG);
	rpc_frame_rx_free(&rx);
	assert_int_equal(tight.used, 150);
	tight.used = 0;

	/* A server's count of every connection's bytes follows the budget's:
	 * a partial message, its growth, then the whole message handed on. */
	atomic_size_t total;

	atomic_init(&total, 0);
	b.total = &total;
	rpc_frame_rx_init(&rx, 1 << 20, &b);
	rpc_frame_header(buf, 40);
	memset(buf + 5, 'z', 20);
	assert_int_equal(rpc_frame_feed(&rx, buf, 25, collect, &g), 0);
	assert_true(b.used >= 20);
	assert_int_equal(atomic_load(&total), b.used);
	assert_int_equal(rpc_frame_feed(&rx, buf + 5, 20, collect, &g), 0);
	assert_int_equal(b.used, 0);
	assert_int_equal(atomic_load(&total), 0);
	/* Freed while partial, the bytes go back too. */
	assert_int_equal(rpc_frame_feed(&rx, buf, 25, collect, &g), 0);
	assert_int_equal(atomic_load(&total), b.used);
	rpc_frame_rx_free(&rx);
	assert_int_equal(atomic_load(&total), 0);
}

/* Every grpc-timeout unit, saturation, and malformed values. */
static void
test_timeout_units(void **state)
{
	static const struct {
		const char *text;
		int64_t ns;
	} ok[] = {
	    {"1n", 1},
	    {"5u", 5000},
	    {"7m", 7000000},
	    {"2S", 2000000000},
	    {"3M", 180000000000LL},
	    {"1H", 3600000000000LL},
	    {"2562047H", 2562047LL * 3600000000000LL},
	    {"99999999H", INT64_MAX},
	    {"0m", 0},
	};
	static const char *const bad[] = {
	    "", "1", "m", "123456789S", "1s", "-1S", "1.5S", " 1S", "1SS"};
	int64_t ns;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(rpc_timeout_parse((const uint8_t *)ok[i].text,
		                                   strlen(ok[i].text), &ns),
		                 0);
		assert_true(ns == ok[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rpc_timeout_parse((const uint8_t *)bad[i],
		                                   strlen(bad[i]), &ns),
		                 CB_EFORMAT);
}

/* -bin values decode padded or not and go out unpadded; bad keys refused. */
static void
test_md_bin(void **state)
{
	struct rpc_mdlist in = {0}, out = {0};
	const struct rpc_md *m;
	struct rpc_md send[2] = {
	    {"x-raw-bin", (const uint8_t *)"\xab\xab\xab\x01", 4},
	    {"x-text", (const uint8_t *)"hello world", 11},
	};

	(void)state;
	/* Padded and unpadded base64 both decode. */
	assert_int_equal(rpc_md_add_received(&in, (const uint8_t *)"a-bin", 5,
	                                     (const uint8_t *)"AAEC", 4),
	                 0);
	assert_int_equal(rpc_md_add_received(&in, (const uint8_t *)"b-bin", 5,
	                                     (const uint8_t *)"AAE=", 4),
	                 0);
	assert_int_equal(rpc_md_add_received(&in, (const uint8_t *)"c-bin", 5,
	                                     (const uint8_t *)"AAE", 3),
	                 0);
	assert_int_equal(rpc_md_add_received(&in, (const uint8_t *)"d-bin", 5,
	                                     (const uint8_t *)"A!==", 4),
	                 CB_EFORMAT);
	assert_int_equal(rpc_md_add_received(&in, (const uint8_t *)"bin", 3,
	                                     (const uint8_t *)"A!", 2),
	                 0);
	m = rpc_md_find(&in, "a-bin");
	assert_non_null(m);
	assert_int_equal(m->len, 3);
	assert_memory_equal(m->value, "\0\1\2", 3);
	assert_int_equal(rpc_md_find(&in, "b-bin")->len, 2);
	assert_int_equal(rpc_md_find(&in, "c-bin")->len, 2);
	assert_null(rpc_md_find(&in, "d-bin"));
	assert_string_equal((const char *)rpc_md_find(&in, "bin")->value, "A!");

	/* Outgoing: -bin goes out unpadded; ASCII is checked. */
	assert_int_equal(rpc_md_add_outgoing(&out, send, 2), 0);
	assert_string_equal((const char *)out.v[0].value, "q6urAQ");
	assert_string_equal((const char *)out.v[1].value, "hello world");
	struct rpc_md badkey = {"Upper", (const uint8_t *)"x", 1};
	struct rpc_md reserved = {"grpc-status", (const uint8_t *)"0", 1};
	struct rpc_md ctl = {"x-ctl", (const uint8_t *)"a\nb", 3};
	struct rpc_md te = {"te", (const uint8_t *)"trailers", 8};
	assert_int_equal(rpc_md_add_outgoing(&out, &badkey, 1), CB_EINVAL);
	assert_int_equal(rpc_md_add_outgoing(&out, &reserved, 1), CB_EINVAL);
	assert_int_equal(rpc_md_add_outgoing(&out, &ctl, 1), CB_EINVAL);
	assert_int_equal(rpc_md_add_outgoing(&out, &te, 1), CB_EINVAL);
	assert_int_equal(out.n, 2);
	rpc_md_clear(&in);
	rpc_md_clear(&out);
}

/* grpc-message percent-encoding and status names. */
static void
test_status_encoding(void **state)
{
	size_t len;
	char *s;

	(void)state;
	s = rpc_status_encode("plain text", &len);
	assert_string_equal(s, "plain text");
	free(s);
	s = rpc_status_encode("\t\n100% \xe2\x98\xba", &len);
	assert_string_equal(s, "%09%0A100%25 %E2%98%BA");
	assert_int_equal(len, strlen(s));
	free(s);
	assert_string_equal(rpc_status_name(RPC_STATUS_UNAVAILABLE),
	                    "UNAVAILABLE");
	assert_string_equal(rpc_status_name(17), "?");
	assert_string_equal(rpc_strerror(RPC_ECLOSED), "call has ended");
}

/* noop_request is a handler that does nothing. */
static void
noop_request(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
}

/* count_service tallies rpc_router_services' output. */
static void
count_service(const char *name, size_t len, void *arg)
{
	char *buf = arg;

	strncat(buf, name, len);
	strcat(buf, ";");
}

/* Method paths: order, lookup by length, refusals, services once each. */
static void
test_router(void **state)
{
	struct rpc_router r = {0};
	struct rpc_handler h = {.kind = RPC_UNARY, .on_request = noop_request};
	struct rpc_handler stream = {.kind = RPC_BIDI_STREAM};
	char services[256] = "";

	(void)state;
	assert_int_equal(rpc_router_add(&r, "/b.S/M", &h), 0);
	assert_int_equal(rpc_router_add(&r, "/a.S/Z", &h), 0);
	assert_int_equal(rpc_router_add(&r, "/a.S/A", &h), 0);
	assert_int_equal(rpc_router_add(&r, "/a.S-x/A", &h), 0);
	assert_int_equal(rpc_router_add(&r, "/a.S/A", &h), CB_EEXIST);
	assert_int_equal(rpc_router_add(&r, "a.S/A", &h), CB_EINVAL);
	assert_int_equal(rpc_router_add(&r, "/a.S/", &h), CB_EINVAL);
	assert_int_equal(rpc_router_add(&r, "//A", &h), CB_EINVAL);
	assert_int_equal(rpc_router_add(&r, "/a/b/c", &h), CB_EINVAL);
	assert_int_equal(rpc_router_add(&r, "/a.S/B", &stream), CB_EINVAL);
	assert_non_null(rpc_router_find(&r, "/a.S/Z", 6));
	assert_non_null(rpc_router_find(&r, "/a.S/Zq", 6));
	assert_null(rpc_router_find(&r, "/a.S/Zq", 7));
	assert_null(rpc_router_find(&r, "/a.S", 4));
	rpc_router_services(&r, count_service, services);
	assert_string_equal(services, "a.S-x;a.S;b.S;");
	rpc_router_free(&r);
}

/* The reflection index: files, symbols, scoping, refusal of a torn set. */
static void
test_descset(void **state)
{
	struct rpc_descset ds = {0};
	const struct rpc_dsym *sym;
	long f;
	uint8_t *bad;

	(void)state;
	assert_int_equal(
	    rpc_descset_add(&ds, cb_grpc_descriptors, cb_grpc_descriptors_len),
	    0);
	/* The same set again adds nothing. */
	size_t nfiles = ds.nfiles, nsyms = ds.nsyms;
	assert_int_equal(
	    rpc_descset_add(&ds, cb_grpc_descriptors, cb_grpc_descriptors_len),
	    0);
	assert_int_equal(ds.nfiles, nfiles);
	assert_int_equal(ds.nsyms, nsyms);
	f = rpc_descset_file(&ds, "grpc/health/v1/health.proto");
	assert_true(f >= 0);
	sym = rpc_descset_symbol(&ds, "grpc.health.v1.Health");
	assert_non_null(sym);
	assert_int_equal(sym->file, (size_t)f);
	assert_non_null(rpc_descset_symbol(&ds, "grpc.health.v1.Health.Watch"));
	assert_non_null(rpc_descset_symbol(
	    &ds, "grpc.health.v1.HealthCheckResponse.ServingStatus"));
	/* Enum values live beside their enum, as in protobuf's scoping. */
	assert_non_null(rpc_descset_symbol(
	    &ds, "grpc.health.v1.HealthCheckResponse.SERVING"));
	sym = rpc_descset_symbol(&ds,
	                         "grpc.reflection.v1.ServerReflectionRequest");
	assert_non_null(sym);
	assert_true(sym->type);
	assert_null(rpc_descset_symbol(&ds, "grpc.health.v1"));
	assert_int_equal(rpc_descset_file(&ds, "nope.proto"), -1);
	/* A truncated set is refused and leaves the index as it was. */
	bad = malloc(cb_grpc_descriptors_len);
	memcpy(bad, cb_grpc_descriptors, cb_grpc_descriptors_len);
	bad[1] ^= 0x7f;
	struct rpc_descset fresh = {0};
	assert_int_equal(
	    rpc_descset_add(&fresh, bad, cb_grpc_descriptors_len - 7),
	    CB_EFORMAT);
	assert_int_equal(fresh.nfiles, 0);
	assert_int_equal(fresh.nsyms, 0);
	free(bad);
	rpc_descset_free(&fresh);
	rpc_descset_free(&ds);
}

/* main runs the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_split_and_joined),
	    cmocka_unit_test(test_frame_limits),
	    cmocka_unit_test(test_timeout_units),
	    cmocka_unit_test(test_md_bin),
	    cmocka_unit_test(test_status_encoding),
	    cmocka_unit_test(test_router),
	    cmocka_unit_test(test_descset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
