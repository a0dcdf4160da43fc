/*
 * libFuzzer target for carebankd past HTTP/2 (fuzz_h2 has the transport):
 * the metadata checks, the request checks (canonical decoding, enum
 * values, the centre named) and every method's handler, reads and the
 * two streams included, which fuzz_request (the bank's rules) does not
 * reach. The
 * whole server runs in this process, srv_serve on its own thread
 * listening on 127.0.0.1 with the centre "fz" in a new data directory,
 * and each input is one call signed by the tools' client over a real
 * connection:
 *
 *   method (1, modulo the server's methods: the unary ones in the
 *   table's order, then Entries and WatchCheckpoints) |
 *   signer (1: the low two bits pick the coordinator, a kiosk key, an
 *   auditor key or a key nobody enrolled; the top bit breaks the
 *   metadata) | [broken metadata: what (1) | length (1) | value] |
 *   request bytes
 *
 * Broken metadata starts from the signed headers and, by what's low two
 * bits, picks carebank-key, -time, -signature-bin or -centre, and by the
 * next two replaces its value with the one given, drops it, or sends the
 * value as a second header of that name. Values of the text headers are
 * mapped onto visible ASCII (what HTTP/2 lets through to the server).
 * Unless the header is left exactly as signed, the call must fail.
 *
 * A request that starts with its request id (field 1, 16 bytes, as every
 * write does) gets a new one, so each input reaches the rules rather than
 * the table of ids already used.
 *
 * Before the first input the coordinator makes family f3 with guardian a4
 * and child c5 (whom a4 may collect), room r6 and a4's shift s7 from now
 * for three hours, so the seeds' ids name real records. The centre keeps
 * what each input did, as a real one would. Beyond not
 * crashing (a fault or sanitizer report on any server thread ends this
 * process): every call ends with a status, never a hang or a dead server;
 * a failure says why; an unknown key is UNAUTHENTICATED and a role the
 * method does not allow is PERMISSION_DENIED; a write's receipt decodes
 * and names the entry it made. A stream is read for up to three entries,
 * or the one checkpoint a watch sends at once, and then cancelled; the
 * entries come in order from the one asked for. Seeds: server_seeds.py.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/bank.h"
#include "carebank/rpc_client.h"
#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "carebank/v1/service.pb-c.h"
#include "client.h"
#include "init.h"
#include "srv.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CENTRE  "fz"
#define C(m)    "/carebank.v1.Coordinator/" m
#define NSIGNER 4
#define UNKNOWN 3 /* the signer nobody enrolled */
#define STREAM_READ 3           /* entries read before ending a stream */
#define STREAM_DEADLINE_MS 5000 /* a stream that says nothing ends so */

static const int role[NSIGNER] = {
    CAREBANK__V1__ROLE__ROLE_COORDINATOR, CAREBANK__V1__ROLE__ROLE_KIOSK,
    CAREBANK__V1__ROLE__ROLE_AUDITOR, CAREBANK__V1__ROLE__ROLE_KIOSK};

static struct {
	char *dir;
	struct srv_config cfg;
	pthread_t thread;
	int status;
	struct cbt *signer[NSIGNER];
	struct cb_key *key[NSIGNER]; /* the signers' keys, for broken calls */
	const struct srv_method **unary; /* unary methods, then streams */
	size_t nunary, nmethods;
} fz;

/* serve runs the server until SIGTERM. */
static void *
serve(void *arg)
{
	(void)arg;
	fz.status = srv_serve(&fz.cfg);
	return NULL;
}

/* path_in makes a path in the data directory. */
static char *
path_in(const char *name)
{
	return tu_path(fz.dir, name);
}

/* wait_port reads the port file the server writes once it serves. */
static unsigned
wait_port(const char *file)
{
	for (int i = 0; i < 3000; i++) {
		uint8_t *buf;
		size_t len;

		if (cb_file_read(file, 32, &buf, &len) == 0) {
			unsigned port = (unsigned)strtoul((char *)buf, NULL, 10);

			free(buf);
			if (port != 0)
				return port;
		}
		usleep(10000);
	}
	abort(); /* the server never came up */
}

/* client opens a connection signing with the key in keyfile. */
static struct cbt *
client(const char *server, const char *keyfile)
{
	struct cbt_opts o = {.server = server, .key = keyfile,
	    .centre = CENTRE, .timeout_ms = 60000};
	struct cbt *c;
	char err[256];

	if (cbt_open(&o, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_server: %s\n", err);
		abort();
	}
	return c;
}

/* enrol makes a key, saves it, and enrols it unless role is 0. */
static char *
enrol(int r, const char *name)
{
	Carebank__V1__EnrolKeyRequest q;
	struct cb_key *key;
	struct cbt_reply rep;
	uint8_t id[16];
	char *file = path_in(name);

	if (cb_key_generate(&key) != 0 || cb_key_save(key, file) != 0)
		abort();
	if (r != 0) {
		carebank__v1__enrol_key_request__init(&q);
		cbt_set_common(fz.signer[0], &q.base, id);
		q.public_key = (ProtobufCBinaryData){CB_ED25519_PUBLIC_LEN,
		    (uint8_t *)(uintptr_t)cb_key_public(key)};
		q.role = r;
		q.label = (char *)(uintptr_t)name;
		if (cbt_call(fz.signer[0], C("EnrolKey"), &q.base, &rep) !=
		    0) {
			fprintf(stderr, "fuzz_server: EnrolKey: %s\n",
			    rep.message);
			abort();
		}
		free(rep.body);
	}
	cb_key_free(key);
	return file;
}

/* make has the coordinator make a record and checks the id it got. */
static void
make(const char *method, ProtobufCMessage *q, const char *want)
{
	Carebank__V1__Receipt *r;
	struct cbt_reply rep;
	uint8_t id[16];

	cbt_set_common(fz.signer[0], q, id);
	if (cbt_call(fz.signer[0], method, q, &rep) != 0 ||
	    (r = carebank__v1__receipt__unpack(NULL, rep.len, rep.body)) ==
		NULL) {
		fprintf(stderr, "fuzz_server: %s: %s\n", method, rep.message);
		abort();
	}
	if (r->result == NULL || strcmp(r->result->id, want) != 0)
		abort(); /* the seeds' ids would name nothing */
	carebank__v1__receipt__free_unpacked(r, NULL);
	free(rep.body);
}

/* populate makes f3, a4, c5, r6 and s7 (entries 3 to 7), and c5's pickup. */
static void
populate(void)
{
	Carebank__V1__EnrolFamilyRequest ef;
	Carebank__V1__AddAdultRequest aa;
	Carebank__V1__AddChildRequest ac;
	Carebank__V1__AddRoomRequest ar;
	Carebank__V1__ScheduleShiftRequest ss;
	Carebank__V1__SetPickupRequest sp;
	char *a4 = (char *)(uintptr_t)"a4";
	int64_t now = srv_now_ms();

	carebank__v1__enrol_family_request__init(&ef);
	carebank__v1__add_adult_request__init(&aa);
	carebank__v1__add_child_request__init(&ac);
	carebank__v1__add_room_request__init(&ar);
	carebank__v1__schedule_shift_request__init(&ss);
	carebank__v1__set_pickup_request__init(&sp);
	aa.family = ac.family = (char *)(uintptr_t)"f3";
	aa.guardian = true;
	ar.label = (char *)(uintptr_t)"Sunflower room";
	ss.room = (char *)(uintptr_t)"r6";
	ss.adult = a4;
	ss.start_ms = now;
	ss.end_ms = now + 3 * 3600 * 1000;
	sp.child = (char *)(uintptr_t)"c5";
	sp.authorised = &a4;
	sp.n_authorised = 1;
	make(C("EnrolFamily"), &ef.base, "f3");
	make(C("AddAdult"), &aa.base, "a4");
	make(C("AddChild"), &ac.base, "c5");
	make(C("AddRoom"), &ar.base, "r6");
	make(C("ScheduleShift"), &ss.base, "s7");
	make(C("SetPickup"), &sp.base, "");
}

/* stop ends the server and removes its data when the process ends. */
static void
stop(void)
{
	for (int i = 0; i < NSIGNER; i++) {
		cbt_close(fz.signer[i]);
		cb_key_free(fz.key[i]);
	}
	kill(getpid(), SIGTERM);
	pthread_join(fz.thread, NULL);
	srv_config_free(&fz.cfg);
	tu_rmrf(fz.dir);
	free(fz.dir);
	free(fz.unary);
}

/* setup makes the centre, starts the server and enrols the signers. */
static void
setup(void)
{
	const struct srv_method *m;
	char *portfile, *server, *key, err[256];
	size_t n;

	fz.dir = tu_tmpdir("fuzz-server");
	if (srv_init(fz.dir, CENTRE, NULL) != 0)
		abort();
	portfile = path_in("port");
	srv_config_defaults(&fz.cfg);
	if (srv_config_flag(&fz.cfg, "data", fz.dir, err, sizeof(err)) ||
	    srv_config_flag(&fz.cfg, "listen", "127.0.0.1:0", err,
		sizeof(err)) ||
	    srv_config_flag(&fz.cfg, "port-file", portfile, err,
		sizeof(err)) ||
	    srv_config_check(&fz.cfg, err, sizeof(err))) {
		fprintf(stderr, "fuzz_server: %s\n", err);
		abort();
	}
	/* SIGTERM is for the server's loop (stop), not this thread. */
	if (pthread_create(&fz.thread, NULL, serve, NULL) != 0)
		abort();
	server = cb_xasprintf("127.0.0.1:%u", wait_port(portfile));
	key = path_in("keys/" CENTRE ".coordinator.pem");
	fz.signer[0] = client(server, key);
	if (cb_key_load(key, &fz.key[0]) != 0)
		abort();
	free(key);
	for (int i = 1; i < NSIGNER; i++) {
		static const char *const name[NSIGNER] = {NULL, "kiosk",
		    "auditor", "nobody"};

		key = enrol(i == UNKNOWN ? 0 : role[i], name[i]);
		fz.signer[i] = client(server, key);
		if (cb_key_load(key, &fz.key[i]) != 0)
			abort();
		free(key);
	}
	populate();
	m = srv_methods(&n);
	fz.unary = cb_xcalloc(n, sizeof(*fz.unary));
	for (size_t i = 0; i < n; i++)
		if (m[i].rpc_kind == RPC_UNARY)
			fz.unary[fz.nunary++] = &m[i];
	fz.nmethods = fz.nunary;
	for (size_t i = 0; i < n; i++)
		if (m[i].rpc_kind == RPC_SERVER_STREAM)
			fz.unary[fz.nmethods++] = &m[i];
	free(server);
	free(portfile);
	atexit(stop);
}

/* check_receipt says whether an entry-making call's answer is a receipt. */
static void
check_receipt(const struct cbt_reply *rep)
{
	Carebank__V1__Receipt *r = carebank__v1__receipt__unpack(NULL,
	    rep->len, rep->body);

	if (r == NULL || r->entry.len == 0 || r->tree_size <= r->index ||
	    r->checkpoint.len == 0) {
		fprintf(stderr, "fuzz_server: an OK write's answer is not a "
				"receipt\n");
		abort();
	}
	carebank__v1__receipt__free_unpacked(r, NULL);
}

/* What an input does to a call's metadata. */
struct broken {
	unsigned header; /* 0 key, 1 time, 2 signature, 3 centre */
	unsigned op;     /* 0 replace, 1 drop, 2 add a second, 3 replace */
	uint8_t value[255];
	size_t len;
	const char *name;
	bool forged;     /* anything but the header as signed, once */
};

/*
 * break_md reads what to break from p (n bytes) into b. Returns the bytes
 * it used, or 0 if the input is too short.
 */
static size_t
break_md(const uint8_t *p, size_t n, struct broken *b)
{
	if (n < 2 || n - 2 < p[1])
		return 0;
	b->header = p[0] & 3;
	b->op = (p[0] >> 2) & 3;
	b->len = p[1];
	memcpy(b->value, p + 2, b->len);
	if (b->header != 2) /* text: visible ASCII, as HTTP/2 allows */
		for (size_t i = 0; i < b->len; i++)
			b->value[i] = (uint8_t)(0x21 + b->value[i] % 94);
	return 2 + b->len;
}

/* call_broken signs req as signer who would, breaks the metadata, sends. */
static void
call_broken(struct cbt *c, unsigned who, const char *path,
    const uint8_t *req, size_t len, struct broken *b, struct cbt_reply *rep)
{
	struct rpc_md md[5];
	struct cbt_signed s;
	size_t n = 4;

	if (cbt_sign(&s, fz.key[who], CENTRE, path, srv_now_ms(), req,
		len) != 0)
		abort();
	memcpy(md, s.md, sizeof(s.md));
	b->name = md[b->header].key;
	if (b->op == 1) {
		memmove(md + b->header, md + b->header + 1,
		    (3 - b->header) * sizeof(md[0]));
		n = 3;
	} else if (b->op == 2) {
		md[n++] = (struct rpc_md){md[b->header].key, b->value, b->len};
	} else {
		md[b->header].value = b->value;
		md[b->header].len = b->len;
	}
	/* Only the signed value itself, in its one spelling, passes. */
	b->forged = b->op == 1 || b->op == 2 ||
	    s.md[b->header].len != b->len ||
	    memcmp(s.md[b->header].value, b->value, b->len) != 0;
	(void)cbt_call_md(c, path, req, len, md, n, rep);
}

/* say aborts with a message: a property failed. */
static void __attribute__((noreturn))
say(const char *path, const char *what, int status, const char *message)
{
	fprintf(stderr, "fuzz_server: %s: %s (status %d: %s)\n", path, what,
	    status, message);
	abort();
}

/* reply_ok checks one message of a stream: Entries' come in order. */
static void
reply_ok(const struct srv_method *m, const uint8_t *req, size_t len,
    const uint8_t *msg, size_t mlen, uint64_t nth)
{
	if (strstr(m->path, "/Entries") != NULL) {
		Carebank__V1__EntriesRequest *q =
		    carebank__v1__entries_request__unpack(NULL, len, req);
		Carebank__V1__EntryReply *e =
		    carebank__v1__entry_reply__unpack(NULL, mlen, msg);

		if (q == NULL || e == NULL || e->entry.len == 0 ||
		    e->index != q->start + nth)
			say(m->path, "an entry out of place", 0, "");
		carebank__v1__entries_request__free_unpacked(q, NULL);
		carebank__v1__entry_reply__free_unpacked(e, NULL);
	} else {
		Carebank__V1__CheckpointReply *c =
		    carebank__v1__checkpoint_reply__unpack(NULL, mlen, msg);

		if (c == NULL || c->checkpoint.len == 0 || c->size == 0)
			say(m->path, "a checkpoint that is none", 0, "");
		carebank__v1__checkpoint_reply__free_unpacked(c, NULL);
	}
}

/*
 * call_stream starts a server stream, reads up to STREAM_READ entries or
 * one checkpoint and ends it (a stream still going is cancelled). A stream that ended by
 * itself must have ended as a unary call would; a watch must send the
 * current checkpoint at once.
 */
static void
call_stream(const struct srv_method *m, unsigned who, const uint8_t *req,
    size_t len)
{
	struct rpcc_result res = {0};
	struct rpcc_call *call;
	const uint8_t *msg;
	size_t mlen;
	/* A watch sends the current checkpoint, then waits for the next. */
	uint64_t got = 0, want = strstr(m->path, "/Entries") ? STREAM_READ : 1;
	int more = 1, st;

	if (cbt_stream_bytes(fz.signer[who], m->path, req, len,
		STREAM_DEADLINE_MS, &call) != 0 &&
	    cbt_stream_bytes(fz.signer[who], m->path, req, len,
		STREAM_DEADLINE_MS, &call) != 0)
		say(m->path, "the stream could not start", -1, "");
	while (got < want && (more = rpcc_stream_next(call, &msg, &mlen)) == 1)
		reply_ok(m, req, len, msg, mlen, got++);
	st = rpcc_stream_end(call, &res);
	if (more == 0) {
		if (st < 0 || st > 16 || st == RPC_STATUS_UNAVAILABLE ||
		    st == RPC_STATUS_DEADLINE_EXCEEDED ||
		    st == RPC_STATUS_CANCELLED)
			say(m->path, "the stream ended badly", st, res.message);
		if (st != 0 && res.message[0] == '\0')
			say(m->path, "failed saying nothing", st, "");
		if (who == UNKNOWN && st != RPC_STATUS_UNAUTHENTICATED)
			say(m->path, "an unknown key passed", st, res.message);
		if (who != UNKNOWN &&
		    (m->roles & CB_ROLE_BIT(role[who])) == 0 &&
		    st != RPC_STATUS_PERMISSION_DENIED)
			say(m->path, "a role passed that may not", st,
			    res.message);
	} else if (st != RPC_STATUS_CANCELLED && st != 0) {
		/* OK: it had ended before the cancel went out. */
		say(m->path, "a stream cut short did not end CANCELLED", st,
		    res.message);
	}
	rpcc_result_free(&res);
}

/* LLVMFuzzerTestOneInput makes one call; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct srv_method *m;
	struct broken bm, *broken = NULL;
	struct cbt_reply rep;
	uint8_t *req;
	size_t len = 0;
	unsigned who;

	if (fz.dir == NULL)
		setup();
	if (size < 2)
		return 0;
	m = fz.unary[data[0] % fz.nmethods];
	who = data[1] % NSIGNER;
	if (m->rpc_kind == RPC_SERVER_STREAM) {
		call_stream(m, who, data + 2, size - 2);
		return 0;
	}
	if (data[1] & 0x80) {
		if ((len = break_md(data + 2, size - 2, &bm)) == 0)
			return 0;
		broken = &bm;
	}
	data += 2 + len;
	size -= 2 + len;
	req = cb_xmemdup(data, size);
	if (size >= 18 && req[0] == 0x0a && req[1] == 16)
		cbt_request_id(req + 2);
	if (broken == NULL)
		(void)cbt_call_bytes(fz.signer[who], m->path, req, size, &rep);
	else
		call_broken(fz.signer[who], who, m->path, req, size, broken,
		    &rep);
	free(req);
	if (rep.status < 0 || rep.status > 16 ||
	    rep.status == RPC_STATUS_UNAVAILABLE ||
	    rep.status == RPC_STATUS_DEADLINE_EXCEEDED) {
		fprintf(stderr, "fuzz_server: %s: status %d: %s\n", m->path,
		    rep.status, rep.message);
		abort();
	}
	if (rep.status != 0 && rep.message[0] == '\0') {
		fprintf(stderr, "fuzz_server: %s failed (%d) saying nothing\n",
		    m->path, rep.status);
		abort();
	}
	if (broken != NULL) {
		/* A signing header changed, gone or doubled never passes. */
		if (broken->forged && rep.status == 0) {
			fprintf(stderr, "fuzz_server: %s accepted with %s "
					"broken\n",
			    m->path, broken->name);
			abort();
		}
	} else if (who == UNKNOWN &&
		   rep.status != RPC_STATUS_UNAUTHENTICATED) {
		abort();
	}
	if (broken == NULL && who != UNKNOWN &&
	    (m->roles & CB_ROLE_BIT(role[who])) == 0 &&
	    rep.status != RPC_STATUS_PERMISSION_DENIED)
		abort();
	if (rep.status == 0 && m->kind == JOB_WRITE)
		check_receipt(&rep);
	free(rep.body);
	return 0;
}
