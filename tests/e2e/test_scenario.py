#!/usr/bin/python3
"""A day at a centre (issue 3), end to end through carebankd's gRPC API.

Three families: A volunteers three hours; B leaves a child two hours with no
minutes, down to the floor; C never volunteers, leaves a child three hours
beyond the floor, is charged 6000 fen and pays it. A shift of A's is offered
to B as a cover, accepted, approved, and worked by B, who gets the minutes.
The fund buys supplies for 1500 fen. A mistaken check-out is reversed. The
week is then settled: the surplus families share the fund pro rata, by
largest remainder, and the subsidy buys their minutes back.

The kiosk places these events last week (event_time_ms, within a late limit
the coordinator widens to 30 days), and the billing period is the week, so
the settlement of a period that is over can run today. Every balance is
checked from the receipts (their Result and their postings, replayed into a
model of the books), every receipt is verified offline, and the stored log
is exported and checked against them. Reports are checked where the server
implements them.

  e2e.scenario_day    the whole day, as above
"""
import grpc

import cbclient as cb
from cbclient import C, K, A, check, eq

SC = grpc.StatusCode


def settle_model(surplus, pool, rate):
    """Settlement shares, written separately from the server: pro rata to
    surplus by largest remainder (ties to the lower family number), none
    above rate per surplus minute (a share held at its cap frees the rest
    for the others). surplus is {family: minutes}; returns {family: fen}."""
    cap = {f: m * rate // 60 for f, m in surplus.items()}
    if sum(cap.values()) <= pool:
        return cap
    fixed = {}
    while True:
        left = pool - sum(fixed.values())
        free = [f for f in surplus if f not in fixed]
        total = sum(surplus[f] for f in free)
        share = {f: left * surplus[f] // total for f in free}
        rem = {f: left * surplus[f] % total for f in free}
        extra = left - sum(share.values())
        for f in sorted(free, key=lambda f: (-rem[f], int(f[1:])))[:extra]:
            share[f] += 1
        over = [f for f in free if share[f] > cap[f]]
        if not over:
            share.update(fixed)
            return share
        for f in over:
            fixed[f] = cap[f]


def reads_ready(reply, what):
    """Every read is served: one that is not is a failure, not a skip."""
    check(reply.ok, "%s: %s %s" % (what, reply.code, reply.details))
    return True


def check_reports(s, coord, kiosk, auditor, book, ids, v):
    """The read services agree with the receipts (once they exist)."""
    fam, adult = ids["fam"], ids["adult"]
    r = coord.call(C + "Balances")
    if reads_ready(r, "Coordinator.Balances"):
        rep = cb.spb.BalancesReport.FromString(r.raw)
        got = {f.family: (f.minutes, f.owed_fen) for f in rep.families}
        for f in fam.values():
            eq(got.get(f), (book.minutes(f), book.owed(f)),
               "Balances of %s" % f)
        eq(rep.fund_fen, book.account("centre/fund"), "Balances fund")
    r = coord.call(C + "Fund")
    if reads_ready(r, "Coordinator.Fund"):
        rep = cb.spb.FundReport.FromString(r.raw)
        eq(rep.fund_fen, 0, "Fund: fund")
        eq(rep.received_fen, 6000, "Fund: cash received")
        eq(rep.supplies_fen, 1500, "Fund: supplies")
        eq(rep.subsidies_fen, 4500, "Fund: subsidies")
        eq(abs(rep.income_fen), 6000, "Fund: care charged")
        eq(rep.owed_fen, 0, "Fund: owed")
    r = coord.call(C + "GetStatement",
                   cb.spb.StatementRequest(family=fam["C"], from_ms=1,
                                           to_ms=cb.now_ms() + 1000))
    if reads_ready(r, "Coordinator.GetStatement"):
        st = cb.spb.Statement.FromString(r.raw)
        eq((st.minutes, st.owed_fen), (-120, 0), "Statement of C")
        eq(sum(line.fen for line in st.lines), 0, "Statement of C: fen")
    r = coord.call(C + "Roster", cb.spb.RosterRequest(from_ms=1))
    if reads_ready(r, "Coordinator.Roster"):
        rep = cb.spb.RosterReport.FromString(r.raw)
        shifts = {x.id: (x.adult, x.status) for x in rep.shifts}
        eq(shifts.get(ids["s1"]), (adult["A"], "done"), "Roster: shift 1")
        eq(shifts.get(ids["s2"]), (adult["B"], "done"),
           "Roster: the swapped shift is B's")
        swaps = {x.id: (x.from_adult, x.to_adult) for x in rep.swaps}
        eq(swaps.get(ids["swap"], (adult["A"], adult["B"])),
           (adult["A"], adult["B"]), "Roster: the swap")
    r = coord.call(C + "Flagged")
    if reads_ready(r, "Coordinator.Flagged"):
        eq(list(cb.spb.FlaggedReport.FromString(r.raw).flags), [],
           "Flagged: nothing was flagged")
    r = coord.call(C + "Present")
    if reads_ready(r, "Coordinator.Present"):
        for room in cb.spb.PresentReport.FromString(r.raw).rooms:
            eq((list(room.children), list(room.adults)), ([], []),
               "Present: everyone has gone home")
    r = coord.call(C + "SetDirectory", cb.spb.DirectoryRequest(
        id=adult["C"], name="Li Wei", card="CARD-C", pin="2468"))
    if reads_ready(r, "Coordinator.SetDirectory"):
        r = kiosk.call(K + "Identify", cb.spb.IdentifyRequest(
            card="CARD-C", pin="2468"))
        check(r.ok, "Identify: %s %r" % (r.code, r.details))
        fv = cb.spb.FamilyView.FromString(r.raw)
        eq((fv.family, fv.adult, fv.minutes, fv.owed_fen),
           (fam["C"], adult["C"], -120, 0), "Identify: family C")
        eq([c.id for c in fv.children], [ids["child"]["C"]],
           "Identify: C's child")
        wrong = kiosk.call(K + "Identify", cb.spb.IdentifyRequest(
            card="CARD-C", pin="1357"))
        unknown = kiosk.call(K + "Identify", cb.spb.IdentifyRequest(
            card="CARD-Z", pin="1357"))
        check(not wrong.ok, "a wrong PIN is refused")
        eq((wrong.code, wrong.details), (unknown.code, unknown.details),
           "a wrong PIN and an unknown card get the same answer")
    r = auditor.call(A + "GetCheckpoint")
    if reads_ready(r, "Audit.GetCheckpoint"):
        cp = cb.spb.CheckpointReply.FromString(r.raw)
        eq(cp.verifier_key, s.vkey, "GetCheckpoint verifier key")
        size, root = cb.parse_checkpoint(cp.checkpoint, v.vkey)
        eq((size, cp.size), (book.next, book.next), "GetCheckpoint size")
        leaves = [cb.spb.Receipt.FromString(x).entry
                  for x, _ in book.receipts]
        r = auditor.call(A + "Entries", cb.spb.EntriesRequest(start=1))
        if reads_ready(r, "Audit.Entries"):
            got = [cb.spb.EntryReply.FromString(m) for m in r.raw]
            eq([g.index for g in got], list(range(1, size)), "Entries")
            eq([g.entry for g in got], leaves, "Entries' leaves")
        first = cb.spb.Receipt.FromString(book.receipts[0][0])
        r = auditor.call(A + "Inclusion",
                         cb.spb.InclusionRequest(index=first.index))
        if reads_ready(r, "Audit.Inclusion"):
            pr = cb.spb.ProofReply.FromString(r.raw)
            eq(cb.inclusion_root(first.index, size, cb.leaf_hash(first.entry),
                                 list(pr.hashes)), root, "Inclusion proof")
        # Every checkpoint a receipt carried is a prefix of the latest.
        for old, old_root in sorted(v.roots.items()):
            r = auditor.call(A + "Consistency", cb.spb.ConsistencyRequest(
                from_size=old, to_size=size))
            if not reads_ready(r, "Audit.Consistency"):
                break
            pr = cb.spb.ProofReply.FromString(r.raw)
            check(cb.consistency_ok(old, size, old_root, root,
                                    list(pr.hashes)),
                  "Consistency from %d to %d" % (old, size))


def scenario_day(then=None):
    """The day; then(s, ids, keys), if given, runs while the server still
    serves the finished day (other tests build on it) and returns how many
    entries it appended."""
    s = cb.Server(centre="huada",
                  origin="carebank.example.org/huada").start(metrics=True)
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    book = cb.Ledger(s, v)
    coord = s.client()
    kiosk_key, auditor_key = cb.Key(), cb.Key()
    pb = cb.pb
    W = cb.week_start(cb.now_ms()) - 7 * cb.DAY_MS   # last week's Monday
    D1, D2 = W + cb.DAY_MS, W + 2 * cb.DAY_MS        # Tuesday, Wednesday

    def at(day, h, m=0):
        return day + h * cb.HOUR_MS + m * 60000

    # The week is the billing period; offline events may be 30 days old.
    rc, e = book.write(coord, C + "SetPolicy", pb.SetPolicyRequest(
        policy=cb.default_policy(billing_period=pb.BILLING_PERIOD_WEEK,
                                 late_limit_ms=30 * cb.DAY_MS)))
    eq(e.policy_version, 2, "policy version after SetPolicy")
    for key, role, label in ((kiosk_key, cb.epb.ROLE_KIOSK, "front door"),
                             (auditor_key, cb.epb.ROLE_AUDITOR, "committee")):
        rc, e = book.write(coord, C + "EnrolKey", pb.EnrolKeyRequest(
            public_key=key.pub, role=role, label=label))
        eq([(k.key_id, k.public_key, k.role) for k in e.keys],
           [(key.id, key.pub, role)], "the entry declares the key")
        eq(rc.result.id, key.hex, "EnrolKey result id")
    kiosk = s.client(kiosk_key, coord.channel)
    auditor = s.client(auditor_key, coord.channel)

    fam, adult, child = {}, {}, {}
    for n in "ABC":
        rc, e = book.write(coord, C + "EnrolFamily", pb.EnrolFamilyRequest())
        fam[n] = rc.result.id
        eq(fam[n], "f%d" % rc.index, "family id")
    for n in "ABC":
        rc, e = book.write(coord, C + "AddAdult", pb.AddAdultRequest(
            family=fam[n], guardian=True))
        adult[n] = rc.result.id
        rc, e = book.write(coord, C + "AddChild", pb.AddChildRequest(
            family=fam[n]))
        child[n] = rc.result.id
        book.write(coord, C + "SetPickup", pb.SetPickupRequest(
            child=child[n], authorised=[adult[n]]))
    rc, e = book.write(coord, C + "AddRoom", pb.AddRoomRequest(
        label="Sunflower room"))
    room = rc.result.id
    rc, e = book.write(coord, C + "ScheduleShift", pb.ScheduleShiftRequest(
        room=room, start_ms=at(D1, 8), end_ms=at(D1, 11), adult=adult["A"]))
    s1 = rc.result.id
    rc, e = book.write(coord, C + "ScheduleShift", pb.ScheduleShiftRequest(
        room=room, start_ms=at(D2, 9), end_ms=at(D2, 12), adult=adult["A"]))
    s2 = rc.result.id

    # A cannot come on Wednesday: the shift is offered to B as a cover.
    rc, e = book.write(kiosk, K + "OfferSwap", pb.OfferSwapRequest(
        shift=s2, kind=pb.SWAP_KIND_COVER, to_adult=adult["B"]))
    swap = rc.result.id
    book.refused(kiosk, K + "AnswerSwap", pb.AnswerSwapRequest(
        swap=swap, adult=adult["C"], accept=True), SC.FAILED_PRECONDITION,
        "REFUSAL_SHIFT_NOT_ASSIGNED")
    book.write(kiosk, K + "AnswerSwap", pb.AnswerSwapRequest(
        swap=swap, adult=adult["B"], accept=True))
    # Until the coordinator approves, the shift is still A's.
    book.refused(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift=s2, adult=adult["B"], event_time_ms=at(D2, 9),
        presence=pb.PRESENCE_PIN), SC.FAILED_PRECONDITION,
        "REFUSAL_SHIFT_NOT_ASSIGNED")
    book.refused(kiosk, C + "ApproveSwap", pb.ApproveSwapRequest(
        swap=swap, approve=True), SC.PERMISSION_DENIED, words="role")
    book.write(coord, C + "ApproveSwap", pb.ApproveSwapRequest(
        swap=swap, approve=True))
    book.refused(coord, C + "ApproveSwap", pb.ApproveSwapRequest(
        swap=swap, approve=True), SC.FAILED_PRECONDITION,
        "REFUSAL_SWAP_STATE")

    def door(method, msg, when):
        msg.event_time_ms = when
        msg.presence = pb.PRESENCE_PIN
        rc, e = book.write(kiosk, method, msg)
        eq((e.event_time_ms, e.late, rc.result.late), (when, True, True),
           "an event placed in the past is marked late")
        eq(e.review, False, "no review flag")
        return rc, e

    def after(rc, f, minutes, owed):
        eq((rc.result.family, rc.result.minutes, rc.result.owed_fen),
           (fam[f], minutes, owed), "family %s after entry %d" %
           (f, rc.index))
        eq((book.minutes(fam[f]), book.owed(fam[f])), (minutes, owed),
           "family %s's books after entry %d" % (f, rc.index))

    # Tuesday: A volunteers 08:00-11:00; B's and C's children stay two
    # hours, paid with minutes down to the floor.
    door(K + "StartShift", pb.VolunteerCheckInRequest(
        shift=s1, adult=adult["A"]), at(D1, 8))
    for n in "BC":
        door(K + "CheckInChild", pb.ChildCheckInRequest(
            child=child[n], room=room, adult=adult[n]), at(D1, 8, 30))
    for n in "BC":
        rc, e = door(K + "CheckOutChild", pb.ChildCheckOutRequest(
            child=child[n], adult=adult[n]), at(D1, 10, 30))
        eq((rc.result.care_minutes, rc.result.covered, rc.result.charge_fen),
           (120, 120, 0), "two hours down to the floor")
        after(rc, n, -120, 0)
    book.refused(kiosk, K + "CheckOutChild", pb.ChildCheckOutRequest(
        child=child["B"], adult=adult["B"], event_time_ms=at(D1, 10, 40)),
        SC.FAILED_PRECONDITION, "REFUSAL_CHILD_NOT_IN")
    rc, e = door(K + "EndShift", pb.VolunteerCheckOutRequest(
        shift=s1, adult=adult["A"]), at(D1, 11))
    eq(rc.result.credit, 180, "three hours volunteered")
    after(rc, "A", 180, 0)

    # Wednesday: the swapped shift is B's now, never C's. (A's start,
    # dated before the swap was approved, would still be taken: the
    # start of a kiosk that was offline then. Rules 5, docs/rules.md.)
    book.refused(kiosk, K + "StartShift", pb.VolunteerCheckInRequest(
        shift=s2, adult=adult["C"], event_time_ms=at(D2, 9)),
        SC.FAILED_PRECONDITION, "REFUSAL_SHIFT_NOT_ASSIGNED")
    door(K + "StartShift", pb.VolunteerCheckInRequest(
        shift=s2, adult=adult["B"]), at(D2, 9))
    door(K + "CheckInChild", pb.ChildCheckInRequest(
        child=child["C"], room=room, adult=adult["C"]), at(D2, 9))
    door(K + "CheckInChild", pb.ChildCheckInRequest(
        child=child["A"], room=room, adult=adult["A"]), at(D2, 9, 15))
    # The wrong child is scanned out at 09:45, and the check-out reversed.
    rc, e = door(K + "CheckOutChild", pb.ChildCheckOutRequest(
        child=child["A"], adult=adult["A"]), at(D2, 9, 45))
    eq((rc.result.care_minutes, rc.result.covered), (30, 30), "mistake")
    after(rc, "A", 150, 0)
    mistake = rc.index
    book.refused(kiosk, C + "Reverse", pb.ReverseRequest(
        entry=mistake, reason="wrong child"), SC.PERMISSION_DENIED)
    book.refused(coord, C + "Reverse", pb.ReverseRequest(entry=mistake),
                 SC.INVALID_ARGUMENT, "REFUSAL_MISSING_FIELD")
    rc, e = book.write(coord, C + "Reverse", pb.ReverseRequest(
        entry=mistake, reason="wrong child scanned at the door"))
    after(rc, "A", 180, 0)
    eq(sorted((p.account, p.amount) for p in e.postings),
       [("centre/time", -30), ("family/%s/minutes" % fam["A"], 30)],
       "the reversal's postings undo the check-out's")
    book.refused(coord, C + "Reverse", pb.ReverseRequest(
        entry=mistake, reason="again"), SC.FAILED_PRECONDITION,
        "REFUSAL_ALREADY_REVERSED")
    # The session goes on: the child really leaves at 10:22.
    rc, e = door(K + "CheckOutChild", pb.ChildCheckOutRequest(
        child=child["A"], adult=adult["A"]), at(D2, 10, 22))
    eq((rc.result.care_minutes, rc.result.covered), (67, 67),
       "the reopened session runs from its check-in")
    after(rc, "A", 113, 0)
    # C's child stays three hours with C at the floor: 6000 fen in cash.
    rc, e = door(K + "CheckOutChild", pb.ChildCheckOutRequest(
        child=child["C"], adult=adult["C"]), at(D2, 12))
    eq((rc.result.care_minutes, rc.result.covered, rc.result.charge_fen),
       (180, 0, 6000), "three hours in cash")
    after(rc, "C", -120, 6000)
    rc, e = door(K + "EndShift", pb.VolunteerCheckOutRequest(
        shift=s2, adult=adult["B"]), at(D2, 12))
    eq(rc.result.credit, 180, "the replacement gets the minutes")
    after(rc, "B", 60, 0)
    eq(book.minutes(fam["A"]), 113, "the original adult gets nothing")

    # Money: C pays; the fund buys supplies, never more than it holds.
    book.refused(coord, C + "BuySupplies", pb.BuySuppliesRequest(
        amount_fen=1500, memo="paints and clay", receipt="S-0001"),
        SC.FAILED_PRECONDITION, "REFUSAL_FUND_TOO_SMALL")
    rc, e = book.write(coord, C + "RecordCash", pb.RecordCashRequest(
        family=fam["C"], amount_fen=6000, receipt="R-0001"))
    after(rc, "C", -120, 0)
    eq(rc.result.fund_fen, 6000, "fund after cash")
    rc, e = book.write(coord, C + "BuySupplies", pb.BuySuppliesRequest(
        amount_fen=1500, memo="paints and clay", receipt="S-0001"))
    eq(rc.result.fund_fen, 4500, "fund after supplies")
    eq(book.account("centre/supplies"), 1500, "supplies account")

    # The week is settled: A (113 minutes) and B (60) share 4500 fen.
    book.refused(coord, C + "Settle", pb.SettleRequest(
        period_start_ms=W + 7 * cb.DAY_MS), SC.FAILED_PRECONDITION,
        "REFUSAL_PERIOD_NOT_OVER")
    book.refused(coord, C + "Settle", pb.SettleRequest(
        period_start_ms=W + 3600000), SC.INVALID_ARGUMENT,
        "REFUSAL_CONFLICT")
    r = coord.call(C + "PreviewSettlement", pb.SettleRequest(
        period_start_ms=W))
    if reads_ready(r, "Coordinator.PreviewSettlement"):
        pv = cb.spb.SettlementPreview.FromString(r.raw)
        eq((pv.pool_fen, pv.paid_fen), (4500, 4500), "preview")
        eq({x.family: x.share_fen for x in pv.shares},
           {fam["A"]: 2939, fam["B"]: 1561}, "preview shares")
    want = {fam["A"]: 2939, fam["B"]: 1561}
    eq(settle_model({fam["A"]: 113, fam["B"]: 60}, 4500, 2000), want,
       "the model's shares")
    rc, e = book.write(coord, C + "Settle", pb.SettleRequest(
        period_start_ms=W))
    eq(rc.result.fund_fen, 0, "the whole pool is paid")
    paid, got = {}, {}
    for p in e.postings:
        # Each share names the family it pays (rules 3).
        check(p.account != "centre/subsidies", "a share paid to no family")
        if p.account.endswith("/subsidies"):
            paid[p.account.split("/")[1]] = p.amount
        if p.account.endswith("/minutes"):
            got[p.account.split("/")[1]] = p.amount
    eq(paid, want, "subsidies paid")
    eq(got, {fam["A"]: -89, fam["B"]: -47}, "minutes bought back")
    book.refused(coord, C + "Settle", pb.SettleRequest(period_start_ms=W),
                 SC.FAILED_PRECONDITION, "REFUSAL_PERIOD_SETTLED")

    # The books at the end of the day.
    eq({n: (book.minutes(fam[n]), book.owed(fam[n])) for n in "ABC"},
       {"A": (24, 0), "B": (13, 0), "C": (-120, 0)}, "family balances")
    eq(book.account("centre/time"), 83, "minutes issued")
    eq(book.account("centre/fund"), 0, "fund")
    eq(book.account("centre/subsidies"), 0, "subsidies paid to no family")
    eq({n: book.account("family/%s/subsidies" % fam[n]) for n in "ABC"},
       {"A": 2939, "B": 1561, "C": 0}, "subsidies paid to each family")
    eq(book.account("centre/income"), -6000, "care charged")
    eq(set(book.sums().values()), {0}, "the books balance per unit")
    check_reports(s, coord, kiosk, auditor, book, dict(
        fam=fam, adult=adult, child=child, s1=s1, s2=s2, swap=swap), v)

    # Offline: the stored log is every receipt's leaf, signed throughout.
    size = book.next
    leaves = s.export()
    eq(len(leaves), size, "exported log size")
    v.consistent(leaves)
    cb.verify_log(leaves, s.centre)
    eq(s.replay(), size, "replay --verify, serving")
    if then is not None:
        # It returns how many entries it added to the day's log.
        size += then(s, dict(fam=fam, adult=adult, child=child, room=room),
                     dict(kiosk=kiosk_key, auditor=auditor_key))
    s.stop()
    eq(s.replay(), size, "replay --verify, stopped")
    s.cleanup()


if __name__ == "__main__":
    cb.main({"scenario_day": scenario_day}, __doc__)
