#!/usr/bin/python3
"""carebank-audit against the log of a real day at a centre (the scenario
of test_scenario.py): exports made from the data directory and through the
Audit service are the same bytes; verify passes and recomputes the books;
one byte changed anywhere in an export fails, naming the file; a later
export extends the earlier checkpoint (--since) but a forged history does
not; entries print as CSV and JSON lines that match the log; a family's
statement verifies offline, and one with an entry left out or a balance
changed does not; verify says how far calls were signed from their
entries' times, and --call-window holds the log to a window.

  e2e.audit_day    all of the above
"""
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess


import cbclient as cb
import test_scenario
from cbclient import C, check, eq


def audit(*args):
    r = subprocess.run([cb.ARGS.tools["carebank-audit"]] + list(args),
                       capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout + r.stderr


def files_of(d):
    out = []
    for root, _, names in os.walk(d):
        for n in names:
            out.append(os.path.relpath(os.path.join(root, n), d))
    return sorted(out)


def check_exports(s, keys, work):
    local, remote = os.path.join(work, "local"), os.path.join(work, "remote")
    akey = keys["auditor"].save(os.path.join(work, "auditor.pem"))
    rc, out = audit("export", "--data", s.data, "--centre", s.centre,
                    "--out", local)
    eq(rc, 0, "export --data: " + out)
    rc, out = audit("export", "--server", "127.0.0.1:%d" % s.port,
                    "--key", akey, "--centre", s.centre, "--out", remote)
    eq(rc, 0, "export --server: " + out)
    eq(files_of(local), files_of(remote), "the two exports' files")
    for f in files_of(local):
        with open(os.path.join(local, f), "rb") as a, \
                open(os.path.join(remote, f), "rb") as b:
            eq(a.read(), b.read(), "%s is the same in both exports" % f)
    # A kiosk key may not export through the Audit service.
    kkey = keys["kiosk"].save(os.path.join(work, "kiosk.pem"))
    rc, out = audit("export", "--server", "127.0.0.1:%d" % s.port,
                    "--key", kkey, "--centre", s.centre, "--out",
                    os.path.join(work, "denied"))
    check(rc == 1 and "role" in out, "kiosk export refused: " + out)
    return local, akey


def check_verify(s, local, fam):
    rc, out = audit("verify", "--key", s.vkey, local)
    eq(rc, 0, "verify: " + out)
    check("OK" in out and "replaying the rules reproduces" in out, out)
    # The recomputed balances are the books of the day.
    bal = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith(("family/", "centre/")):
            bal[parts[0]] = int(parts[1])
    eq(bal["family/%s/minutes" % fam["A"]], 24, "A's minutes, recomputed")
    eq(bal["family/%s/minutes" % fam["C"]], -120, "C's minutes")
    eq(bal["centre/income"], -6000, "care charged, recomputed")
    # A verifier key that is not the centre's is refused.
    other = cb.Key()
    wrong = s.vkey.rsplit("+", 1)[0].split("+")[0]
    rc, out = audit("verify", "--key", "%s+%s+%s" % (
        wrong, cb.sha256(wrong.encode(), b"\n\x01", other.pub)[:4].hex(),
        cb.base64.b64encode(b"\x01" + other.pub).decode()), local)
    check(rc == 1 and "checkpoint" in out, "a wrong key: " + out)


def check_tamper(s, local, work):
    """One byte changed in each kind of file fails verify, naming it."""
    names = [f for f in files_of(local) if f != "vkey"]
    picks = [f for f in names if f.startswith("tile/entries/")][:1] + \
        [f for f in names if f.startswith("tile/0/")][:1] + ["checkpoint"]
    for f in picks:
        bad = os.path.join(work, "bad")
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(local, bad)
        p = os.path.join(bad, f)
        data = bytearray(open(p, "rb").read())
        for at in (0, len(data) // 2, len(data) - 1):
            data[at] ^= 0x01
            open(p, "wb").write(bytes(data))
            rc, out = audit("verify", "--key", s.vkey, bad)
            check(rc == 1 and "FAILED" in out and f in out,
                  "byte %d of %s changed: %s" % (at, f, out))
            data[at] ^= 0x01
        open(p, "wb").write(bytes(data))
        rc, out = audit("verify", "--key", s.vkey, bad)
        eq(rc, 0, "restored: " + out)
    # The vkey file, which tlog-tiles clients and a later export trust,
    # must be the auditor's key, as export wrote it.
    p = os.path.join(bad, "vkey")
    good = open(p).read()
    name, kid, b64 = good.strip().split("+", 2)
    for text in ("%s+00000000+%s\n" % (name, b64), good.strip(), ""):
        open(p, "w").write(text)
        rc, out = audit("verify", "--key", s.vkey, bad)
        check(rc == 1 and "FAILED at vkey" in out and "changed" in out,
              "vkey %r: %s" % (text, out))
    os.unlink(p)
    rc, out = audit("verify", "--key", s.vkey, bad)
    check(rc == 1 and "FAILED at vkey" in out, "no vkey: " + out)
    open(p, "w").write(good)
    # A FIFO where a tile should be is refused at once, not waited on.
    tile = os.path.join(bad, names[0] if names[0].startswith("tile/")
                        else [f for f in names if f.startswith("tile/")][0])
    os.unlink(tile)
    os.mkfifo(tile)
    rc, out = audit("verify", "--key", s.vkey, bad)
    check(rc == 1 and "not a regular file" in out, "a FIFO: " + out)
    # A key that did not sign the checkpoint says so (C2SP vkey: name,
    # key id, base64 of the type byte and the public key).
    raw = b"\x01" + cb.Key().pub
    kid = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    rc, out = audit("verify", "--key", "%s+%s+%s" % (
        name, kid.hex(), base64.b64encode(raw).decode()), local)
    check(rc == 1 and "not signed by this key" in out, "another key: " + out)


def check_since(s, coord, local, akey, work):
    saved = os.path.join(work, "earlier.checkpoint")
    shutil.copy(os.path.join(local, "checkpoint"), saved)
    for _ in range(3):
        r = coord.call(C + "EnrolFamily", cb.pb.EnrolFamilyRequest())
        check(r.ok, "EnrolFamily: %s" % r.details)
    rc, out = audit("export", "--server", "127.0.0.1:%d" % s.port,
                    "--key", akey, "--centre", s.centre, "--out", local)
    eq(rc, 0, "incremental export: " + out)
    check("(3 new)" in out, "only what is new: " + out)
    rc, out = audit("verify", "--key", s.vkey, "--since", saved, local)
    eq(rc, 0, "--since: " + out)
    check("consistency proof verified" in out, out)
    # A forged history: the same key signs a checkpoint of other entries.
    # Here, an earlier checkpoint of the same size but another root.
    forged = os.path.join(work, "forged.checkpoint")
    note = open(saved, "rb").read().decode()
    body, sig = note.split("\n\n", 1)
    lines = body.split("\n")
    lines[2] = cb.base64.b64encode(b"\x42" * 32).decode()
    open(forged, "w").write("\n".join(lines) + "\n\n" + sig)
    rc, out = audit("verify", "--key", s.vkey, "--since", forged, local)
    check(rc == 1, "a checkpoint not signed by the key: " + out)


def check_call_times(s, coord, work):
    """A call signed two minutes before the server took it and one signed
    by a clock 200 s ahead (both inside the server's five-minute window):
    verify says how far each way and at which entry, and --call-window
    fails a log with a call outside the window given, naming the furthest.
    """
    def room(label, skew_ms):
        r = coord.call(C + "AddRoom", cb.pb.AddRoomRequest(
            label=label, ratio_soft=4, ratio_hard=6),
            time_ms=cb.now_ms() + skew_ms)
        check(r.ok, "a call signed %+d ms off: %s %s" % (skew_ms, r.code,
                                                       r.details))
        return cb.spb.Receipt.FromString(r.raw).index
    early_at = room("Attic", -120000)
    late_at = room("Cellar", 200000)
    out_dir = os.path.join(work, "calls")
    rc, out = audit("export", "--data", s.data, "--centre", s.centre,
                    "--out", out_dir)
    eq(rc, 0, "export: " + out)
    rc, out = audit("verify", "--key", s.vkey, out_dir)
    eq(rc, 0, "verify: " + out)
    m = re.search(r"\n  calls signed at most (\d+)\.(\d{3}) s before their "
                  r"entry's server time \(entry (\d+)\) and at most "
                  r"(\d+)\.(\d{3}) s after it \(entry (\d+)\)\n", out)
    check(m, "verify says how far calls were signed: " + out)
    early = int(m.group(1)) * 1000 + int(m.group(2))
    check(120000 <= early < 150000, "120 s and a little: %d ms" % early)
    eq(int(m.group(3)), early_at, "the entry of the early call")
    late = int(m.group(4)) * 1000 + int(m.group(5))
    check(170000 < late <= 200000, "200 s less a little: %d ms" % late)
    eq(int(m.group(6)), late_at, "the entry of the late call")
    # The operator's replay reads the same gaps from the store.
    r = cb.run([cb.carebankd(), "replay", "--data", s.data, "--verify",
                "--centre", s.centre])
    eq(r.returncode, 0, "replay --verify: " + r.stdout + r.stderr)
    check(m.group(0)[1:] in r.stdout, "replay says the same gaps as "
          "verify: %r against %r" % (r.stdout, m.group(0)))
    rc, out = audit("verify", "--key", s.vkey, "--call-window", "150",
                    out_dir)
    eq(rc, 1, "a call outside --call-window 150: " + out)
    check(re.search(r"FAILED at entry %d: its call was signed "
                    r"(1[7-9]\d|200)\.\d{3} s after the entry's server time, more than "
                    r"--call-window 150\.000 s\n" % late_at, out), out)
    check("OK" not in out, out)
    rc, out = audit("verify", "--key", s.vkey, "--call-window", "300",
                    out_dir)
    eq(rc, 0, "within --call-window 300: " + out)
    check("within --call-window" in out, out)
    for bad in ("-1", "x", "60s", "2592001", ""):
        rc, out = audit("verify", "--key", s.vkey, "--call-window", bad,
                        out_dir)
        eq(rc, 2, "--call-window %r: %s" % (bad, out))
    rc, out = audit("entries", "--key", s.vkey, "--csv", "--call-window",
                    "60", out_dir)
    eq(rc, 2, "--call-window is verify's: " + out)
    check("an option of verify" in out, out)


def check_entries(s, local):
    rc, out = audit("entries", "--key", s.vkey, "--jsonl", local)
    eq(rc, 0, "entries --jsonl")
    objs = [json.loads(line) for line in out.splitlines() if line]
    eq([o["index"] for o in objs], list(range(len(objs))), "every entry")
    eq(objs[0]["method"], C + "CreateCentre", "entry 0")
    rc, out = audit("entries", "--key", s.vkey, "--csv", local)
    eq(rc, 0, "entries --csv")
    raw = subprocess.run([cb.ARGS.tools["carebank-audit"], "entries", "--key",
                          s.vkey, "--csv", local], capture_output=True,
                         timeout=300).stdout
    check(raw.endswith(b"\r\n") and
          raw.count(b"\n") == raw.count(b"\r\n"), "CSV lines end in CRLF")
    rows = list(csv.DictReader(io.StringIO(out)))
    income = sum(int(r["amount"]) for r in rows
                 if r["account"] == "centre/income")
    eq(income, -6000, "income from the CSV rows")
    eq(sorted({int(r["index"]) for r in rows}), list(range(len(objs))),
       "every entry has a row")


def statement(s, family, export, path):
    """Makes family's statement from export into path, and verifies it:
    verify-statement's output."""
    rc, out = audit("statement", "--key", s.vkey, "--family", family,
                    "--out", path, export)
    eq(rc, 0, "statement: " + out)
    rc, out = audit("verify-statement", "--key", s.vkey, path)
    eq(rc, 0, "verify-statement: " + out)
    return out


def check_statement(s, local, fam, work):
    path = os.path.join(work, "A.statement")
    out = statement(s, fam["A"], local, path)
    # A was paid 29.39 yuan at the settlement (rules 3 names it).
    check("balance: 24 minutes; owes 0 fen; paid 2939 fen in subsidies"
          in out, out)
    sys_path = cb.ARGS.gen_dir
    import sys
    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from carebank.v1 import statement_pb2
    st = statement_pb2.FamilyStatement.FromString(open(path, "rb").read())
    check(len(st.entries) >= 3, "A's statement has its entries")
    eq(st.subsidies_fen, 2939, "the subsidies A was paid")
    # One entry left out in the middle: the balances do not follow on.
    gap = statement_pb2.FamilyStatement()
    gap.CopyFrom(st)
    del gap.entries[1]
    bad = os.path.join(work, "gap.statement")
    open(bad, "wb").write(gap.SerializeToString())
    rc, out = audit("verify-statement", "--key", s.vkey, bad)
    check(rc == 1 and "missing" in out, "an entry left out: " + out)
    # A balance claimed that the entries do not give.
    rich = statement_pb2.FamilyStatement()
    rich.CopyFrom(st)
    rich.minutes += 600
    open(bad, "wb").write(rich.SerializeToString())
    rc, out = audit("verify-statement", "--key", s.vkey, bad)
    check(rc == 1 and "not the" in out, "a balance changed: " + out)
    rich.CopyFrom(st)
    rich.subsidies_fen += 100
    open(bad, "wb").write(rich.SerializeToString())
    rc, out = audit("verify-statement", "--key", s.vkey, bad)
    check(rc == 1 and "2939 fen of subsidies" in out,
          "subsidies changed: " + out)
    # An entry changed: its proof fails.
    forged = statement_pb2.FamilyStatement()
    forged.CopyFrom(st)
    e = bytearray(forged.entries[0].entry)
    e[-1] ^= 1
    forged.entries[0].entry = bytes(e)
    open(bad, "wb").write(forged.SerializeToString())
    rc, out = audit("verify-statement", "--key", s.vkey, bad)
    check(rc == 1 and "FAILED" in out, "an entry changed: " + out)


def check_statement_chain(s, fam, work):
    """From rules 6 a family's postings name the family's entry before
    them: a statement left without an entry and its reversal, whose
    postings cancel out, balances but fails, though the next entry moves
    another of the family's accounts."""
    co = s.client()
    cash = co.write(C + "RecordCash", cb.pb.RecordCashRequest(
        family=fam["B"], amount_fen=500, receipt="chain-1"))[0]
    co.write(C + "Reverse", cb.pb.ReverseRequest(entry=cash.index,
                                                 reason="wrong family"))
    co.write(C + "Donate", cb.pb.DonateRequest(
        from_family=fam["A"], to_family=fam["B"], minutes=10))
    out_dir = os.path.join(work, "chain")
    rc, out = audit("export", "--data", s.data, "--centre", s.centre,
                    "--out", out_dir)
    eq(rc, 0, "export: " + out)
    path = os.path.join(work, "B.statement")
    statement(s, fam["B"], out_dir, path)
    from carebank.v1 import statement_pb2
    st = statement_pb2.FamilyStatement.FromString(open(path, "rb").read())
    pair = (cash.index, cash.index + 1)
    eq([e.index for e in st.entries][-3:], list(pair) + [cash.index + 2],
       "B's last entries: the cash, its reversal, the gift")
    cut = statement_pb2.FamilyStatement()
    cut.CopyFrom(st)
    del cut.entries[-3:-1]
    bad = os.path.join(work, "cut.statement")
    open(bad, "wb").write(cut.SerializeToString())
    rc, out = audit("verify-statement", "--key", s.vkey, bad)
    check(rc == 1 and "follows entry %d of the family" % pair[1] in out and
          "leaves out" in out, "an entry and its reversal left out: " + out)


def check_rules_refused(work):
    """An export whose every file is right and whose checkpoint the log's
    key signed, but whose entries the bank's rules would never have made
    (mklog's): verify refuses it, and so does every command that reads an
    export, since a log key's signature is no proof of the balances."""
    out = os.path.join(work, "unruly")
    vkey = subprocess.run([cb.ARGS.tools["mklog"], out, "30"], check=True,
                          capture_output=True, text=True,
                          timeout=60).stdout.strip().splitlines()[-1]
    rc, said = audit("verify", "--key", vkey, out)
    check(rc == 1 and "the rules refuse it" in said, "verify: " + said)
    for args in (("entries", "--jsonl"), ("entries", "--csv"),
                 ("flags",),
                 ("statement", "--family", "f1", "--out",
                  os.path.join(work, "unruly.statement"))):
        rc, said = audit(*(args + ("--key", vkey, out)))
        eq(rc, 1, "%s on a log the rules refuse: %s" % (args, said))
        check("does not verify" in said and "the rules refuse it" in said,
              "%s says why: %s" % (args, said))
    check(not os.path.exists(os.path.join(work, "unruly.statement")),
          "no statement written")


def check_usage():
    rc, out = audit("--help")
    eq(rc, 0, "--help")
    for sect in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS",
                 "EXIT STATUS", "EXAMPLES"):
        check("\n%s\n" % sect in "\n" + out, "--help has %s: %s" %
              (sect, out))
    for args in (("bogus",), ("verify",), ("export", "--centre", "x"),
                 ("entries", "--key", "k", "--csv", "--jsonl", "out")):
        rc, out = audit(*args)
        eq(rc, 2, "bad usage %r" % (args,))
        check("carebank-audit --help" in out, "points to the manual: %s" %
              out)


def audit_day():
    check_usage()

    def after(s, ids, keys):
        work = os.path.join(s.dir, "audit")
        os.makedirs(work)
        local, akey = check_exports(s, keys, work)
        check_verify(s, local, ids["fam"])
        check_tamper(s, local, work)
        check_entries(s, local)
        check_statement(s, local, ids["fam"], work)
        check_since(s, s.client(), local, akey, work)
        check_rules_refused(work)
        check_call_times(s, s.client(), work)
        check_statement_chain(s, ids["fam"], work)
        # check_since's families, check_call_times' rooms, and
        # check_statement_chain's cash, reversal and cash.
        return 8
    test_scenario.scenario_day(after)


if __name__ == "__main__":
    cb.main({"audit_day": audit_day}, __doc__)
