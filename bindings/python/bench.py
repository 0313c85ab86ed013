"""Throughput of czip.compress / czip.decompress, to set beside `czip bench`
(same text, level, model and threads: the engine's default pool).

    python bindings/python/bench.py ../shared/golden/corpus/lcet10_16k.txt -L 3 -n 5
    ./target/release/czip bench -m ../shared/models/v001_eng.czm -L 3 ../shared/golden/corpus/lcet10_16k.txt
"""
import argparse
import time

import czip


def best_of(n, f):
    best = None
    for _ in range(n):
        t = time.perf_counter()
        r = f()
        el = time.perf_counter() - t
        best = el if best is None or el < best else best
    return r, best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("text")
    ap.add_argument("-L", "--level", type=int, default=None)
    ap.add_argument("-m", "--model", default="v001", help="v000, v001 or a model path")
    ap.add_argument("-n", "--repeat", type=int, default=5)
    a = ap.parse_args()
    m = czip.Model.published(a.model) if a.model in ("v000", "v001") else czip.Model.load(a.model)
    text = open(a.text, "rb").read()
    ntok = len(m.tokenize(text))
    f, tc = best_of(a.repeat, lambda: czip.compress(text, m, level=a.level))
    back, td = best_of(a.repeat, lambda: czip.decompress(f, m))
    assert back == text
    print(f"{a.text}: {len(text)} bytes, {ntok} tokens, {len(f)} bytes out (level {a.level})")
    print(f"compress   {ntok / tc:10.0f} tokens/s  ({tc * 1000:.1f} ms, best of {a.repeat})")
    print(f"decompress {ntok / td:10.0f} tokens/s  ({td * 1000:.1f} ms, best of {a.repeat})")


if __name__ == "__main__":
    main()
