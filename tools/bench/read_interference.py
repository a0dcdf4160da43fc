#!/usr/bin/python3
"""What long reads do to the writes of everyone else.

  read_interference.py --carebankd BIN --gen-dir DIR --test run [--quick]

Starts a carebankd on a new centre with a kiosk and 8 adults with cards
and PINs, then writes 300 RecordCash entries (40 with --quick) one after
the other from the coordinator's desk, first alone, then while 8 kiosk
threads identify their adults without pause (each Identify hashes
the PIN with scrypt, on purpose about 30 ms of a core). It prints the
median, 90th and 99th percentile and the largest of the writes' latency
as the desk sees it, in both phases, and how many identifications ran.
Every write must succeed and every identification find its family.

It uses the read tests' harness (tests/e2e/readharness.py).
"""
import sys
import threading
import time

from growth import adults, h, main, pct

C, K = h.C, h.K
OPTS = [("--quick", "fewer writes (for ctest)")]


def writes(co, family, n):
    ms = []
    for _ in range(n):
        t = time.perf_counter()
        co.call(C + "RecordCash", h.pb.RecordCashRequest(
            family=family, amount_fen=100, receipt="R"))
        ms.append(1000 * (time.perf_counter() - t))
    return ms


def line(what, ms):
    return "%-26s p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms" % (
        what, pct(ms, 0.5), pct(ms, 0.9), pct(ms, 0.99), max(ms))


def run(srv, opts):
    n = 40 if opts.quick else 300
    readers = 8
    co = srv.client()
    kiosk = srv.client(h.enrol(co, h.epb.ROLE_KIOSK, "door"))
    people = adults(co, readers)
    for k, a in enumerate(people):
        co.call(C + "SetDirectory", h.spb.DirectoryRequest(
            id=a, card="CARD-%d" % k, pin="4%05d" % k), h.spb.DirectoryReply)
    family = co.call(C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
    alone = writes(co, family, n)
    stop, done = threading.Event(), []

    def identify(k):
        while not stop.is_set():
            t = time.perf_counter()
            v = kiosk.call(K + "Identify", h.spb.IdentifyRequest(
                card="CARD-%d" % k, pin="4%05d" % k), h.spb.FamilyView)
            done.append(1000 * (time.perf_counter() - t))
            h.eq(v.adult, people[k], "who is identified")

    threads = [threading.Thread(target=identify, args=(k,))
               for k in range(readers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(0.5)
    busy = writes(co, family, n)
    stop.set()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    print("%d RecordCash writes, one at a time, from the desk:" % n)
    print(line("alone", alone))
    print(line("with %d kiosks identifying" % readers, busy))
    print(line("their identifications", done))
    print("identifications: %d in %.1f s (%.0f a second)" % (
        len(done), took, len(done) / took))


if __name__ == "__main__":
    sys.exit(main(run, "0", OPTS))
