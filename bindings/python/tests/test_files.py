"""Files: every normative golden file decodes through czip.decompress, the
container classes read them, compress writes what `czip compress` writes,
and verify_file gives score's verdict."""
import json
import os

import pytest

import czip
from conftest import need


def normative(golden):
    rows = [json.loads(l) for l in open(need(golden / "manifest.jsonl", "golden manifest"))]
    return [r for r in rows if r["normative"]]


def test_every_normative_golden_file_decodes(golden, models):
    """Each distinct payload of a normative file (the brotli and zstd files of
    a text and level hold the same payload) decodes through czip.decompress
    back to its text; every file's outer stream and container are read
    (CompressedFile: every §9 check) and carry the chunks of that payload."""
    from concurrent.futures import ThreadPoolExecutor

    rows = normative(golden)
    assert len(rows) >= 400
    first = {}
    for r in rows:
        first.setdefault((r["model"], r["payload_sha256"]), r)

    def decodes(r):
        return czip.decompress((golden / r["path"]).read_bytes(), models[r["model"]]) == (golden / r["text"]).read_bytes()

    # decompress releases the GIL: the files are decoded in parallel
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        ok = dict(zip(first, pool.map(decodes, first.values())))
    assert [first[k]["path"] for k, v in ok.items() if not v] == []
    chunks = {}
    for r in rows:
        f = czip.CompressedFile.read(golden / r["path"])
        assert chunks.setdefault((r["model"], r["payload_sha256"]), f.chunks) == f.chunks, r["path"]
        assert f.outer_header.uncompressed_len == r["uncompressed_len"], r["path"]


def test_compressed_file_reads_golden(golden, v001):
    r = next(r for r in normative(golden) if r["model"] == "v001_eng.czm" and r["level"] == 3)
    f = czip.CompressedFile.read(golden / r["path"])
    assert f.inner_header.chunk_count == r["chunk_count"] == len(f.chunks)
    assert f.inner_header.last_chunk_tokens == r["last_chunk_tokens"]
    assert f.outer_header.uncompressed_len == r["uncompressed_len"]
    assert f.inner_header.tokens_per_chunk == r["chunk_tokens"]
    assert f.get_chunk_tokens(len(f.chunks) - 1) == r["last_chunk_tokens"]
    again = czip.CompressedFile.from_bytes(f.to_bytes())
    assert again.chunks == f.chunks and again.inner_header.model_id_hash == f.inner_header.model_id_hash
    assert czip.CZIPv1OuterHeader.from_bytes(f.outer_header.to_bytes()).header_len == f.outer_header.header_len


def test_compress_matches_golden_payload(golden, v001):
    r = next(r for r in normative(golden) if r["model"] == "v001_eng.czm" and r["level"] == 2 and r["codec"] == "brotli"
             and "alice_ch1" in r["path"])
    text = (golden / r["text"]).read_bytes()
    ours = czip.CompressedFile.from_bytes(czip.compress(text, v001, level=2))
    theirs = czip.CompressedFile.read(golden / r["path"])
    assert ours.chunks == theirs.chunks


def test_verify_file_verdicts(golden, v001):
    r = next(r for r in normative(golden) if r["model"] == "v001_eng.czm" and r["level"] == 1 and "alice_ch1" in r["path"])
    v = czip.verify_file(golden / r["path"], v001, (golden / r["text"]).read_bytes())
    assert v["file"] == "alice_ch1.txt" and v["status"] in ("pass", "fail")
    assert set(v) >= {"agreement", "first_divergence", "known_cause", "ratio", "case", "failure", "finding"}
    assert v["ratio"]["bytes_out"] == r["bytes_out"]
    # a file that departs: the public Python package's alice at L1 (spec §11, RMSNorm 9482)
    py = golden / "files/python/L1/brotli/alice_ch1.txt.czip"
    if py.exists():
        v = czip.verify_file(py, v001, golden / "corpus" / "alice_ch1.txt")
        assert v["status"] == "fail" and not v["agreement"]
        assert v["cause"] == "udiv_rounds_up", v
        assert v["first_divergence"] is not None and v["failure"]["cause"] == "udiv_rounds_up"
    # without a text: what the reference decodes from the file
    data = (golden / r["path"]).read_bytes()
    v = czip.verify_file(data, v001, name="x")
    assert v["file"] == "x"


def test_round_trip_levels_and_codecs(v001):
    text = "Down the Rabbit-Hole. " * 40
    for level in (None, 1, 5):
        for codec in ("brotli", "zstd"):
            f = czip.compress(text, v001, level=level, codec=codec)
            assert czip.decompress(f, v001) == text.encode()
