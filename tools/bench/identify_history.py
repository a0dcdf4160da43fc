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
import sys
import time

from growth import adults, h, main, row, server_ms, steps

K, C = h.K, h.C
HOUR = 3600 * 1000
DAY = 24 * HOUR
PIN = "424242"
CARD = "CARD-HISTORY-1"


def run(srv, opts):
    sizes, calls = opts.sizes, opts.calls
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
    others = adults(co, 8)
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
    for size, before in steps(srv, sizes, schedule):
        client = []
        for _ in range(calls):
            t = time.perf_counter()
            v = kiosk.call(K + "Identify", h.spb.IdentifyRequest(
                card=CARD, pin=PIN), h.spb.FamilyView)
            client.append(1000 * (time.perf_counter() - t))
            h.eq((len(v.shifts), len(v.offers)), (3, 1), "what it shows")
        server = server_ms(srv, before, K + "Identify", calls)
        print(row(size, server, client))


if __name__ == "__main__":
    sys.exit(main(run, "0,5000,20000"))
