#!/usr/bin/env python3
"""CZIP conformance adapter for the public Python package `compress_zip`.

Speaks the adapter protocol of `adapters/PROTOCOL.md` (JSON lines on
stdin/stdout) and answers each operation of `vectors/README.md` by calling the
package's documented API (`../shared/spec/upstream-python-api.md`). It contains
no CZIP arithmetic of its own: what it answers is what the package computes,
and the runner scores it.

    python3 adapters/python/czip_adapter.py            # serve (the runner starts it)
    python3 adapters/python/czip_adapter.py --check    # does compress_zip import?

If `compress_zip` does not import, the adapter still starts and answers
`hello`; every other request then gets an error that says how to install it.
Only the standard library is needed for the plumbing; numpy is used when
present (the real package needs it) to hand the package the arrays it expects.
"""

import hashlib
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
import traceback

ADAPTER_VERSION = "1.0.0"
PROTOCOL = 1
INLINE_LIMIT = 4096  # arrays longer than this are answered packed (vectors/README.md)
ATTN_COEF_Q24 = 378194  # spec §3: exp_q16 with this coefficient is the attention exp
BOS = 1022  # spec §3: id of <|bos|> in both published models (the API does not expose the tokenizer)
INSTALL_HINT = (
    "install it from its source tree with `pip install -e <path-to-compress-zip>` "
    "(see adapters/python/README.md; `python3 adapters/python/czip_adapter.py --check` tells whether it imports)"
)

# Features this adapter can honestly declare (vectors/README.md, "Features").
# Not declared: `levels` (the package always writes 64-token chunks), `trace`
# (no per-layer API), `synthetic` / `multi_layer` (untested: whether its loader
# takes the generated models is unknown; add them with --extra-features to try).
FEATURES = ["core", "layers", "sink_key", "coder_ops", "model_ops", "chunk_ops", "file_ops"]

# Where the API doc places names; any other submodule is searched afterwards.
DOCUMENTED_MODULES = ["primitives", "lut", "attention", "softmax_cdf", "model", "file_format"]

try:
    import numpy as np  # noqa: F401
except Exception:  # numpy absent: plain lists (enough for the plumbing tests)
    np = None


class OpError(Exception):
    """A request the adapter answers with `error`."""


class Unsupported(Exception):
    """A request the adapter answers with `unsupported`."""


# --------------------------------------------------------------------------
# The package


class Package:
    """Imports compress_zip once and finds its documented names."""

    def __init__(self):
        self.mod = None
        self.error = None
        self._names = {}
        try:
            self.mod = importlib.import_module("compress_zip")
        except BaseException as e:  # a broken package may raise anything at import (see the API doc)
            self.error = f"{type(e).__name__}: {e}"

    def version(self):
        if self.mod is None:
            return None
        v = getattr(self.mod, "__version__", None)
        if v:
            return str(v)
        try:
            from importlib import metadata

            for dist in ("compress-zip", "compress_zip"):
                try:
                    return metadata.version(dist)
                except metadata.PackageNotFoundError:
                    pass
        except Exception:
            pass
        return "unknown"

    def location(self):
        return getattr(self.mod, "__file__", None) if self.mod else None

    def root(self):
        """The directory that holds the imported `compress_zip/` (for its command line)."""
        loc = self.location()
        return os.path.dirname(os.path.dirname(os.path.abspath(loc))) if loc else None

    def require(self):
        if self.mod is None:
            raise OpError(f"the Python package compress_zip is not importable ({self.error}); {INSTALL_HINT}")

    def _submodules(self):
        names = list(DOCUMENTED_MODULES)
        path = getattr(self.mod, "__path__", None)
        if path:
            for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
                if info.name not in names and info.name != "__main__":
                    names.append(info.name)
        return names

    def get(self, name):
        """A documented function or class: top level first, then submodules."""
        self.require()
        if name in self._names:
            return self._names[name]
        found = getattr(self.mod, name, None)
        if found is None:
            for sub in self._submodules():
                try:
                    m = importlib.import_module(f"compress_zip.{sub}")
                except Exception:
                    continue
                found = getattr(m, name, None)
                if found is not None:
                    break
        if found is None:
            raise Unsupported(f"compress_zip does not provide {name} (searched the package and its submodules)")
        self._names[name] = found
        return found


# --------------------------------------------------------------------------
# Values (vectors/README.md, "Values")


def to_int(v, what):
    if isinstance(v, bool):
        raise OpError(f"{what}: expected an integer, got a boolean")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v):
        return int(v)
    raise OpError(f"{what}: expected an integer, got {json.dumps(v)[:60]}")


def out_int(x):
    x = int(x)
    return x if -(1 << 53) <= x <= (1 << 53) else str(x)


_DTYPES = {"i8": (1, True), "i16": (2, True), "i32": (4, True), "u32": (4, False)}
_RANGES = {"i8": (-128, 127), "i16": (-32768, 32767), "i32": (-(1 << 31), (1 << 31) - 1), "u32": (0, (1 << 32) - 1)}


def to_array(v, what):
    """A plain JSON array of integers or a packed {dtype, hex} object → list of ints."""
    if isinstance(v, list):
        return [to_int(x, f"{what}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, dict):
        dtype = v.get("dtype")
        if dtype not in _DTYPES:
            raise OpError(f"{what}: packed array with unknown dtype {dtype!r} (i8, i16, i32 or u32)")
        h = v.get("hex")
        if not isinstance(h, str):
            raise OpError(f"{what}: packed array without hex (a digest-only array is not an argument)")
        try:
            b = bytes.fromhex(h)
        except ValueError:
            raise OpError(f"{what}: hex is not hex") from None
        if "sha256" in v and hashlib.sha256(b).hexdigest() != v["sha256"]:
            raise OpError(f"{what}: sha256 does not match the hex")
        w, signed = _DTYPES[dtype]
        if len(b) % w:
            raise OpError(f"{what}: {len(b)} bytes is not a whole number of {dtype}")
        xs = [int.from_bytes(b[i : i + w], "little", signed=signed) for i in range(0, len(b), w)]
        if "len" in v and to_int(v["len"], f"{what}.len") != len(xs):
            raise OpError(f"{what}: len {v['len']} but the hex holds {len(xs)} elements")
        return xs
    raise OpError(f"{what}: expected an integer array")


def to_list(x):
    """A package answer (numpy array, list, tuple, scalar…) → flat list of ints."""
    if hasattr(x, "tolist"):
        x = x.tolist()
    if not isinstance(x, (list, tuple)):
        x = list(x)  # other sequences (array.array, a table object…)
    out = []
    for e in x:
        if isinstance(e, int):
            out.append(e)
        elif isinstance(e, (list, tuple)) or hasattr(e, "tolist"):
            out.extend(to_list(e))  # rows of a 2-D table, flattened row-major
        else:
            out.append(int(e))
    return out


def out_array(xs, dtype):
    xs = [int(v) for v in xs]
    if len(xs) <= INLINE_LIMIT:
        return [out_int(v) for v in xs]
    w, signed = _DTYPES[dtype]
    lo, hi = _RANGES[dtype]
    bad = next((v for v in xs if not lo <= v <= hi), None)
    if bad is not None:
        raise OpError(f"the package answered {bad}, which does not fit the {dtype} of this array")
    b = b"".join(v.to_bytes(w, "little", signed=signed) for v in xs)
    return {"dtype": dtype, "len": len(xs), "sha256": hashlib.sha256(b).hexdigest(), "hex": b.hex()}


_NP_DTYPES = {"i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64"}


def arr(xs, dtype, shape=None):
    """What the package expects for an array argument: numpy when present, else lists."""
    lo, hi = _RANGES.get(dtype, (-(1 << 63), (1 << 63) - 1))
    bad = next((v for v in xs if not lo <= v <= hi), None)
    if bad is not None:
        raise OpError(f"element {bad} does not fit {dtype}")
    if np is not None:
        a = np.array(xs, dtype=_NP_DTYPES[dtype])
        return a.reshape(shape) if shape else a
    if shape:
        rows, cols = shape
        return [list(xs[r * cols : (r + 1) * cols]) for r in range(rows)]
    return list(xs)


def unhex(v, what):
    if not isinstance(v, str):
        raise OpError(f"{what}: expected a hex string")
    try:
        if len(v) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", v):
            raise ValueError
        return bytes.fromhex(v)
    except ValueError:
        raise OpError(f"{what}: not hex") from None


# --------------------------------------------------------------------------
# The adapter


class Adapter:
    def __init__(self, extra_features=()):
        self.pkg = Package()
        self.models_dir = "."
        self.vectors_dir = "."
        self.corpus_dir = "."
        self.features = FEATURES + [f for f in extra_features if f not in FEATURES]
        if self.pkg.mod is not None and not self.head_takes_sink_key():
            # Revisions before the attention sink (e.g. a740d62): cases with a
            # sink key are unsupported, the others are answered without it.
            self.features = [f for f in self.features if f != "sink_key"]
        self._models = {}
        self._exp2 = None

    def head_takes_sink_key(self):
        """Whether this revision's attention head takes a `sink_key` keyword
        (the keyword arrived after a740d62; the signature says, not a version)."""
        try:
            params = inspect.signature(self.pkg.get("gqa_attention_mqa_i8_cached")).parameters
        except (Unsupported, OpError, TypeError, ValueError):
            return True  # no signature to read: pass the keyword and let the call answer
        return "sink_key" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())

    # -- arguments

    @staticmethod
    def arg(a, key):
        if key not in a:
            raise OpError(f"missing argument {key!r}")
        return a[key]

    def int_arg(self, a, key):
        return to_int(self.arg(a, key), key)

    def array_arg(self, a, key):
        return to_array(self.arg(a, key), key)

    def model_path(self, name):
        if name in ("v000", "v001"):
            return os.path.join(self.models_dir, f"{name}_eng.czm")
        if isinstance(name, str) and name.startswith("synthetic/") and re.fullmatch(r"[A-Za-z0-9_]+", name[10:]):
            return os.path.join(self.vectors_dir, "models", name[10:] + ".czm")
        raise OpError(f"unknown model {name!r} (expected v000, v001 or synthetic/NAME)")

    def model_file(self, a):
        name = self.arg(a, "model")
        path = self.model_path(name)
        if not os.path.isfile(path):
            raise OpError(f"model {name} not found at {path} (runner option --models-dir)")
        return path

    def model(self, a):
        """(Model, path): one loaded Model per file, reset before every use."""
        path = self.model_file(a)
        self.pkg.require()
        if path not in self._models:
            weights = self.pkg.get("ModelWeights").load(path)
            self._models[path] = self.pkg.get("Model")(weights)
        m = self._models[path]
        m.reset()
        return m

    def text(self, v):
        if not isinstance(v, dict):
            raise OpError("text: expected {hex} or {corpus, sha256}")
        if "hex" in v:
            return unhex(v["hex"], "text.hex")
        name = v.get("corpus")
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or ".." in name:
            raise OpError("text: expected {hex} or {corpus: bare file name, sha256}")
        path = os.path.join(self.corpus_dir, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise OpError(f"cannot read corpus text {path}: {e}") from None
        want = v.get("sha256")
        got = hashlib.sha256(data).hexdigest()
        if want is not None and want != got:
            raise OpError(f"corpus text {name} has SHA-256 {got}, the case expects {want}: not the same corpus")
        return data

    def exp2(self):
        if self._exp2 is None:
            self._exp2 = self.pkg.get("Exp2LutQ16")()
        return self._exp2

    # -- protocol

    def handle(self, op, a):
        if not isinstance(op, str):
            raise OpError(f"op: expected a string, not {op!r}")
        if op == "hello":
            return self.hello(a)
        fn = getattr(self, "op_" + op, None) if isinstance(op, str) and re.fullmatch(r"[a-z0-9_]+", op) else None
        if fn is None:
            raise Unsupported(f"unknown op {op!r}")
        if not isinstance(a, dict):
            raise OpError("args: expected an object")
        self.pkg.require()
        return fn(a)

    def hello(self, a):
        if not isinstance(a, dict):
            raise OpError("hello: args must be an object")
        if a.get("protocol") != PROTOCOL:
            raise OpError(f"this adapter speaks protocol {PROTOCOL}, the runner asked for {a.get('protocol')!r}")
        for key in ("models_dir", "vectors_dir", "corpus_dir"):
            if isinstance(a.get(key), str):
                setattr(self, key, os.path.abspath(a[key]))
        # No message on stderr when the package is missing: `importable` and
        # `import_error` below say it, the runner prints one line, and every
        # later answer is an error naming the cause and the fix.
        return {
            "name": "python-compress_zip",
            "version": self.pkg.version() or "not importable",
            "adapter_version": ADAPTER_VERSION,
            "features": self.features,
            "importable": self.pkg.mod is not None,
            "import_error": self.pkg.error,
            "numpy": np is not None,
        }

    # -- §1 primitives

    def _call_int(self, name, *args):
        return {"result": out_int(self.pkg.get(name)(*args))}

    def op_sra_rne_tte_s32(self, a):
        return self._call_int("sra_rne_tte_s32", self.int_arg(a, "v"), self.int_arg(a, "sh"))

    def op_sra_rne_tte_s64_to_s32(self, a):
        return self._call_int("sra_rne_tte_s64_to_s32", self.int_arg(a, "v"), self.int_arg(a, "sh"))

    def op_udiv_rne_tte_u32(self, a):
        return self._call_int("udiv_rne_tte_u32", self.int_arg(a, "n"), self.int_arg(a, "d"))

    def op_div_rne_tte_s32(self, a):
        return self._call_int("div_rne_tte_s32", self.int_arg(a, "n"), self.int_arg(a, "d"))

    def op_div_rne_tte_s64_to_s32(self, a):
        return self._call_int("div_rne_tte_s64_to_s32", self.int_arg(a, "n"), self.int_arg(a, "d"))

    def op_isqrt32(self, a):
        return self._call_int("isqrt32_restoring", self.int_arg(a, "x"))

    def op_clamp_i8(self, a):
        return self._call_int("clamp_i8", self.int_arg(a, "x"))

    def op_argmax(self, a):
        xs = self.array_arg(a, "xs")
        if not xs:
            raise OpError("argmax of an empty array")
        # A plain list: the package takes a sequence and tests `if not values`
        # (ambiguous for a numpy array of more than one element).
        return self._call_int("argmax_deterministic", xs)

    # -- §2 tables, §6 exp

    def op_exp2_table(self, a):
        return {"table": out_array(to_list(self.pkg.get("Exp2LutQ16")().table), "i32")}

    def op_rope_table(self, a):
        rows, theta = self.int_arg(a, "rows"), self.int_arg(a, "theta_q16")
        if not 0 <= rows <= 65536:
            raise OpError("rope_table: 0..65536 rows")
        lut = self.pkg.get("RopeLut")(max_seq_len=rows, head_dim=64, base=theta / 65536)
        return {"cos": out_array(to_list(lut.cos_table), "i16"), "sin": out_array(to_list(lut.sin_table), "i16")}

    def op_exp_q16(self, a):
        d, coef = self.int_arg(a, "d"), self.int_arg(a, "coef_q24")
        if coef == ATTN_COEF_Q24:
            return self._call_int("exp_q16_from_attn_diff", d, self.exp2())
        return {"result": out_int(self.pkg.get("exp_q16_from_diff_acc")(d, self.exp2(), coef_q24=coef))}

    # -- §5 layers

    def op_linear(self, a):
        x, w, n_out = self.array_arg(a, "x"), self.array_arg(a, "w"), self.int_arg(a, "n_out")
        if not x or n_out < 1 or len(w) != n_out * len(x):
            raise OpError(f"linear: w has {len(w)} elements, expected n_out·len(x) = {n_out * len(x)}")
        y = self.pkg.get("linear_i8_to_i32")(arr(x, "i8"), arr(w, "i8", (n_out, len(x))))
        return {"y": out_array(to_list(y), "i32")}

    def op_rmsnorm(self, a):
        x, w = self.array_arg(a, "x"), self.array_arg(a, "w")
        if not x or len(x) != len(w):
            raise OpError("rmsnorm: x and w must have the same non-zero length")
        return {"y": out_array(to_list(self.pkg.get("rmsnorm_i8")(arr(x, "i8"), arr(w, "i8"))), "i8")}

    def op_reglu(self, a):
        g, u = self.array_arg(a, "gate"), self.array_arg(a, "up")
        if len(g) != len(u):
            raise OpError("reglu: gate and up must have the same length")
        return {"y": out_array(to_list(self.pkg.get("reglu_i8")(arr(g, "i8"), arr(u, "i8"))), "i8")}

    def op_rope(self, a):
        x, c, s = self.array_arg(a, "x"), self.array_arg(a, "cos"), self.array_arg(a, "sin")
        if len(x) != 64 or len(c) != 32 or len(s) != 32:
            raise OpError("rope: x has 64 elements, cos and sin 32")
        query = a.get("query", False)
        if not isinstance(query, bool):
            raise OpError("rope: query must be a boolean")
        # The op passes one table row: the package gets a one-row table and position 0.
        cos, sin = arr(c, "i16", (1, 32)), arr(s, "i16", (1, 32))
        if query:
            y = self.pkg.get("apply_rope_q_i8")(arr(x, "i8"), 0, cos, sin)
        else:
            y = self.pkg.get("apply_rope_i8")(arr(x, "i8"), 0, rope_cos=cos, rope_sin=sin)
        return {"y": out_array(to_list(y), "i8")}

    def op_attention(self, a):
        n_heads = self.int_arg(a, "n_heads")
        if not 1 <= n_heads <= 64:
            raise OpError("n_heads: 1..=64")
        mult = self.array_arg(a, "score_mult")
        if len(mult) != n_heads:
            raise OpError("score_mult: one per head")
        sink = a.get("sink_key")
        if sink is not None:
            sink = to_array(sink, "sink_key")
            if len(sink) != 64:
                raise OpError("sink_key: 64 elements")
            if not self.head_takes_sink_key():
                raise Unsupported("this revision of compress_zip has no attention sink "
                                  "(gqa_attention_mqa_i8_cached takes no sink_key)")
            sink = arr(sink, "i8")
        d = 64 * n_heads
        steps = self.arg(a, "steps")
        if not isinstance(steps, list):
            raise OpError("steps: expected an array of QKV vectors")
        steps = [to_array(s, f"steps[{i}]") for i, s in enumerate(steps)]
        rep, count = None, 0
        if a.get("repeat") is not None:
            r = a["repeat"]
            if not isinstance(r, dict):
                raise OpError("repeat: expected {qkv, count}")
            rep, count = to_array(self.arg(r, "qkv"), "repeat.qkv"), to_int(self.arg(r, "count"), "repeat.count")
            if count < 0:
                raise OpError("repeat.count: must be >= 0")
        total = len(steps) + count
        if total == 0 or total > 4096 or any(len(s) != d + 128 for s in steps + ([rep] if rep else [])):
            raise OpError(f"steps: 1..=4096 QKV vectors of {d + 128} elements")
        if any(not -128 <= x <= 127 for s in steps + ([rep] if rep else []) for x in s):
            raise OpError("steps: QKV values are i8 (-128..127)")
        output = a.get("output", "all")
        if output not in ("all", "last", None):
            raise OpError('output: "all" or "last"')
        theta = self.int_arg(a, "rope_theta_q16")

        lut = self.pkg.get("RopeLut")(max_seq_len=total, head_dim=64, base=theta / 65536)
        rope_k = self.pkg.get("apply_rope_i8")
        head = self.pkg.get("gqa_attention_mqa_i8_cached")
        exp2 = self.exp2()
        k_rows, v_rows, outs = [], [], []
        if np is not None:
            k_cache, v_cache = np.zeros((total, 64), dtype=np.int8), np.zeros((total, 64), dtype=np.int8)
        for p in range(total):
            qkv = steps[p] if p < len(steps) else rep
            k_rot = to_list(rope_k(arr(qkv[d : d + 64], "i8"), p, rope_cos=lut.cos_table, rope_sin=lut.sin_table))
            v = qkv[d + 64 : d + 128]
            if np is not None:
                k_cache[p], v_cache[p] = k_rot, v
                kc, vc = k_cache[: p + 1], v_cache[: p + 1]
            else:
                k_rows.append(k_rot)
                v_rows.append(list(v))
                kc, vc = [list(r) for r in k_rows], [list(r) for r in v_rows]
            if output == "last" and p + 1 != total:
                # The package's head function keeps no state between calls: a
                # step's output depends only on the cache, so an unreported
                # step needs the cache row and no call.
                continue
            y = []
            # The sink keyword only when the case has a sink (revisions before it lack the keyword).
            sink_kw = {} if sink is None else {"sink_key": sink}
            for h in range(n_heads):
                yh = head(arr(qkv[h * 64 : h * 64 + 64], "i8"), kc, vc, p, exp2_lut=exp2, rope_cos=lut.cos_table,
                          rope_sin=lut.sin_table, score_mul_q15=mult[h], **sink_kw)
                y.extend(to_list(yh))
            outs.append(out_array(y, "i8"))
        return {"out": outs}

    # -- §6 frequency table

    def op_freq_table(self, a):
        logits = self.array_arg(a, "logits")
        if not logits:
            raise OpError("freq_table: logits must not be empty")
        cum, _total = self.pkg.get("build_cumfreqs")(arr(logits, "i32"), vocab_size=len(logits), exp_lut=self.exp2(),
                                                     coef_q24=self.int_arg(a, "coef_q24"),
                                                     target_total=self.int_arg(a, "total"))
        return {"cum": out_array(to_list(cum), "u32")}

    # -- §7 coder

    def tables(self, a, steps):
        """Per-step cumulative tables: `tables` (one per step) or `cum` (one for all)."""
        if a.get("tables") is not None:
            t = a["tables"]
            if not isinstance(t, list):
                raise OpError("tables: expected an array of arrays")
            t = [to_array(x, f"tables[{i}]") for i, x in enumerate(t)]
            if len(t) != steps:
                raise OpError(f"tables: {len(t)} tables for {steps} steps")
        else:
            t = [self.array_arg(a, "cum")]
        for i, c in enumerate(t):
            if not c or c[-1] <= 0:
                raise OpError(f"table {i}: must be non-empty with a positive total")
        # int64 for the package (64-bit products cannot overflow in it)
        return [(arr(c, "i64"), c[-1]) for c in t]

    def op_coder_encode(self, a):
        symbols = self.array_arg(a, "symbols")
        tables = self.tables(a, len(symbols))
        enc = self.pkg.get("ArithEncoder")()
        for i, s in enumerate(symbols):
            cum, total = tables[i] if len(tables) > 1 else tables[0]
            enc.encode_symbol(cum, s, total)
        # The API exposes no pending-bit counters: pending_at_finish / max_pending are not answered.
        return {"bytes_hex": bytes(enc.finish()).hex()}

    def op_coder_decode(self, a):
        n = self.int_arg(a, "n")
        if n < 0:
            raise OpError("n: must be >= 0")
        data = unhex(self.arg(a, "bytes_hex"), "bytes_hex")
        tables = self.tables(a, n)
        dec = self.pkg.get("ArithDecoder")(data)
        out = []
        for i in range(n):
            cum, total = tables[i] if len(tables) > 1 else tables[0]
            out.append(int(dec.decode_symbol(cum, total)))
        return {"symbols": out_array(out, "u32")}

    # -- model steps

    def op_tokenize(self, a):
        raise Unsupported("compress_zip's documented API exposes no tokenizer")

    def op_model_logits(self, a):
        tokens = self.array_arg(a, "tokens")
        positions = self.array_arg(a, "positions")
        if not positions:
            raise OpError("positions: at least one")
        last = max(positions)
        if min(positions) < 0 or last > len(tokens):
            raise OpError("positions: beyond the tokens")
        m = self.model(a)
        want = set(positions)
        out_l, out_c = [], []
        for p in range(last + 1):
            logits = m.forward(BOS if p == 0 else tokens[p - 1], p)
            if p in want:
                cum, _total = m.get_cumfreqs(logits)
                out_l.append(out_array(to_list(logits), "i32"))
                out_c.append(out_array(to_list(cum), "u32"))
        return {"logits": out_l, "cum": out_c}

    def op_chunk_encode(self, a):
        tokens = self.array_arg(a, "tokens")
        m = self.model(a)
        enc = self.pkg.get("ArithEncoder")()
        for i, t in enumerate(tokens):
            cum, total = m.get_cumfreqs(m.forward(BOS if i == 0 else tokens[i - 1], i))
            enc.encode_symbol(cum, t, total)
        return {"bytes_hex": bytes(enc.finish()).hex()}

    def op_chunk_decode(self, a):
        n = self.int_arg(a, "n")
        if n < 0:
            raise OpError("n: must be >= 0")
        data = unhex(self.arg(a, "bytes_hex"), "bytes_hex")
        m = self.model(a)
        dec = self.pkg.get("ArithDecoder")(data)
        out = []
        for i in range(n):
            cum, total = m.get_cumfreqs(m.forward(BOS if i == 0 else out[i - 1], i))
            out.append(int(dec.decode_symbol(cum, total)))
        return {"tokens": out_array(out, "u32")}

    # -- §8–§9 files, through the package's command line

    def cli(self, args, data, what):
        with tempfile.TemporaryDirectory(prefix="czip-py-adapter-") as tmp:
            inp, outp = os.path.join(tmp, "in"), os.path.join(tmp, "out")
            with open(inp, "wb") as f:
                f.write(data)
            cmd = [sys.executable, "-m", "compress_zip"] + args + ["-i", inp, "-o", outp]
            # Run the very package this process imported, whatever the cwd.
            env = dict(os.environ)
            root = self.pkg.root()
            if root:
                env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
            r = subprocess.run(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            if r.returncode != 0:
                tail = (r.stderr or r.stdout).decode("utf-8", "replace").strip().splitlines()
                raise OpError(f"`python -m compress_zip {what}` exited with status {r.returncode}"
                              + (f": {tail[-1]}" if tail else ""))
            try:
                with open(outp, "rb") as f:
                    return f.read()
            except OSError as e:
                raise OpError(f"`python -m compress_zip {what}` wrote no output file: {e}") from None

    def op_compress(self, a):
        level = a.get("level")
        if level is not None and level != 1:
            raise Unsupported(f"level {level}: compress_zip always writes 64-token chunks (level 1)")
        codec = a.get("codec") or "brotli"
        if codec not in ("brotli", "zstd"):
            raise OpError(f"codec {codec!r}: brotli or zstd")
        path = self.model_file(a)
        data = self.text(self.arg(a, "text"))
        # model_id_hash cannot be chosen: the package hashes the model path it is given.
        return {"file_hex": self.cli(["compress", "-m", path, "-c", codec], data, "compress").hex()}

    def op_decompress(self, a):
        path = self.model_file(a)
        data = unhex(self.arg(a, "file_hex"), "file_hex")
        return {"text_hex": self.cli(["decompress", "-m", path], data, "decompress").hex()}


# --------------------------------------------------------------------------
# Main loop


def serve(adapter, inp, out):
    for line in inp:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise OpError("a request is a JSON object")
            rid = req.get("id")
            args = req.get("args")
            resp = {"id": rid, "result": adapter.handle(req.get("op"), {} if args is None else args)}
        except Unsupported as e:
            resp = {"id": rid, "unsupported": str(e)}
        except OpError as e:
            resp = {"id": rid, "error": str(e)}
        except json.JSONDecodeError as e:
            resp = {"id": None, "error": f"request is not JSON: {e}"}
        except RecursionError as e:
            resp = {"id": rid, "error": f"RecursionError: {e}"}
        except (Exception, SystemExit) as e:  # whatever the package raises is its answer: an error
            if os.environ.get("CZIP_ADAPTER_DEBUG"):
                print(traceback.format_exc(), file=sys.stderr)
            resp = {"id": rid, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(resp) + "\n")
        out.flush()


def check():
    pkg = Package()
    if pkg.mod is None:
        print(f"compress_zip: NOT importable ({pkg.error})")
        print(f"  {INSTALL_HINT}")
    else:
        print(f"compress_zip: importable, version {pkg.version()}, from {pkg.location()}")
        if getattr(pkg.mod, "FAKE", False):
            print("  WARNING: this is the FAKE package of adapters/python/fake_compress_zip (protocol tests only)")
    print(f"numpy: {np.__version__ if np is not None else 'not installed (the real package needs it)'}")
    print(f"python: {sys.version.split()[0]} ({sys.executable})")
    return 0 if pkg.mod is not None else 1


def main(argv):
    extra = []
    it = iter(argv)
    for a in it:
        if a == "--check":
            return check()
        if a == "--extra-features":
            extra += [f for f in next(it, "").split(",") if f]
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            print(f"czip_adapter: unknown argument {a!r} (--check, --extra-features F1,F2)", file=sys.stderr)
            return 2
    # stdout carries protocol lines only: keep a private handle on it and send
    # anything else written to fd 1 (prints in the package, C extensions) to stderr.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stdin = open(sys.stdin.fileno(), "r", encoding="utf-8", errors="replace", newline="\n", closefd=False)
    adapter = Adapter(extra)
    try:
        serve(adapter, stdin, proto)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
