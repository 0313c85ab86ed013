"""czip — the CZIP v1 reference engine (czip-conformance) in Python.

The names of the public ``compress_zip`` package, with the normative
semantics of the spec (``CZIP-v1.md``), at the top level and in the same
submodules (``czip.primitives``, ``czip.lut``, ``czip.rmsnorm``,
``czip.reglu``, ``czip.linear``, ``czip.attention``, ``czip.softmax_cdf``,
``czip.arith_coder``, ``czip.file_format``); the engine (``Model``,
``compress``, ``decompress``, ``verify_file``) and the runner (``run``,
``score``). Every call is the Rust engine's own code; errors are
``CzipError`` subclasses.
"""

from . import _czip
from ._czip import (
    __version__,
    # errors
    CzipError,
    ContainerError,
    ModelError,
    ChunkError,
    InputError,
    # primitives (spec §1)
    sra_rne_tte_s32,
    sra_rne_tte_s64_to_s32,
    udiv_rne_tte_u32,
    div_rne_tte_s32,
    div_rne_tte_s64_to_s32,
    isqrt32_restoring,
    clamp_i8,
    argmax_deterministic,
    # tables (spec §2)
    Exp2LutQ16,
    RopeLut,
    exp_q16_from_neg_fixed,
    # layers (spec §5)
    rmsnorm_i8,
    compute_inv_rms_q15_from_mean_sq,
    reglu_i8,
    linear_i8_to_i32,
    apply_rope_i8,
    apply_rope_q_i8,
    gqa_attention_mqa_i8,
    exp_q16_from_attn_diff,
    KVCache,
    # frequency table (spec §6)
    build_cumfreqs,
    compute_coef_q24,
    compute_target_total,
    exp_q16_from_diff_acc,
    # coder (spec §7)
    ArithEncoder,
    ArithDecoder,
    # container (spec §9)
    CZIPv1OuterHeader,
    CZIPv1InnerHeader,
    CompressedFile,
    # engine
    Model,
    compress,
    decompress,
    verify_file,
    STAGES,
    # runner
    run,
    score,
)
from .file_format import Codec
from . import primitives, lut, rmsnorm, reglu, linear, attention, softmax_cdf, arith_coder, file_format  # noqa: E402,F401

__all__ = [n for n in dir(_czip) if not n.startswith("_")] + ["Codec", "__version__"]
