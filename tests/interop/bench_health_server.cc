// grpc-health-server: the reference for the transport benchmark. A grpc C++
// server (Debian's libgrpc++ 1.51) serving grpc.health.v1.Health/Check, the
// method carebank's benchmark calls, answering SERVING, with grpc's default
// settings. --api sync uses the synchronous API, --api callback the callback
// API. Prints "listening on port N"; SIGTERM or SIGINT stops it.

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

volatile std::sig_atomic_t stop;

// SyncHealth answers Check on grpc's synchronous thread pool.
class SyncHealth final : public Health::Service {
	grpc::Status Check(grpc::ServerContext *, const HealthCheckRequest *,
	    HealthCheckResponse *resp) override
	{
		resp->set_status(HealthCheckResponse::SERVING);
		return grpc::Status::OK;
	}
};

// CallbackHealth answers Check through the callback API.
class CallbackHealth final : public Health::CallbackService {
	grpc::ServerUnaryReactor *Check(grpc::CallbackServerContext *ctx,
	    const HealthCheckRequest *, HealthCheckResponse *resp) override
	{
		resp->set_status(HealthCheckResponse::SERVING);
		auto *r = ctx->DefaultReactor();
		r->Finish(grpc::Status::OK);
		return r;
	}
};

void on_signal(int)
{
	stop = 1;
}

} // namespace

int main(int argc, char **argv)
{
	std::string api = "sync", host = "127.0.0.1:0";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (std::strcmp(argv[i], "--api") == 0)
			api = argv[i + 1];
		else if (std::strcmp(argv[i], "--port") == 0)
			host = std::string("127.0.0.1:") + argv[i + 1];
	}
	SyncHealth sync;
	CallbackHealth callback;
	grpc::ServerBuilder b;
	int port = 0;
	b.AddListeningPort(host, grpc::InsecureServerCredentials(), &port);
	if (api == "callback")
		b.RegisterService(&callback);
	else
		b.RegisterService(&sync);
	auto server = b.BuildAndStart();
	if (!server) {
		std::fprintf(stderr, "grpc-health-server: cannot start\n");
		return 1;
	}
	std::printf("listening on 127.0.0.1 port %d (%s API)\n", port,
	    api.c_str());
	std::fflush(stdout);
	std::signal(SIGTERM, on_signal);
	std::signal(SIGINT, on_signal);
	while (!stop)
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	server->Shutdown();
	return 0;
}
