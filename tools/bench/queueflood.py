#!/usr/bin/python3
"""How much memory a flood of forged calls can make carebankd hold while
they wait for their signature check (docs/robustness.md, *Calls waiting
for the server's threads*).

  queueflood.py --carebankd BIN --gen-dir DIR --logexport BIN --test run
      [--workers 1] [--buffers-mb 8] [--conns 40] [--inflight 100]
      [--size 100000] [--seconds 10] [--slowverify SHIM --verify-us 2000]

Starts carebankd on a new centre (buffers-mb and workers in its config
file; with --slowverify, the shim preloaded so that each signature check
waits --verify-us longer), then opens --conns grpcio connections, each
keeping --inflight AddRoom requests with a label of --size bytes in
flight, signed with a wrong signature under the coordinator's real key id,
for --seconds. It prints the largest carebank_calls_held_bytes seen
(sampled every 0.1 s), carebank_buffered_bytes at the end, the growth of
the server's peak resident memory (VmHWM less VmRSS at the start), the
answers by status, and the connections shed. A server built before the
calls were counted prints 0 for the held bytes.
"""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))

import grpc  # noqa: E402

import cbclient as cb  # noqa: E402

OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


def kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run():
    a = cb.ARGS
    s = cb.Server()
    conf = os.path.join(s.dir, "carebankd.conf")
    with open(conf, "w") as f:
        f.write("buffers-mb = %d\nworkers = %d\n" % (a.buffers_mb,
                                                      a.workers))
    extra = ["--config", conf]
    if a.slowverify:
        cb.start_with_shim(s, a.slowverify,
                           {"CB_SLOWVERIFY_US": str(a.verify_us)},
                           metrics=True, extra=extra)
    else:
        s.start(metrics=True, extra=extra)
    pid = s.proc.pid
    base = kb(pid, "VmRSS")
    raw = cb.pb.AddRoomRequest(centre=s.centre, label="x" * a.size,
                               request_id=cb.request_id()).SerializeToString()
    stop = time.time() + a.seconds
    codes, lock = {}, threading.Lock()

    def flood():
        c = s.client(channel=s.channel(OWN_CONNECTION))
        md = c.metadata(cb.C + "AddRoom", raw, sig=bytes(64))
        stub = c.channel.unary_unary(cb.C + "AddRoom")
        waiting = []
        while time.time() < stop:
            while len(waiting) < a.inflight:
                waiting.append(stub.future(raw, metadata=md, timeout=600))
            try:
                waiting.pop(0).result()
                k = "OK"
            except grpc.RpcError as e:
                k = e.code().name
            with lock:
                codes[k] = codes.get(k, 0) + 1

    threads = [threading.Thread(target=flood, daemon=True)
               for _ in range(a.conns)]
    for t in threads:
        t.start()
    held = 0
    while time.time() < stop:
        time.sleep(0.1)
        held = max(held, s.metrics().get("carebank_calls_held_bytes", 0))
    m = s.metrics()
    print("%d connections x %d in flight x %d bytes, %d s, workers %d, "
          "buffers-mb %d, each check %s: carebank_calls_held_bytes at most "
          "%d, carebank_buffered_bytes %d, VmHWM growth %d KiB, answers %r, "
          "connections shed %d" % (
              a.conns, a.inflight, a.size, a.seconds, a.workers,
              a.buffers_mb, "+%d us" % a.verify_us if a.slowverify else
              "as it is", held, m["carebank_buffered_bytes"],
              kb(pid, "VmHWM") - base, codes,
              m["carebank_connections_shed_total"]))
    print("method: grpcio futures, a closed loop per connection; metrics "
          "from --metrics, memory from /proc/PID/status")
    s.kill()


def options(ap):
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--buffers-mb", type=int, default=8)
    ap.add_argument("--conns", type=int, default=40)
    ap.add_argument("--inflight", type=int, default=100)
    ap.add_argument("--size", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--slowverify", help="tests/robust's slowverify shim")
    ap.add_argument("--verify-us", type=int, default=2000)


if __name__ == "__main__":
    cb.main({"run": run}, __doc__, options)
