#!/usr/bin/python3
"""Receipts: an idempotent retry returns the very same bytes, and a receipt
is checked offline by code that fails on any tampering.

  e2e.retry_identical     the same request again (the same signed call, a
                          new signature, after the log has grown, after a
                          restart, from another connection) gets a
                          byte-identical receipt and writes nothing; a
                          refused request is refused again, not remembered
  e2e.retry_concurrent    sixteen copies of one request sent at once: one
                          entry, sixteen identical receipts
  e2e.retry_after_deadline  attempts cut by deadlines from 1 ms, then a
                          retry: one entry per request
  e2e.receipt_tamper      the offline verifier against RFC 6962 inclusion
                          and consistency proofs built from the RFC's
                          definitions for every size up to 40, and
                          against real receipts with each part damaged:
                          every damaged copy is refused
"""
import base64
import threading

import grpc

import cbclient as cb
from cbclient import C, K, check, eq

SC = grpc.StatusCode


def setup():
    s = cb.Server().start(metrics=True)
    coord = s.client()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    kiosk_key = cb.Key()
    rc, raw = coord.write(C + "EnrolKey", cb.pb.EnrolKeyRequest(
        public_key=kiosk_key.pub, role=cb.epb.ROLE_KIOSK, label="door"))
    v.receipt(raw)
    return s, coord, v, s.client(kiosk_key, coord.channel)


def retry_identical():
    s, coord, v, kiosk = setup()
    pb = cb.pb
    fam = coord.write(C + "EnrolFamily")[0].result.id
    method = C + "RecordCash"
    raw = pb.RecordCashRequest(request_id=cb.request_id(), centre=s.centre,
                               family=fam, amount_fen=2500,
                               receipt="R-7").SerializeToString()
    md = coord.metadata(method, raw)
    first = coord.raw(method, raw, metadata=md)
    check(first.ok, "first: %r" % first)
    e = v.receipt(first.raw, sent=raw, method=method)
    size = s.log_size()
    eq(size, e.index + 1, "one entry")
    retries0 = s.metrics()["carebank_retries_total"]

    def same(r, what):
        check(r.ok, "%s: %s %r" % (what, r.code, r.details))
        eq(r.raw, first.raw, "%s: the receipt's bytes" % what)
        eq(s.log_size(), size, "%s: the log" % what)

    same(coord.raw(method, raw, metadata=md), "the same signed call")
    same(coord.raw(method, raw), "signed again")
    other = s.client()
    same(other.raw(method, raw), "another connection")
    # The log grows; the receipt still names the checkpoint of its batch.
    for _ in range(5):
        coord.write(C + "EnrolFamily")
    size = s.log_size()
    same(coord.raw(method, raw), "after the log grew")
    eq(s.metrics()["carebank_retries_total"] - retries0, 4,
       "retries counted")
    # A kiosk's write retried the same way.
    adult = coord.write(C + "AddAdult", pb.AddAdultRequest(
        family=fam))[0].result.id
    room = coord.write(C + "AddRoom", pb.AddRoomRequest(
        label="Sunflower room"))[0].result.id
    t = cb.now_ms() + 1800 * 1000
    shift = coord.write(C + "ScheduleShift", pb.ScheduleShiftRequest(
        room=room, start_ms=t, end_ms=t + cb.HOUR_MS,
        adult=adult))[0].result.id
    kraw = pb.VolunteerCheckInRequest(
        request_id=cb.request_id(), centre=s.centre, shift=shift,
        adult=adult, presence=pb.PRESENCE_PIN).SerializeToString()
    kfirst = kiosk.raw(K + "StartShift", kraw)
    check(kfirst.ok, "StartShift: %r" % kfirst)
    v.receipt(kfirst.raw, sent=kraw)
    size = s.log_size()
    for _ in range(2):
        r = kiosk.raw(K + "StartShift", kraw)
        eq(r.raw, kfirst.raw, "the kiosk's retry")
    eq(s.log_size(), size, "the kiosk's retries wrote nothing")
    # A refused request is not remembered: it is refused again, afresh.
    bad = pb.RecordCashRequest(request_id=cb.request_id(), centre=s.centre,
                               family="f999", amount_fen=1).SerializeToString()
    for _ in range(2):
        r = coord.raw(method, bad)
        eq((r.code, r.refusal), (SC.NOT_FOUND, "REFUSAL_UNKNOWN_FAMILY"),
           "a refused request, retried")
    eq(s.log_size(), size, "refusals wrote nothing")
    # After a restart, from the store.
    s.stop()
    s.start(metrics=True)
    coord = s.client()
    same(coord.raw(method, raw), "after a restart")
    eq(s.client(kiosk.key).raw(K + "StartShift", kraw).raw, kfirst.raw,
       "the kiosk's retry after a restart")
    s.stop()
    eq(s.replay(), size, "replay --verify")
    s.cleanup()


def retry_concurrent():
    s, coord, v, kiosk = setup()
    fam = coord.write(C + "EnrolFamily")[0].result.id
    size = s.log_size()
    for round in range(3):
        raw = cb.pb.RecordCashRequest(
            request_id=cb.request_id(), centre=s.centre, family=fam,
            amount_fen=100 + round, receipt="R").SerializeToString()
        clients = [s.client() for _ in range(16)]
        got = [None] * len(clients)
        go = threading.Barrier(len(clients))

        def send(i):
            go.wait()
            got[i] = clients[i].raw(C + "RecordCash", raw)

        threads = [threading.Thread(target=send, args=(i,))
                   for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check(all(r is not None and r.ok for r in got),
              "round %d: %r" % (round, [r for r in got if not r.ok]))
        eq(len({r.raw for r in got}), 1, "round %d: one receipt" % round)
        e = v.receipt(got[0].raw, sent=raw)
        size += 1
        eq((e.index + 1, s.log_size()), (size, size),
           "round %d: one entry" % round)
    s.stop()
    leaves = s.export()
    v.consistent(leaves)
    eq(s.replay(), size, "replay --verify")
    s.cleanup()


def retry_after_deadline():
    """Writes whose client gave up (deadlines from 1 ms up) and retried:
    each request is in the log once, whatever the server had done with the
    attempts that timed out."""
    s, coord, v, kiosk = setup()
    fam = coord.write(C + "EnrolFamily")[0].result.id
    sent = []
    for n in range(12):
        raw = cb.pb.RecordCashRequest(
            request_id=cb.request_id(), centre=s.centre, family=fam,
            amount_fen=10 + n, receipt="R-%d" % n).SerializeToString()
        codes = set()
        for timeout in (0.001, 0.003, 0.01, 0.03, 0.1):
            r = coord.raw(C + "RecordCash", raw, timeout=timeout)
            codes.add(r.code)
            check(r.code in (SC.OK, SC.DEADLINE_EXCEEDED),
                  "attempt with %.3fs: %s %r" % (timeout, r.code, r.details))
        r = coord.raw(C + "RecordCash", raw)
        check(r.ok, "the final retry: %r" % r)
        v.receipt(r.raw, sent=raw)
        sent.append(raw)
    s.stop()
    leaves = s.export()
    v.consistent(leaves)
    requests = [cb.parse_entry(x).call.request for x in leaves]
    for raw in sent:
        eq(requests.count(raw), 1, "entries for one request")
    eq(s.replay(), len(leaves), "replay --verify")
    s.cleanup()


def path(m, leaves):
    """RFC 6962 2.1.1 PATH(m, D[n]), computed from the definition."""
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [cb.mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [cb.mth(leaves[:k])]


def subproof(m, leaves, b):
    """RFC 6962 2.1.2 SUBPROOF(m, D[n], b), from the definition."""
    n = len(leaves)
    if m == n:
        return [] if b else [cb.mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], b) + [cb.mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [cb.mth(leaves[:k])]


def refused(fn, what):
    """fn, checking something damaged, must fail."""
    try:
        fn()
    except Exception:
        return
    raise cb.Failure("a damaged receipt was accepted: %s" % what)


def receipt_tamper():
    # The verifier against proofs from the RFC's definition.
    hashes = [cb.leaf_hash(b"leaf %d" % i) for i in range(40)]
    for n in range(1, 41):
        root = cb.mth(hashes[:n])
        for m in range(n):
            p = path(m, hashes[:n])
            eq(cb.inclusion_root(m, n, hashes[m], p), root,
               "inclusion %d in %d" % (m, n))
            check(cb.inclusion_root(m, n, hashes[(m + 1) % n], p) != root
                  or n == 1, "wrong leaf %d in %d" % (m, n))
            if p:
                check(cb.inclusion_root(m, n, hashes[m], p[:-1]) != root,
                      "short proof %d in %d" % (m, n))
            check(cb.inclusion_root(m, n, hashes[m], p + [root]) != root,
                  "long proof %d in %d" % (m, n))
            check(cb.inclusion_root(m + n, n, hashes[m], p) is None,
                  "index beyond the tree")
    # Consistency proofs, likewise, for every pair of sizes up to 40.
    for n in range(1, 41):
        for m in range(1, n + 1):
            p = subproof(m, hashes[:n], True)
            r1, r2 = cb.mth(hashes[:m]), cb.mth(hashes[:n])
            check(cb.consistency_ok(m, n, r1, r2, p),
                  "consistency %d to %d" % (m, n))
            check(not cb.consistency_ok(m, n, hashes[0] if m > 1 else
                                        hashes[1], r2, p),
                  "consistency %d to %d from a wrong root" % (m, n))
            if p:
                check(not cb.consistency_ok(m, n, r1, r2, p[:-1]),
                      "short consistency %d to %d" % (m, n))
                bad = list(p)
                bad[0] = cb.sha256(bad[0])
                check(not cb.consistency_ok(m, n, r1, r2, bad),
                      "damaged consistency %d to %d" % (m, n))
            check(not cb.consistency_ok(m, n, r1, r2, p + [r1]),
                  "long consistency %d to %d" % (m, n))
    # Real receipts.
    s, coord, v, kiosk = setup()
    rcs = [coord.write(C + "EnrolFamily")[0] for _ in range(6)]
    for rc in rcs:
        v.receipt(rc)
    rc = rcs[3]
    Receipt = cb.spb.Receipt

    def damaged(change, what):
        bad = Receipt()
        bad.CopyFrom(rc)
        change(bad)
        fresh = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
        refused(lambda: fresh.receipt(bad), what)

    def flip(b, i):
        b = bytearray(b)
        b[i % len(b)] ^= 0x01
        return bytes(b)

    centre_at = rc.entry.index(s.centre.encode())
    damaged(lambda r: setattr(r, "entry", flip(r.entry, centre_at)),
            "a byte of the entry")
    damaged(lambda r: setattr(r, "entry", flip(r.entry, -1)),
            "the entry's last byte")
    damaged(lambda r: setattr(r, "index", r.index + 1), "the index")
    damaged(lambda r: setattr(r, "tree_size", r.tree_size + 1),
            "the tree size")
    damaged(lambda r: r.inclusion.__setitem__(0, flip(r.inclusion[0], 5)),
            "a proof hash")
    damaged(lambda r: r.inclusion.pop(), "a proof hash missing")
    damaged(lambda r: r.inclusion.append(b"\x00" * 32), "a proof too long")
    damaged(lambda r: setattr(r, "checkpoint", rcs[5].checkpoint),
            "another batch's checkpoint")
    text, sig = rc.checkpoint.split(b"\n\n")
    lines = text.split(b"\n")
    damaged(lambda r: setattr(r, "checkpoint", b"\n".join(
        [lines[0], lines[1], base64.b64encode(b"\x07" * 32)] +
        lines[3:]) + b"\n\n" + sig), "the checkpoint's root")
    damaged(lambda r: setattr(r, "checkpoint", text + b"\n\n" +
                              sig.replace(sig[-10:-9], b"A" if
                                          sig[-10:-9] != b"A" else b"B")),
            "the checkpoint's signature")
    # A checkpoint signed by another key under the log's name.
    forger = cb.Key()
    name = cb.VKey(s.vkey).name
    kid = cb.sha256(name.encode(), b"\n", b"\x01" + forger.pub)[:4]
    forged = text + b"\n\n\xe2\x80\x94 " + name.encode() + b" " + \
        base64.b64encode(kid + forger.sign(text + b"\n")) + b"\n"
    damaged(lambda r: setattr(r, "checkpoint", forged), "a forged signature")
    # A checkpoint of another log (another origin, its own key).
    s2 = cb.Server(centre="huada", origin="elsewhere.example/huada").start()
    other = s2.client().write(C + "EnrolFamily")[0]
    damaged(lambda r: setattr(r, "checkpoint", other.checkpoint),
            "another log's checkpoint")
    s2.stop()
    s2.cleanup()
    # Leaves that are not the canonical encoding of an Entry.
    e = cb.epb.Entry.FromString(rc.entry)
    refused(lambda: cb.parse_entry(rc.entry + b"\xf8\x06\x01"),
            "an unknown field")
    first = e.SerializeToString()
    one = cb.epb.Entry(centre=e.centre).SerializeToString()
    refused(lambda: cb.parse_entry(first[len(one):] + one), "fields moved")
    refused(lambda: cb.parse_entry(rc.entry + b"\x10\x03"),
            "a field repeated")
    # An actor's signature over other bytes.
    e.call.request = e.call.request + b"\x00"
    refused(lambda: cb.check_call(e, {s.coord_key.id: s.coord_key.pub}),
            "the call's request changed")
    s.stop()
    s.cleanup()


if __name__ == "__main__":
    cb.main({f.__name__: f for f in (
        retry_identical, retry_concurrent, retry_after_deadline,
        receipt_tamper)}, __doc__)
