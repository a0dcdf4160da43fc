"""A carebank client for the end-to-end tests, written from the API's
documentation (proto/carebank/v1, include/carebank/call.h) and the public
specifications, sharing no code with the server: python3-grpcio for the
transport, python3-cryptography for Ed25519, hashlib for SHA-256.

It starts and stops real carebankd processes (127.0.0.1, port 0, temporary
directories), loads and makes keys, signs calls, and checks receipts offline:
the leaf parses as a carebank.v1.Entry and re-encodes to the same bytes, its
RFC 6962 inclusion proof leads to the root of a C2SP checkpoint that the
centre's verifier key signed, and the actor's signature covers the request.

Every test script imports this module and calls main(tests): it parses the
common arguments (--carebankd, --gen-dir, --logexport, --test), runs the
named test and exits 0 on success, 1 on failure.
"""
import argparse
import base64
import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlog_verify import tile_path  # noqa: E402 (the one C2SP path rule)

# Filled in by main() from --gen-dir: the generated protobuf modules.
pb = None    # carebank.v1.bank_pb2
epb = None   # carebank.v1.entry_pb2
spb = None   # carebank.v1.service_pb2

ARGS = None
CALL_TAG = b"carebank-call-v1\x00"
MAX_MESSAGE = 4 << 20
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def now_ms():
    return int(time.time() * 1000)


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


# Keys and signed calls.

class Key:
    """An Ed25519 key with carebank's key id (the first 8 bytes of the
    SHA-256 of the raw public key)."""

    def __init__(self, priv=None):
        self.priv = priv or Ed25519PrivateKey.generate()
        self.pub = self.priv.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.id = sha256(self.pub)[:8]
        self.hex = self.id.hex()

    @classmethod
    def load(cls, path):
        with open(path, "rb") as f:
            priv = serialization.load_pem_private_key(f.read(), None)
        check(isinstance(priv, Ed25519PrivateKey), "%s: not Ed25519" % path)
        return cls(priv)

    def sign(self, data):
        return self.priv.sign(data)

    def save(self, path):
        """Writes the private key as a PKCS#8 PEM file only its owner may
        read (a new file: an existing one is an error). Returns path."""
        pem = self.priv.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return path


def call_message(method, time_ms, request):
    """The bytes an actor signs (include/carebank/call.h)."""
    m = method.encode()
    return CALL_TAG + struct.pack(">I", len(m)) + m + \
        struct.pack(">q", time_ms) + request


def request_id():
    """A time-ordered 16-byte request id, as carebank's clients make them."""
    return struct.pack(">Q", time.time_ns() // 1000) + os.urandom(8)


# What each method takes and who may call it (proto/carebank/v1 and
# DESIGN 5.3); the tests hold the server to this table.
K, C, A = "/carebank.v1.Kiosk/", "/carebank.v1.Coordinator/", \
    "/carebank.v1.Audit/"
COORD, KIOSK, AUDITOR = "coordinator", "kiosk", "auditor"
WRITES = {
    C + "CreateCentre": "CreateCentreRequest",
    C + "SetPolicy": "SetPolicyRequest",
    C + "EnrolKey": "EnrolKeyRequest",
    C + "RevokeKey": "RevokeKeyRequest",
    C + "EnrolFamily": "EnrolFamilyRequest",
    C + "LeaveFamily": "LeaveFamilyRequest",
    C + "AddAdult": "AddAdultRequest",
    C + "AddChild": "AddChildRequest",
    C + "SetPickup": "SetPickupRequest",
    C + "AddRoom": "AddRoomRequest",
    C + "SetRoom": "SetRoomRequest",
    C + "ScheduleShift": "ScheduleShiftRequest",
    C + "CancelShift": "CancelShiftRequest",
    C + "ApproveSwap": "ApproveSwapRequest",
    C + "CloseSession": "CloseSessionRequest",
    C + "RecordCash": "RecordCashRequest",
    C + "BuySupplies": "BuySuppliesRequest",
    C + "Settle": "SettleRequest",
    C + "Donate": "DonateRequest",
    C + "Reverse": "ReverseRequest",
    C + "ReviewFlag": "ReviewFlagRequest",
    C + "AdoptRules": "AdoptRulesRequest",
    K + "CheckInChild": "ChildCheckInRequest",
    K + "CheckOutChild": "ChildCheckOutRequest",
    K + "StartShift": "VolunteerCheckInRequest",
    K + "EndShift": "VolunteerCheckOutRequest",
    K + "OfferSwap": "OfferSwapRequest",
    K + "AnswerSwap": "AnswerSwapRequest",
    K + "WithdrawSwap": "WithdrawSwapRequest",
}
READS = {
    K + "Identify": "IdentifyRequest",
    C + "SetDirectory": "DirectoryRequest",
    C + "PreviewSettlement": "SettleRequest",
    C + "Balances": "CentreRequest",
    C + "GetStatement": "StatementRequest",
    C + "Fund": "CentreRequest",
    C + "Flagged": "FlaggedRequest",
    C + "Present": "CentreRequest",
    C + "Roster": "RosterRequest",
    A + "GetCheckpoint": "CentreRequest",
    A + "Entries": "EntriesRequest",
    A + "Inclusion": "InclusionRequest",
    A + "Consistency": "ConsistencyRequest",
    A + "WatchCheckpoints": "CentreRequest",
}
STREAMS = {A + "Entries", A + "WatchCheckpoints"}


def roles_of(method):
    """The roles that may call a method."""
    if method.startswith(K):
        return {COORD, KIOSK}
    if method.startswith(A):
        return {COORD, AUDITOR}
    return {COORD}


def message_class(method):
    name = WRITES.get(method) or READS.get(method)
    return getattr(pb, name, None) or getattr(spb, name)


class Reply:
    """The outcome of one call: status, message, trailers and the response
    bytes (a list of them for a server stream)."""

    def __init__(self, code, details, trailers, raw):
        self.code = code
        self.details = details or ""
        self.trailers = {k: v for k, v in (trailers or ())}
        self.raw = raw
        self.sent = None

    @property
    def ok(self):
        return self.code == grpc.StatusCode.OK

    @property
    def refusal(self):
        return self.trailers.get("carebank-refusal")

    def __repr__(self):
        return "Reply(%s, %r, refusal=%s)" % (self.code, self.details,
                                              self.refusal)


class Client:
    """Signs and sends calls for one key at one centre over one channel."""

    def __init__(self, channel, centre, key):
        self.channel = channel
        self.centre = centre
        self.key = key

    def metadata(self, method, raw, time_ms=None, key=None, sig=None,
                 centre=None):
        key = key or self.key
        t = now_ms() if time_ms is None else time_ms
        if sig is None:
            sig = key.sign(call_message(method, t, raw))
        return [("carebank-key", key.hex), ("carebank-time", str(t)),
                ("carebank-signature-bin", sig),
                ("carebank-centre", centre or self.centre)]

    def raw(self, method, raw, metadata=None, timeout=30, **sign):
        """Sends request bytes verbatim (signed unless metadata is given)."""
        md = self.metadata(method, raw, **sign) if metadata is None \
            else metadata
        if method in STREAMS:
            call = self.channel.unary_stream(method)(raw, metadata=md,
                                                     timeout=timeout)
            got = []
            try:
                for m in call:
                    got.append(m)
            except grpc.RpcError as e:
                return Reply(e.code(), e.details(), e.trailing_metadata(),
                             got)
            return Reply(call.code(), call.details(),
                         call.trailing_metadata(), got)
        try:
            resp, call = self.channel.unary_unary(method).with_call(
                raw, metadata=md, timeout=timeout)
        except grpc.RpcError as e:
            return Reply(e.code(), e.details(), e.trailing_metadata(), None)
        return Reply(call.code(), call.details(), call.trailing_metadata(),
                     resp)

    def call(self, method, msg=None, **kw):
        """Sends a message, filling in the centre and, for writes, a new
        request id when they are unset."""
        if msg is None:
            msg = message_class(method)()
        if hasattr(msg, "centre") and not msg.centre and \
                not kw.pop("no_centre", False):
            msg.centre = self.centre
        if hasattr(msg, "request_id") and not msg.request_id and \
                not kw.pop("no_id", False):
            msg.request_id = request_id()
        raw = msg.SerializeToString()
        reply = self.raw(method, raw, **kw)
        reply.sent = raw
        return reply

    def write(self, method, msg=None, **kw):
        """A write that must be accepted: returns (receipt, raw bytes)."""
        r = self.call(method, msg, **kw)
        check(r.ok, "%s refused: %s %s (%s)" % (method, r.code, r.details,
                                                r.refusal))
        return spb.Receipt.FromString(r.raw), r.raw


# The server.

def carebankd():
    return ARGS.carebankd


class Server:
    """A carebankd on 127.0.0.1 port 0, with its own temporary directory
    (logs, port file) and, unless data names an existing one, a new data
    directory where `carebankd init` makes the centre."""

    def __init__(self, centre="huada", origin=None, data=None):
        self.dir = scratch("cb-e2e-")
        self.data = data or os.path.join(self.dir, "data")
        self.centre = centre
        self.proc = None
        self.port = None
        self.metrics_port = None
        self.log = None
        self.channels = []
        vkey = os.path.join(self.data, centre + ".vkey")
        if data is None:
            args = [carebankd(), "init", "--data", self.data, "--centre",
                    centre]
            if origin:
                args += ["--origin", origin]
            out = run(args)
            check(out.returncode == 0, "init failed: %s" % out.stderr)
            self.vkey = out.stdout.splitlines()[0]
            with open(vkey) as f:
                eq(f.read().strip(), self.vkey, "the vkey file")
        else:
            with open(vkey) as f:
                self.vkey = f.read().strip()
        self.coord_key = Key.load(os.path.join(self.data, "keys",
                                               centre + ".coordinator.pem"))

    def start(self, metrics=False, extra=()):
        """Serves on 127.0.0.1 port 0 (and metrics on a free port: another
        test may take it between our look and the bind, so retry)."""
        for attempt in range(5):
            try:
                return self.start_once(metrics, extra)
            except PortTaken:
                continue
        raise Failure("no free metrics port after 5 tries")

    def start_once(self, metrics, extra):
        portfile = os.path.join(self.dir, "port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        args = [carebankd(), "serve", "--data", self.data,
                "--listen", "127.0.0.1:0", "--port-file", portfile]
        if metrics:
            self.metrics_port = free_port()
            args += ["--metrics", "127.0.0.1:%d" % self.metrics_port]
        args += list(extra)
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        logstart = self.log.tell()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        SERVERS.append(self)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                SERVERS.remove(self)
                if "cannot serve metrics" in self.log_text()[logstart:]:
                    raise PortTaken()
                raise Failure("carebankd exited with %d at start:\n%s" %
                              (self.proc.returncode, self.log_text()))
            try:
                with open(portfile) as f:
                    text = f.read()
                if text.endswith("\n"):
                    self.port = int(text)
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        check(self.port, "carebankd did not write its port")
        return self

    def log_text(self):
        with open(os.path.join(self.dir, "serve.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def channel(self, options=()):
        ch = grpc.insecure_channel("127.0.0.1:%d" % self.port,
                                   options=list(options))
        grpc.channel_ready_future(ch).result(timeout=10)
        self.channels.append(ch)
        return ch

    def client(self, key=None, channel=None):
        return Client(channel or self.channel(), self.centre,
                      key or self.coord_key)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=60):
        """SIGTERM, and a clean exit (0: nothing leaked, nothing failed)."""
        for ch in self.channels:
            ch.close()
        self.channels = []
        check(self.alive(), "carebankd died (status %s):\n%s" %
              (self.proc.returncode, self.log_text()[-4000:]))
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("carebankd did not stop in %ds" % timeout)
        finally:
            self.log.close()
        check(rc == 0, "carebankd exited with status %d:\n%s" %
              (rc, self.log_text()[-4000:]))
        SERVERS.remove(self)
        self.proc = None

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def metrics(self):
        """The Prometheus page as {'name{labels}': value}."""
        url = "http://127.0.0.1:%d/metrics" % self.metrics_port
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def log_size(self):
        """The number of entries in the centre's log, from the store."""
        m = self.metrics()
        return int(m['carebank_log_entries{centre="%s"}' % self.centre])

    def replay(self, data=None):
        """carebankd replay --verify; returns the entries it verified."""
        out = run([carebankd(), "replay", "--data", data or self.data,
                   "--verify", "--centre", self.centre])
        check(out.returncode == 0, "replay --verify failed: %s%s" %
              (out.stdout, out.stderr))
        m = re.search(r"%s: (\d+) entries verified; replay rebuilds "
                      r"identical views" % re.escape(self.centre), out.stdout)
        check(m is not None, "replay said: %r" % out.stdout)
        return int(m.group(1))

    def export(self, data=None):
        """The stored log, exported as tlog-tiles by the core library and
        read back and checked here: returns the list of leaves."""
        out = os.path.join(self.dir, "export-%d" % time.time_ns())
        r = run([ARGS.logexport, data or self.data, self.centre, out])
        check(r.returncode == 0, "logexport: %s" % r.stderr)
        return read_tiles(out, self.vkey)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


SERVERS = []
SCRATCH = []


def preload(shim):
    """LD_PRELOAD for a shim (tests/robust): after AddressSanitizer's
    runtime when carebankd has one, which must come first."""
    out = subprocess.run(["ldd", carebankd()], capture_output=True,
                         text=True).stdout
    m = re.search(r"(\S*libasan\.so\S*) => (\S+)", out)
    return (m.group(2) + " " + shim) if m else shim


def start_with_shim(s, shim, env, **kw):
    """Starts the Server s with the shim preloaded and env set (for it
    alone)."""
    env = dict(env, LD_PRELOAD=preload(shim))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return s.start(**kw)
    finally:
        for k, val in saved.items():
            if val is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = val


def scratch(prefix):
    """A new temporary directory, removed when the test passes and kept
    (for its logs and data) when it fails."""
    d = tempfile.mkdtemp(prefix=prefix)
    SCRATCH.append(d)
    return d


class PortTaken(Exception):
    pass


def run(args, timeout=120):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Offline verification: RFC 6962 / RFC 9162, C2SP signed-note and
# tlog-checkpoint, written from the specifications.

def leaf_hash(leaf):
    return sha256(b"\x00", leaf)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def mth(hashes):
    """RFC 6962 2.1 Merkle tree hash over leaf hashes."""
    if not hashes:
        return sha256()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def prefix_roots(hashes, sizes):
    """MTH of hashes[:n] for each n in sizes, in one pass: the perfect
    subtrees of a prefix (its frontier), folded from the right, are the
    splits of RFC 6962's definition."""
    want, out, stack = set(sizes), {}, []   # stack of (height, hash)
    for n, h in enumerate(hashes, 1):
        node = (0, h)
        while stack and stack[-1][0] == node[0]:
            left = stack.pop()
            node = (node[0] + 1, node_hash(left[1], node[1]))
        stack.append(node)
        if n in want:
            r = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                r = node_hash(left, r)
            out[n] = r
    return out


def inclusion_root(index, size, leafhash, proof):
    """RFC 9162 2.1.3.2: the root an inclusion proof leads to, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leafhash
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def consistency_ok(first, second, first_root, second_root, proof):
    """RFC 9162 2.1.4.2: does proof show that the tree of size first (with
    first_root) is a prefix of the tree of size second (second_root)?"""
    if first > second or first == 0:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_root] + list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class VKey:
    """A C2SP signed-note verifier key, name+hex8+base64(0x01 || key)."""

    def __init__(self, line):
        parts = line.strip().split("+", 2)
        check(len(parts) == 3, "verifier key %r" % line)
        self.name, idhex, b64 = parts
        raw = base64.b64decode(b64, validate=True)
        check(len(raw) == 33 and raw[0] == 1, "not an Ed25519 vkey")
        self.id = sha256(self.name.encode(), b"\n", raw)[:4]
        eq(idhex, self.id.hex(), "verifier key id")
        self.pub = Ed25519PublicKey.from_public_bytes(raw[1:])


def open_note(note, vkey):
    """Checks a signed note and returns its text if vkey signed it."""
    check(isinstance(note, bytes) and note.endswith(b"\n"), "note ends")
    sep = note.rfind(b"\n\n")
    check(sep >= 0, "note has no signature block")
    text, sigs = note[:sep + 1], note[sep + 2:]
    text.decode("utf-8")
    good = False
    for line in sigs.split(b"\n")[:-1]:
        check(line.startswith("\u2014 ".encode()), "signature line form")
        name, _, b64 = line[4:].decode().partition(" ")
        raw = base64.b64decode(b64, validate=True)
        if name != vkey.name or raw[:4] != vkey.id:
            continue
        check(len(raw) == 68, "Ed25519 note signature length")
        try:
            vkey.pub.verify(raw[4:], text)
        except InvalidSignature:
            raise Failure("checkpoint signature does not verify")
        good = True
    check(good, "note is not signed by %s" % vkey.name)
    return text


def parse_checkpoint(note, vkey):
    """(size, root) of a C2SP checkpoint signed by vkey."""
    lines = open_note(note, vkey).decode().split("\n")
    check(len(lines) >= 4 and lines[-1] == "", "checkpoint lines")
    eq(lines[0], vkey.name, "checkpoint origin")
    check(re.fullmatch(r"0|[1-9][0-9]*", lines[1]), "checkpoint size")
    root = base64.b64decode(lines[2], validate=True)
    eq(len(root), 32, "checkpoint root length")
    return int(lines[1]), root


def no_unknown_fields(msg, where="entry"):
    """Canonical form: no field this reader does not know, anywhere."""
    check(len(msg.UnknownFields()) == 0, "%s has unknown fields" % where)
    for fd, value in msg.ListFields():
        if fd.type != fd.TYPE_MESSAGE:
            continue
        for v in (value if fd.label == fd.LABEL_REPEATED else [value]):
            no_unknown_fields(v, where + "." + fd.name)


def parse_entry(leaf):
    """Parses a leaf, insisting that re-encoding gives the same bytes."""
    e = epb.Entry.FromString(leaf)
    no_unknown_fields(e)
    eq(e.SerializeToString(deterministic=True), leaf, "entry re-encoding")
    return e


def check_postings(e):
    """Per unit, an entry's postings sum to zero."""
    sums = {}
    for p in e.postings:
        check(p.unit in (epb.UNIT_MINUTES, epb.UNIT_FEN), "posting unit")
        check(p.amount != 0, "zero posting")
        sums[p.unit] = sums.get(p.unit, 0) + p.amount
    check(all(v == 0 for v in sums.values()),
          "entry %d postings do not balance: %r" % (e.index, sums))


def check_call(e, pubkeys):
    """The actor's signature over the call, if we know the actor's key."""
    c = e.call
    eq(len(c.key_id), 8, "key id length")
    pub = pubkeys.get(c.key_id)
    if pub is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(
            c.signature, call_message(c.method, c.client_time_ms, c.request))
    except InvalidSignature:
        raise Failure("entry %d: the actor's signature does not verify" %
                      e.index)
    return True


class Verifier:
    """Checks receipts offline with nothing but the centre's verifier key
    (and, for actor signatures, the public keys it has seen enrolled)."""

    def __init__(self, vkey_line, centre):
        self.vkey = VKey(vkey_line)
        self.centre = centre
        self.pubkeys = {}
        self.leaves = {}      # index -> leaf bytes
        self.roots = {}       # tree size -> root
        self.lock = threading.Lock()

    def know(self, key):
        """Trusts an actor key learnt out of band (the coordinator key that
        entry 0 enrolled, when entry 0's receipt is not at hand)."""
        self.pubkeys[key.id] = key.pub
        return self

    def learn_keys(self, e):
        for k in e.keys:
            if k.public_key:
                eq(k.key_id, sha256(k.public_key)[:8], "key change id")
                self.pubkeys[k.key_id] = k.public_key

    def receipt(self, r, sent=None, method=None):
        """Verifies one receipt completely; returns its Entry."""
        if isinstance(r, bytes):
            r = spb.Receipt.FromString(r)
        e = parse_entry(r.entry)
        eq(e.centre, self.centre, "entry centre")
        eq(e.index, r.index, "entry index")
        size, root = parse_checkpoint(r.checkpoint, self.vkey)
        eq(size, r.tree_size, "checkpoint size")
        check(r.index < size, "index within the checkpoint")
        got = inclusion_root(r.index, size, leaf_hash(r.entry),
                             list(r.inclusion))
        check(got is not None and got == root,
              "inclusion proof of entry %d in tree %d fails" %
              (r.index, size))
        if r.index == 0:
            eq(e.prev_leaf_hash, b"", "entry 0 has no previous leaf")
        else:
            eq(len(e.prev_leaf_hash), 32, "previous leaf hash")
        check_postings(e)
        if sent is not None:
            eq(e.call.request, sent, "the entry keeps the request verbatim")
        if method is not None:
            eq(e.call.method, method, "the entry's method")
        with self.lock:
            self.learn_keys(e)
            check(check_call(e, self.pubkeys) or e.index == 0,
                  "entry %d signed by an unknown key" % e.index)
            old = self.leaves.get(r.index)
            check(old is None or old == r.entry,
                  "two different leaves at index %d" % r.index)
            self.leaves[r.index] = r.entry
            oldroot = self.roots.get(size)
            check(oldroot is None or oldroot == root,
                  "two checkpoints of size %d with different roots" % size)
            self.roots[size] = root
            prev = self.leaves.get(r.index - 1)
            if prev is not None:
                eq(e.prev_leaf_hash, leaf_hash(prev), "chain to entry %d" %
                   (r.index - 1))
            nxt = self.leaves.get(r.index + 1)
            if nxt is not None:
                eq(epb.Entry.FromString(nxt).prev_leaf_hash,
                   leaf_hash(r.entry), "chain from entry %d" % r.index)
        return e

    def consistent(self, leaves):
        """Every checkpoint seen is of a prefix of this list of leaves, and
        every leaf seen is at its index in it."""
        roots = prefix_roots([leaf_hash(x) for x in leaves], self.roots)
        for size, root in self.roots.items():
            check(size <= len(leaves), "checkpoint %d beyond the log" % size)
            eq(roots[size], root, "root of tree size %d" % size)
        for i, leaf in self.leaves.items():
            check(i < len(leaves), "leaf %d beyond the log" % i)
            eq(leaves[i], leaf, "leaf %d" % i)


class Ledger:
    """One centre driven by one sequence of calls. Every accepted write's
    receipt is verified offline, must be the log's next entry, and its
    postings are applied to a model of the books here (each posting's
    resulting balance must follow from the model); every refusal must leave
    the log as it was."""

    def __init__(self, server, verifier):
        self.server = server
        self.v = verifier
        self.next = server.log_size()
        self.bal = {}
        self.units = {}
        self.receipts = []   # (receipt bytes, request bytes) in log order

    def write(self, client, method, msg, **kw):
        """An accepted write: returns (Receipt, Entry)."""
        r = client.call(method, msg, **kw)
        check(r.ok, "%s refused: %s %r (%s)" % (method.rsplit("/", 1)[1],
                                                r.code, r.details, r.refusal))
        rc = spb.Receipt.FromString(r.raw)
        e = self.v.receipt(rc, sent=r.sent, method=method)
        eq(rc.index, self.next, "%s: index" % method)
        eq(e.call.key_id, client.key.id, "the entry names the signing key")
        self.next += 1
        for p in e.postings:
            want = self.bal.get(p.account, 0) + p.amount
            eq(p.balance, want, "entry %d: balance of %s" % (e.index,
                                                           p.account))
            self.bal[p.account] = want
            eq(self.units.setdefault(p.account, p.unit), p.unit,
               "the unit of %s" % p.account)
        self.receipts.append((r.raw, r.sent))
        return rc, e

    def refused(self, client, method, msg, code, refusal=None, words=None,
                **kw):
        """A write the server must refuse, leaving the log unchanged."""
        r = client.call(method, msg, **kw)
        eq(r.code, code, "%s: status (%r)" % (method.rsplit("/", 1)[1],
                                              r.details))
        if refusal is not None:
            eq(r.refusal, refusal, "%s: carebank-refusal" % method)
        check(r.details, "%s: a refusal says why" % method)
        if words is not None:
            check(words.lower() in r.details.lower(),
                  "%s: message %r lacks %r" % (method, r.details, words))
        eq(self.server.log_size(), self.next, "log size after a refusal")
        return r

    def minutes(self, family):
        return self.bal.get("family/%s/minutes" % family, 0)

    def owed(self, family):
        return self.bal.get("family/%s/owed" % family, 0)

    def account(self, name):
        return self.bal.get(name, 0)

    def sums(self):
        """Per unit, the sum of every account: zero in a balanced ledger."""
        out = {}
        for acct, v in self.bal.items():
            out[self.units[acct]] = out.get(self.units[acct], 0) + v
        return out


def read_tiles(d, vkey_line):
    """Reads and checks an exported tlog-tiles directory (C2SP): the
    checkpoint is signed, entry bundles hold the leaves, the level-0 tiles
    hold their hashes and the root is theirs. Returns the leaves."""
    vkey = VKey(vkey_line)
    with open(os.path.join(d, "checkpoint"), "rb") as f:
        size, root = parse_checkpoint(f.read(), vkey)
    leaves = []
    for n in range((size + 255) // 256):
        w = min(256, size - 256 * n)
        with open(os.path.join(d, tile_path("entries", n, w)), "rb") as f:
            data = f.read()
        off = 0
        for _ in range(w):
            ln = int.from_bytes(data[off:off + 2], "big")
            leaves.append(data[off + 2:off + 2 + ln])
            check(len(leaves[-1]) == ln, "bundle %d is short" % n)
            off += 2 + ln
        eq(off, len(data), "bundle %d length" % n)
        with open(os.path.join(d, tile_path(0, n, w)), "rb") as f:
            eq(f.read(), b"".join(leaf_hash(x) for x in leaves[256 * n:]),
               "level-0 tile %d" % n)
    eq(mth([leaf_hash(x) for x in leaves]), root, "exported root")
    prev = b""
    for i, leaf in enumerate(leaves):
        e = parse_entry(leaf)
        eq(e.index, i, "exported entry index")
        eq(e.prev_leaf_hash, prev, "exported chain at %d" % i)
        check_postings(e)
        prev = leaf_hash(leaf)
    return leaves


def verify_log(leaves, centre):
    """Every actor signature in a whole log, keys learnt from the log."""
    v = {}
    for leaf in leaves:
        e = parse_entry(leaf)
        eq(e.centre, centre, "entry centre")
        for k in e.keys:
            if k.public_key:
                v[k.key_id] = k.public_key
        check(check_call(e, v), "entry %d: unknown signer" % e.index)


# Policies.

def default_policy(**kw):
    """The documented defaults (bank.proto), with changes."""
    p = pb.Policy(rate_fen_per_hour=2000, floor_minutes=-120,
                  rounding=pb.Rounding(care_minutes=1, volunteer_minutes=1),
                  billing_period=pb.BILLING_PERIOD_MONTH,
                  utc_offset_minutes=480, swaps_need_approval=True,
                  late_limit_ms=72 * HOUR_MS, clock_skew_ms=2 * 60 * 1000,
                  reserve_fen=0, surplus_threshold_minutes=0, buy_back=True,
                  donation_cap_minutes=600, ratio_soft=4, ratio_hard=6,
                  pin_max_failures=5, pin_lockout_ms=15 * 60 * 1000,
                  leave_positive=pb.LEAVE_POSITIVE_BUY_BACK)
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def week_start(t, offset_minutes=480):
    """The Monday 00:00 local time that starts the week holding t."""
    off = offset_minutes * 60000
    day = (t + off) // DAY_MS
    wd = (day + 3) % 7
    return (day - wd) * DAY_MS - off


# Running tests.

def main(tests, doc=None, options=None):
    """Runs the test named by --test; options(parser), if given, adds a
    script's own arguments (they land in ARGS too)."""
    global ARGS, pb, epb, spb
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--carebankd", required=True)
    ap.add_argument("--gen-dir", required=True)
    ap.add_argument("--logexport", required=True)
    ap.add_argument("--test", required=True, choices=sorted(tests))
    ap.add_argument("--tool", action="append", default=[],
                    help="NAME=PATH of a carebank program under test")
    if options is not None:
        options(ap)
    ARGS = ap.parse_args()
    ARGS.tools = dict(t.split("=", 1) for t in ARGS.tool)
    sys.path.insert(0, ARGS.gen_dir)
    from carebank.v1 import bank_pb2, entry_pb2, service_pb2
    pb, epb, spb = bank_pb2, entry_pb2, service_pb2
    t0 = time.time()
    try:
        tests[ARGS.test]()
    except BaseException:
        traceback.print_exc()
        for s in list(SERVERS):
            print("--- carebankd log (%s):\n%s" % (s.dir, s.log_text()[-6000:]))
            s.kill()
        print("kept for a look: %s" % " ".join(SCRATCH))
        print("FAIL %s (%.1fs)" % (ARGS.test, time.time() - t0))
        sys.exit(1)
    for s in list(SERVERS):
        s.kill()
    for d in SCRATCH:
        shutil.rmtree(d, ignore_errors=True)
    print("ok %s (%.1fs)" % (ARGS.test, time.time() - t0))
