"""The model through the binding equals the golden logits vectors: the
project's model_logits cases (vectors/model/) and upstream's logits_v001."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import czip
from conftest import ROOT, need

VECTORS = ROOT / "vectors"


def digest(a, dtype):
    return hashlib.sha256(np.asarray(a, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes()).hexdigest()


def same(answer, expect, dtype):
    if isinstance(expect, dict):
        return digest(answer, dtype) == expect["sha256"]
    return np.asarray(answer).tolist() == expect


@pytest.mark.parametrize("name", ["v000", "v001"])
def test_model_logits_cases(name, models):
    cases = [json.loads(l) for l in open(VECTORS / "model" / f"{name}.jsonl")]
    cases = [c for c in cases if c["op"] == "model_logits" and "error" not in c["expect"]]
    assert cases
    m = models[name]
    for c in cases:
        a = c["args"]
        logits = m.logits(a["tokens"], a["positions"])
        assert logits.shape == (len(a["positions"]), m.vocab_size)
        for i, p in enumerate(a["positions"]):
            assert same(logits[i], c["expect"]["logits"][i], "<i4"), f"{c['id']} position {p}"
            cum, total = m.get_cumfreqs(logits[i])
            assert same(cum[1:], c["expect"]["cum"][i], "<u4"), f"{c['id']} cum at {p}"


def test_golden_logits_v001(golden, v001):
    rows = [json.loads(l) for l in open(need(golden / "vectors" / "logits_v001.jsonl", "logits_v001.jsonl"))]
    by_seq = {}
    for r in rows:
        if "seq" in r:
            by_seq.setdefault(r["seq"], []).append(r)
    checked = 0
    for seq, rs in by_seq.items():
        rs.sort(key=lambda r: r["pos"])
        tokens = [r["target_token"] for r in rs]
        logits = v001.logits(tokens)
        for r in rs:
            got = logits[r["pos"]]
            if r.get("logits") is not None:
                assert got.tolist() == r["logits"], f"{seq} pos {r['pos']}"
            if r.get("logits_sha256"):
                assert digest(got, "<i4") == r["logits_sha256"], f"{seq} pos {r['pos']}"
                checked += 1
    assert checked >= 1300


def test_trace_stages(v001):
    toks = v001.tokenize("Hello, world!")
    t = v001.trace(toks, 3)
    assert list(t["layers"][0]) == list(czip.STAGES) and len(t["layers"]) == v001.n_layers
    assert t["layers"][0]["qkv"].dtype == np.int8 and t["layers"][0]["resid_ffn"].dtype == np.int32
    assert t["layers"][0]["attn_in"].shape == (v001.d_model,)
    assert np.array_equal(t["logits"], v001.logits(toks, [3])[0])


def test_tokenize(v001):
    assert v001.tokenize("Hello, world!").tolist() == [72, 437, 111, 44, 873, 33]
    assert v001.detokenize([72, 437, 111, 44, 873, 33]) == b"Hello, world!"
