// grpc's interop test cases (doc/interop-test-descriptions.md), client side,
// on Debian's libgrpc++ 1.51, against carebank-interop-server. Takes the
// same flags as interop_client.py: --server_host, --server_port, --test_case,
// --use_tls, --ca_file, --server_host_override, --cert_file, --key_file.
// Exit status 0 when the case passes, 1 when it fails, 2 on bad usage.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/test.grpc.pb.h"

using grpc::ClientContext;
using grpc::Status;
using grpc::StatusCode;
using grpc::testing::Empty;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingInputCallRequest;
using grpc::testing::StreamingInputCallResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;
using grpc::testing::TestService;
using grpc::testing::UnimplementedService;

namespace {

const char kEchoInitial[] = "x-grpc-test-echo-initial";
const char kEchoTrailing[] = "x-grpc-test-echo-trailing-bin";
const char kSpecial[] = "\t\ntest with whitespace\r\nand Unicode BMP \xe2\x98\xba "
			"and non-BMP \xf0\x9f\x98\x88\t\n";

struct Failure : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// check throws a Failure naming what went wrong.
void check(bool cond, const std::string &what)
{
	if (!cond)
		throw Failure(what);
}

// expect compares a call's status with the wanted code and message.
void expect(const Status &s, StatusCode code, const char *message = nullptr)
{
	check(s.error_code() == code,
	    "status " + std::to_string(s.error_code()) + " (" +
		s.error_message() + "), want " + std::to_string(code));
	if (message != nullptr)
		check(s.error_message() == message,
		    "message \"" + s.error_message() + "\"");
}

// out_request asks for responses of the given sizes, with a payload.
StreamingOutputCallRequest out_request(std::vector<int> sizes, int body = 0)
{
	StreamingOutputCallRequest req;
	for (int size : sizes)
		req.add_response_parameters()->set_size(size);
	if (body > 0)
		req.mutable_payload()->set_body(std::string(body, '\0'));
	return req;
}

struct Env {
	std::shared_ptr<grpc::Channel> channel;
	std::unique_ptr<TestService::Stub> stub;
};

void empty_unary(Env &e)
{
	ClientContext ctx;
	Empty req, resp;
	expect(e.stub->EmptyCall(&ctx, req, &resp), StatusCode::OK);
}

void large_unary(Env &e)
{
	ClientContext ctx;
	SimpleRequest req;
	SimpleResponse resp;
	req.set_response_size(314159);
	req.mutable_payload()->set_body(std::string(271828, '\0'));
	expect(e.stub->UnaryCall(&ctx, req, &resp), StatusCode::OK);
	check(resp.payload().body() == std::string(314159, '\0'),
	    "payload is not 314159 zeros");
}

void client_streaming(Env &e)
{
	ClientContext ctx;
	StreamingInputCallResponse resp;
	auto writer = e.stub->StreamingInputCall(&ctx, &resp);
	for (int n : {27182, 8, 1828, 45904}) {
		StreamingInputCallRequest req;
		req.mutable_payload()->set_body(std::string(n, '\0'));
		check(writer->Write(req), "write failed");
	}
	writer->WritesDone();
	expect(writer->Finish(), StatusCode::OK);
	check(resp.aggregated_payload_size() == 74922, "aggregated size");
}

void server_streaming(Env &e)
{
	ClientContext ctx;
	std::vector<int> sizes{31415, 9, 2653, 58979};
	auto reader = e.stub->StreamingOutputCall(&ctx, out_request(sizes));
	StreamingOutputCallResponse resp;
	size_t i = 0;
	while (reader->Read(&resp)) {
		check(i < sizes.size(), "too many responses");
		check(resp.payload().body().size() == (size_t)sizes[i++],
		    "response size");
	}
	expect(reader->Finish(), StatusCode::OK);
	check(i == sizes.size(), "too few responses");
}

void ping_pong(Env &e)
{
	ClientContext ctx;
	auto stream = e.stub->FullDuplexCall(&ctx);
	StreamingOutputCallResponse resp;
	const int steps[][2] = {{31415, 27182}, {9, 8}, {2653, 1828},
	    {58979, 45904}};
	for (auto &s : steps) {
		check(stream->Write(out_request({s[0]}, s[1])), "write");
		check(stream->Read(&resp), "read");
		check(resp.payload().body().size() == (size_t)s[0], "size");
	}
	stream->WritesDone();
	check(!stream->Read(&resp), "more than four responses");
	expect(stream->Finish(), StatusCode::OK);
}

void empty_stream(Env &e)
{
	ClientContext ctx;
	auto stream = e.stub->FullDuplexCall(&ctx);
	StreamingOutputCallResponse resp;
	stream->WritesDone();
	check(!stream->Read(&resp), "response on an empty stream");
	expect(stream->Finish(), StatusCode::OK);
}

// echo_status makes the unary and duplex calls that ask for a status.
void echo_status(Env &e, const char *message)
{
	{
		ClientContext ctx;
		SimpleRequest req;
		SimpleResponse resp;
		req.mutable_response_status()->set_code(2);
		req.mutable_response_status()->set_message(message);
		expect(e.stub->UnaryCall(&ctx, req, &resp), StatusCode::UNKNOWN,
		    message);
	}
	ClientContext ctx;
	auto stream = e.stub->FullDuplexCall(&ctx);
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse resp;
	req.mutable_response_status()->set_code(2);
	req.mutable_response_status()->set_message(message);
	stream->Write(req);
	stream->WritesDone();
	while (stream->Read(&resp))
		;
	expect(stream->Finish(), StatusCode::UNKNOWN, message);
}

void status_code_and_message(Env &e)
{
	echo_status(e, "test status message");
}

void special_status_message(Env &e)
{
	ClientContext ctx;
	SimpleRequest req;
	SimpleResponse resp;
	req.mutable_response_status()->set_code(2);
	req.mutable_response_status()->set_message(kSpecial);
	expect(e.stub->UnaryCall(&ctx, req, &resp), StatusCode::UNKNOWN,
	    kSpecial);
}

// find returns a metadata value, or "<missing>".
std::string find(const std::multimap<grpc::string_ref, grpc::string_ref> &m,
    const char *key)
{
	auto it = m.find(key);
	if (it == m.end())
		return "<missing>";
	return std::string(it->second.data(), it->second.size());
}

// add_echo_metadata attaches the two echo keys.
void add_echo_metadata(ClientContext &ctx)
{
	ctx.AddMetadata(kEchoInitial, "test_initial_metadata_value");
	ctx.AddMetadata(kEchoTrailing, std::string("\xab\xab\xab", 3));
}

// check_echo_metadata verifies both echoes.
void check_echo_metadata(ClientContext &ctx)
{
	check(find(ctx.GetServerInitialMetadata(), kEchoInitial) ==
		"test_initial_metadata_value",
	    "initial metadata");
	check(find(ctx.GetServerTrailingMetadata(), kEchoTrailing) ==
		std::string("\xab\xab\xab", 3),
	    "trailing metadata");
}

void custom_metadata(Env &e)
{
	{
		ClientContext ctx;
		SimpleRequest req;
		SimpleResponse resp;
		add_echo_metadata(ctx);
		req.set_response_size(314159);
		req.mutable_payload()->set_body(std::string(271828, '\0'));
		expect(e.stub->UnaryCall(&ctx, req, &resp), StatusCode::OK);
		check(resp.payload().body().size() == 314159, "unary size");
		check_echo_metadata(ctx);
	}
	ClientContext ctx;
	add_echo_metadata(ctx);
	auto stream = e.stub->FullDuplexCall(&ctx);
	StreamingOutputCallResponse resp;
	check(stream->Write(out_request({314159}, 271828)), "write");
	stream->WritesDone();
	check(stream->Read(&resp), "read");
	check(resp.payload().body().size() == 314159, "duplex size");
	check(!stream->Read(&resp), "extra response");
	expect(stream->Finish(), StatusCode::OK);
	check_echo_metadata(ctx);
}

void unimplemented_method(Env &e)
{
	ClientContext ctx;
	Empty req, resp;
	expect(e.stub->UnimplementedCall(&ctx, req, &resp),
	    StatusCode::UNIMPLEMENTED);
}

void unimplemented_service(Env &e)
{
	auto stub = UnimplementedService::NewStub(e.channel);
	ClientContext ctx;
	Empty req, resp;
	expect(stub->UnimplementedCall(&ctx, req, &resp),
	    StatusCode::UNIMPLEMENTED);
}

void cancel_after_begin(Env &e)
{
	ClientContext ctx;
	StreamingInputCallResponse resp;
	auto writer = e.stub->StreamingInputCall(&ctx, &resp);
	ctx.TryCancel();
	expect(writer->Finish(), StatusCode::CANCELLED);
}

void cancel_after_first_response(Env &e)
{
	ClientContext ctx;
	auto stream = e.stub->FullDuplexCall(&ctx);
	StreamingOutputCallResponse resp;
	check(stream->Write(out_request({31415}, 27182)), "write");
	check(stream->Read(&resp), "read");
	check(resp.payload().body().size() == 31415, "size");
	ctx.TryCancel();
	while (stream->Read(&resp))
		;
	expect(stream->Finish(), StatusCode::CANCELLED);
}

void timeout_on_sleeping_server(Env &e)
{
	ClientContext ctx;
	ctx.set_deadline(std::chrono::system_clock::now() +
	    std::chrono::milliseconds(1));
	auto stream = e.stub->FullDuplexCall(&ctx);
	StreamingOutputCallResponse resp;
	stream->Write(out_request({}, 27182));
	while (stream->Read(&resp))
		;
	expect(stream->Finish(), StatusCode::DEADLINE_EXCEEDED);
}

const std::map<std::string, std::function<void(Env &)>> kCases = {
	{"empty_unary", empty_unary},
	{"large_unary", large_unary},
	{"client_streaming", client_streaming},
	{"server_streaming", server_streaming},
	{"ping_pong", ping_pong},
	{"empty_stream", empty_stream},
	{"status_code_and_message", status_code_and_message},
	{"special_status_message", special_status_message},
	{"custom_metadata", custom_metadata},
	{"unimplemented_method", unimplemented_method},
	{"unimplemented_service", unimplemented_service},
	{"cancel_after_begin", cancel_after_begin},
	{"cancel_after_first_response", cancel_after_first_response},
	{"timeout_on_sleeping_server", timeout_on_sleeping_server},
};

// slurp reads a whole file.
std::string slurp(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	if (!f)
		throw Failure("cannot read " + path);
	return ss.str();
}

// make_channel builds an insecure or TLS channel from the flags.
std::shared_ptr<grpc::Channel> make_channel(
    std::map<std::string, std::string> &flags)
{
	std::string target =
	    flags["server_host"] + ":" + flags["server_port"];
	if (flags["use_tls"] != "true")
		return grpc::CreateChannel(target,
		    grpc::InsecureChannelCredentials());
	grpc::SslCredentialsOptions opts;
	opts.pem_root_certs = slurp(flags["ca_file"]);
	if (!flags["cert_file"].empty()) {
		opts.pem_cert_chain = slurp(flags["cert_file"]);
		opts.pem_private_key = slurp(flags["key_file"]);
	}
	grpc::ChannelArguments args;
	if (!flags["server_host_override"].empty())
		args.SetSslTargetNameOverride(flags["server_host_override"]);
	return grpc::CreateCustomChannel(target, grpc::SslCredentials(opts),
	    args);
}

} // namespace

int main(int argc, char **argv)
{
	std::map<std::string, std::string> flags = {
	    {"server_host", "127.0.0.1"}};
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
			std::fprintf(stderr, "usage: interop_client "
					     "--server_port N --test_case NAME "
					     "[--flag value]...\n");
			return 2;
		}
		flags[a.substr(2)] = argv[++i];
	}
	auto it = kCases.find(flags["test_case"]);
	if (it == kCases.end() || flags["server_port"].empty()) {
		std::fprintf(stderr, "interop_client: unknown test case\n");
		return 2;
	}
	try {
		Env e;
		e.channel = make_channel(flags);
		e.stub = TestService::NewStub(e.channel);
		it->second(e);
	} catch (const Failure &f) {
		std::printf("FAIL %s: %s\n", it->first.c_str(), f.what());
		return 1;
	}
	std::printf("PASS %s\n", it->first.c_str());
	return 0;
}
