"""FAKE `python -m compress_zip` command line. `compress` writes
`FAKECZ` + one JSON line describing the call + the input bytes; `decompress`
strips that back off. Both refuse an input containing `<|bos|>` (exit 1), as
the real command line refuses literal special tokens. Not CZIP."""

import argparse
import json
import sys

from ._record import record

MAGIC = b"FAKECZ"


def main(argv=None):
    p = argparse.ArgumentParser(prog="compress_zip (FAKE)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("compress", "decompress"):
        s = sub.add_parser(name)
        s.add_argument("-m", "--model", required=True)
        s.add_argument("-i", "--input", required=True)
        s.add_argument("-o", "--output", required=True)
        if name == "compress":
            s.add_argument("-c", "--codec", default="brotli", choices=["brotli", "zstd"])
    a = p.parse_args(argv)
    with open(a.input, "rb") as f:
        data = f.read()
    record("cli." + a.cmd, model=a.model, codec=getattr(a, "codec", None))
    if b"<|bos|>" in data:
        print("fake compress_zip: input contains a special token", file=sys.stderr)
        return 1
    if a.cmd == "compress":
        head = json.dumps({"model": a.model, "codec": a.codec}).encode() + b"\n"
        out = MAGIC + head + data
    else:
        if not data.startswith(MAGIC):
            print("fake compress_zip: not a fake file", file=sys.stderr)
            return 1
        out = data[data.index(b"\n") + 1:]
    with open(a.output, "wb") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
