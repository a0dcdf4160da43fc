#!/usr/bin/python3
"""What a flush of scattered pages costs on this disk, against one run.

  pagewrites.py [--dir DIR] [--file-mb 100] [--reps 100] [PAGES...]

An LMDB commit writes each page it changed where that page lives in the
data file, then flushes (fdatasync). This measures the disk's side of
that: in a file of --file-mb MiB in DIR (default: the current directory;
give the filesystem carebankd's data lives on), PAGES 4 KiB pages
(default 1, 10, 30 and 100) are written one pwrite each and then
flushed, --reps times, either at random places in the file or as one
run of neighbours. It prints the mean milliseconds of each (writes and
flush together). The file is made, filled and flushed before any timing
and removed after.

A record for docs/benchmarks.md, not a test: its figures are the disk's.
"""
import argparse
import os
import random
import sys
import tempfile
import time

PAGE = 4096


def flushes(fd, npages, count, reps, scattered):
    """Mean seconds to write count pages (scattered or in a run) and flush."""
    buf = b"\x5a" * PAGE
    t0 = time.perf_counter()
    for _ in range(reps):
        if scattered:
            pages = random.sample(range(npages), count)
        else:
            first = random.randrange(npages - count)
            pages = range(first, first + count)
        for p in pages:
            os.pwrite(fd, buf, p * PAGE)
        os.fdatasync(fd)
    return (time.perf_counter() - t0) / reps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=".")
    ap.add_argument("--file-mb", type=int, default=100)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("pages", type=int, nargs="*", default=[1, 10, 30, 100])
    a = ap.parse_args()
    npages = a.file_mb * 1024 * 1024 // PAGE
    if a.file_mb < 1 or a.reps < 1 or any(
            p < 1 or p >= npages for p in a.pages):
        sys.exit("pagewrites.py: need --file-mb >= 1, --reps >= 1 and "
                 "1 <= pages < the file's pages")
    fd, path = tempfile.mkstemp(prefix="pagewrites.", dir=a.dir)
    try:
        chunk = b"\0" * (PAGE * 256)
        for off in range(0, npages * PAGE, len(chunk)):
            os.pwrite(fd, chunk[:npages * PAGE - off], off)
        os.fdatasync(fd)
        print(f"file: {a.file_mb} MiB in {os.path.abspath(a.dir)}; "
              f"{a.reps} repetitions; one pwrite a 4 KiB page, then "
              "fdatasync")
        for n in a.pages:
            s = flushes(fd, npages, n, a.reps, True)
            r = flushes(fd, npages, n, a.reps, False)
            print(f"{n:5d} pages: scattered {s * 1e3:7.2f} ms, "
                  f"one run {r * 1e3:7.2f} ms ({s / r:.1f} x)")
    finally:
        os.close(fd)
        os.unlink(path)


if __name__ == "__main__":
    main()
