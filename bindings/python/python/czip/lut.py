"""Lookup tables of spec §2 (exp2 Q16, RoPE Q1.15)."""
from ._czip import Exp2LutQ16, RopeLut, exp_q16_from_neg_fixed  # noqa: F401
