#!/usr/bin/python3
"""Seeds for fuzz_server: one input per unary method in the order of the
server's table (the bank's methods as in src/core/bank/bank.c, then the
reads of src/server/routes.c without the two streams), each signed by a
role the method allows and filled with the records fuzz_server makes
before its first input (f3, a4, c5, r6, s7), from the python stubs the
e2e tests generate:

  server_seeds.py GEN_DIR     (build/tests/e2e/py)
"""
import os
import sys

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from carebank.v1 import bank_pb2 as bank  # noqa: E402
from carebank.v1 import service_pb2 as svc  # noqa: E402
from seedfill import fill as fill_fields  # noqa: E402

COORD, KIOSK, AUDITOR, NOBODY = 0, 1, 2, 3
METHODS = [  # (module, request message, signer), in table order
    (bank, "CreateCentre", COORD), (bank, "SetPolicy", COORD),
    (bank, "EnrolKey", COORD), (bank, "RevokeKey", COORD),
    (bank, "EnrolFamily", COORD), (bank, "LeaveFamily", COORD),
    (bank, "AddAdult", COORD), (bank, "AddChild", COORD),
    (bank, "SetPickup", COORD), (bank, "AddRoom", COORD),
    (bank, "ScheduleShift", COORD), (bank, "CancelShift", COORD),
    (bank, "ApproveSwap", COORD), (bank, "CloseSession", COORD),
    (bank, "RecordCash", COORD), (bank, "BuySupplies", COORD),
    (bank, "Settle", COORD), (bank, "Donate", COORD),
    (bank, "Reverse", COORD), (bank, "ChildCheckIn", KIOSK),
    (bank, "ChildCheckOut", KIOSK), (bank, "VolunteerCheckIn", KIOSK),
    (bank, "VolunteerCheckOut", KIOSK), (bank, "OfferSwap", KIOSK),
    (bank, "AnswerSwap", KIOSK), (bank, "WithdrawSwap", KIOSK),
    (bank, "SetRoom", COORD), (bank, "ReviewFlag", COORD),
    (bank, "AdoptRules", COORD),
    (svc, "Identify", KIOSK), (svc, "Directory", COORD),
    (bank, "Settle", COORD),  # PreviewSettlement
    (svc, "Centre", COORD),  # Balances
    (svc, "Statement", COORD), (svc, "Centre", COORD),  # Fund
    (svc, "Flagged", COORD), (svc, "Centre", COORD),  # Present
    (svc, "Roster", COORD),
    (svc, "Centre", AUDITOR),  # GetCheckpoint
    (svc, "Inclusion", AUDITOR), (svc, "Consistency", AUDITOR)]
# RecordCash, Identify and Balances (the first Centre read): also sent by
# the wrong signers, and with broken metadata.
PICKED = (METHODS.index((bank, "RecordCash", COORD)),
          METHODS.index((svc, "Identify", KIOSK)),
          METHODS.index((svc, "Centre", COORD)))
IDS = {"family": "f3", "adult": "a4", "child": "c5", "room": "r6",
       "shift": "s7"}
TEXT = {"card": "04125531", "member_code": "FZ-4", "pin": "2468",
        "name": "Li Wei", "phone": "+86 10 5555 0101", "label": "kiosk 2"}


def fill(msg):
    # The id of SetDirectory is an adult's; sizes and amounts are small.
    msg = fill_fields(msg, "fz", IDS, TEXT, 3)
    if "id" in msg.DESCRIPTOR.fields_by_name:
        msg.id = "a4"
    return msg


def build(mod, name):
    msg = fill(getattr(mod, name + "Request")())
    if name in ("Identify", "Directory"):
        msg.ClearField("member_code")  # a card or a code, not both
    if name == "Inclusion":
        msg.tree_size = 0  # the latest checkpoint's
    return msg


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus",
                       "server")
    for i, (mod, name, signer) in enumerate(METHODS):
        msg = build(mod, name)
        with open(os.path.join(out, "%02d-%s" % (i, name)), "wb") as f:
            f.write(bytes([i, signer]) + msg.SerializeToString())
    # The desk's list of open swaps: Roster with open_swaps alone.
    i = METHODS.index((svc, "Roster", COORD))
    with open(os.path.join(out, "%02d-Roster-open" % i), "wb") as f:
        f.write(bytes([i, COORD]) + svc.RosterRequest(
            centre="fz", open_swaps=True).SerializeToString())
    # Every shift, a page of one after the first shift.
    with open(os.path.join(out, "%02d-Roster-page" % i), "wb") as f:
        f.write(bytes([i, COORD]) + svc.RosterRequest(
            centre="fz", from_ms=1, limit=1,
            after_shift="s1").SerializeToString())
    # The same calls by a key nobody enrolled, and by the wrong role.
    for i in PICKED:
        mod, name, signer = METHODS[i]
        msg = build(mod, name).SerializeToString()
        with open(os.path.join(out, "%02d-%s-nobody" % (i, name)), "wb") as f:
            f.write(bytes([i, NOBODY]) + msg)
        with open(os.path.join(out, "%02d-%s-auditor" % (i, name)),
                  "wb") as f:
            f.write(bytes([i, AUDITOR]) + msg)
    # The two streams, after the unary methods: Entries from the start,
    # a range that ends, one past the log, by nobody; the watch.
    entries, watch = len(METHODS), len(METHODS) + 1
    for tag, signer, msg in (
            ("all", AUDITOR, svc.EntriesRequest(centre="fz")),
            ("range", AUDITOR, svc.EntriesRequest(centre="fz", start=3,
                                                  end=5)),
            ("beyond", AUDITOR, svc.EntriesRequest(centre="fz", start=7,
                                                   end=1 << 40)),
            ("nobody", NOBODY, svc.EntriesRequest(centre="fz"))):
        with open(os.path.join(out, "%02d-Entries-%s" % (entries, tag)),
                  "wb") as f:
            f.write(bytes([entries, signer]) + msg.SerializeToString())
    for tag, signer in (("auditor", AUDITOR), ("kiosk", KIOSK)):
        with open(os.path.join(out, "%02d-WatchCheckpoints-%s" % (
                watch, tag)), "wb") as f:
            f.write(bytes([watch, signer]) +
                    svc.CentreRequest(centre="fz").SerializeToString())
    # Broken metadata (the signer's byte with its top bit set): each of
    # carebank-key, -time, -signature-bin and -centre replaced, dropped,
    # or sent twice. fuzz_server maps text values onto visible ASCII
    # (each byte b becomes 0x21 + b % 94), so these are written that way.
    def text(t):
        return bytes((ord(ch) - 0x21) % 94 for ch in t)
    values = [text("0123456789abcdef"), text("99999999999999999999"),
              bytes(64), text("elsewhere")]
    for i in PICKED:
        mod, name, signer = METHODS[i]
        msg = build(mod, name).SerializeToString()
        for header, value in enumerate(values):
            for op, what in enumerate(("replace", "drop", "twice")):
                with open(os.path.join(out, "%02d-%s-md%d-%s" % (
                        i, name, header, what)), "wb") as f:
                    f.write(bytes([i, signer | 0x80, header | op << 2,
                                   len(value)]) + value + msg)


if __name__ == "__main__":
    main()
