#!/usr/bin/python3
"""How the kiosk's Identify grows with the centre's history.

  identify_history.py --carebankd BIN --gen-dir DIR --test run
      [--sizes 0,5000,20000] [--calls 20]

Starts a carebankd on a new centre, enrols a kiosk and one family whose
adult has a card, a PIN, three shifts to come and a swap offered to them,
then grows the roster of other adults (shifts scheduled for them, in the
past and to come) to each size in turn, and at each size identifies the
adult --calls times through the real gRPC API. It prints, per size, the
median and 90th percentile of the server's own latency for Identify (from
its log line) and of the client's. Identify checks a PIN with scrypt, on
purpose slow and the same at every size: what grows is the rest.

It uses the read tests' harness (tests/e2e/readharness.py).
"""
import argparse
import concurrent.futures
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "e2e"))
import readharness as h  # noqa: E402

K, C = h.K, h.C
HOUR = 3600 * 1000
DAY = 24 * HOUR
PIN = "424242"
CARD = "CARD-HISTORY-1"


OPTS = None


def pct(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(p * len(s)))]


def run(srv):
    sizes = [int(x) for x in OPTS.sizes.split(",")]
    calls = OPTS.calls
    co = srv.client()
    kiosk = srv.client(h.enrol(co, h.epb.ROLE_KIOSK, "door"))
    w = co.call
    room = w(C + "AddRoom", h.pb.AddRoomRequest(label="room")).result.id
    fam = w(C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
    adult = w(C + "AddAdult", h.pb.AddAdultRequest(family=fam,
                                                   guardian=True)).result.id
    w(C + "SetDirectory", h.spb.DirectoryRequest(id=adult, card=CARD,
                                                 pin=PIN),
      h.spb.DirectoryReply)
    others = []
    for _ in range(8):
        f = w(C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
        others.append(w(C + "AddAdult", h.pb.AddAdultRequest(
            family=f)).result.id)
    now = h.now_ms()
    for d in (1, 2, 3):
        w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=now + d * DAY, end_ms=now + d * DAY + HOUR,
            adult=adult))
    theirs = w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
        room=room, start_ms=now + 4 * DAY, end_ms=now + 4 * DAY + HOUR,
        adult=others[0])).result.id
    kiosk.call(K + "OfferSwap", h.pb.OfferSwapRequest(
        shift=theirs, kind=h.pb.SWAP_KIND_COVER, to_adult=adult))

    def schedule(k):
        # Two shifts in three lie in the past: the centre's history.
        start = now + ((k % 3) - 2) * 30 * DAY + (k % 97) * HOUR
        co.call(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=start, end_ms=start + HOUR,
            adult=others[k % len(others)]))

    print("Identify of an adult with 3 shifts to come and 1 offer, "
          "%d calls a step (median / p90, ms)" % calls)
    print("%12s  %16s  %16s" % ("other shifts", "server", "client"))
    made = 0
    pool = concurrent.futures.ThreadPoolExecutor(16)
    for size in sizes:
        list(pool.map(schedule, range(made, size)))
        made = max(made, size)
        before = len(srv.stderr())
        client = []
        for _ in range(calls):
            t = time.perf_counter()
            v = kiosk.call(K + "Identify", h.spb.IdentifyRequest(
                card=CARD, pin=PIN), h.spb.FamilyView)
            client.append(1000 * (time.perf_counter() - t))
            h.eq((len(v.shifts), len(v.offers)), (3, 1), "what it shows")
        text = srv.stderr()[before:]
        server = [float(m) for m in re.findall(
            r"method=/carebank.v1.Kiosk/Identify .*?latency_ms=([0-9.]+)",
            text)]
        h.eq(len(server), calls, "Identify log lines")
        print("%12d  %7.2f / %6.2f  %7.2f / %6.2f" % (
            size, statistics.median(server), pct(server, 0.9),
            statistics.median(client), pct(client, 0.9)))
    pool.shutdown()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--sizes", default="0,5000,20000",
                    help="other adults' shifts at each step, comma-separated")
    ap.add_argument("--calls", type=int, default=20)
    OPTS, rest = ap.parse_known_args()
    sys.argv = [sys.argv[0]] + rest
    sys.exit(h.main({"run": run}))
