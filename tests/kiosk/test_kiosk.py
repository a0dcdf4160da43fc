#!/usr/bin/python3
"""carebank-kiosk end to end: the kiosk on a pseudo-terminal, a real
carebankd on 127.0.0.1, and the centre set up and checked through
cbclient.py (tests/e2e).

  kiosk.door      identify with a member code and a PIN (never echoed),
                  start a shift, check children in (ratio warning) and out
                  (the charge), accept a swap, offer a shift and withdraw
                  the offer (the log names her), end the shift; every receipt
                  verified against the pinned key; back to idle when left
  kiosk.refusals  a wrong PIN, a refused pickup, a PIN locked out
  kiosk.offline   the server stops; actions are kept pending (in the queue
                  file before they show); the kiosk is SIGKILLed and started
                  again; the server comes back on the same port and the
                  actions arrive in order, with their request ids and event
                  times, late and flagged, once; sending them all again
                  changes nothing
  kiosk.midvisit  the server stops during a visit: the action is kept with
                  presence PIN (not reviewed) and sent later; a kept copy
                  of a request that did arrive makes no second entry
  kiosk.shortage  the server cannot store a check-in (its store refuses
                  writes: the mdbfail shim of tests/robust): the kiosk
                  says so and keeps it pending, the next action waits
                  behind it in order, the coordinator's reports still
                  answer, a parent identifying meanwhile is served as
                  when the server is away; once the store takes writes
                  again the kiosk sends both, once each, late and not
                  for review
  kiosk.setaside  an action the server will never take (a method it does
                  not know) holds the one behind it; --set-aside refuses
                  while the kiosk runs and for an action not waiting, then
                  writes it whole to the refused log; --check-queue lists
                  what is set aside; --put-back puts an action back at
                  the end of the queue, whole, once, and the kiosk sends
                  it, and only it
  kiosk.pickup_offline  an adult identified online whom the server said
                  may not collect a child: once the server is gone the
                  kiosk refuses the check-out itself and keeps nothing
  kiosk.plain     TERM=dumb and pipes: plain lines, a refusal (room full);
                  a name the server sent with an escape sequence is shown
                  with '?' for its control character
  kiosk.damaged   a queue damaged in the middle is reported, kept whole,
                  and its intact actions carried on; --check-queue says so
  kiosk.usage     --help, exit codes, bad settings
  kiosk.overstay  a volunteer still on her shift past its scheduled end
                  is offered to end it, and does
  kiosk.handed_on a start made offline before a swap handed the shift on
                  arrives after it: the shift is the starter's to end,
                  not the new adult's, and Roster names its worker
  kiosk.arrival   the next parent's member code typed, or card scanned, at
                  a family screen or PIN prompt left open: a new visit,
                  not the last family's choices or a wrong PIN for it
"""
import base64
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import cbclient as cb  # noqa: E402
from cbclient import A, K, check, eq  # noqa: E402
from proxies import TamperProxy  # noqa: E402
import kioskpty as kp  # noqa: E402


def opened(idle=30, shim=None):
    """A server with the centre (started with the shim (path, env), if
    given), and a kiosk at its door."""
    s = cb.Server(centre="huada", origin="carebank.example.org/huada")
    if shim is None:
        s.start(metrics=True)
    else:
        cb.start_with_shim(s, shim[0], shim[1], metrics=True)
    work = cb.scratch("cb-kiosk-")
    ids, co, keyfile = kp.centre(s, work)
    k = kp.Kiosk(kp.kiosk_args(s, work, keyfile, ids, idle=idle), work)
    return s, work, ids, co, k


def on_shift(k, card=False, leo=False):
    """Wang Fang comes in and starts her shift (the room opens), and
    perhaps brings Leo in."""
    k.identify("CARD-1001" if card else "1001", "2468", card=card)
    k.expect(r"Hello, Wang Fang")
    k.choose("Start your shift")
    k.expect(r"Receipt: entry \d+, verified")
    if leo:
        k.choose("Check Leo in")
        k.expect(r"Leo is checked in")


def entries(co, start):
    r = co.call(A + "Entries", cb.spb.EntriesRequest(start=start))
    check(r.ok, "Entries: %s %s" % (r.code, r.details))
    return [cb.parse_entry(cb.spb.EntryReply.FromString(m).entry)
            for m in r.raw]


def log_size(co):
    r = co.call(A + "GetCheckpoint")
    check(r.ok, "GetCheckpoint: %s %s" % (r.code, r.details))
    return cb.spb.CheckpointReply.FromString(r.raw).size


def door():
    s, work, ids, co, k = opened(idle=6)
    k.identify("1001", "2468")
    k.expect(r"Hello, Wang Fang")
    t = k.screen()
    for want in ("Mia", "Leo", "Balance 0 min", "Owed 0.00 yuan",
                 "Charged today 0.00 yuan", "Your next shifts",
                 "Swaps offered to you", ids["swap"]):
        check(want in t, "the family screen lacks %r:\n%s" % (want, t))
    k.choose("Start your shift")
    k.expect(r"Your shift has started")
    k.expect(r"Receipt: entry \d+, verified")
    k.choose("Check Mia in")
    k.expect(r"Mia is checked in to Sunflower")
    k.expect(r"Receipt: entry \d+, verified")
    check("RATIO" not in k.screen(), "no ratio warning for one child")
    k.choose("Check Leo in")
    k.expect(r"Leo is checked in")
    k.expect(r"RATIO WARNING")
    k.choose("Check Mia out")
    k.expect(r"Mia is checked out: 1 min of care")
    k.expect(r"in cash; charge 0\.33 yuan")
    k.expect(r"Balance now 0 min; owed 0\.33 yuan")
    t = k.last_screen()
    check("Charged today 0.33 yuan" in t and "Owed 0.33 yuan" in t,
          "the family's line shows the charge:\n" + t)
    k.choose("Accept swap " + ids["swap"])
    k.expect(r"You accepted swap " + ids["swap"])
    # She offers tomorrow's shift to Li Wei, then takes the offer back.
    k.choose("Offer a shift to another parent")
    k.expect(r"Which shift do you offer\?")
    k.type("1\r")
    k.expect(r"Who do you ask to cover it\?")
    k.type(ids["b1"] + "\r", gap=0.02)
    offered = k.expect(r"Your shift is offered to %s \(swap (w\d+)\)" %
                       ids["b1"]).group(1)
    k.expect(r"Receipt: entry \d+, verified")
    k.choose("Withdraw your offer")
    k.expect(r"Your offer %s is withdrawn" % offered)
    k.choose("End your shift")
    k.expect(r"Your shift has ended: 0 min credited")
    k.type("0\r")
    k.expect(r"Scan your card")
    # Left alone, the kiosk goes back to its welcome screen.
    k.identify("1001", "2468")
    k.expect(r"Hello, Wang Fang")
    t0 = time.time()
    k.expect(r"Welcome!", timeout=20)
    check(time.time() - t0 > 4, "back to idle after the idle time")
    # The swapped shift is a1's now, and the log has what the kiosk said.
    r = co.call(cb.C + "Roster")
    roster = cb.spb.RosterReport.FromString(r.raw)
    eq({x.id: x.adult for x in roster.shifts}[ids["s2"]], ids["a1"],
       "the swapped shift's adult")
    for e in entries(co, 1)[-8:]:
        eq(e.call.key_id, ids["kiosk_id"], "signed by the kiosk")
    # The offer and its withdrawal name the adult at the kiosk.
    acts = [(e.call.method, e.call.request) for e in entries(co, 1)[-8:]]
    offer = [cb.pb.OfferSwapRequest.FromString(r) for m, r in acts
             if m == cb.K + "OfferSwap"]
    back = [cb.pb.WithdrawSwapRequest.FromString(r) for m, r in acts
            if m == cb.K + "WithdrawSwap"]
    eq([(o.shift, o.to_adult, o.adult) for o in offer],
       [(ids["s3"], ids["b1"], ids["a1"])], "the offer in the log")
    eq([(b.swap, b.adult) for b in back], [(offered, ids["a1"])],
       "the withdrawal in the log")
    k.stop()
    out = k.text() + k.stderr()
    check("2468" not in out, "the PIN was shown or logged")
    for name in os.listdir(work):
        with open(os.path.join(work, name), "rb") as f:
            check(b"2468" not in f.read(), "the PIN is in %s" % name)
    s.stop()


def refusals():
    s, work, ids, co, k = opened()
    on_shift(k, leo=True)
    k.type("0\r")
    k.identify("1001", "0000")
    k.expect(r"do not match")
    k.type("x")
    # The uncle is on Leo's refused list.
    k.identify("1002", "1357")
    k.expect(r"Hello, Wang Lei")
    k.expect(r"Leo\s+IN .*not on your pickup list")
    k.choose("Check Leo out")
    k.expect(r"Leo cannot be handed to you\. Please call the coordinator")
    k.expect(r"PICKUP_REFUSED")
    k.type("0\r")
    # Three wrong PINs lock the uncle out; the right one is refused then.
    for n in range(3):
        k.identify("1002", "999%d" % n)
        k.expect(r"do not match")
        k.type("x")
    k.identify("1002", "1357")
    k.expect(r"PIN LOCKED")
    k.expect(r"try again in \d+ min")
    k.type("x")
    k.expect(r"Scan your card")
    k.stop()
    s.stop()


def pickup_offline():
    s, work, ids, co, k = opened()
    qpath = os.path.join(work, "kiosk.queue")
    on_shift(k, leo=True)
    k.type("0\r")
    # The uncle, on Leo's refused list, is identified online; then the
    # server goes. The kiosk still refuses to hand Leo over, and keeps
    # nothing to send later; Mia's check-in is kept as usual.
    k.identify("1002", "1357")
    k.expect(r"Hello, Wang Lei")
    s.stop()
    k.choose("Check Leo out")
    k.expect(r"REFUSED: You are not on the list of adults who may bring "
             r"or collect Leo")
    k.expect(r"checked by the kiosk")
    check("PENDING" not in k.screen(), "the check-out was kept")
    eq(kp.pending(qpath), [], "the queue after a refused check-out")
    k.choose("Check Mia in")
    k.expect(r"PENDING")
    eq([a["method"] for a in kp.pending(qpath)], [kp.K + "CheckInChild"],
       "the queue after Mia's check-in")
    k.type("0\r")
    k.stop()


def offline():
    s, work, ids, co, k = opened()
    qpath, port = os.path.join(work, "kiosk.queue"), s.port
    # Online first: the kiosk sees the family by card and by code.
    on_shift(k, card=True, leo=True)
    k.type("0\r")
    k.identify("1001", "2468")
    k.expect(r"Hello, Wang Fang")
    k.type("0\r")
    before = s.log_size()
    s.stop()

    # Offline: PIN not checked, actions pending, in the queue file first.
    k.identify("1001", "2468")
    k.expect(r"OFFLINE: as last seen")
    k.choose("Check Leo out")
    k.expect(r"PENDING")
    k.expect(r"coordinator will review")
    eq([a["method"] for a in kp.pending(qpath)],
       [kp.K + "CheckOutChild"], "the queue after one action")
    k.choose("Check Mia in")
    k.expect(r"PENDING")
    eq(len(kp.pending(qpath)), 2, "queued actions")
    k.kill()  # in the middle of the visit

    k.start()
    k.expect(r"2 actions are waiting to be sent")
    k.identify("CARD-1001", "2468", card=True)
    k.expect(r"OFFLINE")
    t = k.screen()
    check("Waiting to be sent" in t, "pending actions are shown:\n" + t)
    check(re.search(r"Mia\s+IN .*\[pending\]", t),
          "Mia is shown in, pending:\n" + t)
    k.choose("End your shift")
    k.expect(r"PENDING")
    k.type("0\r")
    k.expect(r"3 actions are waiting")
    queued = kp.pending(qpath)
    eq([a["method"].rsplit("/", 1)[1] for a in queued],
       ["CheckOutChild", "CheckInChild", "EndShift"], "queued in order")
    saved = os.path.join(work, "queue.copy")
    shutil.copyfile(qpath, saved)

    # The server comes back where it was; the kiosk sends the queue.
    kp.serve_on(s, port)
    co = s.client()
    k.expect(r"3 actions made offline sent", timeout=60)
    eq(kp.pending(qpath), [], "the queue is empty")
    eq(os.path.getsize(qpath), 16, "the queue file is back to its header")
    got = entries(co, before)
    eq(len(got), 3, "entries made from the queue")
    for e, a in zip(got, queued):
        eq(e.call.method, a["method"], "entry method, in order")
        eq(e.call.request, a["req"],
           "the entry keeps the queued request bytes (request id, event "
           "time)")
        req = cb.message_class(a["method"]).FromString(a["req"])
        eq(req.presence, cb.pb.PRESENCE_OFFLINE, "presence")
        eq(e.event_time_ms, req.event_time_ms, "event time")
        eq(e.event_time_ms, a["made"], "event time is when it was made")
        check(e.late and e.review, "entry %d late and flagged" % e.index)
    r = co.call(cb.C + "Flagged")
    flagged = {f.entry for f in cb.spb.FlaggedReport.FromString(r.raw).flags}
    check({e.index for e in got} <= flagged, "the entries are flagged")
    size = log_size(co)
    k.stop()

    # The same queue again: the server answers with the first receipts.
    shutil.copyfile(saved, qpath)
    k.start()
    k.expect(r"3 actions made offline sent", timeout=60)
    eq(log_size(co), size, "resending made no new entry")
    ids_seen = {}
    for e in entries(co, 0):
        if e.call.method.startswith(kp.K):
            rid = cb.message_class(e.call.method).FromString(
                e.call.request).request_id
            ids_seen[rid] = ids_seen.get(rid, 0) + 1
    check(all(n == 1 for n in ids_seen.values()), "each request id once")
    k.stop()
    s.stop()


def midvisit():
    s, work, ids, co, k = opened()
    qpath, port = os.path.join(work, "kiosk.queue"), s.port
    on_shift(k)
    start = entries(co, 0)[-1]
    before = log_size(co)
    s.stop()
    # The PIN was checked: kept with presence PIN, not for review.
    k.choose("Check Mia in")
    k.expect(r"PENDING")
    check("review" not in k.screen(), "a checked PIN is not reviewed")
    k.type("0\r")
    (q,) = kp.pending(qpath)
    req = cb.pb.ChildCheckInRequest.FromString(q["req"])
    eq(req.presence, cb.pb.PRESENCE_PIN, "presence of a kept action")
    eq(req.event_time_ms, q["made"], "its event time")
    check(q["flags"] & 1, "marked as tried online")
    kp.serve_on(s, port)
    co = s.client()
    k.expect(r"1 action made offline sent", timeout=60)
    (e,) = entries(co, before)
    eq(e.call.request, q["req"], "the kept request, verbatim")
    check(e.late and not e.review, "late, not flagged")
    k.stop()
    # A try that did arrive before the kiosk lost its answer: the kept
    # copy has the same request id and other bytes (an event time); the
    # server refuses it as used, and the kiosk takes that as done. The
    # queue is one an earlier kiosk wrote (version 1): it is read as it
    # is, and starts again as version 2 once empty.
    size = log_size(co)
    orig = cb.pb.VolunteerCheckInRequest.FromString(start.call.request)
    orig.event_time_ms = cb.now_ms() - 1000
    with open(qpath, "wb") as f:
        f.write(kp.HEADER_V1 + kp.record(kp.action_body(
            1, orig.event_time_ms, kp.K + "StartShift", ids["fa"],
            orig.SerializeToString(), flags=1), version=1))
    k.start()
    k.expect(r"1 action made offline sent", timeout=60)
    eq(log_size(co), size, "no second entry")
    check("entry %d (an earlier try)" % start.index in k.stderr(),
          "the earlier entry is named: " + k.stderr())
    eq(kp.pending(qpath), [], "done")
    with open(qpath, "rb") as f:
        eq(f.read(), kp.HEADER, "an empty queue of version 2")
    k.stop()
    s.stop()


def shortage():
    fault = cb.scratch("cb-mdbfail-") + "/mdbfail"
    s, work, ids, co, k = opened(shim=(cb.ARGS.mdbfail,
                                       {"CB_MDBFAIL_FILE": fault}))
    qpath = os.path.join(work, "kiosk.queue")
    on_shift(k)
    before = log_size(co)
    with open(fault, "w") as f:
        f.write("begin ENOMEM\n")
    k.choose("Check Mia in")
    k.expect(r"The server cannot store this now: the store takes no "
             r"writes: out of memory")
    k.expect(r"PENDING")
    (q,) = kp.pending(qpath)
    check(q["flags"] & 1, "marked as tried online")
    eq(log_size(co), before, "nothing written")
    r = co.call(cb.C + "Present")
    check(r.ok, "a report while the store refuses writes: %r" % r)
    # The next action goes behind the first, not before it.
    k.choose("Check Leo in")
    k.expect(r"PENDING")
    kept = [a["req"] for a in kp.pending(qpath)]
    eq([cb.pb.ChildCheckInRequest.FromString(r).child for r in kept],
       [ids["mia"], ids["leo"]], "queued in order")
    eq(log_size(co), before, "still nothing written")
    k.type("0\r")
    # Identify goes through the writer too: refused, the door works as
    # when the server is away (not "PIN LOCKED").
    k.identify("1001", "2468")
    k.expect(r"OFFLINE: as last seen")
    check("LOCKED" not in k.screen(), "a shortage is no lock")
    k.type("0\r")   # the queue is sent from the idle screen
    os.unlink(fault)
    k.expect(r"2 actions made offline sent", timeout=60)
    eq(kp.pending(qpath), [], "the queue is empty")
    got = entries(co, before)
    eq([e.call.request for e in got], kept,
       "one entry for each kept request, verbatim, in order")
    for e in got:
        check(e.late and not e.review, "late, not flagged")
    check("mdbfail:" in s.log_text(), "the shim was not in play")
    k.stop()
    s.stop()


def setaside():
    s, work, ids, co, k = opened()
    qpath = os.path.join(work, "kiosk.queue")
    on_shift(k)
    k.stop()
    before = log_size(co)
    mia = cb.pb.ChildCheckInRequest(
        request_id=cb.request_id(), centre="huada", child=ids["mia"],
        room=ids["room"], adult=ids["a1"], event_time_ms=cb.now_ms(),
        presence=cb.pb.PRESENCE_PIN).SerializeToString()
    odd = cb.pb.ChildCheckInRequest(
        request_id=cb.request_id(), centre="huada", child=ids["leo"],
        room=ids["room"], adult=ids["a1"], event_time_ms=cb.now_ms(),
        presence=cb.pb.PRESENCE_PIN).SerializeToString()
    # Made by a newer kiosk: a method this server does not know.
    with open(qpath, "wb") as f:
        f.write(kp.HEADER + kp.record(kp.action_body(
            1, cb.now_ms(), kp.K + "CheckInChildLater", ids["fa"], odd,
            flags=1)) + kp.record(kp.action_body(
                2, cb.now_ms(), kp.K + "CheckInChild", ids["fa"], mia)))
    k.start()
    k.expect(r"Cannot send waiting action 1: unknown method", timeout=60)
    eq(log_size(co), before, "nothing sent past the stuck action")

    def aside(*args):
        return subprocess.run([kp.KIOSK_BIN, "--queue", qpath] + list(args),
                              capture_output=True, text=True, timeout=30,
                              env={"HOME": work, "CAREBANK_CONFIG":
                                   os.path.join(work, "none.conf")})
    r = aside("--set-aside", "1")
    eq(r.returncode, 1, "--set-aside while the kiosk runs: " + r.stderr)
    check("in use by a running kiosk" in r.stderr, r.stderr)
    k.stop()
    eq(len(kp.pending(qpath)), 2, "both still waiting")
    r = aside("--check-queue")
    eq(r.returncode, 0, "--check-queue")
    check(re.search(r"2 actions waiting\n"
                    r"  1  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  "
                    r"CheckInChildLater \(unreadable\)  \(\S+Later, "
                    r"family %s, sent once\)\n"
                    r"  2  [-\d]+ [:\d]+  check %s in to %s  \(\S+, "
                    r"family %s\)\n$" % (ids["fa"], ids["mia"], ids["room"],
                                         ids["fa"]), r.stdout),
          "--check-queue lists both: %r" % r.stdout)
    for bad in ("0", "x", "1x", "-1"):
        r = aside("--set-aside", bad)
        eq(r.returncode, 2, "--set-aside %r: %s" % (bad, r.stderr))
    r = aside("--check-queue", "--set-aside", "1")
    eq(r.returncode, 2, "--check-queue with --set-aside")
    r = aside("--set-aside", "1", "--make-key", os.path.join(work, "k2"))
    eq(r.returncode, 2, "--make-key with --set-aside")
    check(not os.path.exists(os.path.join(work, "k2")), "no key made")
    r = aside("--set-aside", "3")
    eq(r.returncode, 1, "no action 3")
    check("no action 3 is waiting" in r.stderr, r.stderr)
    check(not os.path.exists(qpath + ".refused"), "nothing noted")
    # The action goes to the refused log first: when that cannot be
    # written, the queue is left as it was.
    os.mkdir(qpath + ".refused")
    r = aside("--set-aside", "1")
    eq(r.returncode, 1, "--set-aside with the refused log unwritable")
    check("still waits in the queue" in r.stderr, r.stderr)
    eq([a["seq"] for a in kp.pending(qpath)], [1, 2], "both still waiting")
    os.rmdir(qpath + ".refused")
    r = aside("--set-aside", "1")
    eq(r.returncode, 0, "--set-aside 1: " + r.stderr)
    check("set aside action 1" in r.stdout and "sent once" in r.stdout and
          "1 action still waiting" in r.stdout, r.stdout)
    with open(qpath + ".refused") as f:
        lines = f.read().splitlines()
    eq(len(lines), 1, "one line in the refused log")
    m = re.fullmatch(r"\d+ set-aside (\S+) request=([0-9a-f]{32}) "
                     r"made=\d+ family=(\S+) tried=yes crc32c=([0-9a-f]{8}) "
                     r"request_base64=(\S+)", lines[0])
    check(m, "the refused log's line: %r" % lines[0])
    eq(m.group(1), kp.K + "CheckInChildLater", "its method")
    eq(m.group(2), odd[2:18].hex(), "its request id")
    eq(m.group(3), ids["fa"], "its family")
    eq(int(m.group(4), 16), kp.crc_final(odd), "its request's checksum")
    eq(base64.b64decode(m.group(5), validate=True), odd,
       "its request, whole")
    eq([a["seq"] for a in kp.pending(qpath)], [2], "only 2 waits")
    eq([r for kind, r in kp.read_queue(qpath) if kind == "done"],
       [dict(seq=1, state=2, index=0)], "1 is done with as refused")
    r = aside("--set-aside", "1")
    eq(r.returncode, 1, "set aside twice")
    with open(qpath + ".refused") as f:
        eq(len(f.read().splitlines()), 1, "still one line")
    # The one behind it set aside too, then put back: it goes, whole.
    r = aside("--set-aside", "2")
    eq(r.returncode, 0, "--set-aside 2: " + r.stderr)
    check("0 actions still waiting" in r.stdout, r.stdout)
    odd_id, mia_id = odd[2:18].hex(), mia[2:18].hex()
    r = aside("--check-queue")
    eq(r.returncode, 0, "--check-queue")
    check(re.search(r"0 actions waiting\n"
                    r"set aside in \S+\.refused \(put back with --put-back "
                    r"REQUEST\):\n"
                    r"  %s  [-\d]+ [:\d]+  CheckInChildLater \(unreadable\)  "
                    r"\(\S+Later, family %s, sent once\)\n"
                    r"  %s  [-\d]+ [:\d]+  check %s in to %s  \(\S+, "
                    r"family %s\)\n$" % (odd_id, ids["fa"], mia_id, ids["mia"],
                                         ids["room"], ids["fa"]), r.stdout),
          "--check-queue lists both set aside: %r" % r.stdout)
    for bad in ("x", mia_id.upper(), mia_id[:31], mia_id + "0"):
        r = aside("--put-back", bad)
        eq(r.returncode, 2, "--put-back %r: %s" % (bad, r.stderr))
    r = aside("--put-back", mia_id, "--set-aside", "1")
    eq(r.returncode, 2, "--put-back with --set-aside")
    r = aside("--put-back", "0" * 32)
    eq(r.returncode, 1, "--put-back of a request never set aside")
    check("no action with request %s is set aside" % ("0" * 32) in r.stderr,
          r.stderr)
    r = aside("--put-back", mia_id)
    eq(r.returncode, 0, "--put-back: " + r.stderr)
    check("put back request %s (check %s in to %s, family %s) as action 1;"
          % (mia_id, ids["mia"], ids["room"], ids["fa"]) in r.stdout,
          r.stdout)
    r = aside("--put-back", mia_id)
    eq(r.returncode, 1, "put back twice")
    check("already waiting, as action 1" in r.stderr, r.stderr)
    eq([(a["seq"], a["req"]) for a in kp.pending(qpath)], [(1, mia)],
       "waiting again, whole, as action 1 (the queue was empty)")
    with open(qpath + ".refused") as f:
        lines = f.read().splitlines()
    eq(len(lines), 3, "set aside twice, put back once: %r" % lines)
    check(re.fullmatch(r"\d+ put-back \S+CheckInChild request=%s made=\d+ "
                       r"family=%s as=1" % (mia_id, ids["fa"]), lines[2]),
          "the put-back line: %r" % lines[2])
    k.start()
    k.expect(r"1 action made offline sent", timeout=60)
    eq(kp.pending(qpath), [], "the queue is empty")
    eq([e.call.request for e in entries(co, before)], [mia],
       "one entry: the action put back, verbatim")
    r = aside("--put-back", odd_id)
    eq(r.returncode, 1, "--put-back while the kiosk runs: " + r.stderr)
    check("in use by a running kiosk" in r.stderr, r.stderr)
    k.stop()
    r = aside("--put-back", mia_id)
    eq(r.returncode, 1, "put back once sent: " + r.stdout)
    check("was put back already (as action 1)" in r.stderr, r.stderr)
    # The other goes back marked as tried once, as it was.
    r = aside("--put-back", odd_id)
    eq(r.returncode, 0, "--put-back of the other: " + r.stderr)
    (q,) = kp.pending(qpath)
    eq((q["seq"], q["req"], q["flags"] & 1), (1, odd, 1), "action 1")
    r = aside("--check-queue")
    check(re.search(r"1 action waiting\n  1  .*sent once\)\n$", r.stdout),
          "nothing left set aside: %r" % r.stdout)
    # A line cut short by a crash, in its base64 at a whole quantum (so
    # it still decodes): the next line written starts a line of its own,
    # and the cut one is not offered back.
    leo = cb.pb.ChildCheckOutRequest(
        request_id=cb.request_id(), centre="huada", child=ids["leo"],
        adult=ids["a1"], event_time_ms=cb.now_ms() - 7200000,
        presence=cb.pb.PRESENCE_OFFLINE).SerializeToString()
    whole = ("%d set-aside %sCheckOutChild request=%s made=%d family=%s "
             "tried=no crc32c=%08x request_base64=%s" % (
                 cb.now_ms(), kp.K, leo[2:18].hex(), cb.now_ms(), ids["fa"],
                 kp.crc_final(leo), base64.b64encode(leo).decode()))
    cut = whole[:whole.index("request_base64=") + 15 + 24]
    eq(len(base64.b64decode(cut.split("request_base64=")[1])), 18,
       "the cut base64 still decodes")
    with open(qpath + ".refused", "a") as f:
        f.write(cut)
    r = aside("--set-aside", "1")
    eq(r.returncode, 0, "--set-aside after a cut line: " + r.stderr)
    with open(qpath + ".refused") as f:
        lines = f.read().split("\n")
    eq(lines[-3:-1][0], cut, "the cut line, ended by the next writer")
    check(re.match(r"\d+ set-aside \S+Later request=%s " % odd_id,
                   lines[-2]), "the next line, whole: %r" % lines[-2])
    eq(lines[-1], "", "the file ends in a newline")
    r = aside("--put-back", leo[2:18].hex())
    eq(r.returncode, 1, "--put-back of a cut line: " + r.stdout)
    check("no action with request %s is set aside" % leo[2:18].hex()
          in r.stderr, r.stderr)
    r = aside("--put-back", odd_id)
    eq(r.returncode, 0, "--put-back after a cut line: " + r.stderr)
    eq([a["req"] for a in kp.pending(qpath)], [odd], "whole")
    # Whole, the same line is offered back, byte for byte.
    with open(qpath + ".refused", "a") as f:
        f.write(whole + "\n")
    r = aside("--put-back", leo[2:18].hex())
    eq(r.returncode, 0, "--put-back of the whole line: " + r.stderr)
    eq([a["req"] for a in kp.pending(qpath)], [odd, leo], "both, whole")
    s.stop()


def plain():
    s = cb.Server(centre="huada").start()
    work = cb.scratch("cb-kiosk-")
    ids, co, keyfile = kp.centre(s, work)
    args = kp.kiosk_args(s, work, keyfile, ids)
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "TERM": "dumb",
           "CAREBANK_CONFIG": os.path.join(work, "none.conf")}
    r = subprocess.run([kp.KIOSK_BIN] + args, input="1001\n2468\n1\n0\n",
                       capture_output=True, text=True, env=env, timeout=60)
    eq(r.returncode, 0, "the kiosk's exit at the end of its input")
    check("\x1b" not in r.stdout, "no escape sequences in plain mode")
    for want in ("Scan your card", "Hello, Wang Fang",
                 "REFUSED: The room is full", "ROOM_FULL"):
        check(want in r.stdout, "plain output lacks %r:\n%s" %
              (want, r.stdout))
    check("2468" not in r.stdout + r.stderr, "the PIN is not shown")
    # Without a card prefix, a card is a line typed in a burst; a PIN
    # typed as fast (here, piped) is still a PIN.
    bare = list(args)
    del bare[bare.index("--card-prefix"):bare.index("--card-prefix") + 2]
    r = subprocess.run([kp.KIOSK_BIN] + bare, input="CARD-1001\n2468\n0\n",
                       capture_output=True, text=True, env=env, timeout=60)
    eq(r.returncode, 0, "the kiosk's exit at the end of its input")
    check("Card read." in r.stdout and "Hello, Wang Fang" in r.stdout and
          "do not match" not in r.stdout,
          "a card, then its PIN, without a prefix:\n" + r.stdout)
    # A name the server sent with an escape sequence in it is shown with
    # '?' for the control character: nothing from the server acts on the
    # kiosk's terminal.
    proxy = TamperProxy(s.port, b"Wang Fang", b"W\x1b[2JFang")
    args[args.index("--server") + 1] = proxy.addr
    r = subprocess.run([kp.KIOSK_BIN] + args, input="1001\n2468\n0\n",
                       capture_output=True, text=True, env=env, timeout=60)
    check(proxy.tampered >= 1, "the proxy changed the family's view")
    check("\x1b" not in r.stdout and "Hello, W?[2JFang" in r.stdout,
          "the changed name on the screen:\n%s" % r.stdout)
    proxy.close()
    s.stop()


def damaged():
    work = cb.scratch("cb-kiosk-")
    qpath = os.path.join(work, "kiosk.queue")
    reqs = [cb.pb.ChildCheckOutRequest(
        request_id=cb.request_id(), centre="huada", child="c%d" % n,
        adult="a1", event_time_ms=cb.now_ms(),
        presence=cb.pb.PRESENCE_OFFLINE).SerializeToString()
        for n in (5, 6, 7)]
    recs = [kp.record(kp.action_body(n + 1, cb.now_ms(),
                                     kp.K + "CheckOutChild", "f1", r))
            for n, r in enumerate(reqs)]
    data = bytearray(kp.HEADER + b"".join(recs))
    data[16 + len(recs[0]) + 20] ^= 0x40   # in the second record
    with open(qpath, "wb") as f:
        f.write(data)
    out = subprocess.run([kp.KIOSK_BIN, "--check-queue", "--queue", qpath],
                         capture_output=True, text=True)
    eq(out.returncode, 1, "--check-queue on a damaged queue")
    check("DAMAGED" in out.stdout and "record 2" in out.stdout,
          "--check-queue says where: %r" % out.stdout)
    # The kiosk starts (no server needed to see it), reports and keeps it.
    k = kp.Kiosk(["--server", "127.0.0.1:1", "--key",
                  os.path.join(work, "nokey.pem"), "--centre", "huada",
                  "--queue", qpath], work)
    k.proc.wait(30)
    k.close()
    check("key" in k.stderr(), "the kiosk needs its key: " + k.stderr())
    cb.Key().save(os.path.join(work, "k.pem"))
    k = kp.Kiosk(["--server", "127.0.0.1:1", "--key",
                  os.path.join(work, "k.pem"), "--centre", "huada",
                  "--queue", qpath, "--retry", "60"], work)
    k.expect(r"1 action is waiting")
    k.expect(r"A damaged offline queue is kept in")
    err = k.stderr()
    check("damaged at byte %d (record 2)" % (16 + len(recs[0])) in err,
          "stderr says where: " + err)
    kept = [n for n in os.listdir(work) if ".damaged-" in n]
    eq(len(kept), 1, "one damaged file kept")
    with open(os.path.join(work, kept[0]), "rb") as f:
        eq(f.read(), bytes(data), "the damaged file is kept whole")
    eq([a["req"] for a in kp.pending(qpath)], reqs[:1],
       "the intact action before the damage carries on")
    k.stop()


def usage():
    r = subprocess.run([kp.KIOSK_BIN, "--help"], capture_output=True,
                       text=True)
    eq(r.returncode, 0, "--help")
    for want in ("NAME", "SYNOPSIS", "--queue FILE", "--idle SECONDS",
                 "EXIT STATUS", "OFFLINE"[:3]):
        check(want in r.stdout, "--help lacks %r" % want)
    r = subprocess.run([kp.KIOSK_BIN, "--nonsense"], capture_output=True)
    eq(r.returncode, 2, "an unknown flag")
    r = subprocess.run([kp.KIOSK_BIN, "--idle", "1"], capture_output=True)
    eq(r.returncode, 2, "--idle out of range")
    r = subprocess.run([kp.KIOSK_BIN, "--room", "Sunflower"],
                       capture_output=True)
    eq(r.returncode, 2, "a room without an id")
    work = cb.scratch("cb-kiosk-")
    conf = os.path.join(work, "client.conf")
    with open(conf, "w") as f:
        f.write("colour = blue\n")
    r = subprocess.run([kp.KIOSK_BIN, "--check-queue"], capture_output=True,
                       text=True, env={"CAREBANK_CONFIG": conf,
                                       "HOME": work})
    eq(r.returncode, 2, "an unknown config key")
    check("client.conf:1" in r.stderr, "says which line: " + r.stderr)
    with open(conf, "w") as f:
        f.write("queue = %s/q\nidle = 30\nroom = r1 Sunflower room\n" % work)
    r = subprocess.run([kp.KIOSK_BIN, "--check-queue"], capture_output=True,
                       text=True, env={"CAREBANK_CONFIG": conf,
                                       "HOME": work})
    eq(r.returncode, 0, "the kiosk's keys in the config file")
    check("%s/q: no queue file" % work in r.stdout, r.stdout)
    # Without a server, key or centre it says which is missing.
    r = subprocess.run([kp.KIOSK_BIN, "--queue", work + "/q2"],
                       capture_output=True, text=True,
                       env={"HOME": work, "CAREBANK_CONFIG": conf + "x"},
                       stdin=subprocess.DEVNULL)
    eq(r.returncode, 1, "no server")
    check("say which server" in r.stderr, r.stderr)
    r = subprocess.run([kp.KIOSK_BIN, "--make-key", conf],
                       capture_output=True, text=True)
    eq(r.returncode, 1, "--make-key never overwrites a file")


def arrival():
    """The next parent comes while the last one's screen is still open."""
    s, work, ids, co, k = opened()
    on_shift(k)
    k.choose("Check Mia in")
    k.expect(r"Mia is checked in")
    before = log_size(co)
    # Li Wei types her member code at Wang Fang's open family screen,
    # slowly (0.4 s a key): its keys are not Wang Fang's choices ("2  Check
    # Leo in", each a key then Enter), but Li Wei's visit.
    k.type("2001\r", gap=0.4)
    k.expect(r"Member code typed\.")
    k.expect(r"PIN:")
    k.type("8642\r", gap=0.02)
    k.expect(r"Hello, Li Wei")
    # A card scanned at Li Wei's screen, the prefix and a burst.
    k.type(";CARD-1001\r", gap=0.005)
    k.expect(r"Card read\.")
    k.expect(r"PIN:")
    # The same card scanned again at that PIN prompt, left open: not a
    # PIN tried for Wang Fang, but a new visit.
    k.type(";CARD-1001\r", gap=0.005)
    k.expect(r"Card read\.")
    k.expect(r"PIN:")
    k.type("2468\r", gap=0.02)
    k.expect(r"Hello, Wang Fang")
    t = k.screen()
    check("do not match" not in t, "no wrong PIN was counted:\n" + t)
    eq(entries(co, before), [], "nothing done for anyone by the keys")
    # A choice is one key, then Enter.
    k.choose("Check Leo in")
    k.expect(r"Leo is checked in")
    got = entries(co, before)
    eq(len(got), 1, "one entry, the choice")
    eq(cb.pb.ChildCheckInRequest.FromString(got[0].call.request).child,
       ids["leo"], "Leo checked in, by Wang Fang's choice")
    k.type("0\r")
    k.expect(r"Scan your card")
    k.stop()
    s.stop()


def overstay():
    """A volunteer still on her shift after its scheduled end ends it at
    the kiosk."""
    s, work, ids, co, k = opened()
    now = cb.now_ms()
    shift = co.write(cb.C + "ScheduleShift", cb.pb.ScheduleShiftRequest(
        room=ids["room"], start_ms=now - 600000, end_ms=now + 3000,
        adult=ids["b1"]))[0].result.id
    k.identify("2001", "8642")
    k.expect(r"Hello, Li Wei")
    k.choose("Start your shift")
    k.expect(r"Receipt: entry \d+, verified")
    k.type("0\r")
    time.sleep(max(0, now + 3500 - cb.now_ms()) / 1000)
    k.identify("2001", "8642")
    k.expect(r"Hello, Li Wei")
    k.expect(r"Your next shifts")
    k.choose("End your shift")
    k.expect(r"Your shift has ended: \d+ min credited")
    r = co.call(cb.C + "Roster", cb.spb.RosterRequest(from_ms=now - 1))
    check(r.ok, "Roster: %s %s" % (r.code, r.details))
    got = {x.id: x.status for x in
           cb.spb.RosterReport.FromString(r.raw).shifts}
    eq(got.get(shift), "done", "the shift, ended")
    k.type("0\r")
    k.stop()
    s.stop()


def handed_on():
    """A volunteer's start, made offline before her shift was handed on
    by a swap, arrives after it: the shift is hers to end (rules 5), not
    the new adult's, and the roster says who works it."""
    s, work, ids, co, k = opened()
    before = cb.now_ms() - 60000
    w = co.write(K + "OfferSwap", cb.pb.OfferSwapRequest(
        shift=ids["s1"], kind=cb.pb.SWAP_KIND_COVER,
        to_adult=ids["b1"]))[0].result.id
    co.write(K + "AnswerSwap", cb.pb.AnswerSwapRequest(
        swap=w, adult=ids["b1"], accept=True))   # done: no approval
    co.write(K + "StartShift", cb.pb.VolunteerCheckInRequest(
        shift=ids["s1"], adult=ids["a1"], event_time_ms=before,
        presence=cb.pb.PRESENCE_OFFLINE))
    r = co.call(cb.C + "Roster", cb.spb.RosterRequest(from_ms=1))
    check(r.ok, "Roster: %s %s" % (r.code, r.details))
    got = {x.id: (x.adult, x.status, x.worker) for x in
           cb.spb.RosterReport.FromString(r.raw).shifts}
    eq(got[ids["s1"]], (ids["b1"], "working", ids["a1"]),
       "responsible, status and worker")
    k.identify("2001", "8642")
    k.expect(r"Hello, Li Wei")
    t = k.screen()
    check("End your shift" not in t, "Li Wei is offered the end of a "
          "shift Wang Fang works:\n" + t)
    k.type("0\r")
    k.identify("1001", "2468")
    k.expect(r"Hello, Wang Fang")
    k.choose("End your shift")
    k.expect(r"Your shift has ended: \d+ min credited")
    k.type("0\r")
    k.stop()
    s.stop()


TESTS = {"kiosk.door": door, "kiosk.refusals": refusals,
         "kiosk.offline": offline, "kiosk.midvisit": midvisit,
         "kiosk.pickup_offline": pickup_offline,
         "kiosk.shortage": shortage, "kiosk.setaside": setaside,
         "kiosk.plain": plain, "kiosk.damaged": damaged,
         "kiosk.usage": usage, "kiosk.arrival": arrival,
         "kiosk.overstay": overstay, "kiosk.handed_on": handed_on}

def options(ap):
    ap.add_argument("--mdbfail", help="the mdbfail shim of tests/robust")


if __name__ == "__main__":
    cb.main(TESTS, __doc__, options)
