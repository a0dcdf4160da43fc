#!/usr/bin/python3
"""Operating carebankd (DESIGN 5.7, issue 5).

  e2e.operate_init          init makes 0600 key files and the verifier key
                            line, refuses an existing centre changing
                            nothing, refuses a bad id; two centres in one
                            directory are served side by side, each log
                            signed by its own key; a centre made while the
                            server runs is served, one whose log key is
                            missing is refused without stopping the others
  e2e.operate_check_config  "configuration OK"; cleartext off loopback,
                            half a TLS setting, a public metrics address,
                            unknown settings and bad numbers are refused,
                            from flags and from a config file (flags win);
                            serve refuses what check-config refuses
  e2e.operate_backup        a backup taken while clients write replays and
                            verifies on its own, is a prefix of the live
                            log, and serves (with the log key) as a store
  e2e.operate_drain         SIGTERM with a call half sent: GOAWAY, no new
                            connections, the call finishes with a receipt
                            that is in the log, a clean exit; a call that
                            never finishes is cut at drain-ms; SIGHUP
                            stops nothing (it reloads the TLS files)
  e2e.operate_drain_load    SIGTERM under load: every write answered OK is
                            in the log, the rest fail cleanly
  e2e.operate_store_full    a full store refuses writes as
                            RESOURCE_EXHAUSTED, keeps serving and stays
                            whole; with room again the log goes on
  e2e.operate_metrics       the Prometheus page counts calls by method and
                            status, refusals, retries, bad signatures,
                            batches and the log's size
  e2e.operate_logs          one structured line per call; PINs, names and
                            cards never appear in the server's log, the
                            ledger or any answer, nor private keys in the
                            server's log
  e2e.operate_tls           TLS through grpc's own TLS client, and with
                            --client-ca a client without a certificate is
                            refused; cleartext to a TLS port gets nowhere;
                            SIGHUP serves a renewed certificate to new
                            connections, open ones go on, and files that
                            do not load change nothing; a client resuming
                            its TLS session is served, with --client-ca too
  e2e.operate_health        grpc.health.v1 and server reflection (v1 and
                            v1alpha) through their generated clients list
                            the three services
"""
import base64
import os
import re
import select
import shutil
import signal
import socket
import ssl
import stat
import struct
import threading
import time

import grpc

import cbclient as cb
from cbclient import A, C, K, check, eq
from h2raw import (DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING,
                   PREFACE, RST_STREAM, SETTINGS, frame, hpack)

SC = grpc.StatusCode


# Raw HTTP/2, enough to hold a call half sent.

class RawCall:
    """One signed unary call on a raw connection, sent in two parts."""

    def __init__(self, port, client, method, raw):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0, b""))
        md = client.metadata(method, raw)
        fields = [(":method", "POST"), (":scheme", "http"),
                  (":path", method), (":authority", "carebank"),
                  ("content-type", "application/grpc"), ("te", "trailers")]
        for k, v in md:
            fields.append((k, base64.b64encode(v) if k.endswith("-bin")
                           else v))
        self.sock.sendall(frame(HEADERS, END_HEADERS, 1, hpack(fields)))
        self.msg = b"\x00" + struct.pack(">I", len(raw)) + raw
        self.buf, self.data = b"", b""
        self.goaway = self.done = self.closed = self.reset = False

    def send(self, part, end):
        self.sock.sendall(frame(DATA, END_STREAM if end else 0, 1, part))

    def pump(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return
        try:
            chunk = self.sock.recv(65536)
        except ConnectionError:
            chunk = b""
        if not chunk:
            self.closed = True
            return
        self.buf += chunk
        while len(self.buf) >= 9:
            n = struct.unpack(">I", b"\0" + self.buf[:3])[0]
            if len(self.buf) < 9 + n:
                break
            ftype, flags = self.buf[3], self.buf[4]
            stream = struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff
            payload = self.buf[9:9 + n]
            self.buf = self.buf[9 + n:]
            if ftype == SETTINGS and not flags & 1:
                self.sock.sendall(frame(SETTINGS, 1, 0, b""))
            elif ftype == PING and not flags & 1:
                self.sock.sendall(frame(PING, 1, 0, payload))
            elif ftype == GOAWAY:
                self.goaway = True
            elif ftype == DATA and stream == 1:
                self.data += payload
            elif ftype == RST_STREAM and stream == 1:
                self.reset = True
            if stream == 1 and (ftype in (HEADERS, DATA) and
                                flags & END_STREAM or ftype == RST_STREAM):
                self.done = True

    def until(self, cond, timeout):
        end = time.time() + timeout
        while not cond() and not self.closed and time.time() < end:
            self.pump(max(0.0, end - time.time()))
        return cond()


def connect_refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def operate_drain():
    s = cb.Server().start()
    coord = s.client()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    coord.write(C + "EnrolFamily")
    method = C + "EnrolFamily"
    raw = cb.pb.EnrolFamilyRequest(request_id=cb.request_id(),
                                   centre=s.centre).SerializeToString()
    call = RawCall(s.port, coord, method, raw)
    call.send(call.msg[:7], False)
    call.until(lambda: False, 0.3)
    coord.channel.close()
    s.proc.send_signal(signal.SIGTERM)
    check(call.until(lambda: call.goaway, 5), "no GOAWAY after SIGTERM")
    check(connect_refused(s.port), "a new connection after SIGTERM")
    check(s.alive(), "the server waits for the call in flight")
    call.send(call.msg[7:], True)
    check(call.until(lambda: call.done, 15), "the call in flight did not "
          "finish (reset=%s closed=%s)" % (call.reset, call.closed))
    check(not call.reset, "the call in flight was reset")
    check(len(call.data) > 5, "no receipt")
    n = struct.unpack(">I", call.data[1:5])[0]
    receipt = call.data[5:5 + n]
    e = v.receipt(receipt, sent=raw, method=method)
    eq(s.proc.wait(15), 0, "exit status after the drain")
    s.proc = None
    s.log.close()
    cb.SERVERS.remove(s)
    leaves = s.export()
    eq(leaves[e.index], cb.spb.Receipt.FromString(receipt).entry,
       "the drained call's entry is in the log")
    # A call that never finishes is cut when drain-ms runs out.
    conf = os.path.join(s.dir, "drain.conf")
    with open(conf, "w") as f:
        f.write("drain-ms = 500\n")
    s.start(extra=["--config", conf])
    size = len(leaves)
    call = RawCall(s.port, s.client(), method, cb.pb.EnrolFamilyRequest(
        request_id=cb.request_id(), centre=s.centre).SerializeToString())
    call.send(call.msg[:7], False)
    call.until(lambda: False, 0.3)
    t0 = time.time()
    s.proc.send_signal(signal.SIGTERM)
    eq(s.proc.wait(15), 0, "exit status after drain-ms")
    check(time.time() - t0 < 5, "drain-ms not enforced: %.1fs" %
          (time.time() - t0))
    s.proc = None
    s.log.close()
    cb.SERVERS.remove(s)
    eq(len(s.export()), size, "the unfinished call wrote nothing")
    # SIGHUP reloads the TLS files (none here) and stops nothing.
    s.start()
    s.proc.send_signal(signal.SIGHUP)
    wait_log(s, "event=tls_reloaded listeners=0")
    check(s.client().call(C + "Balances").ok, "a call after SIGHUP")
    s.stop()
    s.cleanup()


def wait_log(s, text, timeout=15):
    """Waits until the server's log holds text."""
    deadline = time.time() + timeout
    while text not in s.log_text():
        check(time.time() < deadline, "the log never said %r" % text)
        time.sleep(0.05)


def operate_drain_load():
    s = cb.Server().start()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    ok, failed, lock = [], [], threading.Lock()
    stop = time.time() + 30

    def writer():
        c = s.client()
        while time.time() < stop:
            r = c.call(C + "EnrolFamily", timeout=20)
            with lock:
                if r.ok:
                    ok.append((r.raw, r.sent))
                else:
                    failed.append(r.code)
                    return

    threads = [threading.Thread(target=writer) for _ in range(16)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    s.proc.send_signal(signal.SIGTERM)
    eq(s.proc.wait(30), 0, "exit status under load")
    for t in threads:
        t.join(30)
        check(not t.is_alive(), "a client hangs after the server stopped")
    s.proc = None
    s.log.close()
    cb.SERVERS.remove(s)
    check(ok, "writes before SIGTERM")
    check(all(c == SC.UNAVAILABLE for c in failed),
          "writes after SIGTERM fail as UNAVAILABLE: %r" % set(failed))
    for raw, sent in ok:
        v.receipt(raw, sent=sent)
    leaves = s.export()
    v.consistent(leaves)
    print("%d writes answered before the stop, all in the log of %d" %
          (len(ok), len(leaves)))
    eq(s.replay(), len(leaves), "replay --verify")
    s.cleanup()


def operate_backup():
    s = cb.Server().start()
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    stop = threading.Event()
    receipts = []

    def writer():
        c = s.client()
        while not stop.is_set():
            rc, raw = c.write(C + "EnrolFamily")
            receipts.append(raw)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    out = os.path.join(s.dir, "backup")
    r = cb.run([cb.carebankd(), "backup", "--data", s.data, out])
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(30)
    eq(r.returncode, 0, "backup: %s" % r.stderr)
    check("backup" in r.stdout, "backup says what it did: %r" % r.stdout)
    r2 = cb.run([cb.carebankd(), "backup", "--data", s.data, out])
    eq(r2.returncode, 1, "a backup into an existing directory")
    check("exists" in r2.stderr, "says why: %r" % r2.stderr)
    check(not os.path.exists(os.path.join(out, "keys")),
          "the backup holds no private keys")
    eq(stat.S_IMODE(os.stat(os.path.join(out, "data.mdb")).st_mode), 0o600,
       "the backup's store is its owner's only (it holds personal data)")
    eq(sorted(os.listdir(out)), ["data.mdb", s.centre + ".vkey"],
       "what the backup holds")
    check(not [n for n in os.listdir(s.dir) if ".partial-" in n],
          "a finished backup leaves no partial directory")
    # A path ending in '/' names the same new directory; a dangling
    # symlink is an existing path.
    slash = os.path.join(s.dir, "nested", "backup2") + "//"
    r = cb.run([cb.carebankd(), "backup", "--data", s.data, slash])
    eq(r.returncode, 0, "a backup into DIR/: %s" % r.stderr)
    eq(sorted(os.listdir(slash)), ["data.mdb", s.centre + ".vkey"],
       "the backup made at DIR/")
    check(not [n for n in os.listdir(os.path.join(s.dir, "nested"))
               if ".partial-" in n], "no partial directory left")
    link = os.path.join(s.dir, "dangling")
    os.symlink(os.path.join(s.dir, "nowhere"), link)
    r = cb.run([cb.carebankd(), "backup", "--data", s.data, link])
    eq(r.returncode, 1, "a backup onto a dangling symlink")
    check("exists" in r.stderr, "says why: %r" % r.stderr)
    check(not os.path.exists(os.path.join(s.dir, "nowhere")),
          "nothing made where it points")
    # Root reading a store restored into its owner's directory (a replay
    # run with sudo) gives the lock file LMDB makes to that owner, so the
    # server, running as the owner, can still open it.
    if os.geteuid() == 0:
        restored = os.path.join(s.dir, "restored")
        shutil.copytree(out, restored)
        for name in [""] + os.listdir(restored):
            os.chown(os.path.join(restored, name), 65534, 65534)
        r = cb.run([cb.carebankd(), "replay", "--data", restored,
                    "--verify"])
        eq(r.returncode, 0, "replay of the restored copy: %s" % r.stderr)
        for name in ("data.mdb", "lock.mdb"):
            eq(os.stat(os.path.join(restored, name)).st_uid, 65534,
               "the owner of %s after root read it" % name)
    # A copy cut short is refused by name, never read past its end (which
    # would be a SIGBUS); a store with no centre verifies nothing.
    cut = os.path.join(s.dir, "cut")
    os.mkdir(cut, 0o700)
    with open(os.path.join(out, "data.mdb"), "rb") as f:
        blob = f.read()
    with open(os.path.join(cut, "data.mdb"), "wb") as f:
        f.write(blob[:len(blob) // 2])
    r = cb.run([cb.carebankd(), "replay", "--data", cut, "--verify"])
    eq(r.returncode, 1, "replay of a cut copy: %s" % r.stderr)
    check("stored data does not verify" in r.stderr, r.stderr)
    empty = os.path.join(s.dir, "empty")
    os.mkdir(empty, 0o700)
    r = cb.run([cb.carebankd(), "replay", "--data", empty, "--verify"])
    eq(r.returncode, 1, "replay of a store with no centre")
    # The backup on its own: replay, its own export, the live log's prefix.
    n = s.replay(data=out)
    backup = s.export(data=out)
    eq(len(backup), n, "the backup's size")
    for raw in receipts:
        v.receipt(raw)
    s.stop()
    live = s.export()
    check(0 < n < len(live), "the backup was taken mid-way (%d of %d)" %
          (n, len(live)))
    eq(backup, live[:n], "the backup is a prefix of the live log")
    v.consistent(live)
    with open(os.path.join(out, s.centre + ".vkey")) as f:
        eq(f.read().strip(), s.vkey, "the backup's verifier key")
    # With the log key put back, the backup serves and grows the same log.
    os.makedirs(os.path.join(out, "keys"), mode=0o700)
    for name in os.listdir(os.path.join(s.data, "keys")):
        src = os.path.join(s.data, "keys", name)
        dst = os.path.join(out, "keys", name)
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        os.chmod(dst, 0o600)
    b = cb.Server(centre=s.centre, data=out).start()
    rc, raw = b.client().write(C + "EnrolFamily")
    eq(rc.index, n, "the next entry of the backup")
    size, root = cb.parse_checkpoint(rc.checkpoint, v.vkey)
    eq(root, cb.mth([cb.leaf_hash(x) for x in backup + [rc.entry]]),
       "the restored log's root")
    b.stop()
    b.cleanup()
    s.cleanup()


def operate_restore():
    """A store put back from a backup is older than the log the server
    published: serve and check-config refuse it, saying why and what to
    do, rather than sign a second history at sizes already signed. The
    server keeps the checkpoint it published in DATA/<centre>.signed:
    within about a second while it serves, exactly once stopped."""
    s = cb.Server().start()
    c = s.client()
    signed = os.path.join(s.data, s.centre + ".signed")

    def latest():
        r = c.call(A + "GetCheckpoint")
        check(r.ok, "GetCheckpoint: %r" % r)
        return cb.spb.CheckpointReply.FromString(r.raw)

    def kept():
        with open(signed, "rb") as f:
            return f.read()

    for _ in range(3):
        c.write(C + "EnrolFamily")
    out = os.path.join(s.dir, "backup")
    r = cb.run([cb.carebankd(), "backup", "--data", s.data, out])
    eq(r.returncode, 0, "backup: %s" % r.stderr)
    for _ in range(3):
        c.write(C + "EnrolFamily")
    want = latest().checkpoint
    deadline = time.time() + 10
    while kept() != want and time.time() < deadline:
        time.sleep(0.05)
    eq(kept(), want, "the checkpoint kept while serving")
    c.write(C + "EnrolFamily")
    want = latest().checkpoint
    s.stop()
    eq(kept(), want, "the checkpoint kept once stopped")
    eq(stat.S_IMODE(os.stat(signed).st_mode), 0o644, "its mode")

    def serve():
        return cb.run([cb.carebankd(), "serve", "--data", s.data,
                       "--listen", "127.0.0.1:0"], timeout=30)

    def refused(r, words, what):
        eq(r.returncode, 1, "%s: %s" % (what, r.stderr))
        for w in words + ["move %s aside" % signed]:
            check(w in r.stderr, "%s says %r: %r" % (what, w, r.stderr))

    # The backup put back: refused, by serve and by check-config.
    shutil.copyfile(os.path.join(out, "data.mdb"),
                    os.path.join(s.data, "data.mdb"))
    older = ["the store is older than the log this server published",
             "a checkpoint of 8 entries (%s)" % signed, "latest is of 4"]
    refused(serve(), older, "serve of the backup put back")
    refused(cb.run([cb.carebankd(), "check-config", "--data", s.data,
                    "--listen", "127.0.0.1:0"]),
            older, "check-config of it")
    eq(kept(), want, "the file after the refusals")
    # Moved aside, the backup is served, and goes on from 4 with other
    # entries: a second history. With the file back it is refused too.
    os.rename(signed, signed + ".old")
    s.start()
    c = s.client()
    for _ in range(4):
        c.write(C + "AddRoom", cb.pb.AddRoomRequest(label="after"))
    other = latest()
    eq(other.size, 8, "the log served from the backup")
    s.stop()
    eq(kept(), other.checkpoint, "the new history's checkpoint kept")
    os.replace(signed + ".old", signed)
    refused(serve(), ["the store holds another history of the log than the "
                      "one this server published", "its checkpoint of 8 "
                      "entries is not the one in %s" % signed],
            "serve of another history")
    # A file that is not a checkpoint of this log is refused by name.
    with open(signed, "wb") as f:
        f.write(b"not a checkpoint\n")
    r = serve()
    eq(r.returncode, 1, "a damaged file: %s" % r.stderr)
    check("%s is not a checkpoint of its log" % signed in r.stderr,
          r.stderr)
    os.unlink(signed)
    torn = signed + ".tmp.99999"  # left by a server killed keeping it
    with open(torn, "wb") as f:
        f.write(b"half")
    s.start()
    check(not os.path.exists(torn), "a start removes a torn copy")
    s.stop()
    eq(kept(), other.checkpoint, "kept again at a start without one")
    s.cleanup()


def operate_signed_failing():
    """A centre's published checkpoint that cannot be written (its path
    taken by a directory) is logged once, tried again each second, and
    logged once more when it is kept again; the other centres' files are
    kept meanwhile and say nothing."""
    s = cb.Server()
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "nanshan"])
    eq(r.returncode, 0, "a second centre: %s" % r.stderr)
    s.start()
    ch = s.channel()
    huada = s.client()
    nanshan = cb.Client(ch, "nanshan", cb.Key.load(os.path.join(
        s.data, "keys", "nanshan.coordinator.pem")))
    path = os.path.join(s.data, "nanshan.signed")
    deadline = time.time() + 10
    while not os.path.exists(path):
        check(time.time() < deadline, "%s never kept" % path)
        time.sleep(0.05)
    os.unlink(path)
    os.makedirs(os.path.join(path, "in-the-way"))
    nanshan.write(C + "EnrolFamily")
    wait_log(s, "event=signed_not_kept centre=nanshan")
    for _ in range(12):  # three seconds of huada's writes
        huada.write(C + "EnrolFamily")
        time.sleep(0.25)
    log = s.log_text()
    eq(log.count("event=signed_not_kept"), 1, "failures logged:\n" + log)
    eq(log.count("event=signed_kept"), 0, "kept logged for a centre that "
       "never failed:\n" + log)
    want = huada.call(A + "GetCheckpoint")
    with open(os.path.join(s.data, "huada.signed"), "rb") as f:
        eq(f.read(), cb.spb.CheckpointReply.FromString(want.raw).checkpoint,
           "huada's file kept meanwhile")
    shutil.rmtree(path)
    wait_log(s, "event=signed_kept centre=nanshan")
    want = nanshan.call(A + "GetCheckpoint")
    with open(path, "rb") as f:
        eq(f.read(), cb.spb.CheckpointReply.FromString(want.raw).checkpoint,
           "nanshan's file kept again")
    s.stop()
    s.cleanup()


def operate_store_full():
    """A full store refuses writes as RESOURCE_EXHAUSTED and keeps serving;
    what it holds stays whole, and with room again the log goes on."""
    s = cb.Server()
    conf = os.path.join(s.dir, "small.conf")
    with open(conf, "w") as f:
        f.write("map-size-mb = 1\n")
    s.start(metrics=True, extra=["--config", conf])
    v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
    full = threading.Event()
    got, lock = [], threading.Lock()

    def writer():
        c = s.client()
        while not full.is_set():
            r = c.call(C + "AddRoom", cb.pb.AddRoomRequest(label="x" * 60))
            with lock:
                got.append(r)
            if not r.ok:
                full.set()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        check(not t.is_alive(), "a writer hangs")
    bad = [r for r in got if not r.ok]
    check(bad, "the store never filled")
    for r in bad:
        eq(r.code, SC.RESOURCE_EXHAUSTED, "a write to a full store (%r)" %
           r.details)
        check("full" in r.details, "says why: %r" % r.details)
    good = [r for r in got if r.ok]
    for r in good:
        v.receipt(r.raw, sent=r.sent)
    size = s.log_size()
    eq(size, len(good) + 1, "every answered write, and no other")
    # A smaller batch may still fit; a write that does not changes nothing.
    c = s.client()
    for _ in range(3):
        r = c.call(C + "EnrolFamily")
        if r.ok:
            v.receipt(r.raw, sent=r.sent)
            size += 1
        else:
            eq(r.code, SC.RESOURCE_EXHAUSTED, "full (%r)" % r.details)
        eq(s.log_size(), size, "the log after a write to a full store")
    r = c.raw(C + "AddRoom", good[0].sent)
    eq(r.raw, good[0].raw, "a retry is answered from the full store")
    check(s.alive(), "the server stopped")
    s.stop()
    eq(s.replay(), size, "replay --verify of the full store")
    s.start()
    rc, raw = s.client().write(C + "EnrolFamily")
    eq(rc.index, size, "with room again the log goes on")
    v.receipt(raw)
    s.stop()
    v.consistent(s.export())
    s.cleanup()


def operate_metrics():
    s = cb.Server().start(metrics=True)
    coord = s.client()
    m0 = s.metrics()

    def delta(m, name):
        return m.get(name, 0) - m0.get(name, 0)

    def calls(method, status):
        return 'carebank_calls_total{method="%s",status="%s"}' % (method,
                                                                  status)

    for _ in range(5):
        coord.write(C + "EnrolFamily")
    for _ in range(3):
        coord.call(C + "RecordCash", cb.pb.RecordCashRequest(
            family="f999", amount_fen=1))
    raw = cb.pb.EnrolFamilyRequest(request_id=cb.request_id(),
                                   centre=s.centre).SerializeToString()
    for _ in range(2):
        coord.raw(C + "EnrolFamily", raw)
    coord.raw(C + "EnrolFamily", raw, sig=b"\x00" * 64)
    coord.call(C + "Balances")
    m = s.metrics()
    eq(delta(m, calls(C + "EnrolFamily", "OK")), 7, "EnrolFamily OK")
    eq(delta(m, calls(C + "EnrolFamily", "UNAUTHENTICATED")), 1,
       "EnrolFamily UNAUTHENTICATED")
    eq(delta(m, calls(C + "RecordCash", "NOT_FOUND")), 3,
       "RecordCash NOT_FOUND")
    check(calls(C + "Balances", "OK") in m or
          calls(C + "Balances", "UNIMPLEMENTED") in m, "Balances counted")
    eq(delta(m, "carebank_refusals_total"), 3, "refusals")
    eq(delta(m, "carebank_retries_total"), 1, "retries")
    eq(delta(m, "carebank_bad_signatures_total"), 1, "bad signatures")
    check(delta(m, "carebank_batches_total") >= 1, "batches")
    check(delta(m, "carebank_batch_requests_total") >= 6, "batched writes")
    check(m["carebank_commit_seconds_total"] > 0, "commit time")
    eq(int(m['carebank_log_entries{centre="%s"}' % s.centre]),
       s.log_size(), "log entries")
    eq(m['carebank_log_signed_size{centre="%s"}' % s.centre],
       m['carebank_log_entries{centre="%s"}' % s.centre], "signed size")
    check(m["carebank_connections"] >= 1, "connections")
    import urllib.error
    import urllib.request
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % s.metrics_port,
                               timeout=5)
        check(False, "another path is served")
    except urllib.error.HTTPError as e:
        eq(e.code, 404, "another path")
    s.stop()
    s.cleanup()


def operate_logs():
    s = cb.Server().start()
    coord = s.client()
    kiosk_key = cb.Key()
    coord.write(C + "EnrolKey", cb.pb.EnrolKeyRequest(
        public_key=kiosk_key.pub, role=cb.epb.ROLE_KIOSK, label="door"))
    kiosk = s.client(kiosk_key, coord.channel)
    fam = coord.write(C + "EnrolFamily")[0].result.id
    adult = coord.write(C + "AddAdult", cb.pb.AddAdultRequest(
        family=fam))[0].result.id
    pin = "735194"
    answers = []
    r = coord.call(C + "SetDirectory", cb.spb.DirectoryRequest(
        id=adult, name="Wang Fang", card="CARD-0042", pin=pin))
    answers.append(r)
    for card, p in (("CARD-0042", pin), ("CARD-0042", pin[::-1]),
                    ("CARD-9", pin)):
        answers.append(kiosk.call(K + "Identify", cb.spb.IdentifyRequest(
            card=card, pin=p)))
    coord.call(C + "RecordCash", cb.pb.RecordCashRequest(family="f999",
                                                         amount_fen=1))
    s.stop()
    # Not in any answer (message, trailers, response) or the stored log.
    for r in answers:
        for text in (r.details, repr(r.trailers), repr(r.raw)):
            check(pin not in text and pin[::-1] not in text,
                  "a PIN in an answer: %r" % r)
    for leaf in s.export():
        check(pin.encode() not in leaf and b"CARD-0042" not in leaf and
              b"Wang Fang" not in leaf, "personal data in the log")
    log = s.log_text()
    lines = [x for x in log.splitlines() if " method=" in x]
    for method, status in ((C + "SetDirectory", None), (K + "Identify", None),
                           (C + "EnrolFamily", "OK"),
                           (C + "RecordCash", "NOT_FOUND")):
        got = [x for x in lines if "method=%s " % method in x]
        check(got, "no log line for %s" % method)
        for x in got:
            for field in ("ts=", "level=", "status=", "latency_ms=",
                          "peer="):
                check(field in x, "%r lacks %s" % (x, field))
            # Who called: the kiosk's key for Identify, else the
            # coordinator's.
            who = kiosk_key if method == K + "Identify" else s.coord_key
            check(" key=%s " % who.hex in x, "%r lacks key=%s" % (x, who.hex))
            if status:
                check("status=%s " % status in x, "%r: status" % x)
    eq(sum(1 for x in lines if "method=%s " % (K + "Identify") in x), 3,
       "one line per call")
    check(pin not in log and pin[::-1] not in log,
          "a PIN is in the server's log")
    check("Wang Fang" not in log and "CARD-0042" not in log,
          "personal data is in the server's log")
    with open(os.path.join(s.data, "keys", s.centre + ".coordinator.pem")) \
            as f:
        pem = f.read()
    body = "".join(pem.splitlines()[1:-1])
    check(body not in log, "a private key is in the log")
    s.cleanup()


def operate_check_config():
    d = cb.Server()
    bin_ = cb.carebankd()

    def cc(*args, config=None):
        argv = [bin_, "check-config"] + list(args)
        if config is not None:
            path = os.path.join(d.dir, "carebankd.conf")
            with open(path, "w") as f:
                f.write(config)
            argv += ["--config", path]
        return cb.run(argv)

    def ok(r):
        lines = r.stdout.strip().splitlines()
        return (r.returncode, lines[-1] if lines else "")

    r = cc("--data", d.data, "--listen", "127.0.0.1:0")
    eq(ok(r), (0, "configuration OK"), "loopback")
    check(re.search(r"^centre \S+ \(.*\): \d+ entries, log key in place$",
                    r.stdout, re.M), "names each centre: %r" % r.stdout)
    for listen in ("0.0.0.0:50051", "[::]:50051", "192.0.2.7:443",
                   "[::ffff:127.0.0.1]:50051"):
        r = cc("--data", d.data, "--listen", listen)
        eq(r.returncode, 1, "cleartext on %s" % listen)
        check("loopback" in r.stderr and "TLS" in r.stderr.upper(),
              "%s: says why: %r" % (listen, r.stderr))
        check("configuration OK" not in r.stdout, "%s: not OK" % listen)
    # The server binds numeric addresses only: a name is refused here, not
    # when serving, and a name that merely starts "127." is no loopback.
    for listen in ("example.org:443", "127.evil.example:7443"):
        r = cc("--data", d.data, "--listen", listen)
        eq(r.returncode, 1, "a host name: %s" % listen)
        check("HOST:PORT" in r.stderr and "IPv4" in r.stderr,
              "%s: says why: %r" % (listen, r.stderr))
    r = cc("--data", d.data, "--listen", "[::1]:0", "--metrics",
           "localhost:0")
    eq(ok(r), (0, "configuration OK"), "IPv6 loopback, metrics on localhost")
    cert = os.path.join(d.dir, "cert.pem")
    r = cc("--data", d.data, "--listen", "192.0.2.7:443", "--tls-cert", cert)
    eq(r.returncode, 1, "a certificate without its key")
    check("tls" in r.stderr.lower(), "says why: %r" % r.stderr)
    r = cc("--data", d.data, "--listen", "127.0.0.1:0", "--metrics",
           "0.0.0.0:9100")
    eq(r.returncode, 1, "metrics off loopback")
    check("metrics" in r.stderr, "says why: %r" % r.stderr)
    r = cc("--listen", "127.0.0.1:0")
    eq(r.returncode, 1, "no data directory")
    r = cc("--data", d.data, "--listen", "127.0.0.1:0", "--workers", "x")
    check(r.returncode != 0 and "workers" in r.stderr, "bad number: %r" %
          r.stderr)
    # The same from a file; flags win over it.
    good = "# carebankd\ndata = %s\nlisten = 127.0.0.1:0\nworkers = 2\n" \
        "max-batch = 64\ntime-window-ms = 60000\n" % d.data
    r = cc(config=good)
    eq(ok(r), (0, "configuration OK"), "a file")
    bad = good.replace("127.0.0.1:0", "0.0.0.0:50051")
    r = cc(config=bad)
    eq(r.returncode, 1, "a file listening off loopback")
    r = cc("--listen", "127.0.0.1:0", config=bad)
    eq(ok(r), (0, "configuration OK"), "a flag over the file")
    r = cc(config=good + "colour = blue\n")
    eq(r.returncode, 1, "an unknown setting")
    check(":7:" in r.stderr and "colour" in r.stderr,
          "names the line: %r" % r.stderr)
    r = cc(config=good + "\n\n# below\n\ncolour = blue\n")
    check(":11:" in r.stderr, "blank lines count: %r" % r.stderr)
    r = cc(config=good + "drain-ms = -1\n")
    eq(r.returncode, 1, "a negative number")
    r = cc(config="listen 127.0.0.1:0\n")
    eq(r.returncode, 1, "a line without '='")
    # A setting made twice is a mistake, said with both lines; listen
    # may be repeated.
    r = cc(config=good + "workers = 4\n")
    eq(r.returncode, 1, "workers set twice")
    check(":7: workers is set on line 4 already" in r.stderr,
          "names both lines: %r" % r.stderr)
    r = cc(config=good + "listen = 127.0.0.1:0\n")
    eq(ok(r), (0, "configuration OK"), "two listen lines")
    # What serve could not do, check-config says first: two listeners or
    # the metrics on one port, a port file with no directory to go in.
    r = cc("--data", d.data, "--listen", "127.0.0.1:7443", "--listen",
           "[::1]:7444", "--listen", "localhost:7443")
    eq(r.returncode, 1, "the same port twice")
    check("listen 127.0.0.1:7443 and listen localhost:7443 are the same "
          "port" in r.stderr, "says which: %r" % r.stderr)
    r = cc("--data", d.data, "--listen", "127.0.0.1:7443", "--metrics",
           "127.0.0.1:7443")
    eq(r.returncode, 1, "metrics on the listen port")
    check("metrics 127.0.0.1:7443" in r.stderr, r.stderr)
    r = cc("--data", d.data, "--listen", "[::1]:7443", "--metrics",
           "127.0.0.1:7443")
    eq(ok(r), (0, "configuration OK"), "one port on two addresses")
    r = cc(config=good + "port-file = %s/nowhere/port\n" % d.dir)
    eq(r.returncode, 1, "a port file with no directory")
    check("nowhere is not there" in r.stderr, r.stderr)
    # '#' starts a comment only at the line's start or after a space: one
    # inside a value is the value's.
    hashed = os.path.join(d.dir, "cb#2")
    shutil.copytree(d.data, hashed)
    r = cc(config=good.replace("data = %s" % d.data, "data = %s  # 2" %
                               hashed) + "  # indented comment\n")
    eq(ok(r), (0, "configuration OK"), "a data directory with '#' in it")
    r = cc(config=good.replace("data = %s" % d.data, "data = %s/x#2" %
                               d.dir))
    eq(r.returncode, 1, "a path with # in it is taken whole (x#2 is absent)")
    check("x#2" in r.stderr, "names the whole path: %r" % r.stderr)
    # The bound on held bytes must fit one whole message.
    r = cc(config=good + "buffers-mb = 16\nmax-message-bytes = 16777216\n")
    eq(ok(r), (0, "configuration OK"), "buffers for one 16 MiB message")
    r = cc(config=good + "buffers-mb = 3\n")
    eq(r.returncode, 1, "buffers smaller than a message")
    check("buffers-mb (3 MiB) must hold at least one message of "
          "max-message-bytes (4194304)" in r.stderr, "says why: %r" %
          r.stderr)
    r = cc(config=good + "buffers-mb = 0\n")
    check(r.returncode == 1 and "buffers-mb" in r.stderr,
          "no buffers: %r" % r.stderr)
    # A data directory this user may not read is said to be so, not an
    # input/output error that sends the operator looking for a bad disk.
    if os.geteuid() == 0 and shutil.which("setpriv"):
        r = cb.run(["setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups", bin_, "check-config", "--data",
                    d.data, "--listen", "127.0.0.1:0"], timeout=30)
        eq(r.returncode, 1, "check-config of a directory it cannot read")
        check("permission denied" in r.stderr and
              "input/output" not in r.stderr, "says why: %r" % r.stderr)
    # The data directory: a store with centres, each with its log key.
    empty = os.path.join(d.dir, "empty")
    os.mkdir(empty)
    for data, words in ((empty, "carebankd init"),
                        (os.path.join(d.dir, "absent"), "carebankd init")):
        r = cc("--data", data, "--listen", "127.0.0.1:0")
        eq(r.returncode, 1, "check-config of %s" % data)
        check(words in r.stderr, "says why: %r" % r.stderr)
        r = cb.run([bin_, "serve", "--data", data, "--listen",
                    "127.0.0.1:0"], timeout=30)
        eq(r.returncode, 1, "serve of %s" % data)
        check(words in r.stderr, "serve says why: %r" % r.stderr)
    keys = [os.path.join(d.data, "keys", f)
            for f in os.listdir(os.path.join(d.data, "keys"))
            if f.endswith(".log.pem")]
    os.chmod(keys[0], 0o644)
    r = cc("--data", d.data, "--listen", "127.0.0.1:0")
    eq(r.returncode, 1, "a log key others can read")
    check("chmod 600" in r.stderr, "says what to do: %r" % r.stderr)
    os.chmod(keys[0], 0o600)
    with open(keys[0], "rb") as f:
        saved = f.read()
    cb.Key().save(keys[0] + ".other")
    os.replace(keys[0] + ".other", keys[0])
    r = cc("--data", d.data, "--listen", "127.0.0.1:0")
    eq(r.returncode, 1, "another key in the log key's place")
    check("not the key its log was made with" in r.stderr,
          "says why: %r" % r.stderr)
    with open(keys[0], "wb") as f:
        f.write(saved)
    # TLS files that cannot be used are named, with OpenSSL's reason.
    r = cc("--data", d.data, "--listen", "192.0.2.7:443", "--tls-cert",
           os.path.join(d.dir, "missing.pem"), "--tls-key", keys[0])
    eq(r.returncode, 1, "a certificate file that is not there")
    check("certificate chain" in r.stderr and "missing.pem" in r.stderr and
          "No such file" in r.stderr, "names it: %r" % r.stderr)
    r = cc("--data", d.data, "--listen", "192.0.2.7:443", "--tls-cert",
           keys[0], "--tls-key", keys[0])
    eq(r.returncode, 1, "a private key given as the certificate")
    check("certificate chain" in r.stderr, "names it: %r" % r.stderr)
    # serve refuses what check-config refuses, and serves nothing.
    port = os.path.join(d.dir, "port")
    r = cb.run([bin_, "serve", "--data", d.data, "--listen", "0.0.0.0:0",
                "--port-file", port], timeout=30)
    eq(r.returncode, 1, "serve off loopback in cleartext")
    check(not os.path.exists(port), "it never served")
    r = cb.run([bin_, "frobnicate"])
    eq(r.returncode, 2, "an unknown command")
    r = cb.run([bin_, "serve", "--no-such-flag"])
    eq(r.returncode, 2, "an unknown flag")
    d.cleanup()


def operate_init():
    s = cb.Server(centre="huada", origin="carebank.example.org/huada")
    keys = os.path.join(s.data, "keys")
    for name in os.listdir(keys):
        eq(stat.S_IMODE(os.stat(os.path.join(keys, name)).st_mode), 0o600,
           "mode of %s" % name)
    eq(stat.S_IMODE(os.stat(keys).st_mode), 0o700, "mode of keys/")
    vk = cb.VKey(s.vkey)
    eq(vk.name, "carebank.example.org/huada", "the verifier key names the "
       "origin")
    before = {n: open(os.path.join(keys, n), "rb").read()
              for n in os.listdir(keys)}
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "huada"])
    eq(r.returncode, 1, "init of an existing centre")
    check("exists" in r.stderr, "says why: %r" % r.stderr)
    eq({n: open(os.path.join(keys, n), "rb").read()
        for n in os.listdir(keys)}, before, "the keys are unchanged")
    # Its verifier key file gone (an init stopped just before writing
    # it): init says so and prints the line from the store.
    vkfile = os.path.join(s.data, "huada.vkey")
    os.rename(vkfile, vkfile + ".away")
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "huada"])
    eq(r.returncode, 1, "init of a centre whose vkey file is missing")
    check("%s is missing; the line it holds is:\n%s\n" % (vkfile, s.vkey)
          in r.stderr, "prints the line: %r" % r.stderr)
    os.rename(vkfile + ".away", vkfile)
    # Key files without a centre (an init interrupted before its first
    # entry, or a store restored from before the centre): never a new log
    # under a key that may have signed one; init says which files.
    ghost = os.path.join(keys, "ghost.log.pem")
    shutil.copy(os.path.join(keys, "huada.log.pem"), ghost)
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "ghost"])
    eq(r.returncode, 1, "init over left-over key files")
    check("has no centre ghost, but its files are there (%s)" % ghost
          in r.stderr and "Nothing was changed" in r.stderr, r.stderr)
    eq(sorted(os.listdir(keys)), sorted(list(before) + ["ghost.log.pem"]),
       "no file made")
    os.unlink(ghost)
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "ghost"])
    eq(r.returncode, 0, "init once they are removed: %s" % r.stderr)
    for bad in ("Hua Da", "huada/x", "", "x" * 64, "../etc"):
        r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                    bad])
        eq(r.returncode, 1, "centre id %r" % bad)
    # An origin names one log for life: never a second centre's.
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "copycat", "--origin", "carebank.example.org/huada"])
    eq(r.returncode, 1, "a second centre with huada's origin")
    check("names a centre" in r.stderr, "says why: %r" % r.stderr)
    # A bad origin is refused before anything is made.
    fresh = os.path.join(s.dir, "fresh")
    r = cb.run([cb.carebankd(), "init", "--data", fresh, "--centre",
                "huada", "--origin", "a b"])
    eq(r.returncode, 1, "origin with a space")
    check(not os.path.exists(fresh), "a refused init made %s" % fresh)
    r = cb.run([cb.carebankd(), "init", "--data", fresh, "--centre",
                "huada", "--origin", "o" * 256])
    eq(r.returncode, 1, "an origin of 256 bytes")
    check("at most 255 bytes, not 256" in r.stderr, "says why: %r" %
          r.stderr)
    check(not os.path.exists(fresh), "a refused init made %s" % fresh)
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "nanshan"])
    eq(r.returncode, 0, "a second centre: %s" % r.stderr)
    vk2 = r.stdout.splitlines()[0]
    coord2 = cb.Key.load(os.path.join(keys, "nanshan.coordinator.pem"))
    s.start()
    # A second server on the same address says so, and stops.
    r = cb.run([cb.carebankd(), "serve", "--data", s.data, "--listen",
                "127.0.0.1:%d" % s.port], timeout=30)
    eq(r.returncode, 1, "a second server on port %d" % s.port)
    check("address is in use" in r.stderr, "says why: %r" % r.stderr)
    ch = s.channel()
    c1 = cb.Client(ch, "huada", s.coord_key)
    c2 = cb.Client(ch, "nanshan", coord2)
    v1 = cb.Verifier(s.vkey, "huada").know(s.coord_key)
    v2 = cb.Verifier(vk2, "nanshan").know(coord2)
    for _ in range(3):
        v1.receipt(c1.write(C + "EnrolFamily")[0])
        v2.receipt(c2.write(C + "EnrolFamily")[0])
    # Each log is signed by its own key only.
    rc = c2.write(C + "EnrolFamily")[0]
    try:
        v1.receipt(rc)
        check(False, "one centre's receipt verified with another's key")
    except cb.Failure:
        pass
    r = c1.call(C + "EnrolFamily", cb.pb.EnrolFamilyRequest(),
                centre="nanshan")
    eq(r.code, SC.UNAUTHENTICATED, "huada's key at nanshan")
    # A centre made while the server runs is served from its first write.
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "futian"])
    eq(r.returncode, 0, "init while serving: %s" % r.stderr)
    c3 = cb.Client(ch, "futian", cb.Key.load(os.path.join(
        keys, "futian.coordinator.pem")))
    v3 = cb.Verifier(r.stdout.splitlines()[0], "futian").know(c3.key)
    v3.receipt(c3.write(C + "EnrolFamily")[0])
    # One whose log key is not there is refused, and nothing else stops.
    r = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                "luohu"])
    eq(r.returncode, 0, "init while serving: %s" % r.stderr)
    logkey = os.path.join(keys, "luohu.log.pem")
    hidden = os.path.join(s.dir, "luohu.log.pem")
    os.rename(logkey, hidden)
    c4 = cb.Client(ch, "luohu", cb.Key.load(os.path.join(
        keys, "luohu.coordinator.pem")))
    r = c4.call(C + "EnrolFamily")
    eq(r.code, SC.UNAVAILABLE, "a centre without its log key (%r)" %
       r.details)
    check("log key" in r.details, "says why: %r" % r.details)
    check(s.alive(), "the server stopped")
    v1.receipt(c1.write(C + "EnrolFamily")[0])
    os.rename(hidden, logkey)
    v3.receipt(c3.write(C + "EnrolFamily")[0])
    s.stop()
    out = cb.run([cb.carebankd(), "replay", "--data", s.data, "--verify"])
    eq(out.returncode, 0, "replay of all: %s" % out.stdout)
    for want in ("huada: 5 entries", "nanshan: 5 entries",
                 "futian: 3 entries", "luohu: 1 entries"):
        check(want in out.stdout, "%r not in %r" % (want, out.stdout))
    s.cleanup()


def make_cert(d, name, ca=None):
    """A P-256 certificate for name (and 127.0.0.1) signed by ca, or a CA
    of its own when ca is None; returns (cert path, key path, cert, key)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.utcnow()
    b = x509.CertificateBuilder().subject_name(subject) \
        .public_key(key.public_key()) \
        .serial_number(x509.random_serial_number()) \
        .not_valid_before(now - datetime.timedelta(hours=1)) \
        .not_valid_after(now + datetime.timedelta(days=1))
    if ca is None:
        b = b.issuer_name(subject).add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True)
        signer = key
    else:
        b = b.issuer_name(ca[2].subject).add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName(name),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        signer = ca[3]
    cert = b.sign(signer, hashes.SHA256())
    cpath = os.path.join(d, name + ".crt")
    kpath = os.path.join(d, name + ".key")
    with open(cpath, "wb") as f:
        f.write(cert.public_bytes(ser.Encoding.PEM))
    with open(kpath, "wb") as f:
        f.write(key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                  ser.NoEncryption()))
    os.chmod(kpath, 0o600)
    return cpath, kpath, cert, key


def tls_resumes(port, ca, client, version):
    """Connects twice with client's certificate, the second time resuming
    the first's session (as nginx and Go clients do): whether it was."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca[0])
    ctx.load_cert_chain(client[0], client[1])
    ctx.set_alpn_protocols(["h2"])
    ctx.minimum_version = ctx.maximum_version = version
    session = None
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as r, \
                ctx.wrap_socket(r, server_hostname="carebank.test",
                                session=session) as t:
            # The preface and empty SETTINGS; the server's SETTINGS back
            # (a TLS 1.3 ticket comes before them).
            t.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
                      bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
            check(len(t.recv(9)) > 0, "the server's SETTINGS")
            if session is not None:
                return t.session_reused
            session = t.session
    return False


def operate_tls():
    """TLS (and client certificates) through grpc's own TLS client; off
    loopback only with TLS."""
    s = cb.Server()
    ca = make_cert(s.dir, "test-ca")
    srv = make_cert(s.dir, "carebank.test", ca)
    client = make_cert(s.dir, "kiosk-7", ca)
    r = cb.run([cb.carebankd(), "check-config", "--data", s.data,
                "--listen", "0.0.0.0:8443", "--tls-cert", srv[0],
                "--tls-key", srv[1]])
    eq((r.returncode, r.stdout.strip().splitlines()[-1]),
       (0, "configuration OK"), "TLS off loopback: %s" % r.stderr)
    r = cb.run([cb.carebankd(), "check-config", "--data", s.data,
                "--listen", "0.0.0.0:8443", "--tls-cert", srv[0],
                "--tls-key", client[1]])
    eq(r.returncode, 1, "a key that is not the certificate's")
    check("private key" in r.stderr and "match" in r.stderr,
          "says why: %r" % r.stderr)
    with open(ca[0], "rb") as f:
        root = f.read()
    opts = [("grpc.ssl_target_name_override", "carebank.test")]
    for mtls in (False, True):
        extra = ["--tls-cert", srv[0], "--tls-key", srv[1]]
        if mtls:
            extra += ["--client-ca", ca[0]]
        s.start(extra=extra)
        v = cb.Verifier(s.vkey, s.centre).know(s.coord_key)
        with open(client[0], "rb") as f, open(client[1], "rb") as g:
            mine = grpc.ssl_channel_credentials(root, g.read(), f.read())
        ch = grpc.secure_channel("127.0.0.1:%d" % s.port, mine, opts)
        grpc.channel_ready_future(ch).result(timeout=10)
        rc, raw = cb.Client(ch, s.centre, s.coord_key).write(
            C + "EnrolFamily")
        v.receipt(raw)
        ch.close()
        # Without a client certificate: refused when one is required.
        ch = grpc.secure_channel("127.0.0.1:%d" % s.port,
                                 grpc.ssl_channel_credentials(root), opts)
        r = cb.Client(ch, s.centre, s.coord_key).call(C + "EnrolFamily",
                                                      timeout=10)
        ch.close()
        if mtls:
            eq(r.code, SC.UNAVAILABLE, "TLS without a client certificate")
        else:
            check(r.ok, "TLS without a client certificate: %r" % r)
        # A client resuming its session is served, client certificate or
        # not (OpenSSL needs a session id context when it verifies).
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            check(tls_resumes(s.port, ca, client, version),
                  "%s resumed (mtls %s)" % (version, mtls))
        # Cleartext to a TLS port gets nowhere.
        ch = grpc.insecure_channel("127.0.0.1:%d" % s.port)
        r = cb.Client(ch, s.centre, s.coord_key).call(C + "EnrolFamily",
                                                      timeout=5)
        ch.close()
        check(not r.ok, "cleartext to a TLS port")
        s.stop()
    operate_tls_reload(s, ca, srv)
    eq(s.replay(), 8, "replay --verify")
    s.cleanup()


def operate_tls_reload(s, ca, srv):
    """A certificate renewed in place (here by another CA, so that the
    client can tell) is served after SIGHUP to new connections; open ones
    go on; files that do not load change nothing."""
    opts = [("grpc.ssl_target_name_override", "carebank.test"),
            ("grpc.use_local_subchannel_pool", 1)]

    def connect(root_path):
        with open(root_path, "rb") as f:
            creds = grpc.ssl_channel_credentials(f.read())
        ch = grpc.secure_channel("127.0.0.1:%d" % s.port, creds, opts)
        return ch, cb.Client(ch, s.centre, s.coord_key)

    def works(root_path):
        ch, c = connect(root_path)
        r = c.call(C + "EnrolFamily", timeout=10)
        ch.close()
        return r

    s.start(extra=["--tls-cert", srv[0], "--tls-key", srv[1]])
    old_ch, old = connect(ca[0])
    check(old.call(C + "EnrolFamily", timeout=10).ok, "the first cert")
    ca2 = make_cert(s.dir, "test-ca-2")
    renewed = make_cert(s.dir, "carebank.test", ca2)  # over srv's files
    eq(renewed[:2], srv[:2], "renewed in place")
    check(not works(ca2[0]).ok, "the new certificate before SIGHUP")
    s.proc.send_signal(signal.SIGHUP)
    wait_log(s, "event=tls_reloaded listeners=1")
    check(works(ca2[0]).ok, "the new certificate after SIGHUP")
    check(not works(ca[0]).ok, "the old certificate after SIGHUP")
    check(old.call(C + "EnrolFamily", timeout=10).ok,
          "a connection opened before SIGHUP")
    old_ch.close()
    # A certificate file that does not load: logged, and the one loaded
    # before is kept.
    with open(srv[0], "w") as f:
        f.write("not a certificate\n")
    s.proc.send_signal(signal.SIGHUP)
    wait_log(s, "event=tls_reload_failed")
    line = [x for x in s.log_text().splitlines()
            if "event=tls_reload_failed" in x][0]
    check(srv[0] in line and "certificate chain" in line,
          "the log names the file: %r" % line)
    r = works(ca2[0])
    check(r.ok, "the kept certificate after a failed reload: %r" % r)
    s.stop()


def operate_health():
    # The stubs live under grpc/ in the build: extend grpc's search path
    # rather than shadow the package.
    grpc.__path__.append(os.path.join(cb.ARGS.gen_dir, "grpc"))
    from grpc.health.v1 import health_pb2, health_pb2_grpc
    from grpc.reflection.v1 import reflection_pb2 as r1, \
        reflection_pb2_grpc as r1g
    from grpc.reflection.v1alpha import reflection_pb2 as r0, \
        reflection_pb2_grpc as r0g
    s = cb.Server().start()
    ch = s.channel()
    health = health_pb2_grpc.HealthStub(ch)
    services = ["carebank.v1.Kiosk", "carebank.v1.Coordinator",
                "carebank.v1.Audit"]
    for name in [""] + services:
        r = health.Check(health_pb2.HealthCheckRequest(service=name),
                         timeout=10)
        eq(r.status, health_pb2.HealthCheckResponse.SERVING,
           "health of %r" % name)
    try:
        health.Check(health_pb2.HealthCheckRequest(service="nope"),
                     timeout=10)
        check(False, "an unknown service is healthy")
    except grpc.RpcError as e:
        eq(e.code(), SC.NOT_FOUND, "health of an unknown service")
    for mod, stubs in ((r1, r1g), (r0, r0g)):
        stub = stubs.ServerReflectionStub(ch)
        reqs = [mod.ServerReflectionRequest(list_services=""),
                mod.ServerReflectionRequest(
                    file_containing_symbol="carebank.v1.Kiosk")]
        got = list(stub.ServerReflectionInfo(iter(reqs), timeout=10))
        names = {x.name for x in got[0].list_services_response.service}
        check(set(services) <= names, "reflection lists %r" % names)
        files = got[1].file_descriptor_response.file_descriptor_proto
        check(files, "no descriptor for carebank.v1.Kiosk")
        from google.protobuf import descriptor_pb2
        fd = descriptor_pb2.FileDescriptorProto.FromString(files[0])
        eq(fd.package, "carebank.v1", "the descriptor's package")
        check("Kiosk" in {sv.name for sv in fd.service},
              "the descriptor holds the Kiosk service")
    s.stop()
    s.cleanup()


if __name__ == "__main__":
    cb.main({f.__name__: f for f in (
        operate_init, operate_check_config, operate_backup, operate_restore,
        operate_signed_failing, operate_drain,
        operate_drain_load, operate_store_full, operate_metrics, operate_logs,
        operate_tls, operate_health)}, __doc__)
