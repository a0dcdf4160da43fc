#!/usr/bin/python3
"""Seeds for fuzz_request: one input per method of the bank's table (the
order of src/core/bank/bank.c), a request with the centre, a request id
and, for every id field, the record of that kind fuzz_request's centre
holds (f2, a3, c4, r6, s7), from the python stubs the e2e tests generate:

  request_seeds.py GEN_DIR     (build/tests/e2e/py)
"""
import os
import sys

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from carebank.v1 import bank_pb2 as pb  # noqa: E402
from seedfill import fill as fill_fields  # noqa: E402


def fill(msg):
    # Event times of 0 are "now"; amounts and minutes 60.
    return fill_fields(msg, "huada", IDS)



METHODS = [  # (request message, signer: 0 coordinator, 1 kiosk)
    ("CreateCentre", 0), ("SetPolicy", 0), ("EnrolKey", 0),
    ("RevokeKey", 0), ("EnrolFamily", 0), ("LeaveFamily", 0),
    ("AddAdult", 0), ("AddChild", 0), ("SetPickup", 0), ("AddRoom", 0),
    ("ScheduleShift", 0), ("CancelShift", 0), ("ApproveSwap", 0),
    ("CloseSession", 0), ("RecordCash", 0), ("BuySupplies", 0),
    ("Settle", 0), ("Donate", 0), ("Reverse", 0), ("ChildCheckIn", 1),
    ("ChildCheckOut", 1), ("VolunteerCheckIn", 1), ("VolunteerCheckOut", 1),
    ("OfferSwap", 1), ("AnswerSwap", 1), ("WithdrawSwap", 1),
    ("SetRoom", 0), ("ReviewFlag", 0), ("AdoptRules", 0)]
IDS = {"family": "f2", "adult": "a3", "child": "c4", "room": "r6",
       "shift": "s7"}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus",
                       "request")
    for i, (name, signer) in enumerate(METHODS):
        msg = fill(getattr(pb, name + "Request")())
        with open(os.path.join(out, "%02d-%s" % (i, name)), "wb") as f:
            f.write(bytes([i, signer]) + msg.SerializeToString())


if __name__ == "__main__":
    main()
