#!/usr/bin/python3
"""An independent tlog-tiles verifier, written from the C2SP specifications
(signed-note, tlog-checkpoint, tlog-tiles) and RFC 6962 with nothing of
carebank's C code: Python's hashlib and the cryptography package's Ed25519.

  tlog_verify.py DIR VKEY       verify an exported log; print "ok SIZE"
  tlog_verify.py --selftest MKLOG WORKDIR
                                make a log with MKLOG, verify it, then check
                                that damaged copies are refused

Exit status 0 when the log verifies, 1 when it does not, 2 on bad usage.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Bad(Exception):
    pass


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def parse_vkey(line):
    # The key is base64, which may hold "+": split at the first two only.
    name, keyid, key = line.strip().split("+", 2)
    raw = base64.b64decode(key, validate=True)
    if len(raw) != 33 or raw[0] != 1:
        raise Bad("verifier key is not an Ed25519 key")
    want = sha256(name.encode(), b"\n", raw)[:4]
    if bytes.fromhex(keyid) != want:
        raise Bad("verifier key id does not match its key")
    return name, want, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_note(note, vkey):
    name, keyid, pub = vkey
    sep = note.rfind(b"\n\n")
    if sep < 0:
        raise Bad("note has no signature block")
    text, sigs = note[: sep + 1], note[sep + 2 :]
    good = False
    for line in sigs.split(b"\n")[:-1]:
        if not line.startswith("\u2014 ".encode()):
            raise Bad("signature line without the em dash")
        sname, sig = line[4:].decode().split(" ")
        raw = base64.b64decode(sig, validate=True)
        if sname != name or raw[:4] != keyid:
            continue
        try:
            pub.verify(raw[4:], text)
        except InvalidSignature:
            raise Bad("checkpoint signature does not verify")
        good = True
    if not good:
        raise Bad("checkpoint is not signed by the key")
    return text


def mth(hashes):
    """RFC 6962 2.1: the Merkle tree hash over leaf hashes."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return sha256(b"\x01", mth(hashes[:k]), mth(hashes[k:]))


def index_path(n):
    groups = []
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(["x%03d" % g for g in groups[:-1]] + ["%03d" % groups[-1]])


def tile_path(level, n, w):
    p = "tile/%s/%s" % (level, index_path(n))
    return p if w == 256 else p + ".p/%d" % w


def verify(d, vkey_line):
    vkey = parse_vkey(vkey_line)
    with open(os.path.join(d, "checkpoint"), "rb") as f:
        text = open_note(f.read(), vkey)
    lines = text.decode().split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    if origin != vkey[0] or str(size) != lines[1] or len(root) != 32:
        raise Bad("malformed checkpoint body")
    leaves = []
    for n in range((size + 255) // 256):
        w = min(256, size - 256 * n)
        with open(os.path.join(d, tile_path("entries", n, w)), "rb") as f:
            data = f.read()
        off = 0
        for _ in range(w):
            ln = int.from_bytes(data[off : off + 2], "big")
            leaf = data[off + 2 : off + 2 + ln]
            if len(leaf) != ln:
                raise Bad("bundle %d is short" % n)
            leaves.append(sha256(b"\x00", leaf))
            off += 2 + ln
        if off != len(data):
            raise Bad("bundle %d has trailing bytes" % n)
    level_hashes = leaves
    level = 0
    while level_hashes:
        for n in range((len(level_hashes) + 255) // 256):
            w = min(256, len(level_hashes) - 256 * n)
            with open(os.path.join(d, tile_path(level, n, w)), "rb") as f:
                if f.read() != b"".join(level_hashes[256 * n : 256 * n + w]):
                    raise Bad("tile %s disagrees" % tile_path(level, n, w))
        level_hashes = [
            mth(level_hashes[256 * i : 256 * i + 256])
            for i in range(len(level_hashes) // 256)
        ]
        level += 1
    if mth(leaves) != root:
        raise Bad("root is not the root of the entries")
    return size


def selftest(mklog, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = os.path.join(work, "tiles")
    vkey = subprocess.run([mklog, out, "700"], check=True,
                          capture_output=True, text=True).stdout.strip()
    size = verify(out, vkey)
    assert size == 700, size
    # Damage one byte of each file in turn; each copy must be refused.
    for rel in ["checkpoint", "tile/entries/001", "tile/0/002.p/188",
                "tile/1/000.p/2"]:
        bad = os.path.join(work, "bad")
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(out, bad)
        p = os.path.join(bad, rel)
        data = bytearray(open(p, "rb").read())
        data[len(data) // 2] ^= 1
        open(p, "wb").write(bytes(data))
        try:
            verify(bad, vkey)
        except (Bad, ValueError, UnicodeDecodeError):
            continue
        raise SystemExit("damage to %s was not noticed" % rel)
    shutil.rmtree(work)
    print("ok: carebank's export verifies independently (%d entries), "
          "and damage is refused" % size)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--selftest":
        selftest(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print("ok %d" % verify(sys.argv[1], sys.argv[2]))
    except (Bad, OSError, ValueError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
