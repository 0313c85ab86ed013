//! The weight layout of the kernels.
//!
//! A row-major matrix W [m × k] (m output rows of k i8 columns) is stored in
//! blocks of [`BLOCK_ROWS`] = 16 output rows; inside a block, column groups
//! of [`GROUP`] = 4 consecutive columns come one after the other, and inside
//! a group the 16 rows' 4 bytes are adjacent:
//!
//! `W[o][c]` is at `(o / 16)·(k4·64) + (c / 4)·64 + (o % 16)·4 + c % 4`,
//! with `k4 = ⌈k / 4⌉`.
//!
//! So one 64-byte load holds 4 columns of 16 rows — exactly the operand of
//! one `vpdpbusd` that produces 16 outputs. Padding rows (up to a multiple
//! of 16) and padding columns (up to a multiple of 4) are zero, so whatever
//! an input holds in its padding columns contributes nothing.
//!
//! `row_sums[o] = Σ_c W[o][c]` (exact i32) is kept for the VNNI kernel's
//! `+128` correction. The same structure holds a growing matrix (the keys of
//! a KV cache: one row per position) through [`PackedRows::push_row`].

/// Output rows per block.
pub const BLOCK_ROWS: usize = 16;
/// Columns per group (the four bytes one i32 lane of `vpdpbusd` consumes).
pub const GROUP: usize = 4;

#[derive(Debug, Clone)]
pub struct PackedRows {
    rows: usize,
    cols: usize,
    k4: usize,
    data: Vec<i8>,
    row_sums: Vec<i32>,
}

impl PackedRows {
    /// Room for `max_rows` rows of `cols` columns, holding none yet.
    pub fn with_capacity(max_rows: usize, cols: usize) -> Self {
        let k4 = cols.div_ceil(GROUP);
        let blocks = max_rows.div_ceil(BLOCK_ROWS);
        PackedRows {
            rows: 0,
            cols,
            k4,
            data: vec![0; blocks * k4 * BLOCK_ROWS * GROUP],
            row_sums: vec![0; blocks * BLOCK_ROWS],
        }
    }

    /// Packs a row-major `[m × k]` matrix (`w.len() == m·k`).
    pub fn from_matrix(w: &[i8], m: usize, k: usize) -> Self {
        assert_eq!(w.len(), m * k, "matrix size");
        let mut p = PackedRows::with_capacity(m, k);
        for row in w.chunks_exact(k.max(1)).take(m) {
            p.push_row(row);
        }
        if k == 0 {
            p.rows = m;
        }
        p
    }

    /// Appends one row (`row.len() == cols`). Panics when full.
    pub fn push_row(&mut self, row: &[i8]) {
        assert_eq!(row.len(), self.cols);
        assert!(self.rows < self.capacity(), "packed matrix full");
        let o = self.rows;
        let block_len = self.block_len();
        let block = &mut self.data[(o / BLOCK_ROWS) * block_len..][..block_len];
        // Column group g of row o: 4 bytes at g·64 + (o % 16)·4 (fixed-size
        // copies; a last partial group keeps its zero padding).
        let at = |g: usize| g * BLOCK_ROWS * GROUP + (o % BLOCK_ROWS) * GROUP;
        let quads = row.chunks_exact(GROUP);
        let rest = quads.remainder();
        for (g, quad) in quads.enumerate() {
            block[at(g)..at(g) + GROUP].copy_from_slice(quad);
        }
        if !rest.is_empty() {
            let g = row.len() / GROUP;
            block[at(g)..at(g) + rest.len()].copy_from_slice(rest);
        }
        self.row_sums[o] = row.iter().map(|&v| i32::from(v)).sum();
        self.rows += 1;
    }

    /// Forgets every row (the storage is kept; stale bytes of rows beyond
    /// `rows()` are never read as outputs — see [`gemm`](super::gemm)).
    pub fn clear(&mut self) {
        self.rows = 0;
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Columns rounded up to a multiple of [`GROUP`]: the input row width the kernels read.
    pub fn padded_cols(&self) -> usize {
        self.k4 * GROUP
    }
    /// Number of column groups.
    pub fn groups(&self) -> usize {
        self.k4
    }
    pub fn capacity(&self) -> usize {
        self.row_sums.len()
    }
    /// Bytes of one block of 16 rows.
    pub fn block_len(&self) -> usize {
        self.k4 * BLOCK_ROWS * GROUP
    }
    /// Blocks holding at least one row.
    pub fn blocks(&self) -> usize {
        self.rows.div_ceil(BLOCK_ROWS)
    }
    /// Block `b` (`b < blocks()`), `block_len()` bytes.
    pub fn block(&self, b: usize) -> &[i8] {
        &self.data[b * self.block_len()..(b + 1) * self.block_len()]
    }
    /// The 16 row sums of block `b`.
    pub fn block_sums(&self, b: usize) -> &[i32] {
        &self.row_sums[b * BLOCK_ROWS..(b + 1) * BLOCK_ROWS]
    }
    /// `W[o][c]` (for tests and the reference).
    pub fn get(&self, o: usize, c: usize) -> i8 {
        assert!(o < self.rows && c < self.cols);
        self.data[(o / BLOCK_ROWS) * self.block_len() + (c / GROUP) * BLOCK_ROWS * GROUP + (o % BLOCK_ROWS) * GROUP + c % GROUP]
    }
}
