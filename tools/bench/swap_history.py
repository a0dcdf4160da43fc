#!/usr/bin/python3
"""How the desk's list of open swaps grows with the centre's swaps.

  swap_history.py --carebankd BIN --gen-dir DIR --test run
      [--sizes 0,5000,20000] [--calls 20]

Starts a carebankd on a new centre with 8 adults, offers 3 swaps that stay
open (one accepted, waiting for the coordinator), then grows the centre's
history of swaps to each size in turn: a shift scheduled in the three
years to come, offered to another adult, and withdrawn. At each size it
asks, --calls times each through the real gRPC API, for the open swaps
(Roster with open_swaps, as `carebank swap list` asks) and for every
shift and swap (Roster from the first shift ever, as `swap list --all`
asks, and as `swap list` asked before the open swaps had marks). It
checks that the open swaps are the 3 and nothing else, and prints, per
size, the median and 90th percentile of the server's own latency (from
its log line) and of the client's, and the reply's size, for each.

It uses the read tests' harness (tests/e2e/readharness.py).
"""
import sys
import time

from growth import adults, desk, h, main, row, server_ms, steps

C, K = h.C, h.K
HOUR = 3600 * 1000
DAY = 24 * HOUR
OPEN = 3


def run(srv, opts):
    calls = opts.calls
    co, kc, room = desk(srv)
    w, kiosk = co.call, kc.call
    owners = adults(co, 8)
    now = h.now_ms()

    def shift(k):
        # Three years to come, an hour each, spread over the hours.
        start = now + DAY + (k * 3557 % (3 * 365 * 24)) * HOUR
        return w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=start, end_ms=start + HOUR,
            adult=owners[k % 8])).result.id

    def offer(k):
        return kiosk(K + "OfferSwap", h.pb.OfferSwapRequest(
            shift=shift(k), kind=h.pb.SWAP_KIND_COVER,
            to_adult=owners[(k + 1) % 8])).result.id

    want = {offer(k) for k in range(OPEN)}
    first = sorted(want)[0]
    kiosk(K + "AnswerSwap", h.pb.AnswerSwapRequest(
        swap=first, adult=owners[1], accept=True))

    def grow(k):
        kiosk(K + "WithdrawSwap", h.pb.WithdrawSwapRequest(
            swap=offer(OPEN + k)))

    def ask(req):
        client, got = [], ""
        for _ in range(calls):
            t = time.perf_counter()
            ro = co.call(C + "Roster", req, h.spb.RosterReport)
            client.append(1000 * (time.perf_counter() - t))
            got = "%d shifts, %d swaps, %d bytes" % (
                len(ro.shifts), len(ro.swaps), ro.ByteSize())
        return ro, client, got

    print("The open swaps (%d) among withdrawn ones, %d calls a step "
          "(median / p90, ms)" % (OPEN, calls))
    print("%12s  %16s  %16s  %s" % ("swaps made", "server", "client",
                                    "reply"))
    for size, before in steps(srv, opts.sizes, grow):
        ro, client, got = ask(h.spb.RosterRequest(open_swaps=True))
        h.eq({x.id for x in ro.swaps}, want, "the open swaps")
        h.eq(len(ro.shifts), 0, "no shifts")
        server = server_ms(srv, before, C + "Roster", calls)
        print(row(size + OPEN, server, client, "open: " + got))
        before = len(srv.stderr())
        ro, client, got = ask(h.spb.RosterRequest(from_ms=1))
        h.eq(len(ro.swaps), size + OPEN, "every swap")
        server = server_ms(srv, before, C + "Roster", calls)
        print(row(size + OPEN, server, client, "all:  " + got))


if __name__ == "__main__":
    sys.exit(main(run, "0,5000,20000"))
