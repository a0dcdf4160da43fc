// grpc-test-server: grpc.testing.TestService on grpc's own C++ server
// (Debian's libgrpc++), the reference the carebank client is tested against
// besides carebank's own server. EmptyCall, UnaryCall and
// StreamingOutputCall, with the interop descriptions' Echo Status and Echo
// Metadata; other methods are left unimplemented. Takes
// carebank-interop-server's flags (--host, --port, --tls-cert, --tls-key,
// --tls-ca, --require-client-cert), so run_interop.py starts it the same
// way, and prints "listening on HOST port N". --keepalive-ms N makes the
// server PING every N ms and drop connections that do not answer within
// 500 ms; --idle-ms N sends GOAWAY to connections idle for N ms. SIGTERM or
// SIGINT stops it and it exits 0.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/test.grpc.pb.h"

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
using grpc::testing::Empty;
using grpc::testing::EchoStatus;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;
using grpc::testing::TestService;

namespace {

volatile std::sig_atomic_t stop;

const char kEchoInitial[] = "x-grpc-test-echo-initial";
const char kEchoTrailing[] = "x-grpc-test-echo-trailing-bin";

// echo_metadata copies the echo headers back as the interop tests ask.
void echo_metadata(ServerContext *ctx)
{
	const auto &md = ctx->client_metadata();
	auto i = md.find(kEchoInitial);
	if (i != md.end())
		ctx->AddInitialMetadata(kEchoInitial,
		    std::string(i->second.data(), i->second.size()));
	auto t = md.find(kEchoTrailing);
	if (t != md.end())
		ctx->AddTrailingMetadata(kEchoTrailing,
		    std::string(t->second.data(), t->second.size()));
}

// echo_status turns a requested status into the call's status.
Status echo_status(bool has, const EchoStatus &s)
{
	if (!has || s.code() == 0)
		return Status::OK;
	return Status(static_cast<StatusCode>(s.code()), s.message());
}

// sleep_us waits, waking early when the call is cancelled.
bool sleep_us(ServerContext *ctx, int us)
{
	auto end = std::chrono::steady_clock::now() +
	    std::chrono::microseconds(us);
	while (std::chrono::steady_clock::now() < end) {
		if (ctx->IsCancelled())
			return false;
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return !ctx->IsCancelled();
}

// TestServer implements the methods the client tests call.
class TestServer final : public TestService::Service {
	// EmptyCall answers an empty message.
	Status EmptyCall(ServerContext *ctx, const Empty *, Empty *) override
	{
		echo_metadata(ctx);
		return Status::OK;
	}

	// UnaryCall answers response_size zeros, or the status asked for.
	Status UnaryCall(ServerContext *ctx, const SimpleRequest *req,
	    SimpleResponse *resp) override
	{
		echo_metadata(ctx);
		Status s = echo_status(req->has_response_status(),
		    req->response_status());
		if (!s.ok())
			return s;
		if (req->response_size() < 0)
			return Status(StatusCode::INVALID_ARGUMENT, "size");
		resp->mutable_payload()->set_body(
		    std::string(req->response_size(), '\0'));
		return Status::OK;
	}

	// StreamingOutputCall sends one message per response parameter.
	Status StreamingOutputCall(ServerContext *ctx,
	    const StreamingOutputCallRequest *req,
	    grpc::ServerWriter<StreamingOutputCallResponse> *w) override
	{
		echo_metadata(ctx);
		Status s = echo_status(req->has_response_status(),
		    req->response_status());
		if (!s.ok())
			return s;
		for (const auto &p : req->response_parameters()) {
			if (!sleep_us(ctx, p.interval_us()))
				return Status(StatusCode::CANCELLED,
				    "cancelled");
			StreamingOutputCallResponse resp;
			resp.mutable_payload()->set_body(
			    std::string(p.size(), '\0'));
			if (!w->Write(resp))
				return Status(StatusCode::CANCELLED, "gone");
		}
		return Status::OK;
	}
};

// slurp reads a whole file, or exits.
std::string slurp(const std::string &path)
{
	std::ifstream f(path);
	if (!f) {
		std::fprintf(stderr, "grpc-test-server: cannot read %s\n",
		    path.c_str());
		std::exit(1);
	}
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// on_signal asks the main loop to stop.
void on_signal(int)
{
	stop = 1;
}

// usage prints the synopsis and exits 2.
[[noreturn]] void usage()
{
	std::fprintf(stderr,
	    "usage: grpc-test-server [--host addr] [--port n]\n"
	    "           [--tls-cert f --tls-key f [--tls-ca f\n"
	    "           [--require-client-cert]]] [--keepalive-ms n]\n"
	    "           [--idle-ms n]\n");
	std::exit(2);
}

// number parses a decimal argument in [0, max], or exits with usage.
int number(const char *s, long max)
{
	char *end;
	long v = std::strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > max)
		usage();
	return static_cast<int>(v);
}

} // namespace

// main parses the flags, serves, and shuts down on a signal.
int main(int argc, char **argv)
{
	std::string host = "127.0.0.1", cert, key, ca;
	int port = 0, keepalive = 0, idle = 0;
	bool require = false;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--require-client-cert") {
			require = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (a == "--host")
			host = v;
		else if (a == "--port")
			port = number(v, 65535);
		else if (a == "--tls-cert")
			cert = v;
		else if (a == "--tls-key")
			key = v;
		else if (a == "--tls-ca")
			ca = v;
		else if (a == "--keepalive-ms")
			keepalive = number(v, 3600000);
		else if (a == "--idle-ms")
			idle = number(v, 3600000);
		else
			usage();
	}
	std::shared_ptr<grpc::ServerCredentials> creds =
	    grpc::InsecureServerCredentials();
	if (!cert.empty()) {
		auto want = require
		    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
		    : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
		grpc::SslServerCredentialsOptions o(want);
		if (!ca.empty())
			o.pem_root_certs = slurp(ca);
		o.pem_key_cert_pairs.push_back({slurp(key), slurp(cert)});
		creds = grpc::SslServerCredentials(o);
	}
	TestServer service;
	grpc::ServerBuilder b;
	int bound = 0;
	std::string addr = host.find(':') != std::string::npos
	    ? "[" + host + "]:" + std::to_string(port)
	    : host + ":" + std::to_string(port);
	b.AddListeningPort(addr, creds, &bound);
	b.RegisterService(&service);
	if (keepalive > 0) {
		b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive);
		b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 500);
		b.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
		b.AddChannelArgument(
		    GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS,
		    keepalive);
	}
	if (idle > 0)
		b.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, idle);
	auto server = b.BuildAndStart();
	if (!server || bound == 0) {
		std::fprintf(stderr, "grpc-test-server: cannot listen on %s\n",
		    addr.c_str());
		return 1;
	}
	std::printf("listening on %s port %d\n", host.c_str(), bound);
	std::fflush(stdout);
	std::signal(SIGTERM, on_signal);
	std::signal(SIGINT, on_signal);
	while (!stop)
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	server->Shutdown(std::chrono::system_clock::now() +
	    std::chrono::seconds(2));
	return 0;
}
