//! The kernel and the pool are parameters of the work, not process state:
//! two engines with different kernels run side by side in one process, at
//! the same time, and produce the same bytes.

use crate::common;

use std::sync::Arc;

use czip::conformance::ops::{reference, Context, Outcome};
use czip::model::Kernel;
use czip::pipeline::{CompressOptions, Engine};
use czip::Model;
use serde_json::json;

fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap())
}

#[test]
fn two_kernels_at_once_in_one_process_give_identical_outputs() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let model = Model::open(&models.join("v001_eng.czm")).unwrap();
    let mut text = std::fs::read(golden.join("corpus/alice_ch1.txt")).unwrap();
    text.truncate(2000); // ASCII: still UTF-8; keeps the scalar kernel quick
    let scalar = Engine::default().with_kernel(Kernel::Scalar).with_pool(pool(2));
    let best = Engine::default().with_kernel(Kernel::best()).with_pool(pool(1));
    assert_eq!((scalar.kernel(), scalar.threads()), (Kernel::Scalar, 2));
    assert_eq!((best.kernel(), best.threads()), (Kernel::best(), 1));

    for log2 in [6, 8] {
        let opts = CompressOptions { chunk_log2: Some(log2), ..Default::default() };
        // Both compress the same text concurrently, several times over, so
        // their chunks interleave on the CPU.
        let run = |engine: &Engine| -> Vec<Vec<u8>> { (0..2).map(|_| engine.compress(&model, &text, &opts, None).unwrap()).collect() };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| run(&scalar));
            let b = s.spawn(|| run(&best));
            (a.join().unwrap(), b.join().unwrap())
        });
        for o in a.iter().chain(&b) {
            assert_eq!(o, &a[0], "k = {log2}");
        }
        // And the free function (the default engine) agrees.
        assert_eq!(czip::pipeline::compress(&model, &text, &opts, None).unwrap(), a[0]);

        // Each decodes the other's file, concurrently.
        let (x, y) = std::thread::scope(|s| {
            let x = s.spawn(|| scalar.decompress(&model, &b[0], None).unwrap());
            let y = s.spawn(|| best.decompress(&model, &a[0], None).unwrap());
            (x.join().unwrap(), y.join().unwrap())
        });
        assert_eq!(x, text);
        assert_eq!(y, text);
    }
}

#[test]
fn a_conformance_context_answers_with_its_own_kernel() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let context = |k: Option<Kernel>| {
        let c = Context::new(models.clone(), common::repo("vectors"), golden.join("corpus"));
        match k {
            Some(k) => c.with_kernel(k),
            None => c,
        }
    };
    assert_eq!(context(None).kernel(), Kernel::best());
    let (scalar, best) = (context(Some(Kernel::Scalar)), context(None));
    assert_eq!(scalar.kernel(), Kernel::Scalar);
    let args = json!({"model": "v001", "tokens": [1, 2, 3, 500, 1000, 7, 7, 7]});
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| reference(&scalar, "chunk_encode", &args));
        let b = s.spawn(|| reference(&best, "chunk_encode", &args));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(matches!(a, Outcome::Result(_)), "{a:?}");
    assert_eq!(a, b);
}
