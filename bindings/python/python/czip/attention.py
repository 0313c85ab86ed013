"""RoPE, the KV cache and one MQA attention head (spec §5)."""
from ._czip import (  # noqa: F401
    KVCache,
    apply_rope_i8,
    apply_rope_q_i8,
    gqa_attention_mqa_i8,
    exp_q16_from_attn_diff,
)
