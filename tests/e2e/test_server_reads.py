#!/usr/bin/python3
"""carebankd's reads against a real server: Kiosk.Identify with its PIN
lockout, Coordinator.SetDirectory and PreviewSettlement, the coordinator's
reports, and the Audit service (checkpoints, entries streamed to a slow
reader, inclusion and consistency proofs checked here, checkpoint watches;
both streams end once the caller's key is revoked).

  test_server_reads.py --carebankd BIN --gen-dir DIR --test NAME

Every expected value is computed here from what the test did, never read
back from the server first.
"""
import base64
import concurrent.futures
import datetime
import hashlib
import random
import re
import statistics
import subprocess
import sys
import threading
import time

import grpc

import readharness as h
from readharness import A, C, K, Failure, check, eq

HOUR = 3600 * 1000
MINUTE = 60 * 1000
OFFSET = 480 * MINUTE  # the default policy's utc_offset_minutes
LOCKOUT = 3000         # pin_lockout_ms for the tests
PINS = {"a1": "739164", "a2": "482915", "b1": "605318"}
UNAUTH, EXHAUSTED = (grpc.StatusCode.UNAUTHENTICATED,
                     grpc.StatusCode.RESOURCE_EXHAUSTED)
MISMATCH = "the card or member code and the PIN do not match"


def policy(**over):
    """The default policy with the tests' lockout, and any changes."""
    p = h.pb.Policy(
        rate_fen_per_hour=2000, floor_minutes=-120,
        rounding=h.pb.Rounding(care_minutes=1, volunteer_minutes=1),
        billing_period=h.pb.BILLING_PERIOD_MONTH, utc_offset_minutes=480,
        swaps_need_approval=True, late_limit_ms=72 * HOUR,
        clock_skew_ms=2 * MINUTE, reserve_fen=0, surplus_threshold_minutes=0,
        buy_back=True, donation_cap_minutes=600, ratio_soft=4, ratio_hard=6,
        pin_max_failures=5, pin_lockout_ms=LOCKOUT,
        leave_positive=h.pb.LEAVE_POSITIVE_BUY_BACK)
    for k, v in over.items():
        setattr(p, k, v)
    return p


def local_day_start(t):
    return (t + OFFSET) // (24 * HOUR) * (24 * HOUR) - OFFSET


def month_start(t, months_back=0):
    d = datetime.datetime.fromtimestamp((t + OFFSET) / 1000,
                                        datetime.timezone.utc)
    y, m = d.year, d.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    start = datetime.datetime(y, m, 1, tzinfo=datetime.timezone.utc)
    return int(start.timestamp()) * 1000 - OFFSET


class Centre:
    """A small centre made through the API: two rooms, two families (and a
    third with no adults), shifts, a swap offer, care and cash."""

    def __init__(self, srv):
        self.srv = srv
        co = self.co = srv.client()
        co.call(C + "SetPolicy", h.pb.SetPolicyRequest(policy=policy()))
        self.kiosk = srv.client(h.enrol(co, h.epb.ROLE_KIOSK, "door"))
        self.auditor = srv.client(h.enrol(co, h.epb.ROLE_AUDITOR, "audit"))
        w = co.call
        ids = self.ids = {}
        ids["r1"] = w(C + "AddRoom", h.pb.AddRoomRequest(
            label="Sunflower room")).result.id
        ids["r2"] = w(C + "AddRoom", h.pb.AddRoomRequest(
            label="Moon room", ratio_soft=3, ratio_hard=5)).result.id
        for fam, adults, kids in (("fa", ["a1", "a2"], ["c1", "c2"]),
                                  ("fb", ["b1"], ["d1"]), ("fc", [], [])):
            ids[fam] = w(C + "EnrolFamily",
                         h.pb.EnrolFamilyRequest()).result.id
            for a in adults:
                ids[a] = w(C + "AddAdult", h.pb.AddAdultRequest(
                    family=ids[fam], guardian=a != "a2")).result.id
            for c in kids:
                ids[c] = w(C + "AddChild", h.pb.AddChildRequest(
                    family=ids[fam])).result.id
        i = ids
        w(C + "SetPickup", h.pb.SetPickupRequest(
            child=i["c1"], authorised=[i["a1"], i["a2"]]))
        w(C + "SetPickup", h.pb.SetPickupRequest(
            child=i["c2"], authorised=[i["a1"]], refused=[i["a2"]]))
        w(C + "SetPickup", h.pb.SetPickupRequest(
            child=i["d1"], authorised=[i["b1"]]))
        self.directory()
        self.roster()
        self.care()

    def directory(self):
        i, d = self.ids, self.co.call
        names = {"fa": "Wang family", "fb": "Li family", "a1": "Wang Fang",
                 "a2": "Zhang Wei", "b1": "Li Na", "c1": "Wang Xiaoming",
                 "c2": "Wang Xiaohong", "d1": "Li Lei"}
        self.names = {i[k]: v for k, v in names.items()}
        for k, v in names.items():
            d(C + "SetDirectory", h.spb.DirectoryRequest(id=i[k], name=v),
              h.spb.DirectoryReply)
        self.cards = {"a1": "CARD-0001-A1", "b1": "CARD-0002-B1"}
        self.codes = {"a1": "WANG1", "a2": "ZHANG2", "b1": "LI3"}
        for a in ("a1", "a2", "b1"):
            req = h.spb.DirectoryRequest(
                id=i[a], phone="+86 138 0000 000%d" % len(a),
                member_code=self.codes[a], pin=PINS[a])
            if a in self.cards:
                req.card = self.cards[a]
            eq(d(C + "SetDirectory", req, h.spb.DirectoryReply).id, i[a],
               "SetDirectory's reply")

    def roster(self):
        i, w, now = self.ids, self.co.call, h.now_ms()
        self.t0 = now

        def shift(name, adult, start, end, room="r1"):
            i[name] = w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
                room=i[room], start_ms=start, end_ms=end,
                adult=i[adult])).result.id
            self.shifts[name] = (start, end)

        self.shifts = {}
        shift("s_past", "b1", now - 5 * HOUR, now - HOUR)
        shift("s_now", "b1", now - 10 * MINUTE, now + 2 * HOUR)
        shift("s1", "a1", now + 24 * HOUR, now + 27 * HOUR)
        shift("s2", "a2", now + 48 * HOUR, now + 50 * HOUR, "r2")
        shift("s_b", "b1", now + 30 * HOUR, now + 32 * HOUR, "r2")
        kw = self.kiosk.call
        kw(K + "StartShift", h.pb.VolunteerCheckInRequest(
            shift=i["s_past"], adult=i["b1"], event_time_ms=now - 5 * HOUR,
            presence=h.pb.PRESENCE_PIN))
        kw(K + "EndShift", h.pb.VolunteerCheckOutRequest(
            shift=i["s_past"], adult=i["b1"], event_time_ms=now - HOUR,
            presence=h.pb.PRESENCE_PIN))
        kw(K + "StartShift", h.pb.VolunteerCheckInRequest(
            shift=i["s_now"], adult=i["b1"], presence=h.pb.PRESENCE_PIN))
        i["w1"] = kw(K + "OfferSwap", h.pb.OfferSwapRequest(
            shift=i["s_b"], kind=h.pb.SWAP_KIND_COVER,
            to_adult=i["a1"])).result.id

    def care(self):
        i, kw = self.ids, self.kiosk.call
        self.t_out = t = h.now_ms() - MINUTE
        kw(K + "CheckInChild", h.pb.ChildCheckInRequest(
            child=i["c2"], room=i["r1"], adult=i["a1"],
            event_time_ms=t - 180 * MINUTE, presence=h.pb.PRESENCE_PIN))
        r = kw(K + "CheckOutChild", h.pb.ChildCheckOutRequest(
            child=i["c2"], adult=i["a1"], event_time_ms=t,
            presence=h.pb.PRESENCE_PIN))
        self.out_entry = r.index
        # 180 minutes: 120 down to the floor, 60 in cash at 2000 fen/h.
        eq((r.result.covered, r.result.charge_fen), (120, 2000), "care")
        r = kw(K + "CheckInChild", h.pb.ChildCheckInRequest(
            child=i["c1"], room=i["r1"], adult=i["a1"],
            presence=h.pb.PRESENCE_PIN))
        self.c1_in = h.epb.Entry.FromString(r.entry).server_time_ms
        r = kw(K + "CheckInChild", h.pb.ChildCheckInRequest(
            child=i["d1"], room=i["r1"], adult=i["b1"],
            presence=h.pb.PRESENCE_OFFLINE))
        self.flag_entry = r.index
        self.cash_entry = self.co.call(C + "RecordCash", h.pb.RecordCashRequest(
            family=i["fa"], amount_fen=1000, receipt="R-1")).index
        self.co.call(C + "BuySupplies", h.pb.BuySuppliesRequest(
            amount_fen=300, memo="paints and clay", receipt="S-1"))

    def identify(self, card=None, code=None, pin="0000"):
        return self.kiosk.call(K + "Identify", h.spb.IdentifyRequest(
            card=card or "", member_code=code or "", pin=pin),
            h.spb.FamilyView)

    def identify_status(self, card=None, code=None, pin="0000"):
        try:
            self.identify(card, code, pin)
        except h.Error as e:
            return e.code, e.details
        return grpc.StatusCode.OK, ""

    def log_size(self):
        return self.auditor.call(A + "GetCheckpoint", h.spb.CentreRequest(),
                                 h.spb.CheckpointReply).size


def shift_view(c, name, status, swap=""):
    start, end = c.shifts[name]
    room = "r2" if name in ("s2", "s_b") else "r1"
    adult = {"s_past": "b1", "s_now": "b1", "s1": "a1", "s2": "a2",
             "s_b": "b1"}[name]
    return (c.ids[name], c.ids[room], start, end, c.ids[adult], status, swap)


def shift_tuples(views):
    return [(v.id, v.room, v.start_ms, v.end_ms, v.adult, v.status, v.swap)
            for v in views]


def test_identify(srv):
    """Identify shows the family; a wrong PIN and an unknown card get the
    same answer after the same work; five failures lock, for unknown cards
    too; the lock ends; a match clears the count; concurrent guesses are
    counted one by one; no PIN reaches the log or the server's output."""
    c = Centre(srv)
    i = c.ids
    size = c.log_size()
    v = c.identify(card=c.cards["a1"], pin=PINS["a1"])
    eq((v.family, v.family_name, v.adult, v.adult_name),
       (i["fa"], "Wang family", i["a1"], "Wang Fang"), "who")
    eq([(x.id, x.name, x.checked_in, x.room, x.since_ms, x.may_collect)
        for x in v.children],
       [(i["c1"], "Wang Xiaoming", True, i["r1"], c.c1_in, True),
        (i["c2"], "Wang Xiaohong", False, "", c.t_out, True)], "children")
    eq((v.minutes, v.owed_fen), (-120, 1000), "balances")
    today = 2000 if c.t_out >= local_day_start(h.now_ms()) else 0
    eq(v.today_charge_fen, today, "today's charge")
    eq(shift_tuples(v.shifts), [shift_view(c, "s1", "scheduled")], "shifts")
    eq([(w.id, w.kind, w.shift, w.from_adult, w.to_adult, w.status)
        for w in v.offers],
       [(i["w1"], h.pb.SWAP_KIND_COVER, i["s_b"], i["b1"], i["a1"],
         "offered")], "offers")
    v = c.identify(code=c.codes["a2"], pin=PINS["a2"])
    eq((v.adult, v.adult_name), (i["a2"], "Zhang Wei"), "by member code")
    eq([x.may_collect for x in v.children], [True, False],
       "a refused adult may not collect")
    eq(shift_tuples(v.shifts), [shift_view(c, "s2", "scheduled")],
       "a2's shifts")
    eq(len(v.offers), 0, "a2's offers")
    v = c.identify(code=c.codes["b1"], pin=PINS["b1"])
    eq(shift_tuples(v.shifts), [shift_view(c, "s_now", "working"),
                                shift_view(c, "s_b", "scheduled", i["w1"])],
       "b1's shifts, the working one first")

    # Bad input, whatever the card.
    for card, code, pin in (("", "", "1"), ("X", "Y", "1"),
                            (c.cards["a1"], "", ""), ("C" * 65, "", "1")):
        eq(c.identify_status(card, code, pin)[0],
           grpc.StatusCode.INVALID_ARGUMENT, "bad input %r" % card)

    # A wrong PIN and an unknown card: the same answer, the same work.
    times = {"wrong": [], "unknown": []}
    answers = set()
    for n in range(3):
        for what, card in (("wrong", c.cards["a1"]),
                           ("unknown", "CARD-9999-%d" % n)):
            t = time.monotonic()
            answers.add(c.identify_status(card=card, pin="111111"))
            times[what].append(time.monotonic() - t)
        c.identify(card=c.cards["a1"], pin=PINS["a1"])  # clears a1's count
    eq(answers, {(UNAUTH, MISMATCH)}, "wrong PIN and unknown card")
    wrong, unknown = (statistics.median(times["wrong"]),
                      statistics.median(times["unknown"]))
    check(0.4 < wrong / unknown < 2.5,
          "wrong PIN %.3fs vs unknown card %.3fs" % (wrong, unknown))

    # Five failures lock, a known adult and an unknown card alike.
    for who in ({"code": c.codes["a2"]}, {"card": "CARD-UNKNOWN-77"}):
        for n in range(5):
            eq(c.identify_status(pin="000000", **who), (UNAUTH, MISMATCH),
               "failure %d of %r" % (n + 1, who))
        code, msg = c.identify_status(pin=PINS["a2"], **who)
        eq((code, msg), (EXHAUSTED, "too many wrong PINs: try again in 1 min"),
           "locked %r" % who)
    time.sleep(LOCKOUT / 1000 + 0.5)
    eq(c.identify(code=c.codes["a2"], pin=PINS["a2"]).adult, i["a2"],
       "the lock ends")

    # Codes nobody holds are counted in memory, not in the store: made-up
    # codes leave no record behind (each would otherwise stay for good).
    def directory_records():
        out = subprocess.run(["mdb_stat", "-s", "directory", srv.data],
                             capture_output=True, text=True, check=True)
        return int(re.search(r"Entries: (\d+)", out.stdout).group(1))

    before = directory_records()
    for n in range(20):
        eq(c.identify_status(code="99%06d" % n, pin="1234"),
           (UNAUTH, MISMATCH), "a made-up code")
    eq(directory_records(), before, "directory records after 20 made-up "
       "codes")

    # A match clears the count: four, a match, four more do not lock.
    for n in range(4):
        eq(c.identify_status(code=c.codes["b1"], pin="1")[0], UNAUTH, "b1")
    c.identify(code=c.codes["b1"], pin=PINS["b1"])
    for n in range(4):
        eq(c.identify_status(code=c.codes["b1"], pin="1")[0], UNAUTH, "b1")
    c.identify(code=c.codes["b1"], pin=PINS["b1"])

    # Guesses sent at once are counted one after another: exactly five are
    # answered, the rest are refused as locked. A long lockout for this.
    c.co.call(C + "SetPolicy", h.pb.SetPolicyRequest(
        policy=policy(pin_lockout_ms=10 * MINUTE)))
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        got = list(ex.map(lambda n: c.identify_status(
            card=c.cards["a1"], pin="%06d" % n), range(16)))
    eq(sorted(x[0].name for x in got),
       ["RESOURCE_EXHAUSTED"] * 11 + ["UNAUTHENTICATED"] * 5,
       "concurrent guesses")
    eq(c.identify_status(card=c.cards["a1"], pin=PINS["a1"])[0], EXHAUSTED,
       "locked against the right PIN too")

    # Nothing of this is in the log, and no PIN is in the server's output.
    eq(c.log_size(), size + 1, "only the policy change was logged")
    leaves = [m for m in c.auditor.stream(A + "Entries",
                                          h.spb.EntriesRequest())]
    out = srv.stderr()
    for p in PINS.values():
        check(p not in out, "a PIN is in the server's output")
        check(all(p.encode() not in x for x in leaves), "a PIN is in the log")
    for name in c.names.values():
        check(all(name.encode() not in x for x in leaves),
              "a name is in the log")


def test_directory(srv):
    """SetDirectory: bad input, unknown ids, unique cards and codes, card
    changes, and clear erasing every record of an id."""
    c = Centre(srv)
    i, co = c.ids, c.co
    size = c.log_size()

    def status(**kw):
        return co.status(C + "SetDirectory", h.spb.DirectoryRequest(**kw),
                         h.spb.DirectoryReply)[0]

    IA, NF, AE = (grpc.StatusCode.INVALID_ARGUMENT,
                  grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS)
    for kw, want in (({"id": "a999", "name": "x"}, NF),
                     ({"id": "f77", "name": "x"}, NF),
                     ({"id": "a1x", "name": "x"}, NF),
                     ({"id": "", "name": "x"}, IA),
                     ({"id": "x1", "name": "x"}, IA),
                     ({"id": i["c1"], "card": "C-1"}, IA),
                     ({"id": i["fa"], "phone": "123"}, IA),
                     ({"id": i["a1"], "pin": "12ab"}, IA),
                     ({"id": i["a1"], "pin": "123"}, IA),
                     ({"id": i["a1"], "name": "x", "clear": True}, IA),
                     ({"id": i["a1"]}, IA),
                     ({"id": i["a1"], "name": "bad\x01name"}, IA),
                     ({"id": i["a1"], "card": "has space"}, IA),
                     # One key at the kiosk's menus is a choice.
                     ({"id": i["a1"], "card": "7"}, IA),
                     ({"id": i["a1"], "member_code": "7"}, IA),
                     ({"id": i["a1"], "member_code": "\u00e9\u00e9"}, IA),
                     ({"id": i["a2"], "card": c.cards["a1"]}, AE),
                     ({"id": i["a2"], "member_code": c.codes["b1"]}, AE)):
        eq(status(**kw), want, "SetDirectory %r" % kw)
    # The same card again on its holder is fine.
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["a1"], card=c.cards["a1"]), h.spb.DirectoryReply)
    # A new card: the old one no longer identifies anybody.
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["a1"], card="CARD-NEW-A1"), h.spb.DirectoryReply)
    eq(c.identify_status(card=c.cards["a1"], pin=PINS["a1"]),
       (UNAUTH, MISMATCH), "the old card")
    eq(c.identify(card="CARD-NEW-A1", pin=PINS["a1"]).adult, i["a1"],
       "the new card")
    # The name changes; the PIN is kept.
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["a1"], name="Wang Fang (Mum)"), h.spb.DirectoryReply)
    eq(c.identify(code=c.codes["a1"], pin=PINS["a1"]).adult_name,
       "Wang Fang (Mum)", "the new name")
    # A new PIN replaces the old one.
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["a2"], pin="24681357"), h.spb.DirectoryReply)
    eq(c.identify_status(code=c.codes["a2"], pin=PINS["a2"]),
       (UNAUTH, MISMATCH), "the old PIN")
    c.identify(code=c.codes["a2"], pin="24681357")
    # Clear erases b1's name, card, code and PIN, and the count of wrong
    # PINs that locked them (from the desk: its own budget of wrong PINs);
    # another may take them.
    for n in range(5):
        eq(co.status(K + "Identify", h.spb.IdentifyRequest(
            member_code=c.codes["b1"], pin="1"), h.spb.FamilyView),
           (UNAUTH, MISMATCH), "b1, wrong PIN %d" % n)
    eq(co.status(K + "Identify", h.spb.IdentifyRequest(
        member_code=c.codes["b1"], pin=PINS["b1"]), h.spb.FamilyView)[0],
       EXHAUSTED, "b1 locked")
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["b1"], clear=True), h.spb.DirectoryReply)
    for who in ({"card": c.cards["b1"]}, {"code": c.codes["b1"]}):
        eq(c.identify_status(pin=PINS["b1"], **who), (UNAUTH, MISMATCH),
           "cleared %r" % who)
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["a2"], card=c.cards["b1"], member_code=c.codes["b1"]),
        h.spb.DirectoryReply)
    eq(c.identify(card=c.cards["b1"], pin="24681357").adult, i["a2"],
       "b1's old card, now a2's")
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["b1"], card="CARD-B1-NEW", pin="97531864"), h.spb.DirectoryReply)
    eq(c.identify(card="CARD-B1-NEW", pin="97531864").adult, i["b1"],
       "b1 with a new card: the lock went with the old directory")
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["fb"], clear=True), h.spb.DirectoryReply)
    fams = {f.family: f.name for f in co.call(
        C + "Balances", h.spb.CentreRequest(), h.spb.BalancesReport).families}
    eq((fams[i["fa"]], fams[i["fb"]]), ("Wang family", ""), "cleared name")
    # Clearing what has no record is not an error.
    co.call(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["fc"], clear=True), h.spb.DirectoryReply)
    eq(c.log_size(), size, "the directory never enters the log")
    # The kiosk may not write the directory.
    eq(c.kiosk.status(C + "SetDirectory", h.spb.DirectoryRequest(
        id=i["a1"], name="x"))[0], grpc.StatusCode.PERMISSION_DENIED,
       "a kiosk setting the directory")


def test_reports(srv):
    """Balances, statements, the fund, flags, presence and the roster, with
    every value computed from what was done."""
    c = Centre(srv)
    i, co = c.ids, c.co
    rep = co.call(C + "Balances", h.spb.CentreRequest(), h.spb.BalancesReport)
    eq([(f.family, f.name, f.minutes, f.owed_fen, f.left, f.at_floor)
        for f in rep.families],
       [(i["fa"], "Wang family", -120, 1000, False, True),
        (i["fb"], "Li family", 240, 0, False, False),
        (i["fc"], "", 0, 0, False, False)], "balances")
    eq((rep.fund_fen, rep.time_issued), (700, 120), "fund and time")

    st = co.call(C + "GetStatement", h.spb.StatementRequest(family=i["fa"]),
                 h.spb.Statement)
    lines = [(i["fa"], c.out_entry, c.t_out, -120, 2000, -120, 2000),
             (i["fa"], c.cash_entry, None, 0, -1000, -120, 1000)]
    start = month_start(h.now_ms())
    want = [x[1:] for x in lines if x[2] is None or x[2] >= start]
    got = [(x.entry, x.time_ms if x.entry == c.out_entry else None,
            x.minutes, x.fen, x.minutes_balance, x.owed_balance)
           for x in st.lines]
    eq(got, want, "statement lines this period")
    eq((st.family, st.name, st.minutes, st.owed_fen),
       (i["fa"], "Wang family", -120, 1000), "statement")
    check(st.lines[-1].what.startswith("cash received"), "what: %r" %
          st.lines[-1].what)
    st = co.call(C + "GetStatement", h.spb.StatementRequest(
        family=i["fa"], from_ms=c.t_out, to_ms=c.t_out), h.spb.Statement)
    eq([x.entry for x in st.lines], [c.out_entry], "a window of one line")
    st = co.call(C + "GetStatement", h.spb.StatementRequest(
        family=i["fb"], from_ms=1, to_ms=h.now_ms()), h.spb.Statement)
    eq([(x.minutes, x.minutes_balance) for x in st.lines], [(240, 240)],
       "b's volunteering")
    for req, want in (
            (h.spb.StatementRequest(family="f999"),
             grpc.StatusCode.NOT_FOUND),
            (h.spb.StatementRequest(family=i["a1"]),
             grpc.StatusCode.NOT_FOUND),
            (h.spb.StatementRequest(), grpc.StatusCode.INVALID_ARGUMENT),
            (h.spb.StatementRequest(family=i["fa"], from_ms=5, to_ms=4),
             grpc.StatusCode.INVALID_ARGUMENT),
            (h.spb.StatementRequest(family=i["fa"], from_ms=-1),
             grpc.StatusCode.INVALID_ARGUMENT)):
        eq(co.status(C + "GetStatement", req, h.spb.Statement)[0], want,
           "GetStatement %r" % req)

    f = co.call(C + "Fund", h.spb.CentreRequest(), h.spb.FundReport)
    eq((f.fund_fen, f.income_fen, f.received_fen, f.supplies_fen,
        f.subsidies_fen, f.owed_fen), (700, 2000, 1000, 300, 0, 1000),
       "fund")

    fl = co.call(C + "Flagged", h.spb.CentreRequest(), h.spb.FlaggedReport)
    eq([(x.entry, x.what) for x in fl.flags],
       [(c.flag_entry, "checked in while the kiosk was offline")], "flags")

    p = co.call(C + "Present", h.spb.CentreRequest(), h.spb.PresentReport)
    eq([(r.room, r.label, list(r.children), list(r.adults), r.ratio_soft,
         r.ratio_hard) for r in p.rooms],
       [(i["r1"], "Sunflower room", [i["c1"], i["d1"]], [i["b1"]], 4, 6),
        (i["r2"], "Moon room", [], [], 3, 5)], "present")

    ro = co.call(C + "Roster", h.spb.RosterRequest(from_ms=1),
                 h.spb.RosterReport)
    eq(shift_tuples(ro.shifts),
       [shift_view(c, "s_past", "done"), shift_view(c, "s_now", "working"),
        shift_view(c, "s1", "scheduled"),
        shift_view(c, "s_b", "scheduled", i["w1"]),
        shift_view(c, "s2", "scheduled")], "roster shifts")
    eq([(w.id, w.status, w.shift, w.to_adult) for w in ro.swaps],
       [(i["w1"], "offered", i["s_b"], i["a1"])], "roster swaps")
    roster_windows(c)
    # Reports are the coordinator's.
    eq(c.kiosk.status(C + "Balances", h.spb.CentreRequest())[0],
       grpc.StatusCode.PERMISSION_DENIED, "a kiosk asking for balances")


def refused_windows(co, method, cases):
    """method's windows (request fields, the refusal's message) that must
    be refused with INVALID_ARGUMENT."""
    req = getattr(h.spb, method + "Request")
    reply = getattr(h.spb, method + "Report")
    for kw, why in cases:
        eq(co.status(C + method, req(**kw), reply),
           (grpc.StatusCode.INVALID_ARGUMENT, why), "%s %r" % (method, kw))


def roster_windows(c):
    """The roster in windows of time: the shifts that overlap each, the
    swaps of those shifts, the start of today by default; then a swap
    done, after which its shift is listed once, under its new adult."""
    i, co, t0 = c.ids, c.co, c.t0

    def roster(**kw):
        ro = co.call(C + "Roster", h.spb.RosterRequest(**kw),
                     h.spb.RosterReport)
        return [x.id for x in ro.shifts], [x.id for x in ro.swaps]

    def ids(*names):
        return [i[n] for n in names]

    eq(roster(from_ms=t0 - 30 * MINUTE, to_ms=t0 + 28 * HOUR),
       (ids("s_now", "s1"), []), "the next 28 hours")
    eq(roster(from_ms=t0 + 25 * HOUR, to_ms=t0 + 31 * HOUR),
       (ids("s1", "s_b"), ids("w1")), "a window overlapping two shifts")
    eq(roster(from_ms=t0 + 29 * HOUR), (ids("s_b", "s2"), ids("w1")),
       "from a time on")
    eq(roster(from_ms=t0 + 60 * HOUR), ([], []), "after the last shift")
    day = local_day_start(h.now_ms())
    got = roster()
    if local_day_start(h.now_ms()) == day:  # not across midnight
        want = [n for n in ("s_past", "s_now", "s1", "s_b", "s2")
                if c.shifts[n][1] > day]
        eq(got, (ids(*want), ids("w1")), "from the start of today")
    refused_windows(co, "Roster", (
        ({"from_ms": -1}, "from_ms and to_ms are Unix milliseconds, or 0"),
        ({"from_ms": t0, "to_ms": t0}, "to_ms (%d) is not after the "
         "window's start (%d)" % (t0, t0)),
        ({"open_swaps": True, "from_ms": 1}, "open_swaps lists every open "
         "swap: from_ms and to_ms must be 0")))
    roster_pages(c, roster(from_ms=1))
    # The open swaps alone, without shifts: offered, then accepted.
    eq(roster(open_swaps=True), ([], ids("w1")), "the open swap, offered")
    # a1 takes s_b over from b1: both have it in their index now.
    c.kiosk.call(K + "AnswerSwap", h.pb.AnswerSwapRequest(
        swap=i["w1"], adult=i["a1"], accept=True))
    eq(roster(open_swaps=True), ([], ids("w1")), "accepted, still open")
    co.call(C + "ApproveSwap", h.pb.ApproveSwapRequest(swap=i["w1"],
                                                       approve=True))
    ro = co.call(C + "Roster", h.spb.RosterRequest(from_ms=1),
                 h.spb.RosterReport)
    eq([(x.id, x.adult) for x in ro.shifts if x.id == i["s_b"]],
       [(i["s_b"], i["a1"])], "the swapped shift, once, a1's")
    eq([(w.id, w.status) for w in ro.swaps], [(i["w1"], "done")],
       "the swap, once, done")
    eq(roster(open_swaps=True), ([], []), "approved: no open swap")
    eq(len({x.id for x in ro.shifts}), 5, "five shifts, none twice")


def roster_pages(c, whole):
    """The roster a page at a time: the window's shifts in order, each
    once, each page with the swaps of its own shifts and naming its last
    shift while more follow; and the pages a request may not ask for."""
    co = c.co
    for limit in (1, 2, 4, 5, 6, 10000):
        shifts, swaps, after, pages = [], [], "", 0
        while True:
            ro = co.call(C + "Roster", h.spb.RosterRequest(
                from_ms=1, limit=limit, after_shift=after),
                h.spb.RosterReport)
            pages += 1
            page = [x.id for x in ro.shifts]
            check(0 < len(page) <= limit, "limit %d: a page of %r" %
                  (limit, page))
            check(all(w.shift in page for w in ro.swaps),
                  "limit %d: swaps %r of the page's shifts %r" %
                  (limit, [(w.id, w.shift) for w in ro.swaps], page))
            shifts += page
            swaps += [w.id for w in ro.swaps]
            if not ro.more_after:
                break
            eq(ro.more_after, page[-1], "more_after: the page's last")
            after = ro.more_after
        eq((shifts, sorted(swaps)), (whole[0], sorted(whole[1])),
           "the roster in pages of %d" % limit)
        eq(pages, max(1, -(-len(whole[0]) // limit)),
           "pages of %d shifts" % limit)
    eq(co.status(C + "Roster", h.spb.RosterRequest(after_shift="s999"),
                 h.spb.RosterReport),
       (grpc.StatusCode.NOT_FOUND, "after_shift: there is no shift s999 "
        "here"), "a page after a shift that is not")
    refused_windows(co, "Roster", (
        ({"limit": 10001}, "limit is at most 10000 shifts a page"),
        ({"open_swaps": True, "limit": 5}, "open_swaps lists every open "
         "swap in one page: limit and after_shift must be unset")))


def test_roster_pages(srv):
    """Pages of a roster of many shifts: 60 shifts of four adults, from a
    minute to a day long, many starting at the same time, twelve of them
    offered, and one a month later; at every page size, alone and in a
    window, the pages hold the roster's shifts in its order and its swaps,
    each once."""
    co = srv.client()
    kw = srv.client(h.enrol(co, h.epb.ROLE_KIOSK, "door")).call
    w = co.call
    room = w(C + "AddRoom", h.pb.AddRoomRequest(label="Sun")).result.id
    fam = w(C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
    adults = [w(C + "AddAdult", h.pb.AddAdultRequest(
        family=fam, guardian=True)).result.id for _ in range(4)]
    t0 = local_day_start(h.now_ms()) + 2 * 24 * HOUR
    rng = random.Random(7)
    for k in range(60):
        start = t0 + rng.choice((0, 5, 6, 30, 47, 48, 80)) * HOUR // 2
        s = w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=start,
            end_ms=start + rng.choice((MINUTE, HOUR, 5 * HOUR, 24 * HOUR)),
            adult=adults[k % 4])).result.id
        if k % 5 == 0:
            kw(K + "OfferSwap", h.pb.OfferSwapRequest(
                shift=s, kind=h.pb.SWAP_KIND_COVER,
                to_adult=adults[(k + 1) % 4]))
    # A month on, the last adult's: its walk comes last and meets it with
    # a page one short already full.
    w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
        room=room, start_ms=t0 + 30 * 24 * HOUR,
        end_ms=t0 + 30 * 24 * HOUR + HOUR, adult=adults[3]))

    def roster(**q):
        return co.call(C + "Roster", h.spb.RosterRequest(**q),
                       h.spb.RosterReport)

    for window in ({"from_ms": 1}, {"from_ms": t0 + 10 * HOUR,
                                    "to_ms": t0 + 30 * HOUR}):
        whole = roster(**window)
        ids = [x.id for x in whole.shifts]
        check(len(ids) >= 30 and len(set(ids)) == len(ids),
              "%r: %d shifts" % (window, len(ids)))
        for limit in (1, 3, 7, len(ids) - 1, len(ids), len(ids) + 1):
            shifts, swaps, after = [], [], ""
            while True:
                ro = roster(limit=limit, after_shift=after, **window)
                page = [x.id for x in ro.shifts]
                check(all(wv.shift in page for wv in ro.swaps),
                      "%r, limit %d: swaps of the page's shifts" %
                      (window, limit))
                shifts += page
                swaps += [wv.id for wv in ro.swaps]
                if not ro.more_after:
                    break
                eq((len(page), ro.more_after), (limit, page[-1]),
                   "%r, limit %d: a full page, its last named" %
                   (window, limit))
                after = ro.more_after
            eq(shifts, ids, "%r: the shifts in pages of %d" %
               (window, limit))
            eq(sorted(swaps), sorted(x.id for x in whole.swaps),
               "%r: the swaps in pages of %d" % (window, limit))


def test_present(srv):
    """Present with three rooms, two of them busy and one empty: each child
    and each working volunteer in their own room, in id order, and nobody
    who has gone home or has not come yet."""
    co = srv.client()
    co.call(C + "SetPolicy", h.pb.SetPolicyRequest(policy=policy()))
    kw = srv.client(h.enrol(co, h.epb.ROLE_KIOSK, "door")).call
    w, now = co.call, h.now_ms()
    rooms = [w(C + "AddRoom", h.pb.AddRoomRequest(label=x)).result.id
             for x in ("Sunflower room", "Moon room", "Star room")]
    adults, kids = [], []
    for _ in range(6):
        fam = w(C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
        adults.append(w(C + "AddAdult", h.pb.AddAdultRequest(
            family=fam, guardian=True)).result.id)
        kids.append([w(C + "AddChild", h.pb.AddChildRequest(
            family=fam)).result.id for _ in range(2)])

    def shift(adult, room, start, end):
        return w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
            room=room, start_ms=start, end_ms=end, adult=adult)).result.id

    def start(s, adult, at=0):
        kw(K + "StartShift", h.pb.VolunteerCheckInRequest(
            shift=s, adult=adult, event_time_ms=at,
            presence=h.pb.PRESENCE_PIN))

    def child_in(child, room, adult):
        kw(K + "CheckInChild", h.pb.ChildCheckInRequest(
            child=child, room=room, adult=adult,
            presence=h.pb.PRESENCE_PIN))

    # Adults 0 and 1 work in the first room, adult 4 in the third; adult 2
    # worked earlier today and has gone; adult 3's shift is tomorrow.
    for a, r in ((0, 0), (1, 0), (4, 2)):
        start(shift(adults[a], rooms[r], now - 30 * MINUTE, now + 2 * HOUR),
              adults[a])
    s = shift(adults[2], rooms[0], now - 4 * HOUR, now - 2 * HOUR)
    start(s, adults[2], now - 4 * HOUR)
    kw(K + "EndShift", h.pb.VolunteerCheckOutRequest(
        shift=s, adult=adults[2], event_time_ms=now - 2 * HOUR,
        presence=h.pb.PRESENCE_PIN))
    shift(adults[3], rooms[0], now + 24 * HOUR, now + 26 * HOUR)
    # Children of families 0, 1, 4 and 5 come in; one of family 1's goes
    # home again; family 2's and 3's stay away.
    where = {kids[0][0]: 0, kids[0][1]: 2, kids[1][0]: 0, kids[4][1]: 0,
             kids[5][0]: 2, kids[5][1]: 0}
    for fam in (0, 1, 4, 5):
        for c in kids[fam]:
            if c in where:
                child_in(c, rooms[where[c]], adults[fam])
    child_in(kids[1][1], rooms[0], adults[1])
    w(C + "SetPickup", h.pb.SetPickupRequest(child=kids[1][1],
                                             authorised=[adults[1]]))
    kw(K + "CheckOutChild", h.pb.ChildCheckOutRequest(
        child=kids[1][1], adult=adults[1], presence=h.pb.PRESENCE_PIN))

    def by_id(ids):
        return sorted(ids, key=lambda x: int(x[1:]))

    want = [(rooms[0], by_id(c for c, r in where.items() if r == 0),
             by_id([adults[0], adults[1]])),
            (rooms[1], [], []),
            (rooms[2], by_id(c for c, r in where.items() if r == 2),
             [adults[4]])]
    check(len({len(c) for c in where}) > 1, "ids of more than one length "
          "(their order is by number): %r" % sorted(where))
    p = co.call(C + "Present", h.spb.CentreRequest(), h.spb.PresentReport)
    eq([(r.room, list(r.children), list(r.adults)) for r in p.rooms], want,
       "who is present, room by room")


def test_flagged(srv):
    """Flagged in windows of server time: three offline check-ins flagged,
    with unflagged entries between; each flag with its entry and when it
    was logged, in log order; a window's ends inclusive; every flag for a
    client that sends a CentreRequest; refusals with their messages."""
    co = srv.client()
    co.call(C + "SetPolicy", h.pb.SetPolicyRequest(policy=policy()))
    kw = srv.client(h.enrol(co, h.epb.ROLE_KIOSK, "door")).call
    w, now = co.call, h.now_ms()
    room = w(C + "AddRoom", h.pb.AddRoomRequest(label="Sun")).result.id
    fam = w(C + "EnrolFamily", h.pb.EnrolFamilyRequest()).result.id
    adult = w(C + "AddAdult", h.pb.AddAdultRequest(
        family=fam, guardian=True)).result.id
    kids = [w(C + "AddChild", h.pb.AddChildRequest(family=fam)).result.id
            for _ in range(3)]
    s = w(C + "ScheduleShift", h.pb.ScheduleShiftRequest(
        room=room, start_ms=now - HOUR, end_ms=now + HOUR,
        adult=adult)).result.id
    kw(K + "StartShift", h.pb.VolunteerCheckInRequest(
        shift=s, adult=adult, presence=h.pb.PRESENCE_PIN))
    flags = []
    for i, child in enumerate(kids):
        time.sleep(0.005)  # three distinct server times
        r = kw(K + "CheckInChild", h.pb.ChildCheckInRequest(
            child=child, room=room, adult=adult,
            presence=h.pb.PRESENCE_OFFLINE))
        flags.append((r.index, h.epb.Entry.FromString(r.entry)
                      .server_time_ms))
        w(C + "RecordCash", h.pb.RecordCashRequest(
            family=fam, amount_fen=100, receipt="R-%d" % i))
    (e1, t1), (e2, t2), (e3, t3) = flags
    check(t1 < t2 < t3, "distinct times: %r" % flags)
    what = "checked in while the kiosk was offline"

    def flagged(**kw):
        rep = co.call(C + "Flagged", h.spb.FlaggedRequest(**kw),
                      h.spb.FlaggedReport)
        for f in rep.flags:
            eq(f.what, what, "a flag's reason")
        return [(f.entry, f.time_ms) for f in rep.flags]

    rep = co.call(C + "Flagged", h.spb.CentreRequest(), h.spb.FlaggedReport)
    eq([(f.entry, f.time_ms, f.what) for f in rep.flags],
       [(e, t, what) for e, t in flags], "every flag, for a CentreRequest")
    for kw_, want in (({"from_ms": t2}, [1, 2]),
                      ({"from_ms": t2 + 1}, [2]),
                      ({"to_ms": t2}, [0, 1]),
                      ({"to_ms": t2 - 1}, [0]),
                      ({"from_ms": t2, "to_ms": t2}, [1]),
                      ({"from_ms": t1 - HOUR, "to_ms": t3 + HOUR}, [0, 1, 2]),
                      ({"from_ms": t3 + 1}, []),
                      ({"to_ms": t1 - 1}, [])):
        eq(flagged(**kw_), [flags[i] for i in want], "Flagged %r" % kw_)
    refused_windows(co, "Flagged", (
        ({"to_ms": -1}, "from_ms and to_ms are Unix milliseconds, or 0"),
        ({"from_ms": t2, "to_ms": t1}, "from_ms (%d) is after to_ms (%d)" %
         (t2, t1)),
        ({"limit": 10001}, "limit is at most 10000 flags a page")))

    # Pages, newest first: each the newest flags before the last page's
    # oldest, in log order, and where the next page starts.
    def page(**kw):
        rep = co.call(C + "Flagged", h.spb.FlaggedRequest(**kw),
                      h.spb.FlaggedReport)
        return [f.entry for f in rep.flags], rep.more_before
    eq(page(limit=2), ([e2, e3], e2), "the newest page")
    eq(page(limit=2, before_entry=e2), ([e1], 0), "the last page")
    eq(page(limit=3), ([e1, e2, e3], 0), "a page that holds them all")
    eq(page(before_entry=e3), ([e1, e2], 0), "before an entry")
    eq(page(before_entry=e3 - 1), ([e1, e2], 0), "before an unflagged one")
    eq(page(limit=1, before_entry=e1), ([], 0), "before the first")
    eq(page(limit=1, from_ms=t2), ([e3], e3), "a page of a window")
    eq(page(limit=1, from_ms=t2, before_entry=e3), ([e2], 0),
       "the window's last page")
    # The open flags page the same way: e2 reviewed, e1 and e3 open.
    w(C + "ReviewFlag", h.pb.ReviewFlagRequest(entry=e2, note="seen"))
    eq(page(open=True, limit=1), ([e3], e3), "the newest open flag")
    eq(page(open=True, limit=1, before_entry=e3), ([e1], 0),
       "the next open flag, past the reviewed one")


def shares_expected(pool, rate, surplus):
    """The settlement rule of DESIGN 2, written again here: pro rata to
    surplus, capped at the rate, largest remainder, ties to the lower id."""
    fams = sorted(surplus, key=lambda f: int(f[1:]))
    cap = {f: surplus[f] * rate // 60 for f in fams}
    if sum(cap.values()) <= pool:
        return dict(cap)
    share, fixed = {}, set()
    while True:
        left = pool - sum(share[f] for f in fixed)
        free = [f for f in fams if f not in fixed]
        total = sum(surplus[f] for f in free)
        rem = {}
        for f in free:
            share[f], rem[f] = divmod(left * surplus[f], total)
        extra = left - sum(share[f] for f in free)
        for f in sorted(free, key=lambda f: (-rem[f], int(f[1:])))[:extra]:
            share[f] += 1
        over = [f for f in free if share[f] > cap[f]]
        for f in over:
            share[f] = cap[f]
            fixed.add(f)
        if not over or len(fixed) == len(fams):
            return share


def test_preview(srv):
    """PreviewSettlement reports what Settle would do and changes nothing;
    then Settle does exactly that."""
    c = Centre(srv)
    i, co = c.ids, c.co
    co.call(C + "Donate", h.pb.DonateRequest(
        from_family=i["fb"], to_family=i["fc"], minutes=100))
    period = month_start(h.now_ms(), 1)
    surplus = {i["fb"]: 140, i["fc"]: 100}
    share = shares_expected(700, 2000, surplus)
    bought = {f: min(-(-share[f] * 60 // 2000), surplus[f]) for f in share}
    eq((share[i["fb"]], share[i["fc"]]), (408, 292), "the rule, by hand")

    def preview(p=period):
        return co.call(C + "PreviewSettlement", h.pb.SettleRequest(
            period_start_ms=p), h.spb.SettlementPreview)

    def balances():
        return co.call(C + "Balances", h.spb.CentreRequest(),
                       h.spb.BalancesReport).SerializeToString()

    before, size = balances(), c.log_size()
    pv = preview()
    eq((pv.pool_fen, pv.paid_fen, pv.refusal, pv.message),
       (700, 700, h.pb.REFUSAL_NONE, ""), "preview")
    eq([(s.family, s.surplus, s.share_fen, s.minutes_bought)
        for s in pv.shares],
       [(f, surplus[f], share[f], bought[f]) for f in (i["fb"], i["fc"])],
       "shares")
    eq((balances(), c.log_size()), (before, size), "the preview kept nothing")
    # Without buy-back the shares are the same and no minutes are bought.
    co.call(C + "SetPolicy", h.pb.SetPolicyRequest(
        policy=policy(buy_back=False)))
    pv = preview()
    eq([(s.family, s.share_fen, s.minutes_bought) for s in pv.shares],
       [(f, share[f], 0) for f in (i["fb"], i["fc"])], "without buy-back")
    co.call(C + "SetPolicy", h.pb.SetPolicyRequest(policy=policy()))
    # Refusals come back in the preview, with OK.
    pv = preview(month_start(h.now_ms()))
    eq(pv.refusal, h.pb.REFUSAL_PERIOD_NOT_OVER, "the current period")
    check(pv.message != "", "a refusal says why")
    eq(preview(period + 1).refusal, h.pb.REFUSAL_CONFLICT, "not a period")
    eq(co.status(C + "PreviewSettlement", h.pb.SettleRequest(
        centre="other", period_start_ms=period))[0],
       grpc.StatusCode.INVALID_ARGUMENT, "another centre")
    # Settle does what the preview said.
    r = co.call(C + "Settle", h.pb.SettleRequest(period_start_ms=period))
    e = h.epb.Entry.FromString(r.entry)
    got = {}
    for p in e.postings:
        f = p.account.split("/")[1]
        if p.account.startswith("family/") and p.account.endswith(
                "/subsidies"):
            got[f] = (p.amount, 0)
        elif p.account.startswith("family/") and p.account.endswith(
                "/minutes"):
            got[f] = (got[f][0], -p.amount)
    eq(got, {f: (share[f], bought[f]) for f in share}, "Settle's postings")
    eq(r.result.fund_fen, 0, "the fund after")
    eq(preview().refusal, h.pb.REFUSAL_PERIOD_SETTLED, "settled")


def checkpoint(cl):
    return cl.call(A + "GetCheckpoint", h.spb.CentreRequest(),
                   h.spb.CheckpointReply)


def test_audit(srv):
    """GetCheckpoint, Inclusion and Consistency, checked with this file's
    own RFC 9162 code against roots computed from the streamed entries."""
    c = Centre(srv)
    au = c.auditor
    cp = checkpoint(au)
    eq(cp.verifier_key, srv.vkey, "the verifier key")
    origin, size, root = h.open_checkpoint(cp.checkpoint, cp.verifier_key)
    # No --origin: carebank/<centre>/<8 hex digits of the log key's hash>.
    pub = base64.b64decode(srv.vkey.strip().split("+", 2)[2])[1:]
    eq((origin, size), ("carebank/reads/" +
                        hashlib.sha256(pub).hexdigest()[:8], cp.size),
       "checkpoint")
    replies = [h.spb.EntryReply.FromString(m) for m in au.stream(
        A + "Entries", h.spb.EntriesRequest())]
    raw = [r.entry for r in replies]
    eq([(r.index, h.epb.Entry.FromString(r.entry).index) for r in replies],
       [(n, n) for n in range(size)], "entries in order")
    eq(h.root_of(raw), root, "the checkpoint's root is the entries'")
    for index, tsize in ((0, 1), (0, size), (size - 1, size), (7, 8),
                         (5, 13), (12, 13), (3, 0)):
        p = au.call(A + "Inclusion", h.spb.InclusionRequest(
            index=index, tree_size=tsize), h.spb.ProofReply)
        n = tsize or size
        eq(p.tree_size, n, "proof's size")
        check(h.verify_inclusion(index, n, raw[index], list(p.hashes),
                                 h.root_of(raw[:n])),
              "inclusion %d in %d" % (index, n))
        if p.checkpoint:
            _, csize, croot = h.open_checkpoint(p.checkpoint, srv.vkey)
            eq((csize, croot), (n, h.root_of(raw[:n])), "proof's checkpoint")
    check(not h.verify_inclusion(3, size, raw[4], list(au.call(
        A + "Inclusion", h.spb.InclusionRequest(index=3), h.spb.ProofReply
    ).hashes), root), "a proof of another leaf fails")
    for first, second in ((1, 2), (1, size), (3, 7), (4, 8), (6, 13),
                          (size - 1, size), (size, size), (0, 5), (5, 0)):
        p = au.call(A + "Consistency", h.spb.ConsistencyRequest(
            from_size=first, to_size=second), h.spb.ProofReply)
        n = second or size
        eq(p.tree_size, n, "proof's size")
        check(h.verify_consistency(first, n, list(p.hashes),
                                   h.root_of(raw[:first]),
                                   h.root_of(raw[:n])),
              "consistency %d to %d" % (first, n))
    OR, IA = grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.INVALID_ARGUMENT
    for m, req, want in (
            ("Inclusion", h.spb.InclusionRequest(index=size), OR),
            ("Inclusion", h.spb.InclusionRequest(index=0, tree_size=size + 1),
             OR),
            ("Inclusion", h.spb.InclusionRequest(index=5, tree_size=5), IA),
            ("Consistency", h.spb.ConsistencyRequest(from_size=1,
                                                     to_size=size + 1), OR),
            ("Consistency", h.spb.ConsistencyRequest(from_size=6, to_size=5),
             IA),
            ("Consistency", h.spb.ConsistencyRequest(from_size=size + 1),
             IA)):
        eq(au.status(A + m, req, h.spb.ProofReply)[0], want, "%s %r" % (m,
                                                                       req))
    eq(c.kiosk.status(A + "GetCheckpoint", h.spb.CentreRequest())[0],
       grpc.StatusCode.PERMISSION_DENIED, "a kiosk asking for checkpoints")


def write_many(co, family, n, threads=32):
    """n RecordCash entries, sent from many threads so batches grow."""
    memo = "receipt " + "x" * 110

    def one(k):
        co.call(C + "RecordCash", h.pb.RecordCashRequest(
            family=family, amount_fen=1, receipt="%s %05d" % (memo, k)))

    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        list(ex.map(one, range(n)))


def test_entries(srv):
    """Entries streams a log of thousands of entries in order to slow
    readers, a few at once, while the log grows; ranges are checked."""
    c = Centre(srv)
    au = c.auditor
    write_many(c.co, c.ids["fa"], 3000)
    cp = checkpoint(au)
    _, size, root = h.open_checkpoint(cp.checkpoint, srv.vkey)
    check(size > 3000, "the log has %d entries" % size)
    results = {}

    def slow_reader(k):
        call = au.stream(A + "Entries", h.spb.EntriesRequest())
        time.sleep(2)  # let the server fill the stream and wait
        got = []
        for n, m in enumerate(call):
            got.append(m)
            if n % 200 == 0:
                time.sleep(0.05)
        results[k] = got

    readers = [threading.Thread(target=slow_reader, args=(k,))
               for k in range(4)]
    for t in readers:
        t.start()
    write_many(c.co, c.ids["fb"], 300, threads=8)  # the log grows meanwhile
    for t in readers:
        t.join()
    for k in range(4):
        # A reader reads the log as it was when its call was served: at
        # least the checkpoint's entries, and more if writes came first.
        replies = [h.spb.EntryReply.FromString(m) for m in results[k]]
        check(len(replies) >= size, "reader %d read %d of %d entries" %
              (k, len(replies), size))
        eq([r.index for r in replies], list(range(len(replies))),
           "reader %d's indexes" % k)
        eq(h.root_of([r.entry for r in replies[:size]]), root,
           "reader %d's entries make the checkpoint's root" % k)
        for r in replies[::500]:
            eq(h.epb.Entry.FromString(r.entry).index, r.index, "leaf index")
    sub = [h.spb.EntryReply.FromString(m).index for m in au.stream(
        A + "Entries", h.spb.EntriesRequest(start=100, end=200))]
    eq(sub, list(range(100, 200)), "a range")
    eq(list(au.stream(A + "Entries", h.spb.EntriesRequest(start=5, end=5))),
       [], "an empty range")
    now = checkpoint(au).size
    for req, want in (
            (h.spb.EntriesRequest(start=6, end=5),
             grpc.StatusCode.INVALID_ARGUMENT),
            (h.spb.EntriesRequest(start=0, end=now + 1),
             grpc.StatusCode.OUT_OF_RANGE),
            (h.spb.EntriesRequest(start=now + 1),
             grpc.StatusCode.OUT_OF_RANGE)):
        try:
            list(au.stream(A + "Entries", req))
        except grpc.RpcError as e:
            eq(e.code(), want, "Entries %r" % req)
            continue
        raise Failure("Entries %r succeeded" % req)
    # A reader that goes away mid-stream leaves the server well.
    call = au.stream(A + "Entries", h.spb.EntriesRequest())
    next(iter(call))
    call.cancel()
    eq(checkpoint(au).size, now, "the server still answers")


def test_watch(srv):
    """WatchCheckpoints sends the current checkpoint, then each new one; a
    slow watcher gets the newest without the ones it missed piling up;
    shutdown ends the watches promptly."""
    c = Centre(srv)
    au = c.auditor
    start = checkpoint(au).size
    fast, got = au.stream(A + "WatchCheckpoints", h.spb.CentreRequest()), []
    it = iter(fast)
    first = h.spb.CheckpointReply.FromString(next(it))
    eq((first.size, first.verifier_key), (start, srv.vkey), "first")
    slow = au.stream(A + "WatchCheckpoints", h.spb.CentreRequest())
    slow_it = iter(slow)
    eq(h.spb.CheckpointReply.FromString(next(slow_it)).size, start,
       "the slow watcher's first")

    def follow():
        try:
            for m in it:
                got.append(h.spb.CheckpointReply.FromString(m))
        except grpc.RpcError:
            pass  # the shutdown, checked below

    t = threading.Thread(target=follow)
    t.start()
    for n in range(5):
        c.co.call(C + "RecordCash", h.pb.RecordCashRequest(
            family=c.ids["fa"], amount_fen=1, receipt="w%d" % n))
    write_many(c.co, c.ids["fa"], 400)
    end = checkpoint(au).size
    deadline = time.monotonic() + 30
    while (not got or got[-1].size < end) and time.monotonic() < deadline:
        time.sleep(0.1)
    sizes = [m.size for m in got]
    eq(sizes[-1], end, "the fast watcher reaches the end")
    check(sizes == sorted(set(sizes)), "sizes only grow")
    eq(sizes[:5], [start + 1 + k for k in range(5)], "one per commit")
    for m in got[::50] + got[-1:]:
        _, size, _ = h.open_checkpoint(m.checkpoint, srv.vkey)
        eq(size, m.size, "a watched checkpoint verifies")
    # The slow watcher, read only now, ends at the newest too.
    slow_got = []
    while True:
        m = h.spb.CheckpointReply.FromString(next(slow_it))
        slow_got.append(m.size)
        if m.size == end:
            break
    check(slow_got == sorted(set(slow_got)), "slow sizes only grow")
    check(len(slow_got) <= len(sizes), "the slow watcher got no more")
    slow.cancel()
    # Shutdown ends the remaining watch at once, not after the drain time.
    t0 = time.monotonic()
    srv.stop()
    t.join(timeout=30)
    check(time.monotonic() - t0 < 8, "shutdown waited for a watcher")
    eq(fast.code(), grpc.StatusCode.UNAVAILABLE, "the watch's end")


def test_revoked_streams(srv):
    """A revoked key's open streams end PERMISSION_DENIED: a watch before
    the next checkpoint it would get, an Entries stream held by a slow
    reader before its next chunk of leaves."""
    c = Centre(srv)
    write_many(c.co, c.ids["fa"], 2000)
    key = h.enrol(c.co, h.epb.ROLE_AUDITOR, "audit 2")
    # No BDP probing: the stream's window stays 64 KiB, so the server
    # fills it and waits, far from the log's end.
    ch = grpc.insecure_channel("127.0.0.1:%d" % srv.port,
                               options=[("grpc.http2.bdp_probe", 0)])
    au = h.Client(ch, srv.centre, key)
    # (A deadline, so that a watch left open fails here, not by hanging.)
    watch = iter(au.stream(A + "WatchCheckpoints", h.spb.CentreRequest(),
                           timeout=30))
    start = h.spb.CheckpointReply.FromString(next(watch)).size
    entries = iter(au.stream(A + "Entries", h.spb.EntriesRequest()))
    next(entries)
    time.sleep(1)  # the server fills the stream's window and waits
    c.co.call(C + "RevokeKey", h.pb.RevokeKeyRequest(key_id=key.id,
                                                     reason="lost"))
    c.co.call(C + "RecordCash", h.pb.RecordCashRequest(
        family=c.ids["fa"], amount_fen=1, receipt="after"))
    for name, stream in (("watch", watch), ("Entries", entries)):
        n = 0
        try:
            for m in stream:
                n += 1
            raise Failure("%s ended well after %d more" % (name, n))
        except grpc.RpcError as e:
            eq(e.code(), grpc.StatusCode.PERMISSION_DENIED, name)
            check("has been revoked" in e.details(), e.details())
        # The watch had nothing unsent; the stream, what its window held.
        check(n == 0 if name == "watch" else n < 1000,
              "%s sent %d after the revocation" % (name, n))
    ch.close()
    # Others' streams go on.
    w2 = iter(c.auditor.stream(A + "WatchCheckpoints", h.spb.CentreRequest()))
    check(h.spb.CheckpointReply.FromString(next(w2)).size >= start + 2,
          "another auditor's watch")


TESTS = {
    "reads.identify": test_identify,
    "reads.revoked_streams": test_revoked_streams,
    "reads.directory": test_directory,
    "reads.reports": test_reports,
    "reads.roster_pages": test_roster_pages,
    "reads.present": test_present,
    "reads.flagged": test_flagged,
    "reads.preview": test_preview,
    "reads.audit": test_audit,
    "reads.entries": test_entries,
    "reads.watch": test_watch,
}

if __name__ == "__main__":
    sys.exit(h.main(TESTS))
