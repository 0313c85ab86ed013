"""ReGLU of spec §5."""
from ._czip import reglu_i8  # noqa: F401
