#!/usr/bin/python3
"""carebankd killed with SIGKILL under load (issue 7, Robustness).

  robust.crash   several writers, each on its own connection, run the
                 concurrency test's day (families, adults, children, rooms,
                 shifts, kiosk check-ins and outs, cash) against a real
                 carebankd, which is killed with SIGKILL at a random moment
                 of each round, --kills times. Between rounds, with the
                 server down, `carebankd replay --verify` checks the log and
                 that replaying it rebuilds the views byte for byte. After
                 each restart the log is read back through the Audit
                 service and must be signed by a checkpoint over every leaf
                 seen before (nothing acknowledged is lost or changed);
                 every receipt any client was given is in it at its index
                 with its leaf; no request is in it twice. The one write
                 each writer had in flight when the server died is sent
                 again, byte for byte: if the log holds it, the server must
                 answer with that entry's receipt, and if not, the write is
                 new and is accepted or refused, never lost half-way.

The round's kill delay and the writers' choices come from --seed, printed
at the start, so a failing run can be repeated. --kills defaults to
CB_CRASH_KILLS from the environment, else 10: the long run of
docs/robustness.md is `CB_CRASH_KILLS=100 ctest -R robust.crash` (or this
script with --kills 100).
"""
import os
import random
import time

import robust
from robust import cb, check, eq, say


def resend(s, watch, v, d):
    """Sends a write that was in flight when the server died again, with
    the same bytes, and checks the answer against the log."""
    client = cb.Client(s.channel(), s.centre, d.client.key)
    r = client.raw(d.method, d.raw, timeout=60)
    stored = watch.requests.get(d.raw)
    if stored is not None:
        check(r.ok, "a stored write sent again is answered %r" % r)
        eq(cb.spb.Receipt.FromString(r.raw).index, stored,
           "the stored write's index")
    if r.ok:
        v.receipt(r.raw, sent=d.raw, method=d.method)
        return "stored" if stored is not None else "new"
    check(r.refusal is not None,
          "a write sent again fails with %s %r" % (r.code, r.details))
    return "refused"


def settle(s, watch, v, doubts, outcomes):
    """After a restart: the log holds every receipt, and the writes in
    doubt are sent again."""
    watch.catch_up(s.client())
    watch.holds_receipts()
    for d in doubts:
        what = resend(s, watch, v, d)
        outcomes[what] = outcomes.get(what, 0) + 1


def crash():
    a = cb.ARGS
    seed = a.seed if a.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    say("crash: %d kills, %d writers, seed %d", a.kills, a.writers, seed)
    s = cb.Server().start()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    watch = robust.LogWatch(v)
    kiosk_key = robust.enrol_kiosk(s, v)
    t0 = time.time()
    doubts, outcomes, acked = [], {}, 0
    for n in range(a.kills):
        settle(s, watch, v, doubts, outcomes)
        writers = robust.run_writers(s, kiosk_key, a.writers, rng)
        # Mostly under full load, sometimes just as the writers connect.
        delay = rng.uniform(0, 0.05) if rng.random() < 0.15 else \
            rng.uniform(0.05, a.max_delay)
        time.sleep(delay)
        robust.kill(s)
        doubts = robust.join_writers(s, writers, v)
        round_acked = sum(len(w.ok) for w in writers)
        acked += round_acked
        size = s.replay()
        check(size >= len(watch.leaves), "replay sees %d entries, fewer "
              "than the %d already read" % (size, len(watch.leaves)))
        say("kill %d after %.3f s: %d acknowledged, %d in doubt, log %d",
            n + 1, delay, round_acked, len(doubts), size)
        s.start()
    settle(s, watch, v, doubts, outcomes)
    watch.catch_up(s.client())
    watch.holds_receipts()
    s.stop()
    eq(s.replay(), len(watch.leaves), "replay --verify at the end")
    cb.verify_log(s.export(), s.centre)
    say("crash: %d kills in %.0f s, seed %d: %d writes acknowledged, all in "
        "the log of %d entries; writes in doubt sent again: %r",
        a.kills, time.time() - t0, seed, acked, len(watch.leaves),
        outcomes)
    s.cleanup()


def options(ap):
    ap.add_argument("--kills", type=int,
                    default=int(os.environ.get("CB_CRASH_KILLS", "10")))
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--max-delay", type=float, default=1.5,
                    help="longest time a round runs before the kill, s")


if __name__ == "__main__":
    cb.main({"crash": crash}, __doc__, options)
