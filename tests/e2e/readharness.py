"""A harness for the read tests of carebankd: it starts a real carebankd on
127.0.0.1 port 0 in a temporary directory, signs calls exactly as
proto/carebank/v1/service.proto and include/carebank/call.h say (Ed25519,
python3-cryptography), and checks what the Audit service returns with its
own RFC 6962 / RFC 9162 proof verification. Checkpoint notes and verifier
keys are opened with tlog_verify.py, the independent verifier beside it.

Nothing here shares code with the server: grpcio for the transport, the
protobuf modules generated from proto/ (--gen-dir), and cbclient.py's keys,
call signing and proof checks (hashlib, cryptography).
"""
import argparse
import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cbclient as cb  # noqa: E402
import tlog_verify  # noqa: E402
from cbclient import (  # noqa: E402,F401 (tests take them from here)
    Failure, check, eq, leaf_hash, now_ms, request_id, sha256)

pb = spb = epb = None  # bank_pb2, service_pb2, entry_pb2, set by setup()
ARGS = None
K, C, A = ("/carebank.v1.Kiosk/", "/carebank.v1.Coordinator/",
           "/carebank.v1.Audit/")


class Key(cb.Key):
    """An Ed25519 key that signs calls as grpcio metadata."""

    def metadata(self, centre, method, raw, t=None):
        t = now_ms() if t is None else t
        return [("carebank-key", self.hex), ("carebank-time", str(t)),
                ("carebank-signature-bin",
                 self.sign(cb.call_message(method, t, raw))),
                ("carebank-centre", centre)]


class Error(Exception):
    """A call that did not end OK: its status and message."""

    def __init__(self, code, details):
        super().__init__("%s: %s" % (code, details))
        self.code = code
        self.details = details


class Client:
    """Signed calls by one key to one centre."""

    def __init__(self, channel, centre, key):
        self.channel, self.centre, self.key = channel, centre, key

    def _prepare(self, msg):
        if hasattr(msg, "centre") and not msg.centre:
            msg.centre = self.centre
        if hasattr(msg, "request_id") and not msg.request_id:
            msg.request_id = request_id()
        return msg.SerializeToString()

    def call(self, method, msg, reply=None, timeout=60):
        """A unary call; returns the decoded reply or raises Error."""
        raw = self._prepare(msg)
        md = self.key.metadata(self.centre, method, raw)
        try:
            out = self.channel.unary_unary(method)(raw, metadata=md,
                                                   timeout=timeout)
        except grpc.RpcError as e:
            raise Error(e.code(), e.details())
        return (reply or spb.Receipt).FromString(out)

    def stream(self, method, msg, timeout=None):
        """A server stream: the grpc call object, iterating raw bytes."""
        raw = self._prepare(msg)
        md = self.key.metadata(self.centre, method, raw)
        return self.channel.unary_stream(method)(raw, metadata=md,
                                                 timeout=timeout)

    def status(self, method, msg, reply=None):
        """The status code and message of a call that must fail."""
        try:
            self.call(method, msg, reply)
        except Error as e:
            return e.code, e.details
        raise Failure("%s succeeded but should not have" % method)


class Server:
    """carebankd with one centre, on 127.0.0.1 port 0."""

    def __init__(self, centre="reads"):
        self.dir = tempfile.mkdtemp(prefix="cb-reads-")
        self.data = os.path.join(self.dir, "data")
        self.centre = centre
        out = subprocess.run([ARGS.carebankd, "init", "--data", self.data,
                              "--centre", centre], capture_output=True,
                             text=True)
        check(out.returncode == 0, "init failed: %s" % out.stderr)
        self.vkey = out.stdout.splitlines()[0]
        self.coord_key = Key.load(os.path.join(
            self.data, "keys", centre + ".coordinator.pem"))
        self.proc = None
        self.channel = None

    def start(self):
        port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [ARGS.carebankd, "serve", "--data", self.data,
             "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--workers", "2"], stdout=self.log, stderr=self.log)
        for _ in range(600):
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read()
                if text.endswith("\n"):
                    self.port = int(text)
                    break
            check(self.proc.poll() is None, "carebankd exited: %s" %
                  self.stderr())
            time.sleep(0.05)
        else:
            raise Failure("carebankd did not write its port")
        self.channel = grpc.insecure_channel(
            "127.0.0.1:%d" % self.port,
            options=[("grpc.max_receive_message_length", 8 << 20)])
        grpc.channel_ready_future(self.channel).result(timeout=30)
        return self

    def client(self, key=None):
        return Client(self.channel, self.centre, key or self.coord_key)

    def stderr(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc is None or self.log.closed:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("carebankd did not stop on SIGTERM")
        self.log.close()
        self.channel.close()
        check(rc == 0, "carebankd exited %d: %s" % (rc, self.stderr()))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def enrol(coord, role, label):
    """Enrols a new key with a role; returns it."""
    key = Key()
    coord.call(C + "EnrolKey", pb.EnrolKeyRequest(
        public_key=key.pub, role=role, label=label))
    return key


def new_id(receipt):
    return receipt.result.id


# RFC 6962 / RFC 9162 proofs, checked with cbclient's code: nothing of the
# server's.

def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2."""
    return cb.inclusion_root(index, size, leaf_hash(leaf), proof) == root


def verify_consistency(first, second, proof, root1, root2):
    """RFC 9162 2.1.4.2, with its cases for an empty first tree."""
    if first == 0:
        return first <= second and not proof and root1 == sha256()
    return cb.consistency_ok(first, second, root1, root2, proof)


def open_checkpoint(note, vkey_line):
    """Verifies a signed checkpoint; returns (origin, size, root)."""
    vkey = tlog_verify.parse_vkey(vkey_line)
    text = tlog_verify.open_note(note, vkey).decode()
    lines = text.split("\n")
    check(lines[0] == vkey[0], "checkpoint origin is the key's name")
    return lines[0], int(lines[1]), base64.b64decode(lines[2],
                                                     validate=True)


def root_of(leaves):
    return tlog_verify.mth([leaf_hash(x) for x in leaves]) if leaves \
        else sha256()


# Running tests.

def setup():
    global pb, spb, epb, ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--carebankd", required=True)
    ap.add_argument("--gen-dir", required=True)
    ap.add_argument("--test", required=True)
    ARGS = ap.parse_args()
    sys.path.insert(0, ARGS.gen_dir)
    from carebank.v1 import bank_pb2, entry_pb2, service_pb2
    pb, spb, epb = bank_pb2, service_pb2, entry_pb2
    return ARGS


def main(tests):
    """Runs the test named by --test from tests; exit 0 when it passes."""
    args = setup()
    fn = tests.get(args.test)
    if fn is None:
        print("no test %r; tests: %s" % (args.test, ", ".join(tests)))
        return 2
    srv = Server()
    try:
        srv.start()
        fn(srv)
        srv.stop()
    except Exception:
        traceback.print_exc()
        if srv.proc is not None:
            print("--- carebankd stderr (tail) ---")
            print(srv.stderr()[-4000:])
            if srv.proc.poll() is None:
                srv.proc.kill()
        return 1
    finally:
        srv.cleanup()
    print("ok: %s" % args.test)
    return 0
