#!/usr/bin/python3
"""Which of LMDB's pages a commit of carebankd writes, tree by tree.

  commit_pages.py --carebankd BIN --bench BIN [--runs 3] [--warm 6]
      [--trace 1.5] [--mix writes] [--requests 100000]

Makes a centre in a new directory, serves it, and drives it with
carebank-bench (--mix, 64 streams, --requests prepared, so set-up makes
as many records as carebank-bench -r would). --warm seconds after the
set-up it traces the
server's page writes (strace: pwrite64, writev and lseek on the data file,
and fdatasync) for --trace seconds, then stops the server with SIGSTOP and
kills it, so the pages of the last commits stay in the file as they were
written. A commit ends with its meta page (page 0 or 1).

It then reads the file itself: the newest meta page gives the roots of the
free list and of the named databases; walking each tree from its root
names every page the snapshot holds (a check compares the walk's counts
with each database's own record of its pages). Only the last commit's
pages are all still there (the next commit copies a page it changes
again), so each of --runs runs gives one commit: the report is, per tree,
the mean pages of those commits, split into leaf, branch and overflow
pages, and for the bank's views by the kind of record (the key's text up
to its first "/"), with the mean pages of every traced commit.

A record for docs/benchmarks.md, not a test: it needs strace, and its
figures depend on the machine.
"""
import argparse
import collections
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

PAGE = 4096
P_BRANCH, P_LEAF, P_OVERFLOW, P_LEAF2 = 0x01, 0x02, 0x04, 0x20
F_BIGDATA, F_SUBDATA = 0x01, 0x02
P_INVALID = (1 << 64) - 1
DB = struct.Struct("<IHHQQQQQ")  # pad flags depth branch leaf overflow entries root


def page(data, no):
    return data[no * PAGE:(no + 1) * PAGE]


def nodes(p):
    """Yields (flags, key, lo_hi, node_offset) for each node of a page."""
    _, _, flags, lower, _ = struct.unpack_from("<QHHHH", p, 0)
    for i in range((lower - 16) // 2):
        off = struct.unpack_from("<H", p, 16 + 2 * i)[0]
        lo, hi, nflags, ksize = struct.unpack_from("<HHHH", p, off)
        yield nflags, p[off + 8:off + 8 + ksize], lo | hi << 16, off + 8 + ksize


def newest_meta(data):
    best = None
    for no in (0, 1):
        p = page(data, no)
        magic, = struct.unpack_from("<I", p, 16)
        if magic != 0xBEEFC0DE:
            sys.exit("page %d is not an LMDB meta page" % no)
        free = DB.unpack_from(p, 16 + 24)
        main = DB.unpack_from(p, 16 + 24 + DB.size)
        txnid, = struct.unpack_from("<Q", p, 16 + 24 + 2 * DB.size + 8)
        if best is None or txnid > best[0]:
            best = (txnid, free, main)
    return best


def label_of(tree, key):
    """The views' records by kind: the text of the bank's key up to "/"."""
    if tree != "views" or len(key) <= 4:
        return tree
    kind = key[4:].split(b"/", 1)[0]
    return "views " + kind.decode("ascii", "replace") + "/"


def walk(data, tree, root, owner, counts):
    """Names every page under root in owner; counts them per kind."""
    stack = [(root, None)]
    while stack:
        no, parent_label = stack.pop()
        p = page(data, no)
        flags, = struct.unpack_from("<H", p, 10)
        if flags & P_BRANCH:
            keyed = [k for _, k, _, _ in nodes(p) if k]
            label = label_of(tree, keyed[0]) if keyed else parent_label
            owner[no] = (tree, label or tree, "branch")
            counts[tree]["branch"] += 1
            for nflags, key, lohi, _ in nodes(p):
                child = lohi | nflags << 32
                stack.append((child, label_of(tree, key) if key else label))
        elif flags & P_LEAF:
            first = next(nodes(p), None)
            label = label_of(tree, first[1]) if first and not flags & P_LEAF2 \
                else tree
            owner[no] = (tree, label, "leaf")
            counts[tree]["leaf"] += 1
            if flags & P_LEAF2:
                continue
            for nflags, key, size, off in nodes(p):
                if nflags & F_BIGDATA:
                    ov, = struct.unpack_from("<Q", p, off)
                    n, = struct.unpack_from("<I", page(data, ov), 12)
                    for k in range(n):
                        owner[ov + k] = (tree, label, "overflow")
                    counts[tree]["overflow"] += n
                elif nflags & F_SUBDATA and tree == "main":
                    sub = DB.unpack_from(p, off)
                    name = key.decode("ascii", "replace")
                    yield name, sub
        else:
            sys.exit("page %d of %s is neither branch nor leaf" % (no, tree))


def map_pages(data):
    txnid, free, main = newest_meta(data)
    owner, counts = {}, collections.defaultdict(collections.Counter)
    expect = {}
    for name, db in (("free list", free), ("main", main)):
        expect[name] = db
        if db[7] != P_INVALID:
            for sub_name, sub in list(walk(data, name, db[7], owner, counts)):
                expect[sub_name] = sub
                if sub[7] != P_INVALID:
                    list(walk(data, sub_name, sub[7], owner, counts))
    for name, db in expect.items():
        got = (counts[name]["branch"], counts[name]["leaf"],
               counts[name]["overflow"])
        if got != (db[3], db[4], db[5]):
            sys.exit("the walk of %s found %s pages, its record says %s" %
                     (name, got, (db[3], db[4], db[5])))
    return owner


def parse_trace(path, datafds):
    """Returns the list of commits, each a list of page numbers written."""
    commits, cur, seek, pending = [], [], {}, {}
    for line in open(path):
        tid, _, rest = line.rstrip("\n").partition(" ")
        rest = rest.lstrip()  # strace pads short thread ids
        if rest.endswith("<unfinished ...>"):
            pending[tid] = rest[:-len(" <unfinished ...>")]
            continue
        m = re.match(r"<\.\.\. \w+ resumed>(.*)", rest)
        if m:
            rest = pending.pop(tid, "") + m.group(1)
        m = re.match(r"pwrite64\((\d+), .*, (\d+), (\d+)\)\s*= (\d+)", rest)
        if m and int(m.group(1)) in datafds:
            off, n = int(m.group(3)), int(m.group(4))
            if off < 2 * PAGE:
                commits.append(cur)
                cur = []
            else:
                cur += range(off // PAGE, (off + n) // PAGE)
            continue
        m = re.match(r"lseek\((\d+), (\d+), SEEK_SET\)\s*= \d+", rest)
        if m and int(m.group(1)) in datafds:
            seek[tid] = int(m.group(2))
            continue
        m = re.match(r"writev\((\d+), .*\)\s*= (\d+)", rest)
        if m and int(m.group(1)) in datafds:
            off, n = seek.pop(tid), int(m.group(2))
            cur += range(off // PAGE, (off + n) // PAGE)
    return commits


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(opts, d):
    data_dir = os.path.join(d, "data")
    subprocess.run([opts.carebankd, "init", "--data", data_dir, "--centre",
                    "bench"], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    srv = subprocess.Popen([opts.carebankd, "serve", "--data", data_dir,
                            "--listen", "127.0.0.1:%d" % port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bench = None
    try:
        time.sleep(1)
        bench = subprocess.Popen(
            [opts.bench, "-m", opts.mix, "-c", "64", "-d", "60", "-r",
             str(opts.requests), "-B", "0", "-s", "127.0.0.1:%d" % port, "-k",
             os.path.join(data_dir, "keys", "bench.coordinator.pem"),
             "-C", "bench"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        for line in bench.stdout:
            if line.startswith("setup:"):
                print(line.strip())
                break
        time.sleep(opts.warm)
        if bench.poll() is not None or srv.poll() is not None:
            sys.exit("the bench or the server ended before the trace")
        datafds = set()
        fddir = "/proc/%d/fd" % srv.pid
        for fd in os.listdir(fddir):
            if os.readlink(os.path.join(fddir, fd)).endswith("/data.mdb"):
                datafds.add(int(fd))
        trace = os.path.join(d, "trace")
        st = subprocess.Popen(
            ["strace", "-f", "-s", "0", "-e", "signal=none", "-e",
             "trace=pwrite64,writev,lseek,fdatasync", "-o", trace, "-p",
             str(srv.pid)], stderr=subprocess.DEVNULL)
        time.sleep(opts.trace)
        srv.send_signal(signal.SIGSTOP)
        time.sleep(0.3)
        srv.kill()
        srv.wait()
        st.wait()
    finally:
        for p in (bench, srv):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    commits = parse_trace(trace, datafds)
    if not commits:
        sys.exit("no commit traced (%d lines of trace)" % sum(1 for _ in open(trace)))
    with open(os.path.join(data_dir, "data.mdb"), "rb") as f:
        data = f.read()
    owner = map_pages(data)
    last = collections.Counter()
    for no in commits[-1]:
        tree, label, kind = owner.get(no, ("replaced", "replaced", "?"))
        last[(label, kind)] += 1
    return len(commits), sum(map(len, commits)), last


def report(runs, opts):
    n = len(runs)
    traced = sum(r[0] for r in runs)
    print("pages a commit wrote: mean %.1f over %d traced commits; the last "
          "commit of each of %d runs: mean %.1f" %
          (sum(r[1] for r in runs) / traced, traced, n,
           sum(sum(r[2].values()) for r in runs) / n))
    by = collections.Counter()
    for r in runs:
        by.update(r[2])
    labels = collections.Counter()
    for (label, _), v in by.items():
        labels[label] += v
    for label, v in labels.most_common():
        parts = ", ".join("%s %.1f" % (k, by[(label, k)] / n)
                          for k in ("leaf", "branch", "overflow")
                          if by[(label, k)])
        print("  %-14s %5.1f  (%s)" % (label, v / n, parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--carebankd", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--mix", default="writes")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warm", type=float, default=6)
    ap.add_argument("--trace", type=float, default=1.5)
    opts = ap.parse_args()
    if shutil.which("strace") is None:
        sys.exit("commit_pages.py needs strace (Debian's strace package)")
    runs = []
    for _ in range(opts.runs):
        with tempfile.TemporaryDirectory(prefix="carebank-pages-") as d:
            runs.append(run(opts, d))
    report(runs, opts)


if __name__ == "__main__":
    main()
