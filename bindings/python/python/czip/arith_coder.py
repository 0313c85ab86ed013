"""The 32-bit arithmetic coder (spec §7)."""
from ._czip import ArithEncoder, ArithDecoder  # noqa: F401
