#!/usr/bin/python3
"""grpc's interop test cases (doc/interop-test-descriptions.md), client side,
on Debian's python3-grpcio, against carebank-interop-server.

Usage: interop_client.py --gen_dir DIR --server_port N --test_case NAME
       [--server_host H] [--use_tls true --ca_file F
       [--server_host_override NAME] [--cert_file F --key_file F]]

DIR holds the Python stubs generated from Debian's grpc-proto at build time.
Exit status 0 when the case passes, 1 when it fails.
"""

import queue
import sys

from interop_common import Failure, channel, check, load_stubs, parse_args, run

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
SPECIAL = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


def import_testing():
    """Imports the generated grpc.testing modules."""
    global empty_pb2, messages_pb2, test_pb2_grpc
    from grpc.testing import empty_pb2, messages_pb2, test_pb2_grpc


class Pipe:
    """A request iterator the test feeds one message at a time."""

    def __init__(self):
        self._q = queue.Queue()

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get()
        if item is None:
            raise StopIteration
        return item

    def add(self, request):
        self._q.put(request)

    def close(self):
        self._q.put(None)


def zeros(n):
    return messages_pb2.Payload(body=b"\0" * n)


def out_request(sizes, body=0):
    req = messages_pb2.StreamingOutputCallRequest()
    for size in sizes:
        req.response_parameters.add(size=size)
    if body:
        req.payload.CopyFrom(zeros(body))
    return req


def expect_error(fn, code, details=None):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, "status %s, want %s" % (e.code(), code))
        if details is not None:
            check(e.details() == details,
                  "details %r, want %r" % (e.details(), details))
        return
    raise Failure("call succeeded, want %s" % code)


def empty_unary(stub, ch):
    resp = stub.EmptyCall(empty_pb2.Empty())
    check(isinstance(resp, empty_pb2.Empty), "response is not Empty")


def large_unary(stub, ch):
    req = messages_pb2.SimpleRequest(response_size=314159,
                                     payload=zeros(271828))
    resp = stub.UnaryCall(req)
    check(resp.payload.body == b"\0" * 314159, "payload is not 314159 zeros")


def client_streaming(stub, ch):
    reqs = (messages_pb2.StreamingInputCallRequest(payload=zeros(n))
            for n in (27182, 8, 1828, 45904))
    resp = stub.StreamingInputCall(reqs)
    check(resp.aggregated_payload_size == 74922,
          "aggregated %d" % resp.aggregated_payload_size)


def server_streaming(stub, ch):
    sizes = [31415, 9, 2653, 58979]
    got = [len(r.payload.body) for r in
           stub.StreamingOutputCall(out_request(sizes))]
    check(got == sizes, "sizes %s" % got)


def ping_pong(stub, ch):
    pipe = Pipe()
    responses = stub.FullDuplexCall(pipe)
    for size, body in ((31415, 27182), (9, 8), (2653, 1828), (58979, 45904)):
        pipe.add(out_request([size], body))
        resp = next(responses)
        check(len(resp.payload.body) == size, "size %d" % size)
    pipe.close()
    check(next(responses, None) is None, "more than four responses")


def empty_stream(stub, ch):
    got = list(stub.FullDuplexCall(iter([])))
    check(got == [], "responses on an empty stream")


def status_code_and_message(stub, ch):
    status = messages_pb2.EchoStatus(code=2, message="test status message")
    expect_error(lambda: stub.UnaryCall(
        messages_pb2.SimpleRequest(response_status=status)),
        grpc.StatusCode.UNKNOWN, "test status message")
    req = messages_pb2.StreamingOutputCallRequest(response_status=status)
    expect_error(lambda: list(stub.FullDuplexCall(iter([req]))),
                 grpc.StatusCode.UNKNOWN, "test status message")


def special_status_message(stub, ch):
    status = messages_pb2.EchoStatus(code=2, message=SPECIAL)
    expect_error(lambda: stub.UnaryCall(
        messages_pb2.SimpleRequest(response_status=status)),
        grpc.StatusCode.UNKNOWN, SPECIAL)


def custom_metadata(stub, ch):
    md = ((ECHO_INITIAL, "test_initial_metadata_value"),
          (ECHO_TRAILING, b"\xab\xab\xab"))

    def verify(call):
        initial = dict(call.initial_metadata())
        trailing = dict(call.trailing_metadata())
        check(initial.get(ECHO_INITIAL) == "test_initial_metadata_value",
              "initial metadata %r" % initial)
        check(trailing.get(ECHO_TRAILING) == b"\xab\xab\xab",
              "trailing metadata %r" % trailing)

    req = messages_pb2.SimpleRequest(response_size=314159,
                                     payload=zeros(271828))
    resp, call = stub.UnaryCall.with_call(req, metadata=md)
    check(len(resp.payload.body) == 314159, "unary payload size")
    verify(call)
    call = stub.FullDuplexCall(iter([out_request([314159], 271828)]),
                               metadata=md)
    got = [len(r.payload.body) for r in call]
    check(got == [314159], "duplex sizes %s" % got)
    verify(call)


def unimplemented_method(stub, ch):
    expect_error(lambda: stub.UnimplementedCall(empty_pb2.Empty()),
                 grpc.StatusCode.UNIMPLEMENTED)


def unimplemented_service(stub, ch):
    other = test_pb2_grpc.UnimplementedServiceStub(ch)
    expect_error(lambda: other.UnimplementedCall(empty_pb2.Empty()),
                 grpc.StatusCode.UNIMPLEMENTED)


def cancel_after_begin(stub, ch):
    pipe = Pipe()
    future = stub.StreamingInputCall.future(pipe)
    future.cancel()
    check(future.cancelled(), "future not cancelled")
    check(future.code() == grpc.StatusCode.CANCELLED, "code %s" % future.code())
    pipe.close()


def cancel_after_first_response(stub, ch):
    pipe = Pipe()
    responses = stub.FullDuplexCall(pipe)
    pipe.add(out_request([31415], 27182))
    resp = next(responses)
    check(len(resp.payload.body) == 31415, "first response size")
    responses.cancel()
    expect_error(lambda: next(responses), grpc.StatusCode.CANCELLED)
    pipe.close()


def timeout_on_sleeping_server(stub, ch):
    pipe = Pipe()
    responses = stub.FullDuplexCall(pipe, timeout=0.001)
    pipe.add(out_request([], 27182))
    expect_error(lambda: next(responses), grpc.StatusCode.DEADLINE_EXCEEDED)
    pipe.close()


CASES = {f.__name__: f for f in (
    empty_unary, large_unary, client_streaming, server_streaming, ping_pong,
    empty_stream, status_code_and_message, special_status_message,
    custom_metadata, unimplemented_method, unimplemented_service,
    cancel_after_begin, cancel_after_first_response,
    timeout_on_sleeping_server)}


def main():
    global grpc
    args = parse_args(__doc__)
    grpc = load_stubs(args.gen_dir)
    import_testing()
    if args.test_case not in CASES:
        print("unknown test case %r" % args.test_case)
        return 2
    with channel(grpc, args) as ch:
        stub = test_pb2_grpc.TestServiceStub(ch)
        return run(args.test_case, lambda: CASES[args.test_case](stub, ch))


if __name__ == "__main__":
    sys.exit(main())
