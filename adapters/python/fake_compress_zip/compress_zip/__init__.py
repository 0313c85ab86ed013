"""FAKE `compress_zip` — NOT the real package.

This is a stand-in with the same module and function names as the public
Python package `compress_zip` (see `../shared/spec/upstream-python-api.md`),
used ONLY to test the protocol plumbing of `adapters/python/czip_adapter.py`:
every function records its call (when `FAKE_COMPRESS_ZIP_LOG` names a file,
one JSON line per call) and returns a simple deterministic dummy value (a
constant or an echo of its inputs). Nothing here computes CZIP. A
conformance run against this package measures nothing.

As documented for the real package, the primitives are re-exported at the top
level; everything else lives only in submodules, so the adapter's lookup of
names in submodules is exercised too.
"""

__version__ = "0.0.0+fake"
FAKE = True

from .primitives import (  # noqa: E402,F401
    argmax_deterministic,
    clamp_i8,
    div_rne_tte_s32,
    div_rne_tte_s64_to_s32,
    isqrt32_restoring,
    sra_rne_tte_s32,
    sra_rne_tte_s64_to_s32,
    udiv_rne_tte_u32,
)
