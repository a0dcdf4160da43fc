/*
 * The server object through its public interface: option checks, listen
 * errors (bad address, port in use, missing TLS files), port 0 on IPv4 and
 * IPv6, work posted from another thread running on the loop in order, and a
 * shutdown asked for from another thread ending rpc_server_run.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "carebank/rpc.h"

/* What the posted tasks saw. */
struct seen {
	struct rpc_server *srv;
	int order[3];
	int n;
	int on_loop_thread;
	pthread_t loop;
};

/* Options a server refuses, one field at a time. */
static void
test_options(void **state)
{
	struct rpc_options o;
	struct rpc_server *srv;

	(void)state;
	rpc_options_init(&o);
	o.max_recv_message = 0;
	assert_int_equal(rpc_server_new(&o, &srv), CB_EINVAL);
	rpc_options_init(&o);
	o.conn_recv_buffer = o.max_recv_message - 1;
	assert_int_equal(rpc_server_new(&o, &srv), CB_EINVAL);
	rpc_options_init(&o);
	o.window_size = 1000;
	assert_int_equal(rpc_server_new(&o, &srv), CB_EINVAL);
	assert_int_equal(rpc_server_new(NULL, &srv), 0);
	rpc_server_free(srv);
	rpc_server_free(NULL);
}

/* Listening: port 0 on both families, and each way listen can fail. */
static void
test_listen(void **state)
{
	struct rpc_server *srv;
	struct rpc_listen v4 = {"127.0.0.1", 0, NULL}, v6 = {"::1", 0, NULL};
	struct rpc_tls nokey = {"cert.pem", NULL, NULL, 0};
	struct rpc_tls missing = {"/nonexistent/cert.pem", "/nonexistent/key",
	                          NULL, 0};
	struct rpc_listen bad = {"not-an-address", 0, NULL};
	struct rpc_listen tls1 = {"127.0.0.1", 0, &nokey};
	struct rpc_listen tls2 = {"127.0.0.1", 0, &missing};
	uint16_t p4 = 0, p6 = 0;

	(void)state;
	assert_int_equal(rpc_server_new(NULL, &srv), 0);
	assert_int_equal(rpc_server_listen(srv, &v4, &p4), 0);
	assert_int_equal(rpc_server_listen(srv, &v6, &p6), 0);
	assert_true(p4 > 0);
	assert_true(p6 > 0);
	/* The same address and port again is taken: busy, said as such. */
	struct rpc_listen again = {"127.0.0.1", p4, NULL};
	assert_int_equal(rpc_server_listen(srv, &again, NULL), CB_EBUSY);
	assert_int_equal(rpc_server_listen(srv, &bad, NULL), CB_EFORMAT);
	assert_int_equal(rpc_server_listen(srv, &tls1, NULL), CB_EINVAL);
	assert_int_equal(rpc_server_listen(srv, &tls2, NULL), CB_EFORMAT);
	assert_int_equal(rpc_server_connections(srv), 0);
	rpc_server_free(srv);
}

static struct seen *seen;

/* task records its number and whether it ran on the loop thread. */
static void
task(void *arg)
{
	seen->order[seen->n++] = (int)(intptr_t)arg;
	seen->on_loop_thread += pthread_equal(pthread_self(), seen->loop) != 0;
}

/* poster posts three tasks, then asks for a shutdown, from its own thread. */
static void *
poster(void *arg)
{
	struct seen *s = arg;
	struct timespec ts = {0, 20000000};

	nanosleep(&ts, NULL);
	for (intptr_t i = 0; i < 3; i++)
		rpc_server_post(s->srv, task, (void *)i);
	rpc_server_shutdown(s->srv, 1000);
	return NULL;
}

/* rpc_server_run returns once another thread asked for a shutdown. */
static void
test_post_and_shutdown(void **state)
{
	struct seen s = {0};
	struct rpc_listen v4 = {"127.0.0.1", 0, NULL};
	pthread_t t;

	(void)state;
	assert_int_equal(rpc_server_new(NULL, &s.srv), 0);
	assert_int_equal(rpc_server_listen(s.srv, &v4, NULL), 0);
	assert_int_equal(rpc_health_enable(s.srv), 0);
	assert_int_equal(rpc_health_enable(s.srv), CB_EEXIST);
	s.loop = pthread_self();
	seen = &s;
	assert_int_equal(pthread_create(&t, NULL, poster, &s), 0);
	assert_int_equal(rpc_server_run(s.srv), 0);
	pthread_join(t, NULL);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.order[0], 0);
	assert_int_equal(s.order[1], 1);
	assert_int_equal(s.order[2], 2);
	assert_int_equal(s.on_loop_thread, 3);
	/* No new listeners once draining. */
	assert_int_equal(rpc_server_listen(s.srv, &v4, NULL), CB_EINVAL);
	rpc_server_free(s.srv);
}

/* main runs the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_options),
	    cmocka_unit_test(test_listen),
	    cmocka_unit_test(test_post_and_shutdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
