"""Bad input raises a CzipError subclass naming the stage, never a crash."""
import numpy as np
import pytest

import czip


def test_primitive_domains():
    with pytest.raises(czip.InputError):
        czip.sra_rne_tte_s32(1, 32)
    with pytest.raises(czip.InputError):
        czip.sra_rne_tte_s32(2**31, 1)
    with pytest.raises(czip.InputError):
        czip.udiv_rne_tte_u32(-1, 3)
    with pytest.raises(czip.InputError):
        czip.div_rne_tte_s32(-(2**31), -1)
    with pytest.raises(czip.InputError):
        czip.argmax_deterministic([])
    with pytest.raises(czip.InputError):
        czip.rmsnorm_i8(np.array([1, 2], np.int8), np.array([1], np.int8))
    with pytest.raises(czip.InputError):
        czip.rmsnorm_i8([300], [1])
    with pytest.raises(czip.InputError):
        czip.linear_i8_to_i32(np.ones(3, np.int8), np.ones((2, 4), np.int8))
    with pytest.raises(czip.InputError):
        czip.reglu_i8([1.5], [2])
    assert issubclass(czip.InputError, czip.CzipError) and issubclass(czip.CzipError, Exception)


def test_coder_errors():
    with pytest.raises(czip.InputError):
        czip.ArithEncoder().encode_symbol([0, 1, 3], 5, 3)
    with pytest.raises(czip.InputError):
        czip.ArithEncoder().encode_symbol([0, 1, 3], 1, 4)
    enc = czip.ArithEncoder()
    enc.finish()
    with pytest.raises(czip.InputError):
        enc.finish()
    with pytest.raises(czip.InputError):
        czip.ArithDecoder(b"\x00").decode_symbol([], 0)


def test_container_and_chunk_errors(v001):
    with pytest.raises(czip.ContainerError):
        czip.decompress(b"not a czip file at all", v001)
    with pytest.raises(czip.ContainerError):
        czip.CompressedFile.from_bytes(b"CZIPv1")
    good = bytearray(czip.compress("Hello, world! " * 20, v001, codec="zstd"))
    f = czip.CompressedFile.from_bytes(bytes(good))
    bad = czip.CompressedFile.create(model_id_hash=f.inner_header.model_id_hash, codec=0, context_length_log2=10)
    for c in f.chunks:
        bad.add_chunk(bytes(reversed(c)), is_last=True, last_chunk_tokens=f.inner_header.last_chunk_tokens)
    bad.finalize(f.outer_header.uncompressed_len)
    with pytest.raises(czip.ChunkError):
        czip.decompress(bad.to_bytes(), v001)


def test_model_and_input_errors(v001, tmp_path):
    with pytest.raises(czip.ModelError):
        czip.Model.load(tmp_path / "absent.czm")
    (tmp_path / "junk.czm").write_bytes(b"\x00" * 100)
    with pytest.raises(czip.ModelError):
        czip.Model.load(tmp_path / "junk.czm")
    with pytest.raises(czip.InputError):
        czip.Model.published("v002")
    with pytest.raises(czip.InputError):
        czip.compress(b"\xff\xfe", v001)
    with pytest.raises(czip.InputError):
        czip.compress("x", v001, level=9)
    with pytest.raises(czip.InputError):
        czip.compress("x", v001, codec="gzip")
    with pytest.raises(czip.InputError):
        v001.logits([5000, 1])
    with pytest.raises(czip.InputError):
        v001.logits([1, 2], positions=[3])
    with pytest.raises(czip.InputError):
        v001.logits(list(range(2000)))
    with pytest.raises(czip.InputError):
        v001.tokenize(b"\xff")
    with pytest.raises(czip.InputError):
        czip.verify_file(tmp_path / "absent.czip", v001)
    v = czip.verify_file(b"garbage", v001, "text")
    assert v["status"] == "fail" and v["message"].startswith("container:")


def test_published_names_the_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CZIP_MODELS_DIR", str(tmp_path))
    with pytest.raises(czip.ModelError, match="CZIP_MODELS_DIR"):
        czip.Model.published("v001")
