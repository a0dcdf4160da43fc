#!/usr/bin/python3
"""Who may call what (DESIGN 5.3, issue 5): every method of the Kiosk,
Coordinator and Audit services against every kind of caller, with the
status each must get, and the log's size (from the store) unchanged after
every call.

Callers: no signature at all, the signing metadata without a signature, a
bad signature, a signature for another method, a stale and a future time
(outside the server's five-minute window), an unknown key, a key of another
centre, a revoked kiosk key and a revoked coordinator key (both
PERMISSION_DENIED, even for methods their role could call), and each role:
the coordinator may call everything, a kiosk the Kiosk service only, an
auditor the Audit service only. A caller who is allowed through sends a
request the rules refuse (a request id of the wrong length) so that the
matrix never writes; reads must answer with anything but an
authentication or permission failure.

  e2e.auth_matrix     the matrix
  e2e.auth_metadata   the metadata's form: centre missing or mismatched,
                      key id and time malformed, a time just inside the
                      window accepted
  e2e.auth_revoked_in_batch  calls a key signed before its revocation
                      committed, applied by the writer after it (the
                      writer held up so that they meet): the directory
                      and entry writes of the revoked key are
                      PERMISSION_DENIED, like every call after
"""
import subprocess
import threading
import time

import grpc

import cbclient as cb
from cbclient import C, check, eq

SC = grpc.StatusCode
AUTH_FAIL = (SC.UNAUTHENTICATED, SC.PERMISSION_DENIED)


def probe(method):
    """A request that passes every check before the rules, which refuse it
    (writes), or an ordinary read."""
    msg = cb.message_class(method)()
    if method in cb.WRITES:
        msg.request_id = b"bad"
    return msg


def every_method():
    """The methods of the three services, from the generated descriptors;
    the test's own table must cover them all."""
    out = []
    for name in ("Kiosk", "Coordinator", "Audit"):
        sd = cb.spb.DESCRIPTOR.services_by_name[name]
        out += ["/carebank.v1.%s/%s" % (name, m.name) for m in sd.methods]
    eq(sorted(out), sorted(list(cb.WRITES) + list(cb.READS)),
       "the test's method table")
    return out


class Matrix:
    def __init__(self, server):
        self.s = server
        self.size = server.log_size()
        self.cells = 0

    def expect(self, who, method, reply, codes, words=()):
        self.cells += 1
        what = "%s calling %s" % (who, method)
        check(reply.code in codes, "%s: %s %r, want %s" % (
            what, reply.code, reply.details, codes))
        check(reply.ok or reply.details, "%s: no message" % what)
        for w in words:
            check(w in reply.details, "%s: message %r lacks %r" %
                  (what, reply.details, w))
        eq(self.s.log_size(), self.size, "log size after %s" % what)


def setup():
    s = cb.Server(centre="huada")
    other = cb.run([cb.carebankd(), "init", "--data", s.data, "--centre",
                    "nanshan"])
    eq(other.returncode, 0, "a second centre in the same directory")
    other_coord = cb.Key.load(s.data + "/keys/nanshan.coordinator.pem")
    s.start(metrics=True)
    coord = s.client()
    keys = {}
    for role, label in ((cb.epb.ROLE_KIOSK, "kiosk"),
                        (cb.epb.ROLE_AUDITOR, "auditor"),
                        (cb.epb.ROLE_KIOSK, "revoked kiosk"),
                        (cb.epb.ROLE_COORDINATOR, "revoked coordinator")):
        keys[label] = cb.Key()
        coord.write(C + "EnrolKey", cb.pb.EnrolKeyRequest(
            public_key=keys[label].pub, role=role, label=label))
    for label in ("revoked kiosk", "revoked coordinator"):
        coord.write(C + "RevokeKey", cb.pb.RevokeKeyRequest(
            key_id=keys[label].id, reason="lost"))
    return s, coord, keys, other_coord


def auth_matrix():
    s, coord, keys, other_coord = setup()
    m = Matrix(s)
    ch = coord.channel
    now = cb.now_ms
    roles = {"coordinator": (s.coord_key, cb.COORD),
             "kiosk": (keys["kiosk"], cb.KIOSK),
             "auditor": (keys["auditor"], cb.AUDITOR)}
    for method in every_method():
        raw = probe(method)
        raw.centre = s.centre
        raw = raw.SerializeToString()
        c = cb.Client(ch, s.centre, s.coord_key)
        good = c.metadata(method, raw)

        m.expect("no metadata", method, c.raw(method, raw, metadata=[]),
                 [SC.UNAUTHENTICATED], ["not signed"])
        m.expect("no signature", method, c.raw(method, raw, metadata=[
            x for x in good if x[0] != "carebank-signature-bin"]),
            [SC.UNAUTHENTICATED], ["not signed"])
        bad = bytearray(dict(good)["carebank-signature-bin"])
        bad[10] ^= 1
        m.expect("a bad signature", method,
                 c.raw(method, raw, sig=bytes(bad), time_ms=int(
                     dict(good)["carebank-time"])),
                 [SC.UNAUTHENTICATED], ["signature"])
        other = cb.C + "EnrolFamily" if method != cb.C + "EnrolFamily" \
            else cb.C + "AddRoom"
        t = now()
        m.expect("another method's signature", method,
                 c.raw(method, raw, time_ms=t, sig=s.coord_key.sign(
                     cb.call_message(other, t, raw))),
                 [SC.UNAUTHENTICATED], ["signature"])
        m.expect("a stale time", method,
                 c.raw(method, raw, time_ms=now() - 6 * 60 * 1000),
                 [SC.UNAUTHENTICATED], ["time"])
        m.expect("a future time", method,
                 c.raw(method, raw, time_ms=now() + 6 * 60 * 1000),
                 [SC.UNAUTHENTICATED], ["time"])
        m.expect("an unknown key", method,
                 c.raw(method, raw, key=cb.Key()),
                 [SC.UNAUTHENTICATED], ["not enrolled"])
        m.expect("another centre's key", method,
                 c.raw(method, raw, key=other_coord),
                 [SC.UNAUTHENTICATED], ["not enrolled"])
        for label in ("revoked kiosk", "revoked coordinator"):
            m.expect("a %s key" % label, method,
                     c.raw(method, raw, key=keys[label]),
                     [SC.PERMISSION_DENIED], ["revoked"])
        for who, (key, role) in roles.items():
            r = c.raw(method, raw, key=key, timeout=3)
            if role not in cb.roles_of(method):
                m.expect("a %s key" % who, method, r,
                         [SC.PERMISSION_DENIED], ["role"])
            elif method in cb.WRITES:
                m.expect("a %s key" % who, method, r,
                         [SC.INVALID_ARGUMENT], ["request id"])
                eq(r.refusal, "REFUSAL_MISSING_FIELD", "%s refusal" % method)
            else:
                m.expect("a %s key" % who, method, r,
                         [x for x in SC if x not in AUTH_FAIL])
    print("%d cells of the matrix checked" % m.cells)
    leaves = s.export()
    eq(len(leaves), m.size, "the stored log")
    s.stop()
    eq(s.replay(), m.size, "replay --verify")
    s.cleanup()


def auth_metadata():
    s, coord, keys, other_coord = setup()
    m = Matrix(s)
    method = C + "EnrolFamily"
    msg = cb.pb.EnrolFamilyRequest(request_id=b"bad", centre=s.centre)
    raw = msg.SerializeToString()
    c = coord
    good = c.metadata(method, raw)

    def without(key, value=None):
        md = [x for x in good if x[0] != key]
        return md + [(key, value)] if value is not None else md

    m.expect("no centre", method, c.raw(method, raw,
             metadata=without("carebank-centre")), [SC.INVALID_ARGUMENT],
             ["centre"])
    m.expect("a malformed centre", method, c.raw(method, raw,
             metadata=without("carebank-centre", "Hua Da!")),
             [SC.INVALID_ARGUMENT], ["centre"])
    m.expect("an unknown centre", method, c.raw(method, raw,
             metadata=without("carebank-centre", "nowhere")),
             [SC.UNAUTHENTICATED, SC.NOT_FOUND], ["nowhere"])
    m.expect("a request for another centre", method, c.raw(
        method, raw, centre="nanshan", key=other_coord),
        [SC.INVALID_ARGUMENT], ["centre"])
    m.expect("a short key id", method, c.raw(method, raw,
             metadata=without("carebank-key", "abcd")),
             [SC.UNAUTHENTICATED], ["key"])
    m.expect("a key id not hex", method, c.raw(method, raw,
             metadata=without("carebank-key", "zz" * 8)),
             [SC.UNAUTHENTICATED], ["key"])
    m.expect("a key id in capitals", method, c.raw(method, raw,
             metadata=without("carebank-key",
                              dict(good)["carebank-key"].upper())),
             [SC.UNAUTHENTICATED], ["lowercase"])
    signed_at = dict(good)["carebank-time"]
    for t in ("-5", "12x", "", "99999999999999999999999",
              # The signed time spelt another way is another time.
              "+" + signed_at, "0" + signed_at):
        m.expect("time %r" % t, method, c.raw(method, raw,
                 metadata=without("carebank-time", t)),
                 [SC.UNAUTHENTICATED], ["time"])
    # Each signing header once: a second value, even the same, is refused.
    for key, _ in good:
        m.expect("%s twice" % key, method, c.raw(method, raw,
                 metadata=good + [(key, dict(good)[key])]),
                 [SC.UNAUTHENTICATED], [key, "more than once"])
    m.expect("a 63-byte signature", method, c.raw(method, raw,
             metadata=without("carebank-signature-bin",
                              dict(good)["carebank-signature-bin"][:63])),
             [SC.UNAUTHENTICATED], ["signature"])
    # Four minutes off is inside the window: the call reaches the rules.
    for off in (-4 * 60 * 1000, 4 * 60 * 1000):
        r = c.raw(method, raw, time_ms=cb.now_ms() + off)
        eq((r.code, r.refusal), (SC.INVALID_ARGUMENT,
                                 "REFUSAL_MISSING_FIELD"),
           "a time %d s off" % (off // 1000))
    eq(s.log_size(), m.size, "nothing written")
    # And a good call is accepted, stamped with the server's time.
    rc, _ = c.write(method, cb.pb.EnrolFamilyRequest())
    eq(rc.index, m.size, "accepted")
    s.stop()
    s.cleanup()


def auth_revoked_in_batch():
    s = cb.Server(centre="huada")
    s.start(metrics=True)
    coord = s.client()
    k2 = cb.Key()
    coord.write(C + "EnrolKey", cb.pb.EnrolKeyRequest(
        public_key=k2.pub, role=cb.epb.ROLE_COORDINATOR, label="desk 2"))
    fam = coord.write(C + "EnrolFamily")[0].result.id
    adult = coord.write(C + "AddAdult",
                        cb.pb.AddAdultRequest(family=fam))[0].result.id
    c2 = s.client(k2)
    size = s.log_size()
    stall = subprocess.Popen([cb.ARGS.tools["lmdbhold"], "write", s.data,
                              "1500"], stdout=subprocess.PIPE, text=True)
    eq(stall.stdout.readline().strip(), "held", "the writer is held")
    out = {}

    def go(name, fn):
        out[name] = fn()

    revoke = threading.Thread(target=go, args=("revoke", lambda: coord.call(
        C + "RevokeKey", cb.pb.RevokeKeyRequest(key_id=k2.id,
                                                reason="stolen"))))
    revoke.start()
    time.sleep(0.3)  # signed and checked now, before the revocation
    later = [threading.Thread(target=go, args=(name, fn)) for name, fn in (
        ("directory", lambda: c2.call(C + "SetDirectory", cb.spb.
                                      DirectoryRequest(id=adult,
                                                       card="STOLEN-CARD",
                                                       pin="1234"))),
        ("entry", lambda: c2.call(C + "EnrolFamily")))]
    for t in later:
        t.start()
    for t in [revoke] + later:
        t.join(30)
    eq(stall.wait(30), 0, "lmdbhold")
    eq(out["revoke"].code, SC.OK, "the revocation")
    for name in ("directory", "entry"):
        eq(out[name].code, SC.PERMISSION_DENIED,
           "%s by the revoked key: %r" % (name, out[name].details))
        check("revoked" in out[name].details, out[name].details)
    eq(s.log_size(), size + 1, "only the revocation is in the log")
    r = c2.call(C + "SetDirectory", cb.spb.DirectoryRequest(id=adult,
                                                            name="x"))
    eq(r.code, SC.PERMISSION_DENIED, "and after")
    s.stop()
    s.cleanup()


if __name__ == "__main__":
    cb.main({"auth_matrix": auth_matrix, "auth_metadata": auth_metadata,
             "auth_revoked_in_batch": auth_revoked_in_batch}, __doc__)
