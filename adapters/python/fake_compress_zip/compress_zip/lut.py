"""FAKE compress_zip.lut: dummy tables (echoes of the indices), not the
real exp2 / RoPE values."""

from ._record import record


class Exp2LutQ16:
    """FAKE: `.table[i] == i`."""

    def __init__(self):
        record("Exp2LutQ16")
        self.table = list(range(256))

    def as_array(self):
        return list(self.table)

    def __getitem__(self, i):
        return self.table[i]

    def __len__(self):
        return len(self.table)


class RopeLut:
    """FAKE: `cos_table[p][i] = 100*p + i`, `sin_table[p][i] = -(100*p + i)`."""

    def __init__(self, max_seq_len=64, head_dim=64, base=10000.0):
        record("RopeLut", max_seq_len=max_seq_len, head_dim=head_dim, base=base)
        half = head_dim // 2
        self.cos_table = [[100 * p + i for i in range(half)] for p in range(max_seq_len)]
        self.sin_table = [[-(100 * p + i) for i in range(half)] for p in range(max_seq_len)]
