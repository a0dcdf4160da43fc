#!/usr/bin/python3
"""How the coordinator's Roster grows with the centre's history.

  roster_history.py --carebankd BIN --gen-dir DIR --test run
      [--sizes 0,20000,80000] [--calls 20] [--any-size]

Starts a carebankd on a new centre with 8 adults and a week to come of 40
shifts, then grows the centre's history (shifts that were, spread over the
three years before, the latest two days ago) to each size in turn, and at
each size asks for the roster with no window given (from the start of
today, every shift to come: what a client that sends a CentreRequest
gets) --calls times through the real gRPC API.
It checks that the roster holds the 40 shifts to come and nothing else,
and prints, per size, the median and 90th percentile of the server's own
latency (from its log line) and of the client's, and the reply's size.

--all asks instead for every shift ever, from_ms 1, in pages of 10,000
(Roster's limit and after_shift, as `carebank roster --all` and `swap
list --all` read it), checks that it gets each shift once, and prints the
whole read's time: the server's, its pages' latencies summed, and the
client's, with the number of pages.

--any-size reports what a server sends without checking it: a carebankd
built before the Roster took a window answers with every shift the centre
ever had, which at a large enough history is more than one reply may
carry (RESOURCE_EXHAUSTED).

It uses the read tests' harness (tests/e2e/readharness.py).
"""
import sys
import time

from growth import adults, h, main, row, server_ms, steps

C = h.C
HOUR = 3600 * 1000
DAY = 24 * HOUR
COMING = 40


def run(srv, opts):
    sizes, calls = opts.sizes, opts.calls
    co = srv.client()
    w = co.call
    room = w(C + "AddRoom", h.pb.AddRoomRequest(label="room")).result.id
    owners = adults(co, 8)
    now = h.now_ms()
    coming = set()
    for k in range(COMING):
        start = now + DAY + k * 4 * HOUR
        coming.add(w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=start, end_ms=start + 2 * HOUR,
            adult=owners[k % len(owners)])).result.id)

    def schedule(k):
        # The centre's history: three years of shifts, ended by 2 days ago.
        hours = 3 * 365 * 24 - 48
        start = now - 3 * 365 * DAY + (k * 3557 % hours) * HOUR
        co.call(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=start, end_ms=start + HOUR,
            adult=owners[k % len(owners)]))

    if opts.all:
        read_all(srv, co, sizes, calls, schedule)
        return
    print("Roster of the days to come (%d shifts), %d calls a step "
          "(median / p90, ms)" % (COMING, calls))
    print("%12s  %16s  %16s  %s" % ("past shifts", "server", "client",
                                    "reply"))
    for size, before in steps(srv, sizes, schedule):
        client, got = [], ""
        for _ in range(calls):
            t = time.perf_counter()
            try:
                ro = co.call(C + "Roster", h.spb.RosterRequest(),
                             h.spb.RosterReport)
                got = "%d shifts, %d bytes" % (len(ro.shifts),
                                               ro.ByteSize())
            except h.Error as e:
                if not opts.any_size:
                    raise
                ro, got = None, e.code.name
            client.append(1000 * (time.perf_counter() - t))
            if not opts.any_size:
                h.eq({x.id for x in ro.shifts}, coming, "the days to come")
        server = server_ms(srv, before, C + "Roster", calls)
        print(row(size, server, client, got))


PAGE = 10000


def read_all(srv, co, sizes, calls, schedule):
    """Every shift ever, a page at a time, at each size (see --all)."""
    print("Every shift, in pages of %d, %d reads a step (median / p90 of "
          "a whole read, ms)" % (PAGE, calls))
    print("%12s  %16s  %16s  %s" % ("past shifts", "server", "client",
                                    "pages"))
    for size, before in steps(srv, sizes, schedule):
        client, pages = [], 0
        for _ in range(calls):
            t = time.perf_counter()
            ids, after, pages = [], "", 0
            while True:
                ro = co.call(C + "Roster", h.spb.RosterRequest(
                    from_ms=1, limit=PAGE, after_shift=after),
                    h.spb.RosterReport)
                ids += [x.id for x in ro.shifts]
                pages += 1
                after = ro.more_after
                if not after:
                    break
            client.append(1000 * (time.perf_counter() - t))
            h.eq((len(ids), len(set(ids))), (size + COMING,) * 2,
                 "every shift, once")
        each = server_ms(srv, before, C + "Roster", calls * pages)
        server = [sum(each[k:k + pages]) for k in
                  range(0, len(each), pages)]
        print(row(size, server, client, "%d pages" % pages))


if __name__ == "__main__":
    sys.exit(main(run, "0,20000,80000", [
        ("--any-size", "report, without checking, what is sent"),
        ("--all", "read every shift ever, in pages")]))
