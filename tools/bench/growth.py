"""What the benchmarks of reads against a growing history share: the read
tests' harness (tests/e2e/readharness.py), percentiles, the server's own
latency for a method from its log lines, a row of the table they print,
and their command line (--sizes, --calls, and the harness's own)."""
import argparse
import concurrent.futures
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "e2e"))
import readharness as h  # noqa: E402,F401  (the scripts' harness)


def pct(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(p * len(s)))]


def adults(co, n):
    """n adults, each of a family of their own, as the coordinator co."""
    out = []
    for _ in range(n):
        f = co.call(h.C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
        out.append(co.call(h.C + "AddAdult", h.pb.AddAdultRequest(
            family=f)).result.id)
    return out


def desk(srv):
    """A new centre's coordinator client, a kiosk's and a room's id."""
    co = srv.client()
    kiosk = srv.client(h.enrol(co, h.epb.ROLE_KIOSK, "door"))
    room = co.call(h.C + "AddRoom", h.pb.AddRoomRequest(
        label="room")).result.id
    return co, kiosk, room


def steps(srv, sizes, grow):
    """For each size, runs grow(k) for every k up to it, 16 at a time, then
    yields the size and where the server's log stands."""
    made = 0
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for size in sizes:
            list(pool.map(grow, range(made, size)))
            made = max(made, size)
            yield size, len(srv.stderr())


def server_ms(srv, before, method, calls):
    """The latencies of method's calls in the server's log after before."""
    text = srv.stderr()[before:]
    ms = [float(m) for m in re.findall(
        r"method=%s .*?latency_ms=([0-9.]+)" % re.escape(method), text)]
    h.eq(len(ms), calls, "%s log lines" % method)
    return ms


def row(size, server, client, rest=""):
    """One line of the table: the size, then median / p90 of each side."""
    return ("%12d  %7.2f / %6.2f  %7.2f / %6.2f  %s" % (
        size, statistics.median(server), pct(server, 0.9),
        statistics.median(client), pct(client, 0.9), rest)).rstrip()


def main(run, sizes, extra=()):
    """Parses --sizes (default sizes), --calls and extra (name, help)
    flags, then runs run(srv, options) under the harness; returns its
    exit status."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--sizes", default=sizes,
                    help="the history at each step, comma-separated")
    ap.add_argument("--calls", type=int, default=20)
    for name, text in extra:
        ap.add_argument(name, action="store_true", help=text)
    opts, rest = ap.parse_known_args()
    opts.sizes = [int(x) for x in opts.sizes.split(",")]
    sys.argv = [sys.argv[0]] + rest
    return h.main({"run": lambda srv: run(srv, opts)})
