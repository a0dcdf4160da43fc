#!/usr/bin/python3
"""How the coordinator's Flagged report grows with the centre's flags.

  flagged_history.py --carebankd BIN --gen-dir DIR --test run
      [--sizes 0,20000,80000] [--calls 20] [--any-size]

Starts a carebankd on a new centre with a room, 8 volunteers on shift and
32 children, then grows its flags (a child checked in and out by a kiosk
that was offline, both flagged) to each size in turn. At each size it
makes 4 flags more, closes the review of every older flag still open
(ReviewFlag, 16 at a time), and asks, --calls times each through the real
gRPC API, for the flags logged since just before those 4 (a window, as
`carebank flagged --from` asks for), for the open flags (`open`, as
`carebank flagged` asks for: the 4 new ones) and for every flag. It
checks that the window and the open flags are the 4 new flags and
nothing else, and prints, per size, the median and 90th percentile of
the server's own latency (from its log line) and of the client's, for
each kind of call.

--any-size reports, without checking or reviewing, what a server sends:
a carebankd built before Flagged took a window sends every flag for
every call.

It uses the read tests' harness (tests/e2e/readharness.py).
"""
import concurrent.futures
import queue
import sys
import time

from growth import adults, desk, h, main, row, server_ms, steps

C, K = h.C, h.K
HOUR = 3600 * 1000
CHILDREN = 32
NEW = 4


def run(srv, opts):
    calls = opts.calls
    co, kc, room = desk(srv)
    w, kiosk = co.call, kc.call
    volunteers = adults(co, 8)
    now = h.now_ms()
    for a in volunteers:
        s = w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=now - HOUR, end_ms=now + 12 * HOUR,
            adult=a)).result.id
        kiosk(K + "StartShift", h.pb.VolunteerCheckInRequest(
            shift=s, adult=a, presence=h.pb.PRESENCE_PIN))
    free = queue.Queue()
    for _ in range(CHILDREN):
        fam = w(C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
        g = w(C + "AddAdult", h.pb.AddAdultRequest(
            family=fam, guardian=True)).result.id
        c = w(C + "AddChild", h.pb.AddChildRequest(family=fam)).result.id
        w(C + "SetPickup", h.pb.SetPickupRequest(child=c, authorised=[g]))
        free.put((c, g))

    def offline_visit(_k):
        # Two flagged entries: in and out while the kiosk was offline.
        c, g = free.get()
        kiosk(K + "CheckInChild", h.pb.ChildCheckInRequest(
            child=c, room=room, adult=g, presence=h.pb.PRESENCE_OFFLINE))
        kiosk(K + "CheckOutChild", h.pb.ChildCheckOutRequest(
            child=c, adult=g, presence=h.pb.PRESENCE_OFFLINE))
        free.put((c, g))

    def timed(req):
        client, got = [], ""
        for _ in range(calls):
            t = time.perf_counter()
            try:
                rep = co.call(C + "Flagged", req, h.spb.FlaggedReport)
                got = "%d flags, %d bytes" % (len(rep.flags), rep.ByteSize())
            except h.Error as e:
                if not opts.any_size:
                    raise
                rep, got = None, e.code.name
            client.append(1000 * (time.perf_counter() - t))
        return client, got, rep

    def review(entry):
        w(C + "ReviewFlag", h.pb.ReviewFlagRequest(entry=entry,
                                                   note="looked into it"))

    def review_older(mark):
        rep = co.call(C + "Flagged", h.spb.FlaggedRequest(open=True),
                      h.spb.FlaggedReport)
        older = [f.entry for f in rep.flags if f.time_ms < mark]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(review, older))
        return len(older)

    print("Flagged: the last %d flags, the open ones (the same %d, the "
          "rest reviewed), and every flag; %d calls each (median / p90, "
          "ms)" % (NEW, NEW, calls))
    print("%12s  %16s  %16s  %s" % ("flags", "server", "client", "reply"))
    sizes = [size // 2 for size in opts.sizes]
    extra = 0  # the new flags of every step so far
    for pairs, _ in steps(srv, sizes, offline_visit):
        mark = h.now_ms()
        time.sleep(0.002)  # the new flags are logged after mark
        for k in range(NEW // 2):
            offline_visit(k)
        extra += NEW
        size = 2 * pairs + extra
        if not opts.any_size:
            review_older(mark)
        before = len(srv.stderr())
        client, got, rep = timed(h.spb.FlaggedRequest(from_ms=mark))
        if not opts.any_size:
            h.eq(len(rep.flags), NEW, "the new flags")
            h.check(all(f.time_ms >= mark for f in rep.flags),
                    "flags logged in the window")
        server = server_ms(srv, before, C + "Flagged", calls)
        print(row(size, server, client, "window: " + got))
        before = len(srv.stderr())
        client, got, rep = timed(h.spb.FlaggedRequest(open=True))
        if not opts.any_size:
            h.eq(sorted(f.entry for f in rep.flags),
                 sorted(f.entry for f in rep.flags if f.time_ms >= mark),
                 "only new flags are open")
            h.eq(len(rep.flags), NEW, "the open flags")
        server = server_ms(srv, before, C + "Flagged", calls)
        print(row(size, server, client, "open: " + got))
        before = len(srv.stderr())
        try:
            client, got, rep = timed(h.spb.FlaggedRequest())
        except h.Error as e:
            # Every flag, each with its review, can outgrow gRPC's 4 MiB
            # message: the server says so rather than cut the list.
            if e.code.name != "RESOURCE_EXHAUSTED":
                raise
            print("%12d  %s" % (size, "all: RESOURCE_EXHAUSTED, %s" %
                                e.details))
            continue
        if not opts.any_size:
            h.eq(len(rep.flags), size, "every flag")
        server = server_ms(srv, before, C + "Flagged", calls)
        print(row(size, server, client, "all: " + got))


if __name__ == "__main__":
    sys.exit(main(run, "0,20000,80000", [
        ("--any-size", "report, without checking, what is sent")]))
