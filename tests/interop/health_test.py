#!/usr/bin/python3
"""grpc.health.v1.Health against carebank-interop-server, with the
generated stubs on python3-grpcio, per grpc's health-checking spec: Check
answers a known service's status and NOT_FOUND for an unknown one; Watch
sends the current status at once (SERVICE_UNKNOWN for an unknown service,
staying open) and again on each change. Changes are made through
grpc.testing.XdsUpdateHealthService, which the server applies from a worker
thread. Flags as interop_common.parse_args.
"""

import queue
import sys
import threading

import interop_common
from interop_common import check

TEST = "grpc.testing.TestService"


def test(grpc, ch):
    from grpc.health.v1 import health_pb2, health_pb2_grpc
    from grpc.testing import empty_pb2, test_pb2_grpc
    Resp = health_pb2.HealthCheckResponse
    health = health_pb2_grpc.HealthStub(ch)
    control = test_pb2_grpc.XdsUpdateHealthServiceStub(ch)

    def status(service):
        return health.Check(health_pb2.HealthCheckRequest(service=service),
                            timeout=10).status

    check(status("") == Resp.SERVING, "overall status")
    check(status(TEST) == Resp.SERVING, "TestService status")
    try:
        status("no.such.Service")
        check(False, "Check of an unknown service succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, "code %s" % e.code())

    # Watch: current status, then every change, in order.
    seen = queue.Queue()
    watch = health.Watch(health_pb2.HealthCheckRequest(service=TEST),
                         timeout=30)

    def reader():
        try:
            for r in watch:
                seen.put(r.status)
        except grpc.RpcError as e:
            seen.put(e.code())

    threading.Thread(target=reader, daemon=True).start()
    check(seen.get(timeout=10) == Resp.SERVING, "first Watch status")
    control.SetNotServing(empty_pb2.Empty(), timeout=10)
    check(seen.get(timeout=10) == Resp.NOT_SERVING, "Watch after change")
    check(status(TEST) == Resp.NOT_SERVING, "Check after change")
    control.SetServing(empty_pb2.Empty(), timeout=10)
    check(seen.get(timeout=10) == Resp.SERVING, "Watch after change back")
    watch.cancel()

    unknown = health.Watch(
        health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=30)
    check(next(unknown).status == Resp.SERVICE_UNKNOWN,
          "Watch of an unknown service")
    unknown.cancel()


if __name__ == "__main__":
    sys.exit(interop_common.main(__doc__, "health", test))
