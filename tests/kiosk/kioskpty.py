"""Drives carebank-kiosk through a pseudo-terminal, as a parent at the door
would: keys typed one by one, the screen read back with its ANSI sequences
taken out. Also reads and writes the kiosk's offline queue file, written
here from the format drawn in tools/kiosk/queue.c and sharing no code with
it, and sets up a centre for the kiosk through cbclient.py.
"""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

import cbclient as cb
from cbclient import C, K, check, eq

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
KIOSK_BIN = os.environ.get("CB_KIOSK", "carebank-kiosk")


class Kiosk:
    """A carebank-kiosk on a pty of 100 columns and 40 lines."""

    def __init__(self, args, workdir, env=None):
        self.args = list(args)
        self.workdir = workdir
        self.env = dict(env or {})
        self.errpath = os.path.join(workdir, "kiosk.stderr")
        self.proc = None
        self.start()

    def start(self):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 40, 100, 0, 0))
        env = {"PATH": "/usr/bin:/bin", "HOME": self.workdir,
               "TERM": "xterm", "LANG": "C.UTF-8",
               "CAREBANK_CONFIG": os.path.join(self.workdir, "none.conf")}
        env.update(self.env)
        self.err = open(self.errpath, "ab")
        self.proc = subprocess.Popen([KIOSK_BIN] + self.args, stdin=slave,
                                     stdout=slave, stderr=self.err, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.master = master
        self.raw = b""
        self.pos = 0

    def text(self):
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            return None
        self.raw += data
        return True

    def expect(self, pattern, timeout=30):
        """Waits for pattern in what the screen showed since the last
        match; returns the match and moves past it."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while True:
            t = self.text()
            m = rx.search(t, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = end - time.time()
            if left <= 0 or self.pump(min(left, 0.5)) is None:
                raise cb.Failure("kiosk screen lacks %r; it shows:\n%s\n"
                                 "--- stderr:\n%s" %
                                 (pattern, t[self.pos:][-3000:],
                                  self.stderr()[-3000:]))

    def screen(self, settle=0.3):
        """What has been shown since the last match, after a short wait."""
        end = time.time() + settle
        while time.time() < end:
            self.pump(0.05)
        return self.text()[self.pos:]

    def last_screen(self, settle=0.3):
        """The screen drawn last (from its title line on)."""
        t = self.screen(settle)
        full = self.text()
        return full[full.rfind(" carebank . "):] if " carebank . " in full \
            else t

    def type(self, s, gap=0.0):
        for ch in s.encode():
            os.write(self.master, bytes([ch]))
            if gap:
                time.sleep(gap)

    def key_for(self, label):
        """The key of a menu entry on the screen shown last."""
        t = self.screen()
        keys = re.findall(r"(?m)(?:^|\s)([0-9a-z])  " + label, t)
        check(keys, "no menu entry %r on:\n%s" % (label, t[-2500:]))
        return keys[-1]

    def choose(self, label):
        """Chooses a menu entry: its key, then Enter."""
        k = self.key_for(label)
        self.type(k + "\r")
        return k

    def identify(self, who, pin, card=False):
        self.expect(r"Scan your card")
        self.type((";" if card else "") + who + "\r", gap=0.02)
        self.expect(r"PIN:")
        self.type(pin + "\r", gap=0.02)

    def stderr(self):
        try:
            with open(self.errpath, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.close()

    def stop(self):
        """SIGTERM: the kiosk restores the terminal and exits 0."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        self.close()
        eq(rc, 0, "the kiosk's exit status after SIGTERM")

    def close(self):
        while self.pump(0.05):
            pass
        os.close(self.master)
        self.err.close()


# The queue file (tools/kiosk/queue.c), read and written independently.

def crc32c(data, crc=0xffffffff):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1))
    return crc


def crc_final(data):
    return crc32c(data) ^ 0xffffffff


def header(version):
    h = b"CBKIOSKQ" + struct.pack(">I", version)
    return h + struct.pack(">I", crc_final(h))


HEADER, HEADER_V1 = header(2), header(1)


def record(body, version=2):
    """A record: the length, (from version 2) the length's own CRC, then
    the CRC of length and body."""
    ln = struct.pack(">I", len(body))
    head = ln if version == 1 else ln + struct.pack(">I", crc_final(ln))
    return head + struct.pack(">I", crc_final(ln + body)) + body


def action_body(seq, made_ms, method, family, req, flags=0):
    m, f = method.encode(), family.encode()
    return (b"\x01" + struct.pack(">QqB", seq, made_ms, flags) +
            bytes([len(m)]) + m + bytes([len(f)]) + f +
            struct.pack(">I", len(req)) + req)


def done_body(seq, state, index):
    return b"\x02" + struct.pack(">QBQ", seq, state, index)


def read_queue(path):
    """The queue's records: [(kind, fields)]; fails on any damage."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:16] in (HEADER, HEADER_V1), "queue header")
    head = 8 if data[:16] == HEADER_V1 else 12
    out, off = [], 16
    while off < len(data):
        (ln,) = struct.unpack(">I", data[off:off + 4])
        if head == 12:
            eq(struct.unpack(">I", data[off + 4:off + 8])[0],
               crc_final(data[off:off + 4]), "queue record length crc")
        (crc,) = struct.unpack(">I", data[off + head - 4:off + head])
        body = data[off + head:off + head + ln]
        eq(len(body), ln, "queue record length at %d" % off)
        eq(crc, crc_final(data[off:off + 4] + body), "queue record crc")
        if body[0] == 1:
            seq, made, flags = struct.unpack(">QqB", body[1:18])
            p = 18
            m = body[p + 1:p + 1 + body[p]].decode()
            p += 1 + body[p]
            fam = body[p + 1:p + 1 + body[p]].decode()
            p += 1 + body[p]
            (rl,) = struct.unpack(">I", body[p:p + 4])
            req = body[p + 4:p + 4 + rl]
            eq(p + 4 + rl, len(body), "action record length")
            out.append(("action", dict(seq=seq, made=made, flags=flags,
                                       method=m, family=fam, req=req)))
        else:
            seq, state, index = struct.unpack(">QBQ", body[1:18])
            out.append(("done", dict(seq=seq, state=state, index=index)))
        off += head + ln
    return out


def pending(path):
    recs = read_queue(path)
    done = {r["seq"] for k, r in recs if k == "done"}
    return [r for k, r in recs if k == "action" and r["seq"] not in done]


# A centre for the kiosk.

def centre(s, workdir):
    """A centre with two families, a room, shifts and a swap, and the
    kiosk's key enrolled. Returns (ids, coordinator client, key path)."""
    pb, spb = cb.pb, cb.spb
    co = s.client()

    def w(method, msg):
        return co.write(C + method, msg)[0].result.id

    co.write(C + "SetPolicy", pb.SetPolicyRequest(policy=cb.default_policy(
        clock_skew_ms=0, floor_minutes=0, swaps_need_approval=False,
        pin_max_failures=3)))
    # The kiosk makes its own key; the coordinator enrols the public half.
    keyfile = os.path.join(workdir, "kiosk.pem")
    out = subprocess.run([KIOSK_BIN, "--make-key", keyfile],
                         capture_output=True, text=True)
    eq(out.returncode, 0, "--make-key: %s" % out.stderr)
    eq(os.stat(keyfile).st_mode & 0o777, 0o600, "the key file's mode")
    pub = bytes.fromhex(re.search(r"public key ([0-9a-f]{64})",
                                  out.stdout).group(1))
    kid = re.search(r"key id ([0-9a-f]{16})", out.stdout).group(1)
    eq(cb.sha256(pub)[:8].hex(), kid, "the key id printed")
    co.write(C + "EnrolKey", pb.EnrolKeyRequest(
        public_key=pub, role=cb.epb.ROLE_KIOSK, label="front door"))
    i = {"kiosk_id": bytes.fromhex(kid)}
    i["fa"] = w("EnrolFamily", pb.EnrolFamilyRequest())
    i["fb"] = w("EnrolFamily", pb.EnrolFamilyRequest())
    i["a1"] = w("AddAdult", pb.AddAdultRequest(family=i["fa"], guardian=True))
    i["a2"] = w("AddAdult", pb.AddAdultRequest(family=i["fa"]))
    i["b1"] = w("AddAdult", pb.AddAdultRequest(family=i["fb"], guardian=True))
    i["mia"] = w("AddChild", pb.AddChildRequest(family=i["fa"]))
    i["leo"] = w("AddChild", pb.AddChildRequest(family=i["fa"]))
    co.write(C + "SetPickup", pb.SetPickupRequest(
        child=i["mia"], authorised=[i["a1"]]))
    co.write(C + "SetPickup", pb.SetPickupRequest(
        child=i["leo"], authorised=[i["a1"]], refused=[i["a2"]]))
    i["room"] = w("AddRoom", pb.AddRoomRequest(label="Sunflower",
                                               ratio_soft=1, ratio_hard=2))
    now = cb.now_ms()
    i["s1"] = w("ScheduleShift", pb.ScheduleShiftRequest(
        room=i["room"], start_ms=now - 600000, end_ms=now + 3000000,
        adult=i["a1"]))
    i["s3"] = w("ScheduleShift", pb.ScheduleShiftRequest(
        room=i["room"], start_ms=now + cb.DAY_MS,
        end_ms=now + cb.DAY_MS + cb.HOUR_MS, adult=i["a1"]))
    i["s2"] = w("ScheduleShift", pb.ScheduleShiftRequest(
        room=i["room"], start_ms=now + 2 * cb.DAY_MS,
        end_ms=now + 2 * cb.DAY_MS + cb.HOUR_MS, adult=i["b1"]))
    i["swap"] = co.write(K + "OfferSwap", pb.OfferSwapRequest(
        shift=i["s2"], kind=pb.SWAP_KIND_COVER,
        to_adult=i["a1"]))[0].result.id
    for rid, kw in ((i["fa"], dict(name="Wang")),
                    (i["fb"], dict(name="Li")),
                    (i["a1"], dict(name="Wang Fang", member_code="1001",
                                   card="CARD-1001", pin="2468")),
                    (i["a2"], dict(name="Wang Lei", member_code="1002",
                                   pin="1357")),
                    (i["b1"], dict(name="Li Wei", member_code="2001",
                                   pin="8642")),
                    (i["mia"], dict(name="Mia")),
                    (i["leo"], dict(name="Leo"))):
        r = co.call(C + "SetDirectory", spb.DirectoryRequest(id=rid, **kw))
        check(r.ok, "SetDirectory %s: %s %s" % (rid, r.code, r.details))
    return i, co, keyfile


def kiosk_args(s, workdir, keyfile, ids, idle=30, extra=()):
    return ["--server", "127.0.0.1:%d" % s.port, "--key", keyfile,
            "--centre", s.centre, "--vkey", s.vkey,
            "--queue", os.path.join(workdir, "kiosk.queue"),
            "--idle", str(idle), "--retry", "1",
            "--room", "%s=Sunflower" % ids["room"], "--card-prefix", ";",
            "--label", "front door"] + list(extra)


def serve_on(s, port):
    """Starts carebankd again on its data directory and the same port, so
    the kiosk finds it where it was."""
    portfile = os.path.join(s.dir, "port")
    if os.path.exists(portfile):
        os.unlink(portfile)
    s.log = open(os.path.join(s.dir, "serve.log"), "ab")
    s.proc = subprocess.Popen(
        [cb.carebankd(), "serve", "--data", s.data, "--listen",
         "127.0.0.1:%d" % port, "--port-file", portfile],
        stdout=s.log, stderr=s.log)
    cb.SERVERS.append(s)
    end = time.time() + 30
    while time.time() < end:
        check(s.proc.poll() is None, "carebankd exited:\n%s" %
              s.log_text()[-3000:])
        if os.path.exists(portfile):
            with open(portfile) as f:
                if f.read().endswith("\n"):
                    s.port = port
                    return
        time.sleep(0.05)
    raise cb.Failure("carebankd did not start on port %d" % port)
