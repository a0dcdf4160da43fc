#!/usr/bin/python3
"""Writes seed inputs for the client fuzz target (fuzz_client.c).

Usage: client_seeds.py OUTDIR

Each seed is what a server might send on one connection after the empty
SETTINGS the harness sends itself: answers to the harness's calls on streams
1, 3 and 5 (unary) and 7 (server stream), built frame by frame with HPACK
literals, from proper responses to broken ones, so the fuzzer starts from
inputs that reach every part of the client's response handling.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from h2raw import (  # noqa: E402 (the one raw HTTP/2 writer of the tests)
    ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING,
    RST_STREAM as RST, SETTINGS, WINDOW_UPDATE as WINDOW, frame,
    grpc_message as msg, hpack)


def headers(sid, fields, end=False):
    block = hpack(fields)
    return frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), sid, block)


def data(sid, payload, end=False):
    return frame(DATA, END_STREAM if end else 0, sid, payload)


OK = [(":status", "200"), ("content-type", "application/grpc")]


def trailers(sid, status="0", extra=()):
    return headers(sid, [("grpc-status", status)] + list(extra), end=True)


def good(sid, bodies):
    return headers(sid, OK) + data(sid, b"".join(msg(b) for b in bodies)) + \
        trailers(sid)


SEEDS = {
    "ok": frame(SETTINGS, ACK, 0) + good(1, [b"hi"]) + good(3, [b""]) +
    good(5, [b"x" * 100]) + good(7, [b"a", b"bb", b"ccc"]),
    "metadata": headers(1, OK + [("x-a", "b"), ("x-b-bin", "AAEC")]) +
    data(1, msg(b"m")) +
    trailers(1, "0", [("x-t-bin", "AAEC,AQI"), ("grpc-message", "ok%21")]) +
    headers(3, OK + [("grpc-status", "5"), ("grpc-message", "a%20b%zz")],
            end=True) +
    headers(5, OK) + trailers(5, "0", [("x-bad-bin", "!!")]) +
    headers(7, [(":status", "100")]) + good(7, [b"after 100"]),
    "errors": headers(1, [(":status", "404")], end=True) +
    headers(3, [(":status", "200"), ("content-type", "text/html")]) +
    data(3, b"<html>", end=True) +
    frame(RST, 0, 5, struct.pack(">I", 8)) +
    headers(7, OK) + data(7, msg(b"whole") + b"\x00\x00\x00\x00\x09par") +
    frame(RST, 0, 7, struct.pack(">I", 2)),
    "goaway": good(1, [b"first"]) + frame(PING, 0, 0, b"12345678") +
    frame(GOAWAY, 0, 0, struct.pack(">II", 3, 0) + b"draining") +
    good(3, [b"second"]),
    "split": headers(7, OK) + data(7, b"\x00\x00\x00") +
    data(7, b"\x00\x05he") + data(7, b"llo" + msg(b"two")) +
    frame(WINDOW, 0, 0, struct.pack(">I", 1000)) + trailers(7) +
    headers(1, OK) + data(1, msg(b"one") + msg(b"two")) + trailers(1),
    "frames": headers(1, OK) + data(1, b"\x01\x00\x00\x00\x01z") +
    trailers(1) + headers(3, OK) + data(3, b"\x00\xff\xff\xff\xff") +
    headers(5, OK) + data(5, b"\x02\x00\x00\x00\x00") + trailers(5) +
    headers(7, OK) + trailers(7, "abc"),
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, seed in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
