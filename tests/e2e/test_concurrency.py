#!/usr/bin/python3
"""Many writers at once (issue 5, DESIGN 5.5).

  e2e.concurrency_writers   64 clients, each on its own connection, write
                            for several seconds: each enrols a family and
                            runs it through a day (adult, child, room,
                            shift, kiosk check-ins and outs, cash), retries
                            some of its writes and makes some refused ones.
                            While they write, `carebankd replay --verify`
                            and an export read the store. Afterwards: every
                            receipt verifies offline, retries got identical
                            bytes, the stored log is exactly the receipts'
                            leaves (every index has one receipt, every
                            checkpoint any client saw is of a prefix of it),
                            each posting's balance follows from the ones
                            before it in log order, Audit.Entries serves
                            the stored leaves, group commit batched,
                            the server stops cleanly and replay --verify
                            rebuilds the same views.
  e2e.concurrency_watchers  a watcher of each of 21 centres; with the
                            writer held up, one write to each, so that
                            one batch touches more centres than there
                            once was room to remember: every watcher is
                            told the new checkpoint.
"""
import random
import subprocess
import threading
import time

import grpc

import cbclient as cb
from cbclient import C, K, check, eq

SC = grpc.StatusCode
CLIENTS = 64
SECONDS = 4


class Writer(threading.Thread):
    """One client: its own connection, family and room."""

    def __init__(self, s, kiosk_key, n, deadline):
        super().__init__(name="writer-%d" % n)
        self.s = s
        self.kiosk_key = kiosk_key
        self.n = n
        self.deadline = deadline
        self.receipts = []      # (receipt bytes, request bytes)
        self.retried = 0
        self.refused = 0
        self.error = None
        self.rng = random.Random(n)

    def write(self, client, method, msg):
        r = client.call(method, msg)
        check(r.ok, "%s: %s %s" % (method, r.code, r.details))
        self.receipts.append((r.raw, r.sent, method, client))
        return cb.spb.Receipt.FromString(r.raw)

    def day(self, coord, kiosk):
        pb = cb.pb
        fam = self.write(coord, C + "EnrolFamily",
                         pb.EnrolFamilyRequest()).result.id
        adult = self.write(coord, C + "AddAdult", pb.AddAdultRequest(
            family=fam)).result.id
        child = self.write(coord, C + "AddChild", pb.AddChildRequest(
            family=fam)).result.id
        self.write(coord, C + "SetPickup", pb.SetPickupRequest(
            child=child, authorised=[adult]))
        room = self.write(coord, C + "AddRoom", pb.AddRoomRequest(
            label="room of writer %d" % self.n)).result.id
        now = cb.now_ms()
        shift = self.write(coord, C + "ScheduleShift",
                           pb.ScheduleShiftRequest(
                               room=room, start_ms=now - 600000,
                               end_ms=now + cb.HOUR_MS,
                               adult=adult)).result.id
        self.write(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
            shift=shift, adult=adult, presence=pb.PRESENCE_PIN))
        self.write(kiosk, K + "CheckInChild", pb.ChildCheckInRequest(
            child=child, room=room, adult=adult, presence=pb.PRESENCE_PIN))
        rc = self.write(kiosk, K + "CheckOutChild", pb.ChildCheckOutRequest(
            child=child, adult=adult, presence=pb.PRESENCE_PIN))
        eq((rc.result.family, rc.result.care_minutes), (fam, 1),
           "a session of seconds costs one minute")
        self.write(kiosk, K + "EndShift", pb.VolunteerCheckOutRequest(
            shift=shift, adult=adult, presence=pb.PRESENCE_PIN))
        rc = self.write(coord, C + "RecordCash", pb.RecordCashRequest(
            family=fam, amount_fen=100 + self.n, receipt="R-%d" % self.n))
        eq(rc.result.owed_fen, -(100 + self.n), "cash paid ahead")

    def retry_one(self):
        raw, sent, method, client = self.rng.choice(self.receipts)
        r = client.raw(method, sent)
        eq(r.raw, raw, "a retry's receipt")
        self.retried += 1

    def refuse_one(self, coord):
        r = coord.call(C + "RecordCash", cb.pb.RecordCashRequest(
            family="f0", amount_fen=1))
        eq((r.code, r.refusal), (SC.NOT_FOUND, "REFUSAL_UNKNOWN_FAMILY"),
           "a refused write")
        self.refused += 1

    def run(self):
        try:
            ch = self.s.channel()
            coord = cb.Client(ch, self.s.centre, self.s.coord_key)
            kiosk = cb.Client(ch, self.s.centre, self.kiosk_key)
            while time.time() < self.deadline:
                self.day(coord, kiosk)
                self.retry_one()
                self.refuse_one(coord)
        except BaseException as e:
            self.error = e


def concurrency_writers():
    s = cb.Server().start(metrics=True)
    coord = s.client()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    kiosk_key = cb.Key()
    rc, raw = coord.write(C + "EnrolKey", cb.pb.EnrolKeyRequest(
        public_key=kiosk_key.pub, role=cb.epb.ROLE_KIOSK, label="door"))
    v.receipt(raw)
    first = s.log_size()
    m0 = s.metrics()
    writers = [Writer(s, kiosk_key, n, time.time() + SECONDS)
               for n in range(CLIENTS)]
    for w in writers:
        w.start()
    # The store is read while it is written.
    time.sleep(SECONDS / 2)
    mid = s.replay()
    check(mid >= first, "replay while serving")
    mid_leaves = s.export()
    for w in writers:
        w.join(120)
        check(not w.is_alive(), "%s hangs" % w.name)
    errors = [(w.name, w.error) for w in writers if w.error]
    check(not errors, "writers failed: %r" % errors[:3])
    m1 = s.metrics()
    size = s.log_size()
    receipts = [x for w in writers for x in w.receipts]
    print("%d writers: %d entries, %d retries, %d refusals, %d batches" % (
        CLIENTS, len(receipts), sum(w.retried for w in writers),
        sum(w.refused for w in writers),
        m1["carebank_batches_total"] - m0["carebank_batches_total"]))
    check(all(w.receipts for w in writers), "every writer wrote")
    # Offline, every receipt; the log has exactly these entries.
    entries = {}
    for raw, sent, method, client in receipts:
        e = v.receipt(raw, sent=sent, method=method)
        check(e.index not in entries, "two receipts for entry %d" % e.index)
        entries[e.index] = e
    eq(sorted(entries), list(range(first, size)),
       "the receipts are exactly the log's entries")
    batches = m1["carebank_batches_total"] - m0["carebank_batches_total"]
    check(batches < len(receipts) / 1.5,
          "group commit: %d batches for %d writes" % (batches,
                                                      len(receipts)))
    # Balances follow in log order, whoever wrote.
    bal = {}
    for i in range(first, size):
        for p in entries[i].postings:
            bal[p.account] = bal.get(p.account, 0) + p.amount
            eq(p.balance, bal[p.account], "entry %d: %s" % (i, p.account))
    # The Audit service serves the same log.
    r = coord.call(cb.A + "GetCheckpoint")
    check(r.ok, "GetCheckpoint: %r" % r)
    cp = cb.spb.CheckpointReply.FromString(r.raw)
    eq(cb.parse_checkpoint(cp.checkpoint, v.vkey)[0], size,
       "the latest checkpoint")
    r = coord.call(cb.A + "Entries", cb.spb.EntriesRequest(start=first),
                   timeout=120)
    check(r.ok, "Entries: %r" % r)
    served = [cb.spb.EntryReply.FromString(m) for m in r.raw]
    eq([x.index for x in served], list(range(first, size)), "Entries")
    s.stop()
    leaves = s.export()
    eq([x.entry for x in served], leaves[first:], "Entries' leaves")
    eq(len(leaves), size, "the stored log")
    v.consistent(leaves)
    eq(leaves[:len(mid_leaves)], mid_leaves,
       "the export taken while serving is a prefix")
    cb.verify_log(leaves, s.centre)
    eq(s.replay(), size, "replay --verify after stopping")
    s.cleanup()


def concurrency_watchers():
    s = cb.Server(centre="c00")
    ids = ["c%02d" % i for i in range(21)]
    for cid in ids[1:]:
        r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                    cid, "--origin", "carebank.example.org/" + cid])
        eq(r.returncode, 0, "init %s: %s" % (cid, r.stderr))
    s.start()
    ch = s.channel()
    clients = {cid: cb.Client(ch, cid, cb.Key.load(
        "%s/keys/%s.coordinator.pem" % (s.data, cid))) for cid in ids}
    sizes = {cid: [] for cid in ids}
    calls = []

    def watch(cid, call):
        try:
            for m in call:
                sizes[cid].append(cb.spb.CheckpointReply.FromString(m).size)
        except grpc.RpcError:
            pass  # cancelled at the end

    method = cb.A + "WatchCheckpoints"
    for cid, c in clients.items():
        raw = cb.spb.CentreRequest(centre=cid).SerializeToString()
        call = ch.unary_stream(method)(raw, metadata=c.metadata(method, raw))
        calls.append(call)
        threading.Thread(target=watch, args=(cid, call), daemon=True).start()
    deadline = time.monotonic() + 10
    while not all(sizes.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    first = {cid: v[0] for cid, v in sizes.items()}
    stall = subprocess.Popen([cb.ARGS.tools["lmdbhold"], "write", s.data,
                              "1000"], stdout=subprocess.PIPE, text=True)
    eq(stall.stdout.readline().strip(), "held", "the writer is held")
    writers = [threading.Thread(target=c.write, args=(C + "EnrolFamily",))
               for c in clients.values()]
    for t in writers:
        t.start()
    for t in writers:
        t.join(30)
    eq(stall.wait(30), 0, "lmdbhold")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and \
            any(v[-1] <= first[cid] for cid, v in sizes.items()):
        time.sleep(0.05)
    missed = sorted(cid for cid, v in sizes.items() if v[-1] <= first[cid])
    eq(missed, [], "watchers not told of their centre's new checkpoint")
    for call in calls:
        call.cancel()
    s.stop()
    s.cleanup()


if __name__ == "__main__":
    cb.main({"concurrency_writers": concurrency_writers,
             "concurrency_watchers": concurrency_watchers}, __doc__)
