"""Logits to frequency table (spec §6)."""
from ._czip import build_cumfreqs, compute_coef_q24, compute_target_total, exp_q16_from_diff_acc  # noqa: F401
