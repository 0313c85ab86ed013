//! int8 matrix kernels for the fast paths (spec §5 "Linear", computed for many
//! rows at once): `out[r][o] = Σ_c x[r][c] · W[o][c]`, exact in i32.
//!
//! Three implementations compute the same integers:
//!
//! * [`scalar`] — the portable reference, a plain loop over the packed layout;
//! * [`avx2`] — `vpmaddwd` on sign-extended i16 pairs (no saturation possible:
//!   `|x·w| <= 127·128`, a pair sum is below 2^15·2);
//! * [`avx512`] — AVX-512 VNNI `vpdpbusd` (u8 × i8, four products per i32
//!   lane, non-saturating) on `x + 128`, corrected by `128 · Σ_c W[o][c]`.
//!
//! Every SIMD kernel is tested against the scalar one on random and edge
//! inputs (`tests/integration/kernels_*.rs`). The kernel is a parameter of the work,
//! never process state (the pipeline's [`Engine`](crate::pipeline::Engine);
//! [`Kernel::best`] by default, forced with `czip --kernel`); the packed
//! layout is the same for all three, so switching kernels never re-packs
//! weights.
//!
//! Width invariant (enforced by the loader, `MAX_LINEAR_IN`): the inner
//! dimension k satisfies `128·128·k < 2^31`, so every sum — including the
//! biased VNNI sum `Σ (x+128)·w`, bounded by `255·128·k` — fits i32.

pub mod packed;
pub mod peak;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
#[cfg(target_arch = "x86_64")]
pub mod attention_avx2;
#[cfg(target_arch = "x86_64")]
pub mod attention_avx512;
pub mod elementwise;
pub mod exps;
pub mod values;

pub use packed::{PackedRows, BLOCK_ROWS, GROUP};

/// Which implementation of the kernels to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable reference.
    Scalar,
    /// x86-64 AVX2.
    Avx2,
    /// x86-64 AVX-512 F/BW/DQ + VNNI.
    Avx512,
}

impl Kernel {
    pub const ALL: [Kernel; 3] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512];

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest available kernel.
    pub fn best() -> Kernel {
        [Kernel::Avx512, Kernel::Avx2].into_iter().find(|k| k.is_available()).unwrap_or(Kernel::Scalar)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// `self` when this CPU runs it, else an error saying so.
    pub fn available(self) -> Result<Kernel, String> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(format!("kernel {} is not supported by this CPU", self.name()))
        }
    }

    /// Parses a kernel name that this CPU runs (a command line's value
    /// parser: a kernel the CPU lacks is a usage error there).
    pub fn parse_available(s: &str) -> Result<Kernel, String> {
        s.parse::<Kernel>()?.available()
    }
}

impl std::str::FromStr for Kernel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "scalar" => Ok(Kernel::Scalar),
            "avx2" => Ok(Kernel::Avx2),
            "avx512" => Ok(Kernel::Avx512),
            _ => Err(format!("{s:?}: expected scalar, avx2 or avx512")),
        }
    }
}

/// `out[r·out_stride + o] = Σ_{c<k} x[r·x_stride + c] · W[o][c]` for
/// `r < n`, `o < w.rows()`. `x_stride >= w.padded_cols()`; the bytes of a
/// row past `k` are ignored (the packed padding is zero). Panics if a slice
/// is too short or the kernel is not available (a caller error).
pub fn gemm(kernel: Kernel, x: &[i8], x_stride: usize, n: usize, w: &PackedRows, out: &mut [i32], out_stride: usize) {
    gemm_first(kernel, x, x_stride, n, w, w.rows(), out, out_stride)
}

/// [`gemm`] for the first `m` rows of W only (`m <= w.rows()`): the
/// outputs `o < m`; nothing at or past `m` is written. (The attention's
/// scores of a row need the keys up to its own position only.)
#[allow(clippy::too_many_arguments)]
pub fn gemm_first(kernel: Kernel, x: &[i8], x_stride: usize, n: usize, w: &PackedRows, m: usize, out: &mut [i32], out_stride: usize) {
    assert!(m <= w.rows() && x_stride >= w.padded_cols() && out_stride >= m);
    if n == 0 || m == 0 {
        return;
    }
    assert!(x.len() >= (n - 1) * x_stride + w.padded_cols());
    assert!(out.len() >= (n - 1) * out_stride + m);
    match kernel {
        Kernel::Scalar => scalar::gemm(x, x_stride, n, w, m, out, out_stride),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => {
            assert!(kernel.is_available(), "AVX2 not available");
            // SAFETY: the CPU supports AVX2 (asserted); bounds asserted above.
            unsafe { avx2::gemm(x, x_stride, n, w, m, out, out_stride) }
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => {
            assert!(kernel.is_available(), "AVX-512 VNNI not available");
            // SAFETY: the CPU supports AVX-512 F/BW/VNNI (asserted); bounds asserted above.
            unsafe { avx512::gemm(x, x_stride, n, w, m, out, out_stride) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => panic!("kernel {} not available on this architecture", kernel.name()),
    }
}
