/*
 * Server reflection, grpc.reflection.v1 and v1alpha, whose messages match
 * field for field, so one implementation on the v1 generated code serves
 * both. Each request on the stream gets one response: the registered
 * services, or a file with all it depends on (each once), found by name,
 * symbol or extension, straight from the embedded descriptor sets' bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "grpc/reflection/v1/reflection.pb-c.h"

#include "descset.h"
#include "reflect.h"
#include "router.h"
#include "server.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest Request;
typedef Grpc__Reflection__V1__ServerReflectionResponse Response;

/* The generated names of the request and response oneof cases. */
#define REQ(c) \
	GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##c
#define RESP(c) \
	GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##c

struct rpc_reflect {
	struct rpc_server *srv;
	struct rpc_descset ds;
	int enabled;
};

/* The files of one FileDescriptorResponse. */
struct fileset {
	ProtobufCBinaryData *v;
	size_t n;
	unsigned char *seen; /* per file of the index */
};

/* Services collected for list_services. */
struct services {
	Grpc__Reflection__V1__ServiceResponse *v;
	Grpc__Reflection__V1__ServiceResponse **p;
	char **names;
	size_t n, cap;
};

/* get returns the server's index, creating it. */
static struct rpc_reflect *
get(struct rpc_server *srv)
{
	struct rpc_reflect *r = rpc_server_reflect(srv);

	if (r == NULL) {
		r = cb_xcalloc(1, sizeof(*r));
		r->srv = srv;
		rpc_server_set_reflect(srv, r);
	}
	return r;
}

/* rpc_reflection_add indexes one descriptor set. */
int
rpc_reflection_add(struct rpc_server *srv, const uint8_t *set, size_t len)
{
	if (set == NULL)
		return CB_EINVAL;
	return rpc_descset_add(&get(srv)->ds, set, len);
}

/* add_file appends a file and, depth first, its dependencies. */
static void
add_file(const struct rpc_descset *ds, struct fileset *fs, size_t i,
         unsigned depth)
{
	const struct rpc_dfile *f = &ds->files[i];

	if (fs->seen[i] || depth > ds->nfiles)
		return;
	fs->seen[i] = 1;
	fs->v[fs->n].data = (uint8_t *)(uintptr_t)f->data;
	fs->v[fs->n].len = f->len;
	fs->n++;
	for (size_t d = 0; d < f->ndeps; d++) {
		long j = rpc_descset_file(ds, f->deps[d]);

		if (j >= 0)
			add_file(ds, fs, (size_t)j, depth + 1);
	}
}

/* collect_service appends one registered service name. */
static void
collect_service(const char *name, size_t len, void *arg)
{
	struct services *s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = cb_xreallocarray(s->v, s->cap, sizeof(*s->v));
		s->names =
		    cb_xreallocarray(s->names, s->cap, sizeof(*s->names));
	}
	s->names[s->n] = cb_xmalloc(len + 1);
	memcpy(s->names[s->n], name, len);
	s->names[s->n][len] = '\0';
	grpc__reflection__v1__service_response__init(&s->v[s->n]);
	s->v[s->n].name = s->names[s->n];
	s->n++;
}

/* send_response packs and sends one response; a full stream ends the call. */
static void
send_response(struct rpc_call *call, Response *resp)
{
	size_t len =
	    grpc__reflection__v1__server_reflection_response__get_packed_size(
	        resp);
	uint8_t *buf = cb_xmalloc(len);
	int rc;

	grpc__reflection__v1__server_reflection_response__pack(resp, buf);
	rc = rpc_call_send(call, buf, len);
	free(buf);
	if (rc == CB_EBUSY)
		rpc_call_finish(call, RPC_STATUS_RESOURCE_EXHAUSTED,
		                "reflection client does not read its responses",
		                NULL, 0);
	else if (rc == CB_ETOOBIG)
		rpc_call_finish(
		    call, RPC_STATUS_RESOURCE_EXHAUSTED,
		    "reflection response larger than the send limit", NULL, 0);
}

/* send_error answers a request with an ErrorResponse. */
static void
send_error(struct rpc_call *call, Response *resp, int code, const char *text)
{
	Grpc__Reflection__V1__ErrorResponse err;

	grpc__reflection__v1__error_response__init(&err);
	err.error_code = code;
	err.error_message = (char *)(uintptr_t)text;
	resp->message_response_case = RESP(ERROR_RESPONSE);
	resp->error_response = &err;
	send_response(call, resp);
}

/* find_file resolves a file request to an index entry, or -1. */
static long
find_file(const struct rpc_descset *ds, const Request *req)
{
	const struct rpc_dsym *sym;

	switch (req->message_request_case) {
	case REQ(FILE_BY_FILENAME):
		return rpc_descset_file(ds, req->file_by_filename);
	case REQ(FILE_CONTAINING_SYMBOL):
		sym = rpc_descset_symbol(ds, req->file_containing_symbol);
		return sym ? (long)sym->file : -1;
	case REQ(FILE_CONTAINING_EXTENSION):
		if (req->file_containing_extension == NULL)
			return -1;
		return rpc_descset_extension(
		    ds, req->file_containing_extension->containing_type,
		    req->file_containing_extension->extension_number);
	default:
		return -1;
	}
}

/* answer_files answers the three file requests. */
static void
answer_files(struct rpc_reflect *r, struct rpc_call *call, Response *resp,
             const Request *req)
{
	Grpc__Reflection__V1__FileDescriptorResponse fdr;
	struct fileset fs = {0};
	long i = find_file(&r->ds, req);

	if (i < 0) {
		send_error(call, resp, RPC_STATUS_NOT_FOUND, "not found");
		return;
	}
	grpc__reflection__v1__file_descriptor_response__init(&fdr);
	fs.v = cb_xcalloc(r->ds.nfiles, sizeof(*fs.v));
	fs.seen = cb_xcalloc(r->ds.nfiles, 1);
	add_file(&r->ds, &fs, (size_t)i, 0);
	fdr.n_file_descriptor_proto = fs.n;
	fdr.file_descriptor_proto = fs.v;
	resp->message_response_case = RESP(FILE_DESCRIPTOR_RESPONSE);
	resp->file_descriptor_response = &fdr;
	send_response(call, resp);
	free(fs.v);
	free(fs.seen);
}

/* answer_services lists the registered services. */
static void
answer_services(struct rpc_reflect *r, struct rpc_call *call, Response *resp)
{
	Grpc__Reflection__V1__ListServiceResponse lsr;
	struct services s = {0};

	grpc__reflection__v1__list_service_response__init(&lsr);

	rpc_router_services(rpc_server_router(r->srv), collect_service, &s);
	s.p = cb_xcalloc(s.n, sizeof(*s.p));
	for (size_t i = 0; i < s.n; i++)
		s.p[i] = &s.v[i];
	lsr.n_service = s.n;
	lsr.service = s.p;
	resp->message_response_case = RESP(LIST_SERVICES_RESPONSE);
	resp->list_services_response = &lsr;
	send_response(call, resp);
	for (size_t i = 0; i < s.n; i++)
		free(s.names[i]);
	free(s.names);
	free(s.v);
	free(s.p);
}

/* answer_extensions lists the extension numbers of a message type. */
static void
answer_extensions(struct rpc_reflect *r, struct rpc_call *call, Response *resp,
                  const char *type)
{
	Grpc__Reflection__V1__ExtensionNumberResponse enr;
	const struct rpc_dsym *sym = rpc_descset_symbol(&r->ds, type);
	int32_t *nums;
	size_t n = 0;

	if (sym == NULL || !sym->type) {
		send_error(call, resp, RPC_STATUS_NOT_FOUND, "type not found");
		return;
	}
	grpc__reflection__v1__extension_number_response__init(&enr);
	nums = cb_xcalloc(r->ds.nexts, sizeof(*nums));
	for (size_t i = 0; i < r->ds.nexts; i++)
		if (strcmp(r->ds.exts[i].extendee, type) == 0)
			nums[n++] = r->ds.exts[i].number;
	enr.base_type_name = (char *)(uintptr_t)type;
	enr.n_extension_number = n;
	enr.extension_number = nums;
	resp->message_response_case = RESP(ALL_EXTENSION_NUMBERS_RESPONSE);
	resp->all_extension_numbers_response = &enr;
	send_response(call, resp);
	free(nums);
}

/* on_start accepts a reflection stream. */
static void
on_start(struct rpc_call *call, void *arg)
{
}

/* on_message answers one reflection request. */
static void
on_message(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	struct rpc_reflect *r = arg;
	Response resp;
	Request *req;

	req = grpc__reflection__v1__server_reflection_request__unpack(NULL, len,
	                                                              msg);
	if (req == NULL) {
		rpc_call_finish(call, RPC_STATUS_INVALID_ARGUMENT,
		                "malformed ServerReflectionRequest", NULL, 0);
		return;
	}
	grpc__reflection__v1__server_reflection_response__init(&resp);
	resp.valid_host = req->host;
	resp.original_request = req;
	switch (req->message_request_case) {
	case REQ(LIST_SERVICES):
		answer_services(r, call, &resp);
		break;
	case REQ(ALL_EXTENSION_NUMBERS_OF_TYPE):
		answer_extensions(r, call, &resp,
		                  req->all_extension_numbers_of_type);
		break;
	case REQ(FILE_BY_FILENAME):
	case REQ(FILE_CONTAINING_SYMBOL):
	case REQ(FILE_CONTAINING_EXTENSION):
		answer_files(r, call, &resp, req);
		break;
	default:
		send_error(call, &resp, RPC_STATUS_UNIMPLEMENTED,
		           "unknown request");
		break;
	}
	grpc__reflection__v1__server_reflection_request__free_unpacked(req,
	                                                               NULL);
}

/* on_half_close ends the stream once the client is done. */
static void
on_half_close(struct rpc_call *call, void *arg)
{
	rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0);
}

/* rpc_reflection_enable registers v1 and v1alpha. */
int
rpc_reflection_enable(struct rpc_server *srv)
{
	struct rpc_reflect *r = get(srv);
	struct rpc_handler h = {
	    .kind = RPC_BIDI_STREAM,
	    .on_start = on_start,
	    .on_message = on_message,
	    .on_half_close = on_half_close,
	    .arg = r,
	};
	int rc;

	if (r->enabled)
		return CB_EEXIST;
	if ((rc = rpc_server_add_method(
	         srv,
	         "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	         &h)) != 0 ||
	    (rc = rpc_server_add_method(
	         srv,
	         "/grpc.reflection.v1alpha.ServerReflection/"
	         "ServerReflectionInfo",
	         &h)) != 0)
		return rc;
	r->enabled = 1;
	return 0;
}

/* rpc_reflect_free frees the index. */
void
rpc_reflect_free(struct rpc_reflect *r)
{
	if (r == NULL)
		return;
	rpc_descset_free(&r->ds);
	free(r);
}
