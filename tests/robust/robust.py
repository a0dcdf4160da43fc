"""Shared pieces of the robustness tests (issue 7): killing a carebankd
outright, following a centre's log through the Audit service and checking it
against every receipt a client was given, and latency figures.

The tests build on tests/e2e/cbclient.py (servers on 127.0.0.1 port 0,
signed calls, receipts verified offline); this module adds what only a test
that breaks the server needs.
"""
import os
import random
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import grpc  # noqa: E402

import cbclient as cb  # noqa: E402
from cbclient import A, check, eq, start_with_shim  # noqa: E402,F401
import test_concurrency  # noqa: E402

SC = grpc.StatusCode


def kill(s, sig=signal.SIGKILL):
    """Kills a running server with sig and forgets the process; returns its
    wait status as subprocess reports it (-9 for SIGKILL). Clients may still
    be calling: close_channels once they are done."""
    if s.proc is None:
        return None
    if s.proc.poll() is None:
        s.proc.send_signal(sig)
    rc = s.proc.wait(60)
    s.log.close()
    if s in cb.SERVERS:
        cb.SERVERS.remove(s)
    s.proc = None
    return rc


def close_channels(s):
    """Closes every channel the tests opened to a server."""
    for ch in s.channels:
        ch.close()
    s.channels = []


def reap(s, timeout=60):
    """Waits for a server that is stopping by itself; returns its exit
    status (None if it had to be killed after timeout seconds)."""
    try:
        rc = s.proc.wait(timeout)
    except Exception:
        kill(s)
        return None
    kill(s)
    return rc


class Gone(Exception):
    """The server stopped answering: the round is over for this writer."""


# grpc's Python channels to one address share a connection unless told not
# to: a client of these tests has its own.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]

# What a write gets when the server dies under it.
DEATH = (SC.UNAVAILABLE, SC.CANCELLED, SC.DEADLINE_EXCEEDED, SC.UNKNOWN,
         SC.INTERNAL)


class Doubt:
    """A write whose answer was not OK because the server died or the store
    failed: the request, who sent it and what came back."""

    def __init__(self, method, raw, client, reply):
        self.method, self.raw, self.client = method, raw, client
        self.code, self.details = reply.code, reply.details


class Writer(test_concurrency.Writer):
    """A writer of the concurrency test (a family's day, over and over)
    until a write fails with one of the codes in stop; it keeps that write
    (a Doubt) to send again or check later."""

    def __init__(self, s, kiosk_key, n, rng, stop=DEATH):
        super().__init__(s, kiosk_key, n, float("inf"))
        self.rng = rng
        self.stop = stop
        self.doubt = None
        self.ok = []             # (receipt bytes, request bytes, method)

    def write(self, client, method, msg):
        r = client.call(method, msg, timeout=30)
        if r.ok:
            self.ok.append((r.raw, r.sent, method))
            return cb.spb.Receipt.FromString(r.raw)
        if r.code in self.stop:
            self.doubt = Doubt(method, r.sent, client, r)
            raise Gone()
        raise cb.Failure("%s refused: %s %s (%s)" % (method, r.code,
                                                     r.details, r.refusal))

    def run(self):
        try:
            ch = self.s.channel(OWN_CONNECTION)
            coord = cb.Client(ch, self.s.centre, self.s.coord_key)
            kiosk = cb.Client(ch, self.s.centre, self.kiosk_key)
            while True:
                self.day(coord, kiosk)
        except Gone:
            pass
        except grpc.FutureTimeoutError:
            pass     # the server died before this writer connected
        except BaseException as e:
            self.error = e


def run_writers(s, kiosk_key, n, rng, stop=DEATH):
    """Starts n writers on s, each with its own connection and a seed
    drawn from rng."""
    ws = [Writer(s, kiosk_key, k, random.Random(rng.random()), stop)
          for k in range(n)]
    for w in ws:
        w.start()
    return ws


def join_writers(s, writers, verifier, timeout=60):
    """Waits for the writers, closes the channels, fails on a writer's own
    error, and verifies every receipt they were given offline. Returns the
    writers' Doubts."""
    for w in writers:
        w.join(timeout)
        check(not w.is_alive(), "%s hangs" % w.name)
    close_channels(s)
    errors = [(w.name, w.error) for w in writers if w.error]
    check(not errors, "writers failed: %r" % errors[:3])
    for w in writers:
        for raw, sent, method in w.ok:
            verifier.receipt(raw, sent=sent, method=method)
    return [w.doubt for w in writers if w.doubt is not None]


def enrol_kiosk(s, verifier):
    """Enrols a kiosk key at the server's centre; returns it."""
    key = cb.Key()
    rc, raw = s.client().write(cb.C + "EnrolKey", cb.pb.EnrolKeyRequest(
        public_key=key.pub, role=cb.epb.ROLE_KIOSK, label="door"))
    verifier.receipt(raw)
    return key


class LogWatch:
    """Follows one centre's log through the Audit service: the signed
    checkpoint, then the leaves it does not hold yet. Each catch-up proves
    that the whole log, old leaves included, is what the new checkpoint
    signs (so nothing already seen was lost or changed), and that no
    request was applied twice."""

    def __init__(self, verifier):
        self.v = verifier
        self.leaves = []
        self.hashes = []
        self.requests = {}   # request bytes -> index

    def catch_up(self, client):
        """Reads the log up to the latest checkpoint; returns its size."""
        r = client.call(A + "GetCheckpoint", timeout=60)
        check(r.ok, "GetCheckpoint: %r" % r)
        cp = cb.spb.CheckpointReply.FromString(r.raw)
        size, root = cb.parse_checkpoint(cp.checkpoint, self.v.vkey)
        check(size >= len(self.leaves),
              "the log shrank from %d to %d entries" % (len(self.leaves),
                                                        size))
        if size > len(self.leaves):
            r = client.call(A + "Entries", cb.spb.EntriesRequest(
                start=len(self.leaves), end=size), timeout=120)
            check(r.ok, "Entries: %r" % r)
            for m in r.raw:
                e = cb.spb.EntryReply.FromString(m)
                eq(e.index, len(self.leaves), "Entries in order")
                self.add(e.entry)
        eq(len(self.leaves), size, "Entries up to the checkpoint")
        got = cb.prefix_roots(self.hashes, [size])[size] if size else \
            cb.sha256()
        eq(got, root, "the checkpoint's root over every leaf")
        self.v.roots.setdefault(size, root)
        return size

    def add(self, leaf):
        e = cb.parse_entry(leaf)
        eq(e.index, len(self.leaves), "entry index")
        prev = self.hashes[-1] if self.hashes else b""
        eq(e.prev_leaf_hash, prev, "chain at %d" % e.index)
        old = self.requests.get(e.call.request)
        check(old is None, "entries %d and %d hold the same request" %
              (old if old is not None else -1, e.index))
        self.requests[e.call.request] = e.index
        self.leaves.append(leaf)
        self.hashes.append(cb.leaf_hash(leaf))

    def holds_receipts(self):
        """Every receipt the verifier saw is in the log at its index, and
        every checkpoint a client was shown is of a prefix of it."""
        self.v.consistent(self.leaves)


def percentiles(samples):
    """(p50, p99, max) of a list of latencies, in milliseconds."""
    if not samples:
        return (0.0, 0.0, 0.0)
    xs = sorted(samples)

    def at(q):
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000.0
    return (at(0.50), at(0.99), xs[-1] * 1000.0)


SKIPPED = 77   # ctest's SKIP_RETURN_CODE for these tests


def skip(why):
    """Ends the test as skipped, saying why (ctest shows it as skipped)."""
    print("SKIPPED: %s" % why, flush=True)
    os._exit(SKIPPED)


def say(fmt, *args):
    """A progress line, flushed at once (ctest shows it on failure)."""
    print(fmt % args if args else fmt, flush=True)


def now():
    return time.monotonic()

