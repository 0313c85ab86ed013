"""FAKE compress_zip.attention: the attention exp returns 201, RoPE echoes
its input (the Q variant negated), and one attention head echoes its query.
The head's signature has the `sink_key` keyword or not (see the switch below)."""

import os

from ._record import record


def exp_q16_from_attn_diff(diff, exp_lut):
    record("exp_q16_from_attn_diff", diff=diff, exp_lut=exp_lut)
    return 201


def apply_rope_i8(x, pos, rope_cos=None, rope_sin=None):
    record("apply_rope_i8", x=x, pos=pos, rope_cos=rope_cos, rope_sin=rope_sin)
    return [int(v) for v in x]


def apply_rope_q_i8(q, pos, rope_cos, rope_sin):
    record("apply_rope_q_i8", q=q, pos=pos, rope_cos=rope_cos, rope_sin=rope_sin)
    return [-int(v) for v in q]


def _head_with_sink(q, k_cache, v_cache, pos, exp2_lut=None, rope_cos=None, rope_sin=None, score_mul_q15=32768,
                    sink_key=None):
    record("gqa_attention_mqa_i8_cached", q=q, k_cache=k_cache, v_cache=v_cache, pos=pos, exp2_lut=exp2_lut,
           rope_cos=rope_cos, rope_sin=rope_sin, score_mul_q15=score_mul_q15, sink_key=sink_key)
    return [int(v) for v in q]


def _head_without_sink(q, k_cache, v_cache, pos, exp2_lut=None, rope_cos=None, rope_sin=None, score_mul_q15=32768):
    record("gqa_attention_mqa_i8_cached", q=q, k_cache=k_cache, v_cache=v_cache, pos=pos, exp2_lut=exp2_lut,
           rope_cos=rope_cos, rope_sin=rope_sin, score_mul_q15=score_mul_q15)
    return [int(v) for v in q]


# The real package gained the `sink_key` keyword after revision a740d62;
# FAKE_COMPRESS_ZIP_NO_SINK_KEY=1 gives the older signature (a call with the
# keyword then raises TypeError, as the old package does).
if os.environ.get("FAKE_COMPRESS_ZIP_NO_SINK_KEY") == "1":
    _head_without_sink.__name__ = _head_without_sink.__qualname__ = "gqa_attention_mqa_i8_cached"
    gqa_attention_mqa_i8_cached = _head_without_sink
else:
    _head_with_sink.__name__ = _head_with_sink.__qualname__ = "gqa_attention_mqa_i8_cached"
    gqa_attention_mqa_i8_cached = _head_with_sink
