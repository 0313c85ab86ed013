"""RMSNorm of spec §5."""
from ._czip import rmsnorm_i8, compute_inv_rms_q15_from_mean_sq  # noqa: F401
