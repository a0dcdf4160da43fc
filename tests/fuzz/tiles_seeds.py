#!/usr/bin/python3
"""Seeds for fuzz_tiles from a tlog-tiles export of fewer than 256 entries
(as logexport or carebank-audit export writes it): for the first k leaves
of the export, k from each argument after the directory, the input
fuzz_tiles reads (k - 1, the bundle's length, the bundle, the hash tile),
written to corpus/tiles/export-<k>.

  tiles_seeds.py EXPORT_DIR K...
"""
import os
import sys


def main():
    d, ks = sys.argv[1], [int(k) for k in sys.argv[2:]]
    ents = os.listdir(os.path.join(d, "tile", "entries", "000.p"))
    n = int(ents[0])
    with open(os.path.join(d, "tile", "entries", "000.p", str(n)), "rb") as f:
        bundle = f.read()
    with open(os.path.join(d, "tile", "0", "000.p", str(n)), "rb") as f:
        tile = f.read()
    here = os.path.dirname(os.path.abspath(__file__))
    for k in ks:
        off = 0
        for _ in range(k):
            off += 2 + (bundle[off] << 8 | bundle[off + 1])
        seed = bytes([k - 1]) + off.to_bytes(2, "big") + bundle[:off] + \
            tile[:32 * k]
        with open(os.path.join(here, "corpus", "tiles", "export-%d" % k),
                  "wb") as f:
            f.write(seed)


if __name__ == "__main__":
    main()
