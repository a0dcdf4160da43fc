#!/usr/bin/python3
"""Bad input through the API (issue 5): each gets the right status and a
message that says what is wrong, and nothing is written (the log's size in
the store is the same before and after every refusal; the server keeps
serving).

  e2e.input_malformed     bytes that are not the method's message: garbage,
                          truncations, wrong wire types, unknown fields,
                          fields out of order or repeated, invalid UTF-8
  e2e.input_oversize      a message over the 4 MiB limit; one just under it
                          whose text is too long for the rules; a text that
                          would make an entry too large for the log
  e2e.input_enums         enum values the API does not define
  e2e.input_amounts       zero, negative and overflowing amounts and times
  e2e.input_unknown_ids   ids of nothing, of the wrong kind, path-like,
                          too long
  e2e.input_request_ids   a request id reused with other bytes or for
                          another method; request ids of the wrong length
  e2e.input_extremes      every integer field of every method at the ends
                          of its type: never a crash or an internal error
"""
import grpc

import cbclient as cb
from cbclient import C, K, A, check, eq

SC = grpc.StatusCode
INT64_MAX = (1 << 63) - 1


def setup():
    """A server with a family, adult, child, room, shift and swap."""
    s = cb.Server().start(metrics=True)
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    book = cb.Ledger(s, v)
    coord = s.client()
    pb = cb.pb
    kiosk_key = cb.Key()
    book.write(coord, C + "EnrolKey", pb.EnrolKeyRequest(
        public_key=kiosk_key.pub, role=cb.epb.ROLE_KIOSK, label="door"))
    kiosk = s.client(kiosk_key, coord.channel)
    ids = {}
    for n in ("f", "g"):
        ids[n] = book.write(coord, C + "EnrolFamily",
                            pb.EnrolFamilyRequest())[0].result.id
    ids["a"] = book.write(coord, C + "AddAdult", pb.AddAdultRequest(
        family=ids["f"]))[0].result.id
    ids["b"] = book.write(coord, C + "AddAdult", pb.AddAdultRequest(
        family=ids["g"]))[0].result.id
    ids["c"] = book.write(coord, C + "AddChild", pb.AddChildRequest(
        family=ids["f"]))[0].result.id
    ids["r"] = book.write(coord, C + "AddRoom", pb.AddRoomRequest(
        label="Sunflower room"))[0].result.id
    t = cb.now_ms() + cb.DAY_MS
    ids["s"] = book.write(coord, C + "ScheduleShift", pb.ScheduleShiftRequest(
        room=ids["r"], start_ms=t, end_ms=t + 3 * cb.HOUR_MS,
        adult=ids["a"]))[0].result.id
    ids["t"] = book.write(coord, C + "ScheduleShift", pb.ScheduleShiftRequest(
        room=ids["r"], start_ms=t + cb.DAY_MS, end_ms=t + cb.DAY_MS +
        cb.HOUR_MS, adult=ids["b"]))[0].result.id
    return s, book, coord, kiosk, ids


def still_serving(s, book, coord):
    """A good write after the bad ones is accepted as the next entry."""
    book.write(coord, C + "EnrolFamily", cb.pb.EnrolFamilyRequest())
    s.stop()
    eq(s.replay(), book.next, "replay --verify")
    s.cleanup()


def bad_bytes(s, book, client, method, raw, words="not a valid"):
    """Raw request bytes, signed: INVALID_ARGUMENT, nothing written."""
    r = client.raw(method, raw)
    eq(r.code, SC.INVALID_ARGUMENT, "%s %r: status (%r)" % (
        method, raw[:40], r.details))
    check(words in r.details and r.details.strip(),
          "%s %r: message %r" % (method, raw[:40], r.details))
    eq(s.log_size(), book.next, "log size after %r" % raw[:40])


def input_malformed():
    s, book, coord, kiosk, ids = setup()
    pb = cb.pb
    # The amount is the last field: every proper prefix lacks something.
    good = pb.RecordCashRequest(request_id=cb.request_id(), centre=s.centre,
                                family=ids["f"],
                                amount_fen=500).SerializeToString()
    for method in (C + "RecordCash", C + "EnrolFamily", K + "CheckInChild",
                   C + "Balances", A + "GetCheckpoint", A + "Entries"):
        for raw in (b"\xff\xff\xff\xff", b"\x0a", b"\x0a\x10" + b"x" * 5,
                    b"\x80", b"\x0b", b"\x0c", b"\x0f\x00"):
            bad_bytes(s, book, coord, method, raw)
    cash = C + "RecordCash"
    # Every proper prefix of a good message is refused or, where it ends
    # between fields, names too little (the centre check or the rules).
    for n in range(len(good)):
        r = coord.raw(cash, good[:n])
        check(r.code in (SC.INVALID_ARGUMENT, SC.NOT_FOUND) and r.details,
              "prefix %d: %s %r" % (n, r.code, r.details))
        eq(s.log_size(), book.next, "log size after prefix %d" % n)
    # The family id sent as a varint, the amount as a string.
    wrong = good.replace(b"\x1a\x02" + ids["f"].encode(),
                         b"\x18\x05", 1)
    bad_bytes(s, book, coord, cash, wrong)
    wrong = good.replace(b"\x20\xf4\x03", b"\x22\x01x", 1)
    bad_bytes(s, book, coord, cash, wrong)
    # Unknown fields, anywhere: not the canonical encoding.
    bad_bytes(s, book, coord, cash, good + b"\xf8\x06\x01")
    bad_bytes(s, book, coord, cash, b"\xa0\x1f\x00" + good)
    # The same fields in another order, or one twice.
    fields = pb.RecordCashRequest.FromString(good)
    head = pb.RecordCashRequest(request_id=fields.request_id,
                                centre=fields.centre).SerializeToString()
    tail = good[len(head):]
    bad_bytes(s, book, coord, cash, tail + head, "canonical")
    bad_bytes(s, book, coord, cash, good + b"\x20\xf4\x03", "canonical")
    # A string that is not UTF-8.
    bad = pb.RecordCashRequest(request_id=cb.request_id(), centre=s.centre,
                               family=ids["f"], amount_fen=5).\
        SerializeToString() + b"\x2a\x02\xc3\x28"
    bad_bytes(s, book, coord, cash, bad)
    # A kiosk's garbage is refused the same way.
    bad_bytes(s, book, kiosk, K + "StartShift", b"\x12\x05huada\xff")
    # Empty bytes are a message with every field unset: it names no centre.
    r = coord.raw(cash, b"")
    eq(r.code, SC.INVALID_ARGUMENT, "empty request")
    check("centre" in r.details, "empty request: %r" % r.details)
    still_serving(s, book, coord)


def input_oversize():
    s, book, coord, kiosk, ids = setup()
    pb = cb.pb
    cash = C + "RecordCash"
    # Over the 4 MiB message limit: RESOURCE_EXHAUSTED from the transport.
    for size in ((4 << 20) + 1, (4 << 20) + 100000, 6 << 20):
        msg = pb.RecordCashRequest(family=ids["f"], amount_fen=1,
                                   receipt="x" * size)
        r = coord.call(cash, msg)
        eq(r.code, SC.RESOURCE_EXHAUSTED, "%d bytes (%r)" % (size,
                                                             r.details))
        check(r.details, "oversize: a message")
        eq(s.log_size(), book.next, "log after %d bytes" % size)
    # Just under it, the message arrives and the rules refuse its text.
    msg = pb.RecordCashRequest(family=ids["f"], amount_fen=1,
                               receipt="x" * ((4 << 20) - 200))
    book.refused(coord, cash, msg, SC.INVALID_ARGUMENT, "REFUSAL_TOO_LONG",
                 "longer")
    # Free text whose entry would not fit in the log is refused as too
    # long, and so is text far longer than any reason needs.
    for n in (60000, 70000, 5000):
        book.refused(coord, C + "CancelShift", pb.CancelShiftRequest(
            shift=ids["s"], reason="x" * n), SC.INVALID_ARGUMENT,
            "REFUSAL_TOO_LONG", "long")
        book.refused(coord, C + "RevokeKey", pb.RevokeKeyRequest(
            key_id=kiosk.key.id, reason="x" * n), SC.INVALID_ARGUMENT,
            "REFUSAL_TOO_LONG", "long")
        book.refused(coord, C + "CloseSession", pb.CloseSessionRequest(
            shift=ids["s"], end_ms=cb.now_ms() - 1000, reason="x" * n),
            SC.INVALID_ARGUMENT, "REFUSAL_TOO_LONG", "long")
        book.refused(coord, C + "Reverse", pb.ReverseRequest(
            entry=3, reason="x" * n), SC.INVALID_ARGUMENT,
            "REFUSAL_TOO_LONG", "long")
    book.refused(coord, C + "EnrolKey", pb.EnrolKeyRequest(
        public_key=cb.Key().pub, role=cb.epb.ROLE_KIOSK, label="x" * 65),
        SC.INVALID_ARGUMENT)
    book.refused(coord, C + "AddRoom", pb.AddRoomRequest(label="x" * 65),
                 SC.INVALID_ARGUMENT)
    book.refused(coord, C + "SetPickup", pb.SetPickupRequest(
        child=ids["c"], authorised=[ids["a"]] * 33), SC.INVALID_ARGUMENT,
        "REFUSAL_TOO_LONG")
    # A reason of ordinary length is fine.
    book.write(coord, C + "CancelShift", pb.CancelShiftRequest(
        shift=ids["s"], reason="the room is being painted"))
    still_serving(s, book, coord)


def input_enums():
    s, book, coord, kiosk, ids = setup()
    pb = cb.pb

    def bad(client, method, msg, field):
        r = book.refused(client, method, msg, SC.INVALID_ARGUMENT)
        check(field in r.details, "%s: message %r does not name %s" %
              (method, r.details, field))

    bad(coord, C + "EnrolKey", pb.EnrolKeyRequest(
        public_key=cb.Key().pub, role=7, label="x"), "role")
    bad(kiosk, K + "OfferSwap", pb.OfferSwapRequest(
        shift=ids["s"], kind=9, to_adult=ids["b"]), "kind")
    for field in ("billing_period", "leave_positive"):
        p = cb.default_policy()
        setattr(p, field, 12)
        bad(coord, C + "SetPolicy", pb.SetPolicyRequest(policy=p), field)
    # Presence is recorded in the log: a value nobody defined cannot be.
    t = cb.now_ms() + cb.DAY_MS
    bad(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift=ids["s"], adult=ids["a"], event_time_ms=t, presence=42),
        "presence")
    bad(kiosk, K + "CheckInChild", pb.ChildCheckInRequest(
        child=ids["c"], room=ids["r"], adult=ids["a"], presence=-1),
        "presence")
    bad(kiosk, K + "CheckOutChild", pb.ChildCheckOutRequest(
        child=ids["c"], adult=ids["a"], presence=3), "presence")
    bad(kiosk, K + "EndShift", pb.VolunteerCheckOutRequest(
        shift=ids["s"], adult=ids["a"], presence=1000), "presence")
    bad(coord, C + "LeaveFamily", pb.LeaveFamilyRequest(
        family=ids["g"], negative=5), "negative")
    # Defined values are accepted: once its adult's shift to come is
    # cancelled (until then it is still on the roster), the family
    # (balance 0) leaves.
    leave = pb.LeaveFamilyRequest(family=ids["g"],
                                  negative=pb.LEAVE_NEGATIVE_WAIVE)
    book.refused(coord, C + "LeaveFamily", leave, SC.FAILED_PRECONDITION,
                 "REFUSAL_ON_ROSTER", ids["t"])
    book.write(coord, C + "CancelShift", pb.CancelShiftRequest(
        shift=ids["t"], reason="the family is leaving"))
    book.write(coord, C + "LeaveFamily", leave)
    still_serving(s, book, coord)


def input_amounts():
    s, book, coord, kiosk, ids = setup()
    pb = cb.pb
    NP, IA = "REFUSAL_AMOUNT_NOT_POSITIVE", SC.INVALID_ARGUMENT
    for amount in (0, -1, -6000, -(1 << 63)):
        book.refused(coord, C + "RecordCash", pb.RecordCashRequest(
            family=ids["f"], amount_fen=amount, receipt="R"), IA, NP,
            "more than 0")
        book.refused(coord, C + "BuySupplies", pb.BuySuppliesRequest(
            amount_fen=amount, memo="paints", receipt="S"), IA, NP,
            "more than 0")
        book.refused(coord, C + "Donate", pb.DonateRequest(
            from_family=ids["f"], to_family=ids["g"], minutes=amount), IA,
            NP, "more than 0")
    # Shifts run forwards, within a day, after 1970.
    t = cb.now_ms()
    for start, end in ((t, t), (t, t - 1), (-5, 100), (0, 100),
                       (t, t + cb.DAY_MS + 1)):
        book.refused(coord, C + "ScheduleShift", pb.ScheduleShiftRequest(
            room=ids["r"], start_ms=start, end_ms=end, adult=ids["a"]), IA,
            "REFUSAL_SHIFT_TIMES")
    # Event times: not from the future, not older than the late limit.
    book.refused(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift=ids["s"], adult=ids["a"], event_time_ms=t + cb.HOUR_MS),
        SC.FAILED_PRECONDITION, "REFUSAL_EVENT_IN_FUTURE", "future")
    book.refused(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift=ids["s"], adult=ids["a"], event_time_ms=t - 73 * cb.HOUR_MS),
        SC.FAILED_PRECONDITION, "REFUSAL_EVENT_TOO_LATE")
    book.refused(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift=ids["s"], adult=ids["a"], event_time_ms=-(1 << 63)),
        SC.FAILED_PRECONDITION, "REFUSAL_EVENT_TOO_LATE")
    # A policy out of range.
    for field, value in (("rate_fen_per_hour", 0), ("floor_minutes", 5),
                         ("late_limit_ms", 31 * cb.DAY_MS),
                         ("ratio_hard", 1), ("reserve_fen", -1)):
        book.refused(coord, C + "SetPolicy", pb.SetPolicyRequest(
            policy=cb.default_policy(**{field: value})), IA,
            "REFUSAL_POLICY_INVALID", field)
    book.refused(coord, C + "SetPolicy", pb.SetPolicyRequest(), IA,
                 "REFUSAL_MISSING_FIELD")
    # Balances never overflow: the largest payment is taken once, and a
    # second that would overflow the fund is refused.
    rc, e = book.write(coord, C + "RecordCash", pb.RecordCashRequest(
        family=ids["f"], amount_fen=INT64_MAX, receipt="R-big"))
    eq(rc.result.fund_fen, INT64_MAX, "the fund holds it")
    book.refused(coord, C + "RecordCash", pb.RecordCashRequest(
        family=ids["g"], amount_fen=1, receipt="R-one"),
        SC.OUT_OF_RANGE, "REFUSAL_OVERFLOW", "overflow")
    still_serving(s, book, coord)


def input_unknown_ids():
    s, book, coord, kiosk, ids = setup()
    pb = cb.pb
    NF = SC.NOT_FOUND
    t = cb.now_ms() + cb.DAY_MS
    for bad in ("f999", "x1", ids["a"], "../" + ids["f"], ids["f"] + "/x",
                "f" + "1" * 40, ids["f"] + "\n"):
        book.refused(coord, C + "RecordCash", pb.RecordCashRequest(
            family=bad, amount_fen=100, receipt="R"), NF,
            "REFUSAL_UNKNOWN_FAMILY", "family")
        book.refused(coord, C + "AddAdult", pb.AddAdultRequest(family=bad),
                     NF, "REFUSAL_UNKNOWN_FAMILY", bad)
    book.refused(coord, C + "AddChild", pb.AddChildRequest(family="f999"),
                 NF, "REFUSAL_UNKNOWN_FAMILY", "f999")
    book.refused(coord, C + "SetPickup", pb.SetPickupRequest(
        child="c999", authorised=[ids["a"]]), NF, "REFUSAL_UNKNOWN_CHILD",
        "c999")
    book.refused(coord, C + "SetPickup", pb.SetPickupRequest(
        child=ids["c"], authorised=["a999"]), NF, "REFUSAL_UNKNOWN_ADULT",
        "a999")
    book.refused(kiosk, K + "CheckInChild", pb.ChildCheckInRequest(
        child=ids["c"], room="r999", adult=ids["a"]), NF,
        "REFUSAL_UNKNOWN_ROOM", "r999")
    book.refused(kiosk, K + "CheckInChild", pb.ChildCheckInRequest(
        child=ids["f"], room=ids["r"], adult=ids["a"]), NF,
        "REFUSAL_UNKNOWN_CHILD")
    book.refused(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift="s999", adult=ids["a"], event_time_ms=0), NF,
        "REFUSAL_UNKNOWN_SHIFT", "s999")
    book.refused(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift=ids["s"], adult="a999"), NF, "REFUSAL_UNKNOWN_ADULT")
    book.refused(kiosk, K + "AnswerSwap", pb.AnswerSwapRequest(
        swap="w999", adult=ids["b"], accept=True), NF,
        "REFUSAL_UNKNOWN_SWAP", "w999")
    book.refused(coord, C + "ApproveSwap", pb.ApproveSwapRequest(
        swap=ids["s"], approve=True), NF, "REFUSAL_UNKNOWN_SWAP")
    book.refused(kiosk, K + "WithdrawSwap", pb.WithdrawSwapRequest(
        swap="w999"), NF, "REFUSAL_UNKNOWN_SWAP")
    book.refused(kiosk, K + "OfferSwap", pb.OfferSwapRequest(
        shift=ids["s"], kind=pb.SWAP_KIND_COVER, to_adult="a999"), NF,
        "REFUSAL_UNKNOWN_ADULT")
    book.refused(coord, C + "CancelShift", pb.CancelShiftRequest(
        shift="s999", reason="x"), NF, "REFUSAL_UNKNOWN_SHIFT")
    book.refused(coord, C + "ScheduleShift", pb.ScheduleShiftRequest(
        room="r999", start_ms=t, end_ms=t + 1000, adult=ids["a"]), NF,
        "REFUSAL_UNKNOWN_ROOM")
    book.refused(coord, C + "CloseSession", pb.CloseSessionRequest(
        child="c999", end_ms=cb.now_ms() - 1000, reason="forgotten"), NF,
        "REFUSAL_UNKNOWN_CHILD")
    book.refused(coord, C + "Donate", pb.DonateRequest(
        from_family=ids["f"], to_family="f999", minutes=5), NF,
        "REFUSAL_UNKNOWN_FAMILY")
    book.refused(coord, C + "LeaveFamily", pb.LeaveFamilyRequest(
        family="f999"), NF, "REFUSAL_UNKNOWN_FAMILY")
    book.refused(coord, C + "RevokeKey", pb.RevokeKeyRequest(
        key_id=cb.Key().id, reason="lost"), NF, "REFUSAL_UNKNOWN_KEY")
    for entry in (book.next, book.next + 1, 1 << 62, (1 << 64) - 1):
        book.refused(coord, C + "Reverse", pb.ReverseRequest(
            entry=entry, reason="mistake"), NF, "REFUSAL_UNKNOWN_ENTRY",
            str(entry))
    # Known entries that are not reversible, a missing id.
    book.refused(coord, C + "Reverse", pb.ReverseRequest(
        entry=0, reason="mistake"), SC.FAILED_PRECONDITION,
        "REFUSAL_NOT_REVERSIBLE")
    book.refused(coord, C + "AddAdult", pb.AddAdultRequest(), SC.
                 INVALID_ARGUMENT, "REFUSAL_MISSING_FIELD", "family")
    still_serving(s, book, coord)


def input_request_ids():
    s, book, coord, kiosk, ids = setup()
    pb = cb.pb
    rid = cb.request_id()
    rc, e = book.write(coord, C + "RecordCash", pb.RecordCashRequest(
        request_id=rid, family=ids["f"], amount_fen=100, receipt="R-1"))
    # The same id, other bytes: refused, naming the entry it made.
    for other in (pb.RecordCashRequest(request_id=rid, family=ids["f"],
                                       amount_fen=101, receipt="R-1"),
                  pb.RecordCashRequest(request_id=rid, family=ids["g"],
                                       amount_fen=100, receipt="R-1")):
        r = book.refused(coord, C + "RecordCash", other, SC.ALREADY_EXISTS,
                         words="request id")
        check(str(rc.index) in r.details, "names entry %d: %r" %
              (rc.index, r.details))
    book.refused(coord, C + "BuySupplies", pb.BuySuppliesRequest(
        request_id=rid, amount_fen=100, memo="m", receipt="S"),
        SC.ALREADY_EXISTS, words="request id")
    # The same bytes for another method are another request: a request id
    # never answers for a different method.
    rid2 = cb.request_id()
    rc2, e2 = book.write(coord, C + "EnrolFamily",
                         pb.EnrolFamilyRequest(request_id=rid2))
    for method in (C + "AddRoom", C + "Settle", C + "Reverse"):
        r = coord.call(method, cb.message_class(method)(request_id=rid2))
        check(not r.ok, "%s answered with EnrolFamily's receipt" % method)
        eq(r.code, SC.ALREADY_EXISTS, "%s with EnrolFamily's id (%r)" % (
            method, r.details))
        eq(s.log_size(), book.next, "log after %s" % method)
    # A kiosk's id is the centre's: another key cannot reuse it either.
    book.refused(kiosk, K + "WithdrawSwap", pb.WithdrawSwapRequest(
        request_id=rid, swap="w1"), SC.ALREADY_EXISTS, words="request id")
    # Request ids are 16 bytes.
    for n in (0, 1, 15, 17, 64):
        book.refused(coord, C + "EnrolFamily", pb.EnrolFamilyRequest(),
                     SC.INVALID_ARGUMENT, "REFUSAL_MISSING_FIELD",
                     "16 bytes", no_id=True) if n == 0 else \
            book.refused(coord, C + "EnrolFamily", pb.EnrolFamilyRequest(
                request_id=b"\x01" * n), SC.INVALID_ARGUMENT,
                "REFUSAL_MISSING_FIELD", "16 bytes")
    # A refused request leaves its id free for the next request.
    rid3 = cb.request_id()
    book.refused(coord, C + "RecordCash", pb.RecordCashRequest(
        request_id=rid3, family="f999", amount_fen=100), SC.NOT_FOUND)
    book.write(coord, C + "RecordCash", pb.RecordCashRequest(
        request_id=rid3, family=ids["f"], amount_fen=100, receipt="R-2"))
    still_serving(s, book, coord)


def numeric_fields(desc, prefix=()):
    """Paths of the integer fields of a message type, nested ones too."""
    F = desc.fields[0].__class__
    ints = {F.TYPE_INT64: 64, F.TYPE_INT32: 32, F.TYPE_UINT64: -64,
            F.TYPE_UINT32: -32, F.TYPE_SINT64: 64, F.TYPE_SFIXED64: 64}
    for f in desc.fields:
        if f.type == F.TYPE_MESSAGE:
            yield from numeric_fields(f.message_type, prefix + (f.name,))
        elif f.type in ints:
            yield prefix + (f.name,), ints[f.type]


def extremes(bits):
    if bits < 0:
        return [0, 1, (1 << -bits) - 1, 1 << (-bits - 1)]
    return [-(1 << (bits - 1)), -(1 << (bits - 1)) + 1, -1, 0,
            (1 << (bits - 1)) - 1]


def input_extremes():
    """Every integer field of every method, at the ends of its type: a
    refusal or an answer, never a crash, an internal error or a write that
    no receipt accounts for."""
    s, book, coord, kiosk, ids = setup()
    v = book.v
    names = {"family": ids["f"], "from_family": ids["f"],
             "to_family": ids["g"], "adult": ids["a"],
             "to_adult": ids["b"], "child": ids["c"], "room": ids["r"],
             "shift": ids["s"], "other_shift": ids["t"], "swap": "w99",
             "reason": "why", "memo": "paints", "receipt": "R-1",
             "label": "door"}
    calls = 0
    for method in sorted(cb.WRITES) + sorted(cb.READS):
        if method == C + "CreateCentre":
            continue
        cls = cb.message_class(method)
        client = kiosk if method.startswith(K) else coord
        for path, bits in numeric_fields(cls.DESCRIPTOR):
            for value in extremes(bits):
                msg = cls()
                for f in cls.DESCRIPTOR.fields:
                    if f.name in names and f.type == f.TYPE_STRING:
                        setattr(msg, f.name, names[f.name])
                if method == C + "SetPolicy":
                    msg.policy.CopyFrom(cb.default_policy())
                if method == C + "EnrolKey":
                    msg.public_key = cb.Key().pub
                    msg.role = cb.epb.ROLE_AUDITOR
                if method == C + "RevokeKey":
                    msg.key_id = cb.Key().id
                target = msg
                for name in path[:-1]:
                    target = getattr(target, name)
                setattr(target, path[-1], value)
                before = s.log_size()
                r = client.call(method, msg, timeout=10)
                calls += 1
                what = "%s %s=%d" % (method, ".".join(path), value)
                check(s.alive(), "carebankd died on %s" % what)
                check(r.code not in (SC.INTERNAL, SC.UNKNOWN, SC.UNAVAILABLE,
                                     SC.DATA_LOSS),
                      "%s: %s %r" % (what, r.code, r.details))
                if r.ok and method in cb.WRITES:
                    v.receipt(r.raw, sent=r.sent, method=method)
                    eq(s.log_size(), before + 1, "log after " + what)
                elif r.ok:
                    eq(s.log_size(), before, "log after " + what)
                else:
                    check(r.details, "%s: no message" % what)
                    eq(s.log_size(), before, "log after " + what)
    print("%d calls with extreme values" % calls)
    s.stop()
    eq(s.replay(), len(s.export()), "replay --verify")
    s.cleanup()


if __name__ == "__main__":
    cb.main({f.__name__: f for f in (
        input_malformed, input_oversize, input_enums, input_amounts,
        input_unknown_ids, input_request_ids, input_extremes)}, __doc__)
