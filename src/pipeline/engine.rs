//! How the pipeline runs: which int8 kernel, on which thread pool.
//!
//! Both are parameters of the work, never process state: two engines with
//! different kernels or pools can run side by side in one process (a
//! differential fuzzer, language bindings). The output never depends on
//! either (tested: `tests/integration/explicit_kernel.rs`, `tests/integration/speed_batch.rs`).

use std::sync::Arc;

use crate::model::Kernel;

/// The kernel and the pool the pipeline's entry points run with. The
/// default is what the free functions ([`compress`](super::compress),
/// [`decompress`](super::decompress), …) use: [`Kernel::best`] on the
/// caller's rayon pool (the global one unless the caller is inside
/// `ThreadPool::install`).
#[derive(Debug, Clone)]
pub struct Engine {
    kernel: Kernel,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine { kernel: Kernel::best(), pool: None }
    }
}

impl Engine {
    /// This engine with `kernel`. Panics if this CPU cannot run it (a
    /// caller error: check [`Kernel::available`] first).
    pub fn with_kernel(self, kernel: Kernel) -> Self {
        assert!(kernel.is_available(), "kernel {} is not supported by this CPU", kernel.name());
        Engine { kernel, ..self }
    }

    /// This engine running on `pool` (shared, e.g. by every file of a command).
    pub fn with_pool(self, pool: Arc<rayon::ThreadPool>) -> Self {
        Engine { pool: Some(pool), ..self }
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Worker threads the work runs on.
    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }

    /// Runs `f` on this engine's pool (the caller's when it has none).
    pub fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }
}
