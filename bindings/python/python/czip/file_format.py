"""The CZIPv1 container (spec §9)."""
from enum import IntEnum

from ._czip import CZIPv1OuterHeader, CZIPv1InnerHeader, CompressedFile  # noqa: F401


class Codec(IntEnum):
    """Outer codec ids (byte 7 of the outer header)."""

    ZSTD = 0
    BROTLI = 1
