#!/usr/bin/python3
"""carebankd when the disk fails it (issue 7, Robustness).

  robust.map_full    an LMDB map of 1 MiB (map-size-mb) fills under
                     several writers: every write that does not fit fails
                     as RESOURCE_EXHAUSTED and the server keeps running;
                     while it is full, reads (reports, statements, the
                     Audit service's checkpoint, entries and proofs) are
                     answered, a stored write sent again gets its receipt
                     (also in a batch whose new writes do not fit), and a
                     new one changes nothing. Wrong PINs are answered and
                     lock a card as ever, though the full store cannot
                     keep their count, alone or in a batch after writes
                     that did not fit.
                     With a larger map after a restart the writers go on. Every receipt is in the
                     log, which verifies and replays to the same views.
  robust.disk_full   the same with the data directory on a small tmpfs
                     filled by a ballast file: the disk, not the map, is
                     full. Deleting the ballast gives the room back and the
                     same server takes writes again, without a restart.
                     Mounting needs root: the test says so and is skipped
                     (ctest shows it) when it cannot mount.
  robust.fsync_fail  carebankd runs with failsync (an LD_PRELOAD shim) that
                     makes every fsync, fdatasync and msync fail with EIO
                     after the first N, for --rounds values of N, under
                     several writers. The server must stop writes and exit
                     with status 3 by itself; restarted without the shim,
                     every write it answered OK is in the log, none it
                     answered otherwise is, the log verifies and replays to
                     the same views, and it takes writes again.
  robust.shortage    carebankd runs with mdbfail (an LD_PRELOAD shim) that
                     makes LMDB's write transactions fail to begin, with
                     ENOMEM or EAGAIN, while a file exists: every write is
                     refused RESOURCE_EXHAUSTED saying why, reads are
                     answered, the server keeps running, and once the
                     file is gone the same requests are accepted; under
                     several writers, none of the refused writes is in the
                     log. Then a commit fails with ENOMEM: the server
                     answers that nothing was written and stops (exit 3),
                     and after a restart that write is not in the log and
                     is accepted when sent again. The log verifies and
                     replays to the same views.
"""
import os
import random
import signal
import subprocess
import tempfile
import time

import robust
from robust import SC, cb, check, eq, say
from cbclient import A, C, K

FULL = robust.DEATH + (SC.RESOURCE_EXHAUSTED,)


def reads_while_full(s, watch, family):
    """Reads that need no room are answered by a full store."""
    c = s.client()
    for method, msg in (
            (C + "Balances", None), (C + "Fund", None),
            (C + "Present", None), (C + "Roster", None),
            (C + "Flagged", None),
            (C + "GetStatement", cb.spb.StatementRequest(family=family)),
            (A + "Inclusion", cb.spb.InclusionRequest(index=0)),
            (A + "Consistency", cb.spb.ConsistencyRequest(from_size=1))):
        r = c.call(method, msg)
        check(r.ok, "%s on a full store: %r" % (method, r))
    watch.catch_up(c)
    watch.holds_receipts()


def first_family(writers):
    """The id of a family some writer enrolled."""
    for w in writers:
        for raw, _, method in w.ok:
            if method.endswith("/EnrolFamily"):
                return cb.spb.Receipt.FromString(raw).result.id
    raise cb.Failure("no family was enrolled")


def card(s, v):
    """Before the store fills up, an adult with a card and a PIN, and
    another adult; returns the other's id."""
    coord = s.client()
    rc, raw = coord.write(C + "EnrolFamily")
    v.receipt(raw)
    family = rc.result.id
    adults = []
    for _ in range(2):
        rc, raw = coord.write(C + "AddAdult", cb.pb.AddAdultRequest(
            family=family))
        v.receipt(raw)
        adults.append(rc.result.id)
    r = coord.call(C + "SetDirectory", cb.spb.DirectoryRequest(
        id=adults[0], name="Wang Fang", card="CARD-0042", pin="735194"))
    check(r.ok, "SetDirectory: %r" % r)
    return adults[1]


OWN = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own


def held(s, how):
    """lmdbhold holding LMDB's write lock or a reader until released."""
    h = subprocess.Popen([cb.ARGS.tools["lmdbhold"], how, s.data, "0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    eq(h.stdout.readline().strip(), "held", "lmdbhold %s" % how)
    return h


def release(h):
    h.stdin.close()
    eq(h.wait(30), 0, "lmdbhold")


def send(client, method, raw):
    return client.channel.unary_unary(method).future(
        raw, metadata=client.metadata(method, raw), timeout=60)


def outcome(f):
    try:
        return SC.OK, f.result()
    except robust.grpc.RpcError as e:
        return e.code(), e.details()


def behind_full_writes(s, method, raw, client, settle=0.2):
    """Sends raw on client in the writer's batch after rooms that do not
    fit: LMDB's write lock is held (lmdbhold) while the writer takes the
    first room alone and the rest queue with raw behind them. Returns
    raw's outcome and the last room's."""
    coord = cb.Client(s.channel(OWN), s.centre, s.coord_key)
    w = held(s, "write")
    rooms = [send(coord, C + "AddRoom", cb.pb.AddRoomRequest(
        label="full-%02d-" % n + "f" * 50, centre=s.centre,
        request_id=cb.request_id()).SerializeToString()) for n in range(8)]
    time.sleep(0.2)
    f = send(client, method, raw)
    time.sleep(settle)
    release(w)
    return outcome(f), outcome(rooms[-1])


def retry_beside_full_writes(s, method, sent, receipt):
    """A stored write sent again in a batch that fails for a full store
    gets its receipt: its entry was committed before, and stands."""
    coord = s.client()
    for k in range(10000):  # rooms of the size behind_full_writes sends
        r = coord.call(C + "AddRoom", cb.pb.AddRoomRequest(
            label="fill-%04d-" % k + "f" * 48))
        if not r.ok:
            break
    eq(r.code, SC.RESOURCE_EXHAUSTED, "a room that does not fit")
    mine = cb.Client(s.channel(OWN), s.centre, s.coord_key)
    for k in range(3):
        got, room = behind_full_writes(s, method, sent, mine)
        eq(room[0], SC.RESOURCE_EXHAUSTED, "a room that does not fit "
           "(%r)" % (room,))
        eq(got, (SC.OK, receipt), "a stored write sent again beside "
           "writes that do not fit (%d)" % k)


def pins_beside_a_retry(s, door, method, sent, receipt):
    """Two wrong PINs whose counts do not fit, in one batch of the writer
    with a stored write sent again between them: the first count's failure
    spoils neither the retry's receipt nor the second attempt's count."""
    coord = cb.Client(s.channel(OWN), s.centre, s.coord_key)
    mine = cb.Client(s.channel(OWN), s.centre, s.coord_key)

    def identify(pin):
        return send(door, K + "Identify", cb.spb.IdentifyRequest(
            card="CARD-0042", pin=pin, centre=s.centre).SerializeToString())
    w = held(s, "write")
    room = send(coord, C + "AddRoom", cb.pb.AddRoomRequest(
        label="full-" + "f" * 50, centre=s.centre,
        request_id=cb.request_id()).SerializeToString())
    time.sleep(0.2)  # the writer takes it alone, and waits for the lock
    first = identify("000000")
    time.sleep(1.0)  # its PIN checked, on the writer's queue
    retry = send(mine, method, sent)
    time.sleep(0.2)
    second = identify("000001")
    time.sleep(1.0)
    release(w)
    eq(outcome(room)[0], SC.RESOURCE_EXHAUSTED, "a room that does not fit")
    mismatch = (SC.UNAUTHENTICATED,
                "the card or member code and the PIN do not match")
    eq(outcome(first), mismatch, "a wrong PIN whose count does not fit")
    eq(outcome(retry), (SC.OK, receipt), "a stored write sent again "
       "behind a PIN count that does not fit")
    eq(outcome(second), mismatch, "a wrong PIN behind them")


def pins_while_full(s, kiosk_key, other, retried):
    """Wrong PINs lock a card even when the store cannot keep their count,
    or a guesser could try PINs without end while it is full. A reader
    held open by another process (lmdbhold) keeps the full map from
    reusing the pages freed after it; directory writes as small as a
    count use up the rest."""
    hold = held(s, "read")
    coord = s.client()
    for k in range(10000):
        r = coord.call(C + "SetDirectory", cb.spb.DirectoryRequest(
            id=other, phone="%d" % k))
        if not r.ok:
            break
    eq(r.code, SC.RESOURCE_EXHAUSTED, "a directory write that does not "
       "fit (%d fitted): %r" % (k, r.details))
    door = cb.Client(s.channel(OWN), s.centre, kiosk_key)

    def identify(pin, beside=False):
        """An attempt alone, or in a batch that writes which do not fit
        have failed before it is counted."""
        if not beside:
            r = door.call(K + "Identify", cb.spb.IdentifyRequest(
                card="CARD-0042", pin=pin))
            return r.code, r.details
        raw = cb.spb.IdentifyRequest(card="CARD-0042", pin=pin,
                                     centre=s.centre).SerializeToString()
        got, room = behind_full_writes(s, K + "Identify", raw, door, 1.0)
        eq(room[0], SC.RESOURCE_EXHAUSTED, "a room that does not fit")
        return got
    # Answered as ever (memory holds the count): a full store must not
    # tell a card someone holds, whose count is written, from another.
    pins_beside_a_retry(s, door, *retried)
    for k in range(2, 5):
        eq(identify("%06d" % k, beside=k % 2 == 1), (SC.UNAUTHENTICATED,
           "the card or member code and the PIN do not match"),
           "wrong PIN %d when not even its count fits%s" %
           (k, " (beside writes that do not)" if k % 2 else ""))
    r = door.call(K + "Identify", cb.spb.IdentifyRequest(
        card="CARD-7777", pin="000000"))
    eq((r.code, r.details), (SC.UNAUTHENTICATED, "the card or member code "
       "and the PIN do not match"), "a card nobody holds, alike")
    for beside in (False, True):
        code, details = identify("735194", beside)
        eq((code, details.split(":")[0]),
           (SC.RESOURCE_EXHAUSTED, "too many wrong PINs"),
           "the right PIN after five wrong ones the store could not count"
           "%s" % (" (beside writes that do not fit)" if beside else ""))
    release(hold)


def fill(s, v, watch, kiosk_key, writers, other):
    """Writes until the store is full; checks the refusals and that the
    full store still serves. Returns the number of entries."""
    ws = robust.run_writers(s, kiosk_key, writers, random.Random(1), FULL)
    doubts = robust.join_writers(s, ws, v, timeout=300)
    eq(len(doubts), writers, "every writer stopped at a full store")
    for d in doubts:
        eq(d.code, SC.RESOURCE_EXHAUSTED, "a write to a full store (%r)" %
           d.details)
        check("full" in d.details, "says why: %r" % d.details)
    check(s.alive(), "the server stopped at a full store")
    # A stored write sent again is answered from the full store.
    raw, sent, method = ws[0].ok[0]
    r = s.client().raw(method, sent)
    eq(r.raw, raw, "a retry answered from the full store")
    retry_beside_full_writes(s, method, sent, raw)
    size = watch.catch_up(s.client())
    reads_while_full(s, watch, first_family(ws))
    # A write that does not fit changes nothing.
    r = s.client().call(C + "AddRoom", cb.pb.AddRoomRequest(label="x" * 60))
    if not r.ok:
        eq(r.code, SC.RESOURCE_EXHAUSTED, "a write to a full store")
        eq(watch.catch_up(s.client()), size, "the log after it")
    else:
        v.receipt(r.raw, sent=r.sent)
    pins_while_full(s, kiosk_key, other, (method, sent, raw))
    say("full at %d entries: %d writes acknowledged, refusals %r",
        watch.catch_up(s.client()), sum(len(w.ok) for w in ws),
        sorted({d.details for d in doubts}))
    return size


def write_on(s, v, watch, kiosk_key, seconds=2.0):
    """With room again, writers go on; returns how many writes they made."""
    ws = robust.run_writers(s, kiosk_key, 4, random.Random(2), FULL)
    time.sleep(seconds)
    eq(robust.kill(s, signal.SIGTERM), 0, "exit status after SIGTERM")
    robust.join_writers(s, ws, v)
    acked = sum(len(w.ok) for w in ws)
    check(acked > 0, "no write was accepted with room again")
    return acked


def map_full():
    s = cb.Server()
    conf = os.path.join(s.dir, "small.conf")
    with open(conf, "w") as f:
        f.write("map-size-mb = 1\n")
    s.start(extra=["--config", conf])
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    watch = robust.LogWatch(v)
    kiosk_key = robust.enrol_kiosk(s, v)
    other = card(s, v)
    fill(s, v, watch, kiosk_key, 6, other)
    s.stop()
    eq(s.replay(), len(watch.leaves), "replay --verify of the full store")
    with open(conf, "w") as f:
        f.write("map-size-mb = 8\n")
    s.start(extra=["--config", conf])
    write_on(s, v, watch, kiosk_key)
    finish(s, watch)
    s.cleanup()


def finish(s, watch):
    """The server is stopped: start it to read the whole log, stop it,
    and replay."""
    s.start()
    watch.catch_up(s.client())
    watch.holds_receipts()
    s.stop()
    eq(s.replay(), len(watch.leaves), "replay --verify")
    cb.verify_log(s.export(), s.centre)
    say("log of %d entries verified; every receipt in it", len(watch.leaves))


def mount_tmpfs(size):
    """A new tmpfs of size ("16m"); None, saying why, when it cannot be
    had."""
    if os.geteuid() != 0:
        return None, "the test does not run as root"
    where = tempfile.mkdtemp(prefix="cb-tmpfs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                        "tmpfs", where], capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(where)
        return None, "mount failed: %s" % r.stderr.strip()
    return where, None


def disk_full():
    where, why = mount_tmpfs("16m")
    if where is None:
        robust.skip("robust.disk_full cannot mount a tmpfs (%s); the "
                    "small-map variant robust.map_full covers a full "
                    "store without it" % why)
    try:
        disk_full_on(where)
    finally:
        subprocess.run(["umount", "-l", where])
        os.rmdir(where)


def disk_full_on(where):
    data = os.path.join(where, "data")
    out = cb.run([cb.carebankd(), "init", "--data", data, "--centre",
                  "huada"])
    eq(out.returncode, 0, "init on the tmpfs: %s" % out.stderr)
    s = cb.Server(data=data).start()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    watch = robust.LogWatch(v)
    kiosk_key = robust.enrol_kiosk(s, v)
    other = card(s, v)
    st = os.statvfs(where)
    ballast = os.path.join(where, "ballast")
    room = 1 << 20
    with open(ballast, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, st.f_bavail * st.f_frsize - room)
    say("tmpfs of 16 MiB with %d KiB left", os.statvfs(where).f_bavail *
        st.f_frsize >> 10)
    fill(s, v, watch, kiosk_key, 6, other)
    os.unlink(ballast)
    write_on(s, v, watch, kiosk_key)
    finish(s, watch)
    backup_full(s)
    s.cleanup()


def backup_full(s):
    """A backup onto a disk too small for it fails and leaves nothing: no
    cut-short copy that would pass for one."""
    where, why = mount_tmpfs("64k")
    check(where is not None, "a second tmpfs: %s" % why)
    try:
        r = cb.run([cb.carebankd(), "backup", "--data", s.data,
                    os.path.join(where, "b1")])
        eq(r.returncode, 1, "a backup onto a full disk: %s" % r.stdout)
        check("backup failed" in r.stderr, r.stderr)
        eq(os.listdir(where), [], "what the failed backup left")
        say("a backup onto 64 KiB: %s", r.stderr.strip())
    finally:
        subprocess.run(["umount", "-l", where])
        os.rmdir(where)


def fsync_round(s, v, watch, kiosk_key, after, writers):
    """One server with flushes failing after the first `after`."""
    robust.start_with_shim(s, cb.ARGS.failsync,
                           {"CB_FAILSYNC_AFTER": str(after)})
    ws = robust.run_writers(s, kiosk_key, writers, random.Random(after))
    status = robust.reap(s, timeout=120)
    doubts = robust.join_writers(s, ws, v)
    log = s.log_text()
    eq(status, 3, "exit status after a failed fsync (log:\n%s)" %
       log[-3000:])
    check("failsync:" in log, "the shim was not in play")
    check("event=commit_failed" in log, "the server says why it stopped")
    acked = sum(len(w.ok) for w in ws)
    s.start()
    watch.catch_up(s.client())
    watch.holds_receipts()
    for d in doubts:
        check(d.raw not in watch.requests,
              "a write answered %s (%r) is in the log at %s" %
              (d.code, d.details, watch.requests.get(d.raw)))
    s.stop()
    eq(s.replay(), len(watch.leaves), "replay --verify")
    say("flushes fail after %d: exit 3; %d writes acknowledged, all in the "
        "log of %d; %d answered with errors %r, none in it", after, acked,
        len(watch.leaves), len(doubts), sorted({str(d.code)
                                                for d in doubts}))


def fsync_fail():
    a = cb.ARGS
    check(a.failsync, "--failsync names the shim")
    seed = a.seed if a.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    say("fsync_fail: %d rounds, seed %d", a.rounds, seed)
    s = cb.Server().start()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    watch = robust.LogWatch(v)
    kiosk_key = robust.enrol_kiosk(s, v)
    s.stop()
    for _ in range(a.rounds):
        fsync_round(s, v, watch, kiosk_key, rng.randrange(4, 60), 6)
    s.start()
    write_on(s, v, watch, kiosk_key, 1.0)
    finish(s, watch)
    s.cleanup()


def shortage_on(s, how):
    """Makes LMDB's write transactions fail (mdbfail's file), or not."""
    path = os.path.join(s.dir, "mdbfail")
    if how is None:
        os.unlink(path)
        return
    with open(path, "w") as f:
        f.write(how + "\n")


def refused_alone(s, v, watch, family, how, words):
    """With how in force, writes are refused and reads answered; once it
    is gone, the same requests are accepted."""
    coord = s.client()
    size = watch.catch_up(coord)
    shortage_on(s, how)
    refused = []
    for k in range(5):
        r = coord.call(C + "AddRoom", cb.pb.AddRoomRequest(
            label="%s %d" % (how, k)))
        eq((r.code, r.details), (SC.RESOURCE_EXHAUSTED, words),
           "a write while %s" % how)
        refused.append(r.sent)
    reads_while_full(s, watch, family)
    eq(watch.catch_up(coord), size, "the log while %s" % how)
    check(s.alive(), "the server stopped at %s" % how)
    shortage_on(s, None)
    for sent in refused:
        r = coord.raw(C + "AddRoom", sent)
        check(r.ok, "the write refused at %s, sent again: %r" % (how, r))
        v.receipt(r.raw, sent=sent)


def refused_under_load(s, v, watch, kiosk_key, rng):
    """Writers run while the shortage comes and goes: each stops at its
    first refusal, which must say why and be in no entry; sent again
    without the shortage, it is accepted."""
    stop = (SC.RESOURCE_EXHAUSTED,)
    ws = robust.run_writers(s, kiosk_key, 6, rng, stop)
    while any(w.is_alive() for w in ws):
        time.sleep(rng.uniform(0.05, 0.3))
        shortage_on(s, "begin ENOMEM")
        time.sleep(rng.uniform(0.05, 0.2))
        shortage_on(s, None)
    doubts = robust.join_writers(s, ws, v)
    eq(len(doubts), len(ws), "every writer met the shortage")
    watch.catch_up(s.client())
    watch.holds_receipts()
    for d in doubts:
        eq((d.code, d.details), (SC.RESOURCE_EXHAUSTED, "the store takes "
           "no writes: out of memory"), "a write refused under load")
        check(d.raw not in watch.requests, "a refused write is in the log "
              "at %s" % watch.requests.get(d.raw))
        r = s.client(d.client.key).raw(d.method, d.raw)
        check(r.ok, "a refused write, sent again: %r" % r)
        v.receipt(r.raw, sent=d.raw, method=d.method)
    say("under load: %d writes accepted, %d refused and then accepted",
        sum(len(w.ok) for w in ws), len(doubts))


def shortage():
    a = cb.ARGS
    check(a.mdbfail, "--mdbfail names the shim")
    s = cb.Server()
    shim = {"CB_MDBFAIL_FILE": os.path.join(s.dir, "mdbfail")}
    robust.start_with_shim(s, a.mdbfail, shim)
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    watch = robust.LogWatch(v)
    kiosk_key = robust.enrol_kiosk(s, v)
    rc, raw = s.client().write(C + "EnrolFamily")
    v.receipt(raw)
    family = rc.result.id
    refused_alone(s, v, watch, family, "begin ENOMEM",
                  "the store takes no writes: out of memory")
    refused_alone(s, v, watch, family, "begin EAGAIN",
                  "the store takes no writes: busy")
    refused_under_load(s, v, watch, kiosk_key, random.Random(7))
    # A commit that fails may have written pages: the server stops.
    size = watch.catch_up(s.client())
    shortage_on(s, "commit ENOMEM")
    r = s.client().call(C + "AddRoom", cb.pb.AddRoomRequest(label="last"))
    eq((r.code, r.details), (SC.UNAVAILABLE, "the store failed: "
       "nothing was written; the server is stopping"), "a failed commit")
    eq(robust.reap(s), 3, "exit status after a failed commit")
    log = s.log_text()
    check("mdbfail:" in log, "the shim was not in play")
    check("event=commit_failed" in log, "the server says why it stopped")
    shortage_on(s, None)
    s.start()
    eq(watch.catch_up(s.client()), size, "the log after the failed commit")
    again = s.client().raw(C + "AddRoom", r.sent)
    check(again.ok, "the write of the failed commit, sent again: %r" % again)
    v.receipt(again.raw, sent=r.sent)
    s.stop()
    finish(s, watch)
    s.cleanup()


def options(ap):
    ap.add_argument("--failsync", help="the failsync shim (.so)")
    ap.add_argument("--mdbfail", help="the mdbfail shim (.so)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int)


if __name__ == "__main__":
    cb.main({f.__name__: f for f in (map_full, disk_full, fsync_fail,
                                     shortage)},
            __doc__, options)
