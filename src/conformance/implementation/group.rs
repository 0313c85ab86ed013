//! Process groups. Every external command the runner starts (an adapter, a
//! template command) leads a process group of its own, so that ending it
//! ends whatever it started too: a grandchild that inherited the adapter's
//! stdout cannot keep the runner waiting for an end of file, and nothing an
//! implementation forked outlives its case.
//!
//! Invariant: the leader is reaped only by [`end_group`], after the group
//! has been sent SIGKILL. Until then its pid (the group's id) stays
//! reserved, so a signal to the group can never reach a stranger that got a
//! recycled pid.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How long a group gets between SIGTERM and SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(1);

/// Makes `cmd` start as the leader of a new process group (its pgid is its pid).
pub fn in_own_group(cmd: &mut Command) -> &mut Command {
    cmd.process_group(0)
}

/// Whether the leader has exited, without reaping it (see the invariant).
/// A leader that can no longer be waited for counts as exited.
pub fn has_exited(child: &Child) -> bool {
    // SAFETY: `siginfo_t` is plain data, valid when zeroed; `waitid` writes
    // only into it. WNOWAIT leaves the child waitable, WNOHANG does not block.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::waitid(libc::P_PID, child.id(), &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
    // SAFETY: `si_pid` reads a field `waitid` filled (0 when nothing exited).
    r != 0 || unsafe { info.si_pid() } != 0
}

/// Waits up to `limit` for the leader to exit (without reaping it); true if it did.
pub fn exited_within(child: &Child, limit: Duration) -> bool {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if has_exited(child) {
            return true;
        }
        let waited = started.elapsed();
        if waited >= limit {
            return false;
        }
        std::thread::sleep(pause.min(limit - waited));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Ends the group `child` leads. Waits up to `patience` for the leader to
/// exit by itself; if it has not, sends SIGTERM to the group and waits up to
/// [`TERM_GRACE`] more. Then sends SIGKILL to the whole group whatever
/// happened (what the leader left behind goes too) and reaps the leader.
/// Returns the leader's exit status (`None` if it could not be waited for)
/// and whether it exited by itself.
pub fn end_group(child: &mut Child, patience: Duration) -> (Option<ExitStatus>, bool) {
    let by_itself = exited_within(child, patience);
    if !by_itself {
        signal_group(child, libc::SIGTERM);
        exited_within(child, TERM_GRACE);
    }
    signal_group(child, libc::SIGKILL);
    (child.wait().ok(), by_itself)
}

fn signal_group(child: &Child, signal: libc::c_int) {
    if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) touches no memory of ours; a group that is already
        // gone gives ESRCH, which is fine.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}
