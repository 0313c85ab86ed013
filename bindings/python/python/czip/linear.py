"""The int8 linear layer of spec §5."""
from ._czip import linear_i8_to_i32  # noqa: F401
