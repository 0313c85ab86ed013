//! `czip.primitives` (spec §1): each function converts its Python ints into
//! the spec's widths (an `InputError` outside them) and calls
//! `czip::numerics`.

use pyo3::prelude::*;

use crate::convert::{int_of, vec_of};
use crate::errors::input;
use czip::numerics as n;

fn shift(sh: i128, max: u32) -> PyResult<u32> {
    match u32::try_from(sh) {
        Ok(s) if s <= max => Ok(s),
        _ => Err(input(format!("shift = {sh} is outside the spec's domain 0..={max}"))),
    }
}

/// `v >> sh` rounded to nearest, ties to even, on the magnitude (spec §1):
/// `v` i32, `0 <= sh <= 31`. `sra_rne_tte_s32(1234567, 10) == 1206`.
#[pyfunction]
#[pyo3(signature = (x, shift))]
pub fn sra_rne_tte_s32(x: i128, shift: i128) -> PyResult<i32> {
    Ok(n::sra_rne_tte_s32(int_of(x, "x")?, self::shift(shift, 31)?))
}

/// The same rule in 64 bits, saturated to i32 (spec §1): `v` i64, `0 <= sh <= 63`.
#[pyfunction]
#[pyo3(signature = (x, shift))]
pub fn sra_rne_tte_s64_to_s32(x: i128, shift: i128) -> PyResult<i32> {
    Ok(n::sra_rne_tte_s64_to_s32(int_of(x, "x")?, self::shift(shift, 63)?))
}

/// `n / d` rounded to nearest, ties to even (spec §1), u32 operands; `d = 0`
/// gives 0 (spec §11: the primitive is total).
///
/// `udiv_rne_tte_u32(1000000, 3) == 333333`. The seed README's table shows
/// 333334: that is the public Python package's rounding, which rounds up
/// when `d` is odd and the remainder is `(d − 1)/2` — here `r = 1` and
/// `1000000/3 = 333333.33…`, a remainder below half, not a tie, so the
/// nearest quotient is 333333. Spec §11 makes 333333 normative (the
/// primary Rust reference's value) and the conformance suite reports 333334
/// as a known discrepancy of that package.
#[pyfunction]
#[pyo3(signature = (numerator, divisor))]
pub fn udiv_rne_tte_u32(numerator: i128, divisor: i128) -> PyResult<u32> {
    Ok(n::udiv_rne_tte_u32(int_of(numerator, "numerator")?, int_of(divisor, "divisor")?))
}

/// Signed `n / d`, magnitudes by the udiv rule, sign = sign(n) xor sign(d)
/// (spec §1); `d = 0` gives 0. `(i32::MIN, −1)` is outside the spec's domain.
#[pyfunction]
#[pyo3(signature = (numerator, divisor))]
pub fn div_rne_tte_s32(numerator: i128, divisor: i128) -> PyResult<i32> {
    let (a, b): (i32, i32) = (int_of(numerator, "numerator")?, int_of(divisor, "divisor")?);
    if a == i32::MIN && b == -1 {
        return Err(input("div_rne_tte_s32(-2147483648, -1) is outside the spec's domain"));
    }
    Ok(n::div_rne_tte_s32(a, b))
}

/// i64 numerator, u64 denominator, saturated to i32 (spec §1); `d = 0` gives 0.
#[pyfunction]
#[pyo3(signature = (numerator, denominator))]
pub fn div_rne_tte_s64_to_s32(numerator: i128, denominator: i128) -> PyResult<i32> {
    Ok(n::div_rne_tte_s64_to_s32(int_of(numerator, "numerator")?, int_of(denominator, "denominator")?))
}

/// `⌊√x⌋` of a u32 (spec §1). `isqrt32_restoring(2147483647) == 46340`.
#[pyfunction]
pub fn isqrt32_restoring(x: i128) -> PyResult<u32> {
    Ok(n::isqrt32_restoring(int_of(x, "x")?))
}

/// `clamp(x, −127, 127)` of an i32 (spec §1: symmetric, −128 never appears).
#[pyfunction]
pub fn clamp_i8(x: i128) -> PyResult<i8> {
    Ok(n::clamp_i8(int_of(x, "x")?))
}

/// Index of the maximum of i32 values, ties to the smallest index (spec §1).
#[pyfunction]
pub fn argmax_deterministic(values: &Bound<'_, PyAny>) -> PyResult<usize> {
    let xs: Vec<i32> = vec_of(values, "values")?;
    n::argmax(&xs).ok_or_else(|| input("argmax of an empty array"))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sra_rne_tte_s32, m)?)?;
    m.add_function(wrap_pyfunction!(sra_rne_tte_s64_to_s32, m)?)?;
    m.add_function(wrap_pyfunction!(udiv_rne_tte_u32, m)?)?;
    m.add_function(wrap_pyfunction!(div_rne_tte_s32, m)?)?;
    m.add_function(wrap_pyfunction!(div_rne_tte_s64_to_s32, m)?)?;
    m.add_function(wrap_pyfunction!(isqrt32_restoring, m)?)?;
    m.add_function(wrap_pyfunction!(clamp_i8, m)?)?;
    m.add_function(wrap_pyfunction!(argmax_deterministic, m)?)?;
    Ok(())
}
