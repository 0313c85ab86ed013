//! `czip bench --roofline` and `--stages`: the achieved int8 rate against
//! this CPU's measured peak, and where the time goes.

use std::time::Duration;

use czip::model::kernels::peak;
use czip::model::Kernel;
use czip::pipeline::Engine;
use czip::stage_timers::Shares;

/// Time spent measuring each kernel at each thread count.
const PEAK_BUDGET: Duration = Duration::from_millis(900);

/// Prints the peak of every kernel this CPU runs, on one thread and on the
/// engine's thread count; returns the engine kernel's peak at its thread
/// count (multiply-adds per second).
pub fn print_peaks(engine: &Engine) -> f64 {
    let threads = engine.threads();
    println!("int8 peak: the engine's packed kernel on cache-resident operands (256×384 weights, 64 rows), best of 45 windows of 20 ms");
    println!("{:<8} {:>18} {:>18}", "kernel", "1 thread", format!("{threads} threads"));
    let mut engine_peak = 0.0;
    for k in Kernel::ALL.into_iter().filter(|k| k.is_available()) {
        let one = peak::macs_per_second(k, PEAK_BUDGET);
        let all = if threads > 1 { peak::macs_per_second_on(k, PEAK_BUDGET, threads) } else { one };
        println!("{:<8} {:>12.1} G/s {:>12.1} G/s", k.name(), one / 1e9, all / 1e9);
        if k == engine.kernel() {
            engine_peak = all;
        }
    }
    engine_peak
}

/// One line: a direction's multiply-adds per second and its share of `peak`.
pub fn print_achieved(direction: &str, macs: u64, time: Duration, peak: f64) {
    let rate = macs as f64 / time.as_secs_f64().max(1e-9);
    println!("{direction:<11} {:>8.1} G multiply-adds/s = {:>5.1} % of the peak", rate / 1e9, 100.0 * rate / peak.max(1.0));
}

/// The stage table of one direction.
pub fn print_stages(direction: &str, s: &Shares) {
    let total = s.total().as_secs_f64().max(1e-9);
    let cells: Vec<String> =
        s.rows().iter().filter(|r| !r.1.is_zero()).map(|(name, t)| format!("{name} {:.1} %", 100.0 * t.as_secs_f64() / total)).collect();
    println!("{direction:<11} {}", cells.join(" · "));
}
