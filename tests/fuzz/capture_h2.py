#!/usr/bin/python3
"""Records seed inputs for the h2 fuzz target from real clients.

Usage: capture_h2.py --server BIN --gen_dir DIR --out DIR [--cxx CLIENT]

Starts carebank-interop-server, puts a TCP relay in front of it that writes
everything each client connection sends into its own file, and runs the
interop cases (Python, and C++ when given), the health and reflection tests
and a few h2load requests through the relay. The files are the fuzzer's
starting corpus: real prefaces, SETTINGS, HPACK and gRPC messages.
"""

import argparse
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP = os.path.join(HERE, "..", "interop")
CASES = ["empty_unary", "large_unary", "client_streaming", "server_streaming",
         "ping_pong", "empty_stream", "status_code_and_message",
         "special_status_message", "custom_metadata", "unimplemented_method",
         "unimplemented_service", "cancel_after_begin",
         "cancel_after_first_response", "timeout_on_sleeping_server"]


def relay(listener, upstream_port, out_dir, counter):
    """Accepts connections forever, relaying and recording each one."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        counter[0] += 1
        path = os.path.join(out_dir, "conn-%03d" % counter[0])
        threading.Thread(target=pipe, args=(client, upstream_port, path),
                         daemon=True).start()


def pipe(client, upstream_port, path):
    """Copies both ways; what the client sends also goes to path."""
    server = socket.create_connection(("127.0.0.1", upstream_port))
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, server)
    sel.register(server, selectors.EVENT_READ, client)
    with open(path, "wb") as rec:
        open_ends = 2
        while open_ends:
            for key, _ in sel.select():
                data = key.fileobj.recv(65536)
                if not data:
                    sel.unregister(key.fileobj)
                    open_ends -= 1
                    try:
                        key.data.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                if key.fileobj is client:
                    rec.write(data)
                key.data.sendall(data)
    client.close()
    server.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--gen_dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cxx")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    srv = subprocess.Popen([args.server, "--port", "0"],
                           stdout=subprocess.PIPE, text=True)
    port = int(re.search(r"port (\d+)", srv.stdout.readline()).group(1))
    lis = socket.socket()
    lis.bind(("127.0.0.1", 0))
    lis.listen(64)
    rport = lis.getsockname()[1]
    counter = [0]
    threading.Thread(target=relay, args=(lis, port, args.out, counter),
                     daemon=True).start()
    py = [sys.executable]
    common = ["--gen_dir", args.gen_dir, "--server_port", str(rport)]
    for case in CASES:
        subprocess.run(py + [os.path.join(INTEROP, "interop_client.py"),
                             "--test_case", case] + common)
        if args.cxx:
            subprocess.run([args.cxx, "--test_case", case,
                            "--server_port", str(rport)])
    for t in ("health_test.py", "reflection_test.py"):
        subprocess.run(py + [os.path.join(INTEROP, t)] + common)
    if shutil.which("h2load"):
        body = os.path.join(args.out, "..", "h2load-body")
        with open(body, "wb") as f:
            f.write(b"\0\0\0\0\0")
        subprocess.run(["h2load", "-n", "20", "-c", "1", "-m", "4",
                        "-d", body, "-H", "content-type: application/grpc",
                        "-H", "te: trailers",
                        "http://127.0.0.1:%d/grpc.health.v1.Health/Check"
                        % rport], stdout=subprocess.DEVNULL)
        os.unlink(body)
    srv.send_signal(signal.SIGTERM)
    srv.wait()
    lis.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
