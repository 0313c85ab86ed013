"""FAKE compress_zip.softmax_cdf: dummy exp values and a flat table
`cumfreqs = [1, 2, …, V]`, not the real integer softmax."""

from ._record import record


def exp_q16_from_diff_acc(diff, exp_lut, coef_q24=None):
    record("exp_q16_from_diff_acc", diff=diff, exp_lut=exp_lut, coef_q24=coef_q24)
    return 202


def compute_coef_q24():
    record("compute_coef_q24")
    return 203


def compute_target_total(vocab_size):
    record("compute_target_total", vocab_size=vocab_size)
    return 204


def build_cumfreqs(logits, vocab_size=None, exp_lut=None, coef_q24=None, target_total=None):
    record("build_cumfreqs", logits=logits, vocab_size=vocab_size, exp_lut=exp_lut, coef_q24=coef_q24,
           target_total=target_total)
    n = len(logits)
    return list(range(1, n + 1)), n
