#!/usr/bin/python3
"""carebank, the coordinator's client, end to end: the real binary (its
path in $COORD_BIN) against a real carebankd on 127.0.0.1 port 0.

  e2e.coord_day       a centre's week through the command line: families,
                      adults with PINs, children, pickup lists, a room, the
                      roster, swaps, the door from the desk, cash, supplies,
                      a reversal, the settlement's dry run and run, a
                      forgotten session closed; every report as a table
                      (exactly), JSON (its numbers) and CSV (parsed)
  e2e.coord_keys      key enrol (a key file 0600, or a public key) and
                      revoke; a revoked key is refused; a refused enrolment
                      leaves no key file
  e2e.coord_pin       a PIN from stdin or a terminal (no echo) reaches the
                      directory (the kiosk identifies with it) and never
                      appears in argv, the output or the server's log
  e2e.coord_usage     --help for the program and every command (exit 0);
                      bad usage (exit 2) says what was wrong
  e2e.coord_errors    refusals, an unreachable server, an unknown key, a
                      key file too open, a receipt that does not verify
                      against the pinned key: exit 1 and what to do; the
                      config file stands in for flags
  e2e.coord_cleartext  cleartext only to loopback without a CA or client
                      certificate; to any other address TLS, never a
                      call in the clear
  e2e.coord_retry     a write whose answer is lost is sent again with the
                      same request id and made once
  e2e.coord_flag_pages  more flags than a page: flagged lists them all
"""
import csv
import io
import json
import os
import pty
import re
import select
import shlex
import signal
import socket
import stat
import subprocess
import threading
import time
from concurrent import futures

import grpc

import cbclient as cb
from cbclient import K, check, eq
from proxies import BlackholeProxy, TamperProxy

BIN = os.environ.get("COORD_BIN", "")
OFFSET = 480 * 60000   # the default policy's UTC offset, in ms
DAY = 86400000


def local(ms, fmt="%Y-%m-%d %H:%M"):
    """A time as the centre writes it (UTC+8)."""
    return time.strftime(fmt, time.gmtime((ms + OFFSET) // 1000))


class Coord:
    """Runs the carebank binary as the centre's coordinator."""

    def __init__(self, s, vkey=True):
        self.s = s
        self.dir = os.path.join(s.dir, "coord")
        os.makedirs(self.dir, exist_ok=True)
        self.key = os.path.join(s.data, "keys", s.centre + ".coordinator.pem")
        self.vkey = os.path.join(s.data, s.centre + ".vkey")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.dir,
            "CAREBANK_CONFIG": os.path.join(self.dir, "none.conf"),
            "CAREBANK_SERVER": "127.0.0.1:%d" % s.port,
            "CAREBANK_KEY": self.key,
            "CAREBANK_CENTRE": s.centre,
            "ASAN_OPTIONS": "detect_leaks=1",
        }
        if vkey:
            self.env["CAREBANK_VKEY"] = self.vkey
        self.runs = []

    def run(self, *args, stdin="", env=None, code=None):
        """Runs carebank ARGS; checks the exit status when code is set."""
        e = dict(self.env)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        # Bytes, decoded here: text mode would turn CSV's CRLF into LF.
        r = subprocess.run([BIN] + list(args), input=stdin.encode(), env=e,
                           capture_output=True, timeout=120, cwd=self.dir)
        r.stdout = r.stdout.decode()
        r.stderr = r.stderr.decode()
        self.runs.append(r)
        if code is not None and r.returncode != code:
            raise cb.Failure("carebank %s: exit %d, want %d\nstdout:\n%s"
                             "stderr:\n%s" % (" ".join(args), r.returncode,
                                              code, r.stdout, r.stderr))
        check("AddressSanitizer" not in r.stderr and
              "runtime error" not in r.stderr,
              "sanitizer report from carebank %s:\n%s" % (args, r.stderr))
        return r

    def ok(self, *args, **kw):
        """A command that must succeed; a write must verify its receipt."""
        r = self.run(*args, code=0, **kw)
        if re.search(r"^entry \d+; receipt", r.stdout, re.M):
            check(re.search(r"^entry \d+; receipt verified: included in "
                            r"the log of \d+ entries, checkpoint signed by "
                            r"carebank\.example\.org/huada$", r.stdout,
                            re.M), "receipt line: %r" % r.stdout)
        return r.stdout

    def new(self, *args, **kw):
        """A write that makes a record: returns the id it printed (-q)."""
        out = self.run(*args, "-q", code=0, **kw).stdout.strip()
        check(re.fullmatch(r"[facrsw]\d+|[0-9a-f]{16}", out),
              "carebank %s -q printed %r" % (args, out))
        return out

    def refused(self, *args, code=1, words=(), **kw):
        """A command that must fail with code, saying words on stderr."""
        r = self.run(*args, code=code, **kw)
        eq(r.stdout, "", "nothing on stdout when carebank %s fails" %
           " ".join(args))
        for w in words:
            check(w in r.stderr, "carebank %s: %r not in %r" %
                  (" ".join(args), w, r.stderr))
        return r.stderr


def server():
    s = cb.Server(centre="huada", origin="carebank.example.org/huada")
    return s.start()


def csv_rows(text):
    """Parses CSV output into a list of dicts (RFC 4180, CRLF lines)."""
    check(text.endswith("\r\n"), "CSV lines end in CRLF")
    return list(csv.DictReader(io.StringIO(text, newline="")))


# The centre's week.

def enrol(c):
    """Three families with an adult (PIN by stdin) and a child each, the
    pickup lists and a room; returns the ids."""
    ids = {"fam": {}, "adult": {}, "child": {}}
    names = {"A": "Wang", "B": "李", "C": "Chen"}
    for n in "ABC":
        ids["fam"][n] = c.new("family", "add", "--name", names[n])
    for i, n in enumerate("ABC"):
        ids["adult"][n] = c.new("adult", "add", "--family", ids["fam"][n],
                                "--guardian", "--name", names[n] + " parent",
                                "--card", "CARD-" + n, "--pin",
                                stdin="24%d8\n" % i)
        ids["child"][n] = c.new("child", "add", "--family", ids["fam"][n],
                                "--name", names[n] + " child")
        out = c.ok("pickup", "set", ids["child"][n], "--authorised",
                   ids["adult"][n])
        check(out.startswith("pickup lists of %s replaced: may collect: %s; "
                             "refused: nobody\n" %
                             (ids["child"][n], ids["adult"][n])), out)
    out = c.ok("room", "add", "--label", "Sunflower room")
    m = re.match(r"room (r\d+) added: Sunflower room \(the policy's ratios\)"
                 r"\n", out)
    check(m, out)
    ids["room"] = m.group(1)
    return ids


def roster(c, ids, W):
    """Last week's roster, a cover swap approved, an exchange withdrawn,
    a shift cancelled; the roster table, exactly."""
    D1, D2 = W + cb.DAY_MS, W + 2 * cb.DAY_MS
    A, B, C = (ids["adult"][n] for n in "ABC")
    r = ids["room"]
    out = c.ok("shift", "add", "--room", r, "--adult", A, "--start",
               local(D1 + 8 * cb.HOUR_MS), "--end", "11:00")
    m = re.match(r"shift (s\d+) scheduled: Tue (\S+ 08:00) to 11:00 in "
                 r"room %s, adult %s\n" % (r, A), out)
    check(m and m.group(2) == local(D1 + 8 * cb.HOUR_MS), out)
    s1 = m.group(1)
    # ISO 8601 with a zone: 09:00 at UTC+8 is 01:00Z.
    s2 = c.new("shift", "add", "--room", r, "--adult", A, "--start",
               local(D2 + 9 * cb.HOUR_MS - OFFSET, "%Y-%m-%dT%H:%MZ"),
               "--end", local(D2 + 12 * cb.HOUR_MS))
    s3 = c.new("shift", "add", "--room", r, "--adult", C, "--start",
               local(D2 + 13 * cb.HOUR_MS), "--end", "15:00")
    w1 = c.new("swap", "offer", s2, "--to", B)
    out = c.ok("swap", "list")
    eq(out, "SWAP  KIND   SHIFT  FOR  FROM  TO  STATUS\n"
            "%-4s  cover  %-5s       %-4s  %-2s  offered\n" % (w1, s2, A, B),
       "swap list")
    c.refused("swap", "answer", w1, "--adult", C, "--accept",
              words=["REFUSAL_SHIFT_NOT_ASSIGNED"])
    c.ok("swap", "answer", w1, "--adult", B, "--accept")
    out = c.ok("swap", "approve", w1)
    check(out.startswith("swap %s approved: the shifts have changed hands\n"
                         % w1), out)
    c.refused("swap", "approve", w1, words=["REFUSAL_SWAP_STATE"])
    w2 = c.new("swap", "offer", s3, "--to", A, "--exchange", s1)
    c.ok("swap", "withdraw", w2)
    eq(c.ok("swap", "list"), "no open swaps\n", "no open swaps")
    eq([(x["swap"], x["status"]) for x in
        csv_rows(c.ok("swap", "list", "--all", "--csv"))],
       [(w1, "done"), (w2, "withdrawn")], "swap list --all")
    # A shift at a time: three pages, the same list and roster.
    eq(c.ok("swap", "list", "--all", "--page", "1"),
       c.ok("swap", "list", "--all"), "swap list --all --page 1")
    eq(c.ok("roster", "--all", "--page", "1", "--csv"),
       c.ok("roster", "--all", "--csv"), "roster --all --page 1")
    for bad in ("0", "10001", "x", "-1"):
        c.refused("roster", "--all", "--page", bad, code=2,
                  words=["--page is a number of shifts from 1 to 10000"])
    c.refused("swap", "list", "--page", "5", code=2,
              words=["--page reads every swap: it goes with --all"])
    c.ok("shift", "cancel", s3, "--reason", "enough volunteers")
    out = c.ok("roster", "--week", local(D2, "%Y-%m-%d"))
    day1, day2 = local(D1, "%Y-%m-%d"), local(D2, "%Y-%m-%d")
    eq(out, "week of Mon %s to Sun %s\n"
            "SHIFT  DAY             TIME         ROOM  ADULT  STATUS     SWAP\n"
            "%-5s  Tue %s  08:00-11:00  %-4s  %-5s  scheduled\n"
            "%-5s  Wed %s  09:00-12:00  %-4s  %-5s  scheduled\n"
            "%-5s  Wed %s  13:00-15:00  %-4s  %-5s  cancelled\n" %
       (local(W, "%Y-%m-%d"), local(W + 6 * cb.DAY_MS, "%Y-%m-%d"),
        s1, day1, r, A, s2, day2, r, B, s3, day2, r, C), "roster table")
    js = json.loads(c.ok("roster", "--week", day1, "--json"))
    eq([(x["id"], x["adult"], x["start_ms"], x["end_ms"]) for x in
        js["shifts"]],
       [(s1, A, D1 + 8 * cb.HOUR_MS, D1 + 11 * cb.HOUR_MS),
        (s2, B, D2 + 9 * cb.HOUR_MS, D2 + 12 * cb.HOUR_MS),
        (s3, C, D2 + 13 * cb.HOUR_MS, D2 + 15 * cb.HOUR_MS)], "roster json")
    rows = csv_rows(c.ok("roster", "--week", day1, "--csv"))
    eq([(x["shift"], x["start_ms"], x["status"]) for x in rows],
       [(s1, str(D1 + 8 * cb.HOUR_MS), "scheduled"),
        (s2, str(D2 + 9 * cb.HOUR_MS), "scheduled"),
        (s3, str(D2 + 13 * cb.HOUR_MS), "cancelled")], "roster csv")
    eq(c.ok("roster", "--week", local(W - cb.DAY_MS, "%Y-%m-%d")),
       "week of Mon %s to Sun %s\nno shifts\n" %
       (local(W - 7 * cb.DAY_MS, "%Y-%m-%d"), local(W - cb.DAY_MS,
                                                     "%Y-%m-%d")),
       "an empty week")
    return s1, s2


def door(c, ids, W, s1, s2):
    """The week's door events, entered at the desk with --at."""
    D1, D2 = W + cb.DAY_MS, W + 2 * cb.DAY_MS
    A, B, C = (ids["adult"][n] for n in "ABC")
    kid = ids["child"]
    r = ids["room"]

    def at(day, h, m=0):
        return local(day + h * cb.HOUR_MS + m * 60000)

    c.ok("shift", "start", s1, "--adult", A, "--at", at(D1, 8))
    for n in "BC":
        out = c.ok("child", "in", kid[n], "--room", r, "--adult",
                   ids["adult"][n], "--at", at(D1, 8, 30))
        check("recorded as a late event" in out, out)
    for n in "BC":
        out = c.ok("child", "out", kid[n], "--adult", ids["adult"][n],
                   "--at", at(D1, 10, 30))
        check("  care 2:00: 2:00 paid in minutes, 0.00 yuan charged\n"
              "  family %s now has -2:00 minutes and owes 0.00 yuan\n" %
              ids["fam"][n] in out, out)
    c.refused("child", "out", kid["B"], "--adult", B, "--at",
              at(D1, 10, 40), words=["REFUSAL_CHILD_NOT_IN"])
    out = c.ok("shift", "end", s1, "--adult", A, "--at", at(D1, 11))
    check("  credited 3:00\n  family %s now has 3:00 minutes" %
          ids["fam"]["A"] in out, out)
    c.ok("shift", "start", s2, "--adult", B, "--at", at(D2, 9))
    c.ok("child", "in", kid["C"], "--room", r, "--adult", C, "--at",
         at(D2, 9))
    c.ok("child", "in", kid["A"], "--room", r, "--adult", A, "--at",
         at(D2, 9, 15))
    out = c.ok("child", "out", kid["A"], "--adult", A, "--at",
               at(D2, 9, 45))
    mistake = int(re.search(r"^entry (\d+);", out, re.M).group(1))
    out = c.ok("reverse", str(mistake), "--reason", "wrong child scanned")
    check(out.startswith("entry %d reversed: wrong child scanned\n" %
                         mistake), out)
    check("family %s now has 3:00 minutes" % ids["fam"]["A"] in out, out)
    c.refused("reverse", str(mistake), "--reason", "again",
              words=["REFUSAL_ALREADY_REVERSED"])
    c.ok("child", "out", kid["A"], "--adult", A, "--at", at(D2, 10, 22))
    out = c.ok("child", "out", kid["C"], "--adult", C, "--at", at(D2, 12))
    check("  care 3:00: 0:00 paid in minutes, 60.00 yuan charged\n" in out,
          out)
    c.ok("shift", "end", s2, "--adult", B, "--at", at(D2, 12))
    c.refused("supplies", "--amount", "15", "--memo", "paints and clay",
              "--receipt", "S-0001", words=["REFUSAL_FUND_TOO_SMALL",
                                            "carebank fund"])
    out = c.ok("cash", "--family", ids["fam"]["C"], "--amount", "60",
               "--receipt", "R-0001")
    check(out.startswith("60.00 yuan received from family %s (receipt "
                         "R-0001)\n  family %s now has -2:00 minutes and "
                         "owes 0.00 yuan\n  the fund holds 60.00 yuan\n" %
                         (ids["fam"]["C"], ids["fam"]["C"])), out)
    out = c.ok("supplies", "--amount", "15.00", "--memo", "paints and clay",
               "--receipt", "S-0001")
    check(out.startswith("supplies bought for 15.00 yuan: paints and clay "
                         "(receipt S-0001)\n  the fund holds 45.00 yuan\n"),
          out)


def settle(c, ids, W):
    """The week's settlement: dry run (table, JSON, CSV), run, again."""
    fa, fb = ids["fam"]["A"], ids["fam"]["B"]
    day = local(W + cb.DAY_MS, "%Y-%m-%d")
    out = c.ok("settle", "--period", day, "--dry-run")
    eq(out, "settlement of the week of %s (preview: nothing is written)\n"
            "pool 45.00 yuan, paid 45.00 yuan\n"
            "FAMILY  SURPLUS  SHARE  BOUGHT\n"
            "%-6s     1:53  29.39    1:29\n"
            "%-6s     1:00  15.61    0:47\n" %
       (local(W, "%Y-%m-%d"), fa, fb), "settlement preview")
    js = json.loads(c.ok("settle", "--period", day, "--dry-run", "--json"))
    eq((js["pool_fen"], js["paid_fen"]), (4500, 4500), "preview json")
    eq({x["family"]: (x["surplus"], x["share_fen"], x["minutes_bought"])
        for x in js["shares"]}, {fa: (113, 2939, 89), fb: (60, 1561, 47)},
       "preview json shares")
    rows = csv_rows(c.ok("settle", "--period", day, "--dry-run", "--csv"))
    eq([(x["family"], x["share_fen"]) for x in rows],
       [(fa, "2939"), (fb, "1561")], "preview csv")
    nxt = local(W + 7 * cb.DAY_MS, "%Y-%m-%d")
    c.refused("settle", "--period", nxt,
              words=["REFUSAL_PERIOD_NOT_OVER", "and previewed"])
    # A refused preview has no pool and no shares: in no format does it
    # read as "nobody to pay".
    for fmt in ((), ("--csv",)):
        c.refused("settle", "--period", nxt, "--dry-run", *fmt,
                  words=["refused: the period is not over yet "
                         "(REFUSAL_PERIOD_NOT_OVER)"])
    r = c.run("settle", "--period", nxt, "--dry-run", "--json", code=1)
    eq(json.loads(r.stdout)["refusal"], "REFUSAL_PERIOD_NOT_OVER",
       "a refused preview's JSON")
    check("REFUSAL_PERIOD_NOT_OVER" in r.stderr, r.stderr)
    c.refused("settle", "--period", local(W, "%Y-%m"), code=2,
              words=["bills by the week"])
    out = c.ok("settle", "--period", day)
    check(out.startswith("the week of %s settled: 45.00 yuan paid to 2 "
                         "families\n  the fund holds 0.00 yuan\n" %
                         local(W, "%Y-%m-%d")), out)
    c.refused("settle", "--period", day, words=["REFUSAL_PERIOD_SETTLED"])


def reports(c, ids, W):
    """Balances, fund and statement after the week, in three formats."""
    fa, fb, fc = (ids["fam"][n] for n in "ABC")
    eq(c.ok("balances"),
       "FAMILY  NAME  MINUTES  OWES  AT FLOOR  LEFT\n"
       "%-6s  Wang     0:24  0.00\n"
       "%-6s  李       0:13  0.00\n"
       "%-6s  Chen    -2:00  0.00  yes\n"
       "fund 0.00 yuan; families hold -1:23 in minutes\n" % (fa, fb, fc),
       "balances table")
    js = json.loads(c.ok("balances", "--json"))
    eq({f["family"]: (f["name"], f["minutes"], f["owed_fen"], f["at_floor"])
        for f in js["families"]},
       {fa: ("Wang", 24, 0, False), fb: ("李", 13, 0, False),
        fc: ("Chen", -120, 0, True)}, "balances json")
    eq((js["fund_fen"], js["time_issued"]), (0, -83), "balances json totals")
    rows = csv_rows(c.ok("balances", "--csv"))
    eq(list(rows[0].keys()), ["family", "name", "minutes", "owed_fen",
                              "at_floor", "left"], "balances csv header")
    eq([(x["family"], x["name"], x["minutes"], x["at_floor"]) for x in rows],
       [(fa, "Wang", "24", "false"), (fb, "李", "13", "false"),
        (fc, "Chen", "-120", "true")], "balances csv")
    eq(c.ok("fund"),
       "ITEM                   YUAN\n"
       "the fund holds         0.00\n"
       "care charged in cash  60.00\n"
       "cash received         60.00\n"
       "spent on supplies     15.00\n"
       "paid as subsidies     45.00\n"
       "owed by families       0.00\n", "fund table")
    js = json.loads(c.ok("fund", "--json"))
    eq(js, {"fund_fen": 0, "income_fen": 6000, "received_fen": 6000,
            "supplies_fen": 1500, "subsidies_fen": 4500, "owed_fen": 0},
       "fund json")
    eq({x["item"]: x["fen"] for x in csv_rows(c.ok("fund", "--csv"))},
       {"fund": "0", "income": "6000", "received": "6000",
        "supplies": "1500", "subsidies": "4500", "owed": "0"}, "fund csv")
    # From last week's Monday to today: the care, and the cash paid now.
    first, last = local(W, "%Y-%m-%d"), local(cb.now_ms(), "%Y-%m-%d")
    js = json.loads(c.ok("statement", fc, "--from", first, "--to", last,
                         "--json"))
    eq((js["family"], js["name"], js["minutes"], js["owed_fen"]),
       (fc, "Chen", -120, 0), "statement json")
    eq([(x["minutes"], x["fen"], x["minutes_balance"], x["owed_balance"])
        for x in js["lines"]],
       [(-120, 0, -120, 0), (0, 6000, -120, 6000), (0, -6000, -120, 0)],
       "statement json lines")
    out = c.ok("statement", fc, "--from", first, "--to", last)
    lines = out.split("\n")
    eq(lines[0], "statement of family %s (Chen), from %s 00:00 to %s 23:59"
       % (fc, first, last), "statement heading")
    eq(re.split(r"\s+", lines[1]), ["ENTRY", "TIME", "WHAT", "MINUTES",
                                    "CASH", "BALANCE", "OWES", "SUBSIDY"],
       "statement columns")
    eq(len(lines), 7, "statement: heading, header, 3 lines, total, end")
    eq(re.split(r"\s+", lines[3].strip())[-4:],
       ["0:00", "60.00", "-2:00", "60.00"], "the cash charge's line")
    eq(lines[5], "now: -2:00 minutes, owes 0.00 yuan", "statement total")
    rows = csv_rows(c.ok("statement", fc, "--from", first, "--to", last,
                         "--csv"))
    eq([int(x["fen"]) for x in rows], [0, 6000, -6000], "statement csv")
    eq([int(x["entry"]) for x in rows], [x["entry"] for x in js["lines"]],
       "statement csv entries")
    # Wang's settlement: 29.39 yuan paid, buying back 1:29.
    out = c.ok("statement", fa, "--from", first, "--to", last)
    paid = [x for x in out.split("\n") if "settlement" in x]
    eq(len(paid), 1, "one settlement line: " + out)
    eq(re.split(r"\s+", paid[0].strip())[-5:],
       ["-1:29", "0.00", "0:24", "0.00", "29.39"], "the settlement's line")
    check(out.endswith("now: 0:24 minutes, owes 0.00 yuan; paid 29.39 yuan "
                       "in subsidies\n"), out)
    rows = csv_rows(c.ok("statement", fa, "--from", first, "--to", last,
                         "--csv"))
    eq([x["subsidy_fen"] for x in rows if x["what"] == "settlement"],
       ["2939"], "statement csv: the subsidy")


def rooms(c, r):
    """A room's ratios changed (the present table shows them), a policy
    that would cross them refused by name, the room changed back."""
    out = c.ok("room", "set", r, "--label", "Daisy room", "--soft", "5")
    check(out.startswith("room %s is now Daisy room (children per adult: "
                         "warn above 5, refuse above the policy's)\n" % r),
          out)
    row = c.ok("present").splitlines()[1]
    check(row.startswith("%-4s  Daisy room  " % r), row)
    eq(row.split()[-2:], ["5", "6"], "present: the room's own soft ratio")
    err = c.refused("policy", "set", "ratio_soft=3", "ratio_hard=4",
                    words=["REFUSAL_CONFLICT", "room " + r, "SetRoom"])
    check("would warn above 5 children per adult but take only 4" in err,
          err)
    c.refused("room", "set", "r999", "--label", "x",
              words=["REFUSAL_UNKNOWN_ROOM"])
    c.refused("room", "set", r, "--label", "x", "--hard", "3",
              words=["REFUSAL_CONFLICT"])
    out = c.ok("room", "set", r, "--label", "Sunflower room")
    check(out.startswith("room %s is now Sunflower room (the policy's "
                         "ratios)\n" % r), out)


def today(c, ids):
    """Now: a volunteer and a child in, present; the child's session
    and the shift forgotten, closed at the desk and flagged."""
    now = cb.now_ms()
    A, C = ids["adult"]["A"], ids["adult"]["C"]
    r = ids["room"]
    since = "flags waiting for review, however old (--all for every flag)\n"
    eq(c.ok("flagged"), since + "no flag is waiting for review\n",
       "no flags")
    s4 = c.new("shift", "add", "--room", r, "--adult", C, "--start",
               local(now - 30 * 60000), "--end", local(now + 90 * 60000))
    c.ok("shift", "start", s4, "--adult", C, "--at", local(now - 20 * 60000))
    c.ok("child", "in", ids["child"]["A"], "--room", r, "--adult", A,
         "--at", local(now - 10 * 60000))
    eq(c.ok("present"),
       "ROOM  LABEL           CHILDREN  ADULTS  SOFT  HARD\n"
       "%-4s  Sunflower room  %-8s  %-6s     4     6\n" %
       (r, ids["child"]["A"], C), "present table")
    js = json.loads(c.ok("present", "--json"))
    eq([(x["room"], x["children"], x["adults"]) for x in js["rooms"]],
       [(r, [ids["child"]["A"]], [C])], "present json")
    rooms(c, r)
    out = c.ok("close", "--child", ids["child"]["A"], "--at",
               local(now - 60000), "--reason", "forgot to check out")
    check("with no charge and no credit\n" in out and
          "  flagged for review (carebank flagged)\n" in out, out)
    out = c.ok("close", "--shift", s4, "--at", local(now - 60000),
               "--reason", "left without ending it", "--settle")
    check("settled as if checked out then" in out and "credited 0:1" in out,
          out)
    js = json.loads(c.ok("flagged", "--json"))
    eq([f["what"] for f in js["flags"]],
       ["forgot to check out", "left without ending it"], "two flags")
    rows = "".join("%5d  %s  %-22s  open\n" % (
        f["entry"], local(int(f["time_ms"])), f["what"]) for f in js["flags"])
    want = "ENTRY  LOGGED            WHY                     REVIEW  NOTE\n" + \
        rows
    eq(c.ok("flagged"), since + want, "flagged table")
    eq(c.ok("flagged", "--all"), want, "every flag")
    eq(c.ok("flagged", "--from", local(now - 5 * 60000)), want,
       "flags from a time")
    eq(c.ok("flagged", "--from", local(now + DAY, "%Y-%m-%d")),
       "nothing is flagged for review\n", "flags from tomorrow")
    eq([(int(x["entry"]), int(x["time_ms"]))
        for x in csv_rows(c.ok("flagged", "--csv"))],
       [(f["entry"], int(f["time_ms"])) for f in js["flags"]], "flagged csv")
    c.refused("flagged", "--all", "--from", local(now), code=2,
              words=["--all or --from and --to, not both"])
    review(c, [int(f["entry"]) for f in js["flags"]])


def review(c, flags):
    """The desk closes the review of the two flags, one at a time; each
    flag stays, with its review, and is closed once."""
    f1, f2 = flags
    # A note a spreadsheet would take for a formula: CSV shows it as text.
    note = "-10 min: parent called, picked up at 17:05"
    out = c.ok("review", str(f1), "--note", note)
    check(out.startswith("entry %d reviewed: %s\n" % (f1, note)), out)
    done = int(re.search(r"^entry (\d+); receipt", out, re.M).group(1))
    js = json.loads(c.ok("flagged", "--all", "--json"))
    got = {int(f["entry"]): f for f in js["flags"]}
    eq((int(got[f1]["reviewed_by"]), got[f1]["note"]), (done, note),
       "the review beside its flag")
    check(int(got[f1]["reviewed_ms"]) >= int(got[f1]["time_ms"]), got[f1])
    eq((int(got[f2]["reviewed_by"]), got[f2]["note"],
        int(got[f2]["reviewed_ms"])), (0, "", 0), "an open flag")
    table = c.ok("flagged", "--all")
    check(re.search(r"^%5d  .*  %-6d  %s$" % (f1, done, re.escape(note)),
                    table, re.M), table)
    check(re.search(r"^%5d  .*  open$" % f2, table, re.M), table)
    eq([(r["entry"], r["reviewed_by"], r["note"])
        for r in csv_rows(c.ok("flagged", "--all", "--csv"))],
       [(str(f1), str(done), "'" + note), (str(f2), "", "")],
       "flagged csv review")
    eq([int(f["entry"]) for f in json.loads(
        c.ok("flagged", "--all", "--open", "--json")).get("flags", [])],
       [f2], "only the open flag")
    out = c.ok("flagged")
    check(out.startswith("flags waiting for review, however old") and
          re.search(r"^%5d  .*  open$" % f2, out, re.M) and
          not re.search(r"^%5d  " % f1, out, re.M), out)
    c.refused("review", str(f1), "--note", "again",
              words=["REFUSAL_ALREADY_REVIEWED",
                     "entry %d was reviewed by entry %d" % (f1, done),
                     "carebank flagged shows each flag's review"])
    c.refused("review", str(done), "--note", "x",
              words=["REFUSAL_NOT_FLAGGED", "is not flagged for review",
                     "carebank flagged --open"])
    c.refused("review", str(done + 100), "--note", "x",
              words=["REFUSAL_UNKNOWN_ENTRY"])
    c.refused("review", str(f2), code=2, words=["--note"])
    c.refused("review", str(f2), "--note", "", code=2,
              words=["--note is 1 to 128 bytes"])
    c.refused("review", str(f2), "--note", "n" * 129, code=2,
              words=["--note is 1 to 128 bytes"])
    c.refused("review", "f2", "--note", "x", code=2,
              words=["ENTRY is an entry's index (a number), not \"f2\""])
    audit_flags(c, [(f1, done, note), (f2, None, None)])
    c.ok("review", str(f2), "--note", "a short shift; nothing owed")
    eq(c.ok("flagged", "--all", "--open"), "no flag is waiting for review\n",
       "every flag reviewed")
    eq(c.ok("flagged"), "flags waiting for review, however old (--all for "
       "every flag)\nno flag is waiting for review\n", "none waiting")
    eq(len(json.loads(c.ok("flagged", "--all", "--json"))["flags"]), 2,
       "the flags stay")


def audit_flags(c, want):
    """An auditor's export lists the same flags and reviews, offline."""
    out = os.path.join(c.dir, "export")
    tool = os.environ["AUDIT_BIN"]

    def audit(*args):
        r = subprocess.run([tool] + list(args), capture_output=True,
                           timeout=120)
        eq(r.returncode, 0, "carebank-audit %s: %s" % (args[0], r.stderr))
        return r.stdout.decode()
    audit("export", "--data", c.s.data, "--centre", c.s.centre, "--out", out)
    # As carebank's: lines end in CRLF, a formula is quoted as text.
    raw = audit("flags", "--key", c.vkey, "--csv", out)
    eq((raw.count("\r\n"), raw.count("\n")), (3, 3), "CRLF lines: " + raw)
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    eq([(int(r["entry"]), int(r["reviewed_by"]) if r["reviewed_by"] else
         None, r["note"] or None) for r in rows],
       [(e, by, "'" + n if n else n) for e, by, n in want], "audit flags csv")
    eq([r["method"] for r in rows],
       ["/carebank.v1.Coordinator/CloseSession"] * 2, "flagged methods")
    check(rows[0]["reviewed_at"] >= rows[0]["time"] and
          rows[1]["reviewed_at"] == "", rows)
    table = audit("flags", "--key", c.vkey, out)
    check(re.search(r"^%5d  \S+  Coordinator/CloseSession  +%6d  %s$" % (
        want[0][0], want[0][1], re.escape(want[0][2])), table, re.M) and
        re.search(r"^%5d  \S+  Coordinator/CloseSession  +  open  $" %
                  want[1][0], table, re.M) and
        table.endswith("\n2 flagged: 1 reviewed, 1 open\n"), table)


def coord_day():
    s = server()
    c = Coord(s)
    out = c.ok("policy", "set", "billing_period=week",
               "late_limit_ms=2592000000")
    check(out.startswith("policy version 2 is in force:\n"
                         "  billing_period: month -> week\n"
                         "  late_limit_ms: 259200000 -> 2592000000\n"), out)
    pol = json.loads(c.ok("policy", "show", "--json"))
    eq((pol["version"], pol["rules"], pol["policy"]["billing_period"],
        pol["policy"]["rate_fen_per_hour"]),
       (2, 7, "BILLING_PERIOD_WEEK", 2000), "policy show --json")
    table = c.ok("policy", "show")
    check(table.startswith("policy version 2, set by entry 1; the centre "
                           "follows version 7 of the bank's rules\n"
                           "FIELD                       VALUE\n"
                           "rate_fen_per_hour           2000\n"), table)
    check("\nbilling_period              week\n" in table, table)
    rows = csv_rows(c.ok("policy", "show", "--csv"))
    eq(len(rows), 18, "policy fields")
    # A new centre follows the newest rules: nothing newer to adopt.
    c.refused("policy", "rules", "7", words=[
        "REFUSAL_RULES_VERSION", "follows version 7 of the rules already",
        "carebank policy show says which version"])
    c.refused("policy", "rules", "3", words=[
        "REFUSAL_RULES_VERSION", "follows version 7 of the rules already"])
    c.refused("policy", "rules", "8", words=[
        "REFUSAL_RULES_VERSION", "knows versions of the rules up to 7"])
    for bad in ("0", "three", "3x", "4294967296"):
        c.refused("policy", "rules", bad, code=2,
                  words=["VERSION is a version of the bank's rules"])
    ids = enrol(c)
    W = cb.week_start(cb.now_ms()) - 7 * cb.DAY_MS
    s1, s2 = roster(c, ids, W)
    door(c, ids, W, s1, s2)
    settle(c, ids, W)
    reports(c, ids, W)
    today(c, ids)
    # The server's own check: every entry replays to the same state.
    s.replay()
    s.stop()
    s.cleanup()


def coord_keys():
    s = server()
    c = Coord(s)
    out = c.ok("key", "enrol", "--role", "coordinator", "--label", "desk 2",
               "--out", "desk2.pem")
    path = os.path.join(c.dir, "desk2.pem")
    eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "key file mode")
    key = cb.Key.load(path)
    check(out.startswith("coordinator key %s enrolled (desk 2); its private "
                         "key is in desk2.pem (mode 0600)" % key.hex), out)
    c.refused("key", "enrol", "--role", "kiosk", "--label", "door",
              "--out", "desk2.pem", words=["exists", "never overwritten"])
    # The new key works, and is refused once revoked.
    c.ok("balances", "--key", path)
    kiosk = cb.Key()
    eq(c.new("key", "enrol", "--role", "kiosk", "--label", "front door",
             "--public", kiosk.pub.hex()), kiosk.hex, "kiosk key id")
    c.refused("key", "enrol", "--role", "kiosk", "--label", "again",
              "--public", kiosk.pub.hex(), words=["REFUSAL_KEY_EXISTS"])
    auditor = cb.Key()
    import base64
    c.ok("key", "enrol", "--role", "auditor", "--label", "committee",
         "--public", base64.b64encode(auditor.pub).decode())
    out = c.ok("key", "revoke", key.hex, "--reason", "laptop lost")
    check(out.startswith("key %s revoked" % key.hex), out)
    c.refused("balances", "--key", path, words=["may not", "revoked"])
    # A kiosk's key may not enrol keys: the key file made for it goes.
    kiosk.save(os.path.join(c.dir, "kiosk.pem"))
    c.refused("key", "enrol", "--role", "kiosk", "--label", "door 2",
              "--out", "door2.pem", "--key", "kiosk.pem",
              words=["may not", "was removed"])
    check(not os.path.exists(os.path.join(c.dir, "door2.pem")),
          "a refused enrolment leaves no key file")
    c.refused("key", "revoke", s.coord_key.hex, "--reason", "last one",
              words=["REFUSAL_LAST_COORDINATOR"])
    c.refused("key", "revoke", "xyz", "--reason", "r", code=2,
              words=["16 hex digits"])
    s.stop()
    s.cleanup()


def identify(s, kiosk, card, pin):
    """Kiosk.Identify through python's gRPC client: the PIN's check."""
    cl = s.client(kiosk)
    return cl.call(K + "Identify", cb.spb.IdentifyRequest(card=card,
                                                          pin=pin))


def spawn(argv, env):
    """Runs argv on a new pseudo-terminal: (pid, the terminal's fd)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    return pid, fd


def coord_pin():
    s = server()
    c = Coord(s)
    kiosk = cb.Key()
    c.ok("key", "enrol", "--role", "kiosk", "--label", "door", "--public",
         kiosk.pub.hex())
    fam = c.new("family", "add")
    pin = "739164"
    # From stdin: watch the process while it waits for the PIN.
    env = dict(c.env)
    p = subprocess.Popen([BIN, "adult", "add", "--family", fam, "--card",
                          "CARD-P", "--pin"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, cwd=c.dir)
    time.sleep(0.3)
    with open("/proc/%d/cmdline" % p.pid, "rb") as f:
        argv = f.read()
    with open("/proc/%d/environ" % p.pid, "rb") as f:
        environ = f.read()
    out, err = p.communicate((pin + "\n").encode(), timeout=60)
    eq(p.returncode, 0, "adult add --pin: %s" % err.decode())
    check(b"--pin" in argv, "we looked at the right process")
    for where, text in (("argv", argv), ("environment", environ),
                        ("stdout", out), ("stderr", err)):
        check(pin.encode() not in text, "the PIN is in %s" % where)
    check(b"directory of a" in out and b"card, PIN set" in out, out)
    r = identify(s, kiosk, "CARD-P", pin)
    check(r.ok, "Identify with the PIN: %s %s" % (r.code, r.details))
    check(not identify(s, kiosk, "CARD-P", "000000").ok, "a wrong PIN")
    # From a terminal: asked twice, never echoed.
    adult = c.new("adult", "add", "--family", fam)
    # One key at the kiosk's menus is a choice: no card or code of one.
    c.refused("directory", "set", adult, "--member-code", "7", code=2,
              words=("--member-code is 2 to 32 printable",))
    c.refused("directory", "set", adult, "--card", "K", code=2,
              words=("--card is 2 to 64 printable",))
    tpin = "5551234"
    pid, fd = spawn([BIN, "directory", "set", adult, "--member-code",
                     "M-77", "--pin"], env)
    seen = b""

    def expect(what):
        nonlocal seen
        deadline = time.time() + 30
        while what not in seen and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        check(what in seen, "terminal: %r not in %r" % (what, seen))

    expect(b"PIN: ")
    os.write(fd, (tpin + "\n").encode())
    expect(b"PIN again: ")
    os.write(fd, (tpin + "\n").encode())
    expect(b"PIN set")
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    eq(os.waitstatus_to_exitcode(status), 0, "directory set on a terminal")
    check(tpin.encode() not in seen, "the PIN was echoed: %r" % seen)
    r = s.client(kiosk).call(K + "Identify", cb.spb.IdentifyRequest(
        member_code="M-77", pin=tpin))
    check(r.ok, "Identify by member code: %s %s" % (r.code, r.details))
    # Two different PINs on a terminal: nothing is changed.
    pid, fd = spawn([BIN, "directory", "set", adult, "--pin"], env)
    seen = b""
    expect(b"PIN: ")
    os.write(fd, b"1111\n")
    expect(b"PIN again: ")
    os.write(fd, b"2222\n")
    expect(b"differ")
    _, status = os.waitpid(pid, 0)
    eq(os.waitstatus_to_exitcode(status), 1, "two PINs that differ")
    # Never on the command line, nor malformed, nor missing.
    c.refused("adult", "add", "--family", fam, "--pin", "1234", code=2,
              words=["unexpected operand"])
    c.refused("adult", "add", "--family", fam, "--pin=1234", code=2)
    c.refused("directory", "set", adult, "--pin", stdin="12ab\n",
              words=["4 to 12 digits"])
    c.refused("directory", "set", adult, "--pin", stdin="",
              words=["stdin ended"])
    s.stop()
    log = s.log_text()
    for p in (pin, tpin):
        check(p not in log, "the PIN is in the server's log")
    s.cleanup()


def coord_usage():
    s = server()
    c = Coord(s)
    out = c.ok("--help")
    check(out.startswith("NAME\n     carebank - "), out)
    cmds = re.findall(r"^     (\S+(?: \S+)?)  +\S", out.split("COMMANDS\n")[1]
                      .split("\n\n")[0], re.M)
    check(len(cmds) >= 36, "the command list: %r" % cmds)
    for sect in ("SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "ENVIRONMENT",
                 "FILES", "EXIT STATUS", "EXAMPLES"):
        check("\n%s\n" % sect in out, "--help has %s" % sect)
    for cmd in cmds:
        words = cmd.split()
        out = c.ok(*words, "--help")
        check(out.startswith("NAME\n     carebank %s - " % cmd), out)
        check("\nSYNOPSIS\n     carebank %s" % cmd in out, out)
        eq(c.ok("help", *words), out, "carebank help %s" % cmd)
    check("--json" in c.ok("balances", "--help"), "reports say --json")
    bad = [
        ((), "say which command"),
        (("famly", "add"), "not a command"),
        (("family",), "the family commands are"),
        (("balances", "--bogus"), "no such option"),
        (("family", "add", "--room", "r1"), "not an option of"),
        (("cash", "--family", "f1", "--amount", "1"), "--receipt is needed"),
        (("cash", "--family", "f1", "--amount", "1.234", "--receipt", "r"),
         "--amount"),
        (("cash", "--family", "f1", "--amount", "-5", "--receipt", "r"),
         "--amount"),
        (("cash", "--family", "f1", "--amount", "0", "--receipt", "r"),
         "--amount"),
        (("cash", "--family", "f1", "--amount", "99999999999999999999",
          "--receipt", "r"), "--amount"),
        (("cash", "--family", "x1", "--amount", "1", "--receipt", "r"),
         "not a family id"),
        (("room", "add", "--label", "R", "--soft", "0"), "1 to 50"),
        (("room", "add", "--label", "R", "--soft", "5", "--hard", "4"),
         "below"),
        (("room", "add", "--label", "R", "--soft", "9x"), "1 to 50"),
        (("room", "set", "--label", "R"), "too few operands"),
        (("room", "set", "f1", "--label", "R"), "is not a room id"),
        (("room", "set", "r1"), "--label is needed"),
        (("room", "set", "r1", "--label", "R", "--hard", "51"), "1 to 50"),
        (("donate", "--from", "f1", "--to", "f2", "--minutes", "1:60"),
         "--minutes"),
        (("reverse", "abc", "--reason", "r"), "entry's index"),
        (("reverse", "--reason", "r", "--", "-1"), "entry's index"),
        (("reverse", "-1", "--reason", "r"), "no such option"),
        (("family", "add", "--name"), "needs a value"),
        (("reverse", "1"), "--reason is needed"),
        (("reverse", "1", "2", "--reason", "r"), "unexpected operand"),
        (("balances", "--json", "--csv"), "choose one"),
        (("family", "add", "--json"), "not an option of"),
        (("balances", "--timeout", "0"), "--timeout"),
        (("family", "add", "--name", "a", "--name", "b"), "given twice"),
        (("shift", "add", "--room", "r1", "--adult", "a2", "--start",
          "2027-02-30 09:00", "--end", "10:00"), "not a time"),
        (("shift", "add", "--room", "r1", "--adult", "a2", "--start",
          "2027-03-01 09:00", "--end", "08:00"), "ends after it starts"),
        (("shift", "add", "--room", "r1", "--adult", "a2", "--start",
          "2027-03-01 25:00", "--end", "08:00"), "not a time"),
        (("shift", "add", "--room", "r1", "--adult", "a2", "--start",
          "2027-03-01T09:00+08:", "--end", "10:00"), "not a time"),
        (("shift", "add", "--room", "r1", "--adult", "a2", "--start",
          "2027-03-01T09:00+14:30", "--end", "10:00"), "not a time"),
        (("swap", "answer", "w1", "--adult", "a2"), "--accept or --decline"),
        (("close", "--child", "c1", "--shift", "s1", "--at",
          "2027-03-01 09:00", "--reason", "r"), "--child CHILD or --shift"),
        (("policy", "set", "rate_fen_per_hour=0"), "not a value"),
        (("policy", "set", "colour=blue"), "no policy field"),
        (("policy", "set", "billing_period=fortnight"), "not a value"),
        (("policy", "set"), "too few operands"),
        (("key", "enrol", "--role", "janitor", "--label", "x", "--out",
          "k.pem"), "--role"),
        (("key", "enrol", "--role", "kiosk", "--label", "x"), "--out FILE"),
        (("settle", "--period", "2027-13"), "--period"),
        (("pickup", "set", "c1"), "--authorised"),
        (("pickup", "set", "c1", "--authorised", "a1,x2"),
         "not an adult id"),
        (("statement", "f1", "--from", "2027-03-02", "--to", "2027-03-01"),
         "after"),
    ]
    for args, words in bad:
        err = c.refused(*args, code=2, words=[words])
        check("carebank --help" in err or "usage: carebank" in err,
              "a usage error points to the manual: %r" % err)
    r = s.client().call(cb.A + "GetCheckpoint")
    eq(cb.spb.CheckpointReply.FromString(r.raw).size, 1,
       "no usage error wrote anything")
    s.stop()
    s.cleanup()


def coord_errors():
    s = server()
    c = Coord(s)
    fam = c.new("family", "add")
    c.refused("settle", "--period", local(cb.now_ms(), "%Y-%m-%d"),
              words=["refused:", "REFUSAL_PERIOD_NOT_OVER"])
    c.refused("family", "leave", "f999", words=["REFUSAL_UNKNOWN_FAMILY",
                                                "carebank balances"])
    c.refused("donate", "--from", fam, "--to", fam, "--minutes", "10",
              words=["REFUSAL_SAME_FAMILY"])
    port = cb.free_port()
    c.refused("balances", "--server", "127.0.0.1:%d" % port,
              words=["127.0.0.1:%d" % port, "is carebankd running"])
    c.refused("balances", "--server", "nowhere", words=["HOST:PORT"])
    stranger = cb.Key()
    path = stranger.save(os.path.join(c.dir, "stranger.pem"))
    c.refused("balances", "--key", path, words=["clock", "not enrolled"])
    os.chmod(path, 0o644)
    c.refused("balances", "--key", path, words=["chmod 600"])
    # A TLS client key others may read is refused too.
    c.refused("balances", "--cert", path, "--cert-key", path,
              words=["cert-key", "others may read it", "chmod 600"])
    c.refused("balances", env={"CAREBANK_SERVER": None},
              words=["say which server"])
    # A typing mistake is bad usage (2) even with the server away, before
    # carebank asks it for the centre's offset or billing period; good
    # text then fails for the server (1).
    away = ("--server", "127.0.0.1:1", "--timeout", "2")
    for args, words in (
            (("settle", "--period", "2027-13"), "not a month"),
            (("settle", "--period", "2027-02-30x"), "neither a month"),
            (("settle", "--period", "2027-02", "--csv"), "go with --dry-run"),
            (("close", "--child", "c1", "--at", "bogus", "--reason", "x"),
             "--at: \"bogus\" is not a time"),
            (("shift", "add", "--room", "r1", "--adult", "a1", "--start",
              "2027-03-01 10:00", "--end", "09:00"), "ends after it starts"),
            (("shift", "add", "--room", "r1", "--adult", "a1", "--start",
              "2027-03-01 10:00", "--end", "nine"),
             "--end: \"nine\" is not a time")):
        c.refused(*(args + away), code=2, words=[words])
    c.refused("settle", "--period", "2027-02", *away, code=1,
              words=["cannot reach"])
    # A verifier key that is not the centre's: the write happens, but its
    # receipt does not verify, and carebank says so.
    other = cb.Server(centre="huada", origin="carebank.example.org/huada")
    with open(os.path.join(other.data, "huada.vkey")) as f:
        wrong = f.read().strip()
    err = c.refused("family", "add", "--vkey", wrong, code=3,
                    words=["receipt does not verify", "not signed by"])
    # A key so enrolled is in the log: its private half is kept.
    c.refused("key", "enrol", "--role", "kiosk", "--label", "door 3",
              "--out", "door3.pem", "--vkey", wrong, code=3,
              words=["receipt does not verify", "door3.pem is kept",
                     "may have been enrolled",
                     "run `carebank key enrol --role kiosk --label "
                     "'door 3' --public 'door3.pem' --request-id "])
    check(os.path.exists(os.path.join(c.dir, "door3.pem")),
          "the key file of a key that may be enrolled was removed")
    other.cleanup()
    c.refused("balances", "--vkey", "junk", words=["verifier key"])
    # Without a pinned key the receipt is still checked, and it says so.
    out = c.run("family", "add", env={"CAREBANK_VKEY": None}, code=0).stdout
    check("receipt checked: included in the log" in out and
          "signature not checked" in out, out)
    # The config file stands in for the environment.
    conf = os.path.join(c.dir, "client.conf")
    with open(conf, "w") as f:
        f.write("# the desk\nserver = 127.0.0.1:%d\nkey = %s\n"
                "centre = huada\nvkey = %s\n" % (s.port, c.key, c.vkey))
    out = c.run("balances", code=0, env={
        "CAREBANK_CONFIG": conf, "CAREBANK_SERVER": None,
        "CAREBANK_KEY": None, "CAREBANK_CENTRE": None,
        "CAREBANK_VKEY": None}).stdout
    check(out.startswith("FAMILY  NAME"), out)
    out = c.run("family", "add", code=0, env={
        "CAREBANK_CONFIG": conf, "CAREBANK_VKEY": None}).stdout
    check("receipt verified" in out, out)
    with open(conf, "a") as f:
        f.write("colour = blue\n")
    c.refused("balances", env={"CAREBANK_CONFIG": conf},
              words=["client.conf:6"])
    # Amounts near 2^63 fen through the API (carebank itself takes less):
    # each balance holds, but the fund report's sums would not.
    co, big = s.client(), 2**63 - 1
    f2 = co.write(cb.C + "EnrolFamily", cb.pb.EnrolFamilyRequest())[0]
    f2 = f2.result.id
    co.write(cb.C + "RecordCash", cb.pb.RecordCashRequest(
        family=fam, amount_fen=big, receipt="a"))
    co.write(cb.C + "BuySupplies", cb.pb.BuySuppliesRequest(
        amount_fen=big, memo="m", receipt="b"))
    co.write(cb.C + "RecordCash", cb.pb.RecordCashRequest(
        family=f2, amount_fen=big, receipt="c"))
    c.refused("fund", words=["Fund failed", "do not fit in 64-bit fen"])
    r = co.call(cb.C + "Fund")
    eq(r.code, grpc.StatusCode.FAILED_PRECONDITION, "Fund: %s" % r.details)
    s.stop()
    c.refused("balances", words=["is carebankd running"])
    s.cleanup()


def first_bytes(c, *args):
    """Runs carebank ARGS against a listener on 127.0.0.1 (ARGS name it
    with {port}) that reads what the client sends first, then hangs up:
    those bytes."""
    lis = socket.create_server(("127.0.0.1", 0))
    port = lis.getsockname()[1]
    got = []

    def serve():
        lis.settimeout(30)
        try:
            conn, _ = lis.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                got.append(conn.recv(64))
            except OSError:
                pass

    t = threading.Thread(target=serve)
    t.start()
    c.run(*[a.format(port=port) for a in args], "--timeout", "5")
    t.join()
    lis.close()
    return got[0] if got else b""


def coord_cleartext():
    """Cleartext only to this machine's loopback (a name only if every
    address it resolves to is), and only with no CA and no certificate of
    the client's: to any other address the client starts TLS (with the
    system's CAs) and never sends a call in the clear."""
    s = server()
    c = Coord(s)
    key = os.path.join(c.dir, "tls.key")
    crt = os.path.join(c.dir, "tls.crt")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", crt, "-days", "1", "-subj",
                        "/CN=kiosk-7"], capture_output=True)
    eq(r.returncode, 0, "openssl req: %s" % r.stderr)
    os.chmod(key, 0o600)
    preface = b"PRI * HTTP/2.0"
    for args, tls in (
            (("--server", "127.0.0.1:{port}"), False),
            (("--server", "localhost:{port}"), False),
            # 0.0.0.0 reaches this machine but is not its loopback.
            (("--server", "0.0.0.0:{port}"), True),
            (("--server", "127.0.0.1:{port}", "--cert", crt,
              "--cert-key", key), True),
            (("--server", "127.0.0.1:{port}", "--ca", crt), True)):
        got = first_bytes(c, "balances", *args)
        if tls:
            # A TLS record of a handshake: a ClientHello.
            check(got[:1] == b"\x16" and got[5:6] == b"\x01",
                  "%s: not a ClientHello: %r" % (args, got))
        else:
            check(got.startswith(preface), "%s: %r" % (args, got))
    # Against the real server, a TLS hello to its cleartext port fails
    # cleanly, saying why TLS and what to do.
    c.refused("balances", "--server", "0.0.0.0:%d" % s.port, "--timeout",
              "5", words=["cannot reach", "TLS, as to any server off "
                          "loopback", "reached at 127.0.0.1"])
    c.refused("balances", "--server", "127.0.0.1:%d" % s.port, "--cert",
              crt, "--cert-key", key, "--timeout", "5",
              words=["cannot reach", "TLS, since a client certificate"])
    s.stop()
    s.cleanup()


def coord_retry():
    """A write whose answer never comes is sent again, on a new
    connection, with the same request id: the server answers with the
    first receipt, and the entry is made once."""
    s = server()
    c = Coord(s)
    proxy = BlackholeProxy(s.port)
    out = c.ok("family", "add", "--server", proxy.addr, "--timeout", "2")
    eq(proxy.conns, 2, "a second connection after the first went quiet")
    check(re.match(r"family f1 enrolled\n", out), out)
    r = s.client().call(cb.A + "GetCheckpoint")
    eq(cb.spb.CheckpointReply.FromString(r.raw).size, 2,
       "the centre's entry and the family's, once")
    proxy.close()
    s.stop()
    log = s.log_text()
    eq(len(re.findall(r"method=/carebank.v1.Coordinator/EnrolFamily "
                      r"\S+ status=OK", log)), 2,
       "the server answered both tries: %s" % log)
    s.cleanup()



def coord_lost_answer():
    """A write whose every answer was lost: carebank cannot say whether it
    was made, and prints its request id. The same command again with
    --request-id makes it at most once: the server answers with the entry
    the lost tries made. The id with other bytes is refused."""
    s = server()
    c = Coord(s)
    fam = c.new("family", "add")
    proxy = BlackholeProxy(s.port, quiet=2)
    cash = ("cash", "--family", fam, "--amount", "12.50", "--receipt", "L-1")
    err = c.refused(*cash, "--server", proxy.addr, "--timeout", "2",
                    code=3, words=["did not answer RecordCash in time",
                           "the write may have been made, or not",
                           "--request-id"])
    eq(proxy.conns, 2, "the same-id retry on a new connection")
    rid = re.search(r"--request-id ([0-9a-f]{32})", err).group(1)
    check(re.search(r"no answer \(.*\); trying once more with the same "
                    r"request id, %s\n(.|\n)*may have been made" % rid, err),
          "the id is said before the second try: %r" % err)
    proxy.close()
    size = cb.spb.CheckpointReply.FromString(
        s.client().call(cb.A + "GetCheckpoint").raw).size
    out = c.ok(*cash, "--request-id", rid)
    entry = re.search(r"^entry (\d+); receipt verified", out, re.M).group(1)
    eq(int(entry), size - 1, "the entry the lost tries made")
    eq(cb.spb.CheckpointReply.FromString(
        s.client().call(cb.A + "GetCheckpoint").raw).size, size,
       "no second entry")
    again = c.ok(*cash, "--request-id", rid)
    check("entry %s; receipt verified" % entry in again, again)
    table = c.ok("balances")
    check(re.search(r"^%s\s.*-12\.50" % fam, table, re.M), table)
    c.refused("cash", "--family", fam, "--amount", "13", "--receipt", "L-2",
              "--request-id", rid,
              words=["request id already used, by entry %s" % entry])
    c.refused("cash", "--family", fam, "--amount", "1", "--receipt", "L-3",
              "--request-id", "12", code=2, words=["32 hex digits"])
    # Stopped while waiting (Ctrl-C, a closed terminal): carebank says the
    # id on its way out, and the same command with it makes no second
    # entry.
    proxy = BlackholeProxy(s.port, quiet=9)
    for sig in (signal.SIGINT, signal.SIGHUP):
        e = dict(c.env, CAREBANK_SERVER=proxy.addr)
        before = cb.spb.CheckpointReply.FromString(
            s.client().call(cb.A + "GetCheckpoint").raw).size
        p = subprocess.Popen([BIN, "cash", "--family", fam, "--amount", "3",
                              "--receipt", "S-%d" % sig, "--timeout", "60"],
                             env=e, cwd=c.dir, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        # The server makes the entry; its answer never comes back.
        deadline = time.monotonic() + 30
        while cb.spb.CheckpointReply.FromString(s.client().call(
                cb.A + "GetCheckpoint").raw).size == before:
            check(time.monotonic() < deadline, "the write was not made")
            time.sleep(0.05)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        err = err.decode()
        eq(p.returncode, -sig, "carebank dies of the signal %d" % sig)
        m = re.search(r"stopped while waiting for the server's answer: the "
                      r"write may have been made, or not\. To make it at "
                      r"most once, run the same command again with "
                      r"--request-id ([0-9a-f]{32})", err)
        check(m, "the id on the way out: %r" % err)
        size = cb.spb.CheckpointReply.FromString(
            s.client().call(cb.A + "GetCheckpoint").raw).size
        out = c.ok("cash", "--family", fam, "--amount", "3", "--receipt",
                   "S-%d" % sig, "--request-id", m.group(1))
        eq(cb.spb.CheckpointReply.FromString(
            s.client().call(cb.A + "GetCheckpoint").raw).size, size,
           "the entry the stopped run made, not a second")
    proxy.close()
    # A server that answers UNAVAILABLE itself (stopping, say) is not one
    # carebank cannot reach: it says what the server said, and the write's
    # outcome is unknown all the same.
    class Down(grpc.GenericRpcHandler):
        def service(self, details):
            def answer(req, ctx):
                ctx.abort(grpc.StatusCode.UNAVAILABLE, "the store failed: "
                          "nothing was written; the server is stopping")
            return grpc.unary_unary_rpc_method_handler(answer)
    fake = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    fake.add_generic_rpc_handlers((Down(),))
    port = fake.add_insecure_port("127.0.0.1:0")
    fake.start()
    err = c.refused("family", "add", "--server", "127.0.0.1:%d" % port,
                    code=3, words=["cannot take EnrolFamily now: the store "
                                   "failed", "--request-id",
                                   "the server could not take it now (the "
                                   "store failed"])
    check("is carebankd running there" not in err, err)
    fake.stop(0)
    # key enrol --out run again would make another key: the advice is to
    # send the key it made, with its id.
    proxy = BlackholeProxy(s.port, quiet=2)
    kfile = os.path.join(c.dir, "door one.pem")
    err = c.refused("key", "enrol", "--role", "kiosk", "--label",
                    "door 'one'", "--out", kfile, "--server", proxy.addr,
                    "--timeout", "2", code=3)
    proxy.close()
    m = re.search(r"run `(carebank key enrol [^`]*)`", err)
    check(m, "the command to send it again: %r" % err)
    args = shlex.split(m.group(1))
    eq(args[:7], ["carebank", "key", "enrol", "--role", "kiosk", "--label",
                  "door 'one'"], "the role and label, quoted")
    eq(args[7:9], ["--public", kfile], "the key made, by --public")
    check(os.path.exists(kfile), "the key made is kept")
    out = c.ok(*args[1:])
    check("enrolled (door 'one')" in out, out)
    # A read of the policy (a stream, the second call after the log's
    # size) whose answer never comes ends at the timeout, as a unary call
    # does, rather than hang the desk.
    proxy = BlackholeProxy(s.port, quiet=1, from_stream=3)
    t0 = time.monotonic()
    c.refused("policy", "show", "--server", proxy.addr, "--timeout", "2",
              words=["did not answer Entries in time"])
    check(time.monotonic() - t0 < 30, "the policy read waited %.1f s" %
          (time.monotonic() - t0))
    proxy.close()
    s.stop()
    s.cleanup()


def coord_tampered_result():
    """The balance the answer reports must be the one the verified entry
    posted: a server that says the family owes other than its signed
    entry says is caught, and carebank says the receipt does not verify
    rather than print the server's figure under "receipt verified". The
    policy's entry, likewise, must be proven the log's."""
    s = server()
    c = Coord(s)
    fam = c.new("family", "add")
    # owed_fen (field 4 of Result, the receipt's last field) -1250 becomes
    # -1251: the same length, so the frames stay whole.
    proxy = TamperProxy(s.port,
                        cb.pb.Result(owed_fen=-1250).SerializeToString(),
                        cb.pb.Result(owed_fen=-1251).SerializeToString())
    err = c.refused("cash", "--family", fam, "--amount", "12.50",
                    "--receipt", "T-1", "--server", proxy.addr, code=3,
                    words=["receipt does not verify",
                           "family/%s/owed is -1251, the entry -1250" % fam,
                           "do not make it again without its id"])
    check(proxy.tampered >= 1, "the proxy changed an answer")
    proxy.close()
    # The write is in the log: its id, from the same server honestly,
    # gets the entry back rather than a second one.
    rid = re.search(r"--request-id ([0-9a-f]{32})", err).group(1)
    out = c.ok("cash", "--family", fam, "--amount", "12.50", "--receipt",
               "T-1", "--request-id", rid)
    check("owes -12.50 yuan" in out, "the first entry's answer: " + out)
    # The honest server's answer to the next one verifies.
    out = c.ok("cash", "--family", fam, "--amount", "1", "--receipt", "T-2")
    check("owes -13.50 yuan" in out, out)
    # The policy is read from the log's entries: one the server changed
    # (the rate an entry set, 2500 served as 2600) is not proven the log's.
    c.ok("policy", "set", "rate_fen_per_hour=2500")
    proxy = TamperProxy(s.port,
                        cb.pb.Policy(rate_fen_per_hour=2500).SerializeToString(),
                        cb.pb.Policy(rate_fen_per_hour=2600).SerializeToString())
    c.refused("policy", "show", "--server", proxy.addr,
              words=["not proven to be the log's",
                     "does not lead to the checkpoint's root"])
    check(proxy.tampered >= 1, "the proxy changed the policy's entry")
    proxy.close()
    check("rate_fen_per_hour           2500\n" in c.ok("policy", "show"),
          "the honest policy")
    # The roster's pages must come in order: a page whose first shift is
    # renamed to come after the second (same start, a higher id) is
    # refused, not taken, nor followed page after page.
    adult = c.new("adult", "add", "--family", fam)
    room = c.new("room", "add", "--label", "Moon")
    start = "2030-01-07 09:00"
    first, second = (c.new("shift", "add", "--room", room, "--adult",
                           adult, "--start", start, "--end", "10:00")
                     for _ in range(2))
    later = "s" + "9" * (len(first) - 1)  # as long, after the second
    check(len(second) == len(first) and second < later,
          "two ids of a length: %s %s" % (first, second))
    proxy = TamperProxy(s.port,
                        cb.spb.ShiftView(id=first).SerializeToString(),
                        cb.spb.ShiftView(id=later).SerializeToString())
    c.refused("roster", "--all", "--server", proxy.addr,
              words=["the server's pages of shifts do not move on"])
    check(proxy.tampered >= 1, "the proxy changed the roster")
    proxy.close()
    eq([x["shift"] for x in csv_rows(c.ok("roster", "--all", "--csv"))],
       [first, second], "the honest roster")
    s.stop()
    s.cleanup()


def coord_escapes():
    """Text the log or the server supplies (a receipt reference, a
    family's name, the server's messages) reaches the terminal with its
    control characters shown as '?': an escape sequence in a memo cannot
    retitle the window or clear the screen. CSV keeps the bytes."""
    s = server()
    c = Coord(s)
    fam = c.new("family", "add")
    evil = "R\x1b]0;owned\x07\x1b[2J\u009b"
    # carebank itself takes no control characters in a text for the log...
    c.refused("cash", "--family", fam, "--amount", "1", "--receipt", evil,
              code=2, words=["without control characters"])
    # ...but another client may have written one.
    s.client().write(cb.C + "RecordCash", cb.pb.RecordCashRequest(
        family=fam, amount_fen=100, receipt=evil))
    for args in (("statement", fam), ("balances",), ("fund",)):
        out = c.ok(*args)
        check("\x1b" not in out and "\x07" not in out and
              "\u009b" not in out, "%s: %r" % (args, out))
    out = c.ok("statement", fam)
    check("R?]0;owned??[2J??" in out, out)
    check(evil in c.ok("statement", fam, "--csv"), "CSV keeps the text")
    s.stop()
    s.cleanup()


def coord_flag_pages():
    """More flags than one page: carebank flagged reads them a page at a
    time and lists every one, once, in log order."""
    n = 1001
    s = server()
    c = Coord(s)
    co = s.client()

    def write(method, msg):
        return co.write(method, msg)[0]
    room = write(cb.C + "AddRoom", cb.pb.AddRoomRequest(label="Sun")).result.id
    fam = write(cb.C + "EnrolFamily", cb.pb.EnrolFamilyRequest()).result.id
    adult = write(cb.C + "AddAdult", cb.pb.AddAdultRequest(
        family=fam, guardian=True)).result.id
    child = write(cb.C + "AddChild", cb.pb.AddChildRequest(
        family=fam)).result.id
    write(cb.C + "SetPickup", cb.pb.SetPickupRequest(child=child,
                                                     authorised=[adult]))
    now = cb.now_ms()
    shift = write(cb.C + "ScheduleShift", cb.pb.ScheduleShiftRequest(
        room=room, start_ms=now - cb.HOUR_MS, end_ms=now + 12 * cb.HOUR_MS,
        adult=adult)).result.id
    write(cb.K + "StartShift", cb.pb.VolunteerCheckInRequest(
        shift=shift, adult=adult, presence=cb.pb.PRESENCE_PIN))
    flags = []
    for _ in range(n):
        flags.append(write(cb.K + "CheckInChild", cb.pb.ChildCheckInRequest(
            child=child, room=room, adult=adult,
            presence=cb.pb.PRESENCE_OFFLINE)).index)
        write(cb.K + "CheckOutChild", cb.pb.ChildCheckOutRequest(
            child=child, adult=adult, presence=cb.pb.PRESENCE_PIN))
    eq([int(r["entry"]) for r in csv_rows(c.ok("flagged", "--all", "--csv"))],
       flags, "every flag, in log order")
    js = json.loads(c.ok("flagged", "--json"))
    eq([int(f["entry"]) for f in js["flags"]], flags, "the open flags")
    eq(str(js["more_before"]), "0", "one report, nothing more to ask")
    s.stop()
    s.cleanup()


if __name__ == "__main__":
    cb.main({"coord_day": coord_day, "coord_keys": coord_keys,
             "coord_pin": coord_pin, "coord_usage": coord_usage,
             "coord_errors": coord_errors, "coord_retry": coord_retry,
             "coord_cleartext": coord_cleartext,
             "coord_lost_answer": coord_lost_answer,
             "coord_escapes": coord_escapes,
             "coord_tampered_result": coord_tampered_result,
             "coord_flag_pages": coord_flag_pages},
            __doc__)
