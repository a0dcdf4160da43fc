#!/usr/bin/python3
"""Runs one client against a fresh carebank-interop-server.

Usage: run_interop.py --server BIN [--tls CERTDIR [--mtls]]
       [--server-arg ARG]... -- CLIENT [ARG]...

Starts the server on 127.0.0.1 port 0 (TLS with CERTDIR's server.pem when
asked), appends --server_port N (and the TLS flags) to the client command,
runs it with a time limit, then stops the server with SIGTERM. Passes only if
the client exits 0 and the server drains and exits 0 in time (under the
sanitizers, a leak makes that exit status nonzero). A client that hangs or
crashes counts as a server bug.
"""

import argparse
import os
import re
import signal
import subprocess
import sys

CLIENT_TIMEOUT = 120
SERVER_TIMEOUT = 30


def start_server(binary, extra, tls, mtls):
    """Starts the server and returns (process, port)."""
    cmd = [binary, "--host", "127.0.0.1", "--port", "0"] + extra
    if tls:
        cmd += ["--tls-cert", os.path.join(tls, "server.pem"),
                "--tls-key", os.path.join(tls, "server.key")]
        if mtls:
            cmd += ["--tls-ca", os.path.join(tls, "ca.pem"),
                    "--require-client-cert"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"port (\d+)", line)
    if not m:
        proc.kill()
        proc.wait()
        sys.exit("server did not report its port: %r" % line)
    return proc, int(m.group(1))


def stop_server(proc):
    """SIGTERM, then the exit status (or failure if it does not drain)."""
    if proc.poll() is not None:
        print("server died early with status %d" % proc.returncode)
        return 1
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(SERVER_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print("server did not drain within %ds" % SERVER_TIMEOUT)
        return 1
    if rc != 0:
        print("server exited with status %d" % rc)
    return rc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--tls")
    p.add_argument("--mtls", action="store_true")
    p.add_argument("--server-arg", action="append", default=[])
    p.add_argument("client", nargs=argparse.REMAINDER)
    args = p.parse_args()
    client = [a for a in args.client if a != "--"]
    proc, port = start_server(args.server, args.server_arg, args.tls,
                              args.mtls)
    client += ["--server_port", str(port)]
    if args.tls:
        client += ["--use_tls", "true",
                   "--ca_file", os.path.join(args.tls, "ca.pem"),
                   "--server_host_override", "localhost"]
        if args.mtls:
            client += ["--cert_file", os.path.join(args.tls, "client.pem"),
                       "--key_file", os.path.join(args.tls, "client.key")]
    try:
        rc = subprocess.run(client, timeout=CLIENT_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        print("client hung for %ds" % CLIENT_TIMEOUT)
        rc = 1
    if rc != 0:
        print("client failed with status %d" % rc)
    src = stop_server(proc)
    return 1 if rc != 0 or src != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
