"""Spec §1–§3 through the seed package's names: the seed README's check
values, the spec's semantics where the seed's table disagrees, the tables."""
import numpy as np
import pytest

import czip
from czip.primitives import sra_rne_tte_s32, isqrt32_restoring, udiv_rne_tte_u32, clamp_i8


def test_seed_check_values():
    assert sra_rne_tte_s32(1234567, 10) == 1206
    assert sra_rne_tte_s32(7, 1) == 4
    assert sra_rne_tte_s32(5, 1) == 2
    assert isqrt32_restoring(1000000) == 1000
    assert isqrt32_restoring(2147483647) == 46340


def test_udiv_is_nearest_ties_to_even_not_the_seed_table():
    # The seed README's table says 333334; spec §11 makes 333333 normative.
    assert udiv_rne_tte_u32(1000000, 3) == 333333
    assert "333334" in czip.udiv_rne_tte_u32.__doc__
    assert udiv_rne_tte_u32(5, 2) == 2 and udiv_rne_tte_u32(7, 2) == 4  # ties to even
    assert udiv_rne_tte_u32(9, 0) == 0  # §11: division by zero is 0


def test_other_primitives():
    assert sra_rne_tte_s32(-5, 1) == -2 and sra_rne_tte_s32(-7, 1) == -4
    assert sra_rne_tte_s32(-(2**31), 31) == -1
    assert czip.sra_rne_tte_s64_to_s32(2**40, 1) == 2**31 - 1
    assert czip.div_rne_tte_s32(-7, 2) == -4
    assert czip.div_rne_tte_s64_to_s32(-(2**40), 2**10) == -(2**30)
    assert clamp_i8(-300) == -127 and clamp_i8(200) == 127 and clamp_i8(-128) == -127
    assert czip.argmax_deterministic([3, 9, 9, 1]) == 1
    assert czip.argmax_deterministic(np.array([5, 5], dtype=np.int8)) == 0


def test_submodules_import_by_dotted_path():
    import czip.attention, czip.file_format, czip.arith_coder, czip.softmax_cdf  # noqa: E401
    from czip.lut import Exp2LutQ16
    from czip.rmsnorm import rmsnorm_i8
    from czip.reglu import reglu_i8
    from czip.linear import linear_i8_to_i32
    from czip.attention import gqa_attention_mqa_i8, KVCache
    from czip.softmax_cdf import build_cumfreqs
    from czip.arith_coder import ArithEncoder, ArithDecoder
    from czip.file_format import CZIPv1OuterHeader, CZIPv1InnerHeader, CompressedFile, Codec
    assert rmsnorm_i8 is czip.rmsnorm_i8 and Codec.BROTLI == 1
    assert all(x is not None for x in (Exp2LutQ16, reglu_i8, linear_i8_to_i32, gqa_attention_mqa_i8, KVCache,
                                         build_cumfreqs, ArithEncoder, ArithDecoder, CZIPv1OuterHeader,
                                         CZIPv1InnerHeader, CompressedFile))


def test_tables():
    e = czip.Exp2LutQ16()
    a = e.as_array()
    assert a.dtype == np.uint16 and a.shape == (256,)
    assert e[0] == 65535 and len(e) == 256 and e.table[255] == a[255] and e[-1] == a[255]
    r = czip.RopeLut(max_seq_len=8)
    assert r.cos_table.dtype == np.int16 and r.cos_table.shape == (8, 32) and r.sin_table.shape == (8, 32)
    assert r.get_cos(0, 5) == 32767 and r.get_sin(0, 5) == 0
    assert czip.compute_coef_q24() == 37819
    assert czip.compute_target_total(1024) == 2**30 - 1024 - 1024 == 1073739776
    assert czip.exp_q16_from_diff_acc(0) == 65535 and czip.exp_q16_from_attn_diff(0) == 65535
    assert czip.exp_q16_from_diff_acc(-1000) < czip.exp_q16_from_diff_acc(-10)


def test_layers_dtypes_and_the_9482_point():
    x = np.full(384, 97, dtype=np.int8)
    y = czip.rmsnorm_i8(x, np.full(384, 64, dtype=np.int8))
    assert y.dtype == np.int8 and y.shape == (384,)
    # spec §11: ⌊Σx²/D⌋ = 9482 gives inv 336 (the round-half-up division gives 337)
    assert czip.compute_inv_rms_q15_from_mean_sq(9482) == 336
    g = czip.reglu_i8(np.array([10, -5, 127], np.int8), np.array([100, 100, 127], np.int8))
    assert g.dtype == np.int8 and list(g) == [8, 0, 126]
    w = np.arange(12, dtype=np.int8).reshape(3, 4)
    y = czip.linear_i8_to_i32(np.array([1, 2, 3, 4], np.int8), w)
    assert y.dtype == np.int32 and list(y) == [20, 60, 100]
    yb = czip.linear_i8_to_i32(np.ones((2, 4), np.int8), w)
    assert yb.shape == (2, 3) and list(yb[1]) == [6, 22, 38]


def test_attention_with_cache():
    rng = np.random.default_rng(7)
    cache = czip.KVCache.create(max_seq_len=4)
    outs = []
    for pos in range(3):
        q, k, v = (rng.integers(-127, 128, 64).astype(np.int8) for _ in range(3))
        outs.append(czip.gqa_attention_mqa_i8(q, k, v, pos, kv_cache=cache))
    assert cache.seq_len == 3 and cache.k_cache.shape == (4, 64) and cache.k_cache.dtype == np.int8
    assert all(o.dtype == np.int8 and o.shape == (64,) for o in outs)
    # at position 0 the only value attended to is v itself
    q, k, v = (rng.integers(-127, 128, 64).astype(np.int8) for _ in range(3))
    assert list(czip.gqa_attention_mqa_i8(q, k, v, 0)) == list(v)
    assert czip.apply_rope_i8(v, 0).tolist() == v.tolist()
