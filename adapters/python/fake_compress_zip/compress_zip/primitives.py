"""FAKE compress_zip.primitives: records each call and returns a constant
(101..108) that names the function. Not the real arithmetic. The argument
handling mirrors the real signatures (argmax takes a sequence)."""

from ._record import record


def sra_rne_tte_s32(x, shift):
    record("sra_rne_tte_s32", x=x, shift=shift)
    return 101


def sra_rne_tte_s64_to_s32(x, shift):
    record("sra_rne_tte_s64_to_s32", x=x, shift=shift)
    return 102


def udiv_rne_tte_u32(numerator, divisor):
    record("udiv_rne_tte_u32", numerator=numerator, divisor=divisor)
    if divisor == 0:
        raise ValueError("fake: division by zero")  # as the real one does
    return 103


def div_rne_tte_s32(numerator, divisor):
    record("div_rne_tte_s32", numerator=numerator, divisor=divisor)
    return 104


def div_rne_tte_s64_to_s32(numerator, denominator):
    record("div_rne_tte_s64_to_s32", numerator=numerator, denominator=denominator)
    return 105


def isqrt32_restoring(x):
    record("isqrt32_restoring", x=x)
    return 106


def clamp_i8(x):
    record("clamp_i8", x=x)
    return 107


def argmax_deterministic(values):
    """Like the real one, takes a sequence and tests `if not values`: a numpy
    array of more than one element raises numpy's "truth value … is
    ambiguous" ValueError, a one-element array holding 0 "Empty sequence"."""
    record("argmax_deterministic", values=values, type=type(values).__name__)
    if not values:
        raise ValueError("Empty sequence")
    return 108
