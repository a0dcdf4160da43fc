#!/usr/bin/python3
"""Server reflection against carebank-interop-server with a real reflection
client (the generated grpc.reflection v1 and v1alpha stubs on
python3-grpcio): list the services, then resolve each one with
file_containing_symbol into a descriptor pool, which succeeds only if every
transitive dependency came along; then look files up by name, by nested
symbol and by method, and check the NOT_FOUND errors. Flags as
interop_common.parse_args.
"""

import sys

import interop_common
from interop_common import check

EXPECTED = {
    "grpc.testing.TestService",
    "grpc.testing.XdsUpdateHealthService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


def exercise(pb2, pb2_grpc, ch):
    from google.protobuf import descriptor_pb2, descriptor_pool
    stub = pb2_grpc.ServerReflectionStub(ch)
    Req = pb2.ServerReflectionRequest

    def ask(*reqs):
        """Sends requests on one stream; each gets one response, in order."""
        resps = list(stub.ServerReflectionInfo(iter(reqs), timeout=30))
        check(len(resps) == len(reqs), "%d responses" % len(resps))
        for q, r in zip(reqs, resps):
            check(r.original_request == q, "original_request not echoed")
        return resps

    def files(resp):
        check(resp.HasField("file_descriptor_response"),
              "no file: %s" % resp)
        out = []
        for raw in resp.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto()
            fd.ParseFromString(raw)
            out.append(fd)
        return out

    listed = ask(Req(list_services=""))[0]
    names = {s.name for s in listed.list_services_response.service}
    check(names == EXPECTED, "services %s" % sorted(names))

    for name in sorted(EXPECTED):
        fds = files(ask(Req(file_containing_symbol=name))[0])
        check(name.rsplit(".", 1)[1] in [s.name for s in fds[0].service],
              "%s not in the first file %s" % (name, fds[0].name))
        pool = descriptor_pool.DescriptorPool()
        for fd in reversed(fds):
            pool.Add(fd)
        svc = pool.FindServiceByName(name)
        for m in svc.methods:
            check(m.input_type.full_name and m.output_type.full_name,
                  "method %s unresolved" % m.full_name)

    by_name, nested, method, missing, nofile, ext = ask(
        Req(file_by_filename="grpc/testing/test.proto"),
        Req(file_containing_symbol=
            "grpc.testing.LoadBalancerStatsResponse.RpcsByPeer"),
        Req(file_containing_symbol="grpc.testing.TestService.UnaryCall"),
        Req(file_containing_symbol="no.such.Symbol"),
        Req(file_by_filename="no/such.proto"),
        Req(all_extension_numbers_of_type="grpc.testing.SimpleRequest"))
    got = sorted(fd.name for fd in files(by_name))
    check(got == ["grpc/testing/empty.proto", "grpc/testing/messages.proto",
                  "grpc/testing/test.proto"], "test.proto closure %s" % got)
    check(files(nested)[0].name == "grpc/testing/messages.proto",
          "nested symbol")
    check(files(method)[0].name == "grpc/testing/test.proto", "method symbol")
    for r in (missing, nofile):
        check(r.HasField("error_response") and
              r.error_response.error_code == 5, "want NOT_FOUND: %s" % r)
    check(ext.all_extension_numbers_response.base_type_name ==
          "grpc.testing.SimpleRequest", "extension numbers")


def test(grpc, ch):
    from grpc.reflection.v1 import reflection_pb2 as v1
    from grpc.reflection.v1 import reflection_pb2_grpc as v1_grpc
    from grpc.reflection.v1alpha import reflection_pb2 as v1a
    from grpc.reflection.v1alpha import reflection_pb2_grpc as v1a_grpc
    exercise(v1, v1_grpc, ch)
    exercise(v1a, v1a_grpc, ch)


if __name__ == "__main__":
    sys.exit(interop_common.main(__doc__, "reflection", test))
