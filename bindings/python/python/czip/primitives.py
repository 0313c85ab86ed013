"""Primitives of spec §1 (rounding shifts and divisions, isqrt, clamp, argmax)."""
from ._czip import (  # noqa: F401
    sra_rne_tte_s32,
    sra_rne_tte_s64_to_s32,
    udiv_rne_tte_u32,
    div_rne_tte_s32,
    div_rne_tte_s64_to_s32,
    isqrt32_restoring,
    clamp_i8,
    argmax_deterministic,
)
