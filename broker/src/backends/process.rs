//! Stdio backends as child processes that never outlive Sluice.
//!
//! Each backend runs in its own process group (so a terminal's Ctrl-C reaches Sluice,
//! which then stops its backends in order, rather than every process at once). Three ways
//! a backend could be orphaned are closed:
//!
//! * **Shutdown and timeouts.** [`terminate_group`] sends SIGTERM to the backend's whole
//!   process group, waits a grace period, then sends SIGKILL — also when a tool call is
//!   still running in it (a backend stuck in a call is the case that matters).
//! * **Sluice crashing** (`kill -9`, a panic abort). Every child asks the kernel for
//!   SIGKILL when its parent dies (`PR_SET_PDEATHSIG` on Linux). The kernel means the
//!   parent *thread*, so children are forked from one keeper thread that lives as long as
//!   the process ([`spawn`]), never from a runtime worker that may exit.
//! * **Dropped without shutdown.** [`ChildGroup`] kills what is left when it is dropped.

use std::sync::Mutex;
use std::time::Duration;

use rmcp::transport::TokioChildProcess;

/// How long a backend gets to exit after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

type Job = Box<dyn FnOnce() + Send>;

/// The thread every backend child is forked from (see the module docs).
fn keeper() -> Option<&'static std::sync::mpsc::Sender<Job>> {
    static KEEPER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    KEEPER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("sluice-backend-spawner".into())
                .spawn(move || {
                    for job in rx {
                        job();
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Starts `command` as a backend child: its own process group, killed by the kernel if
/// Sluice dies, forked from the keeper thread. Returns the transport and its stderr.
pub async fn spawn(
    mut command: tokio::process::Command,
) -> std::io::Result<(TokioChildProcess, Option<tokio::process::ChildStderr>)> {
    #[cfg(unix)]
    {
        command.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: the closure runs in the forked child before exec and only calls
        // prctl(2), which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let runtime = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _entered = runtime.enter();
        let spawned = TokioChildProcess::builder(command)
            .stderr(std::process::Stdio::piped())
            .spawn();
        let _ = tx.send(spawned);
    });
    match keeper() {
        Some(keeper) if keeper.send(job).is_ok() => rx
            .await
            .map_err(|_| std::io::Error::other("the backend spawner thread stopped"))?,
        _ => Err(std::io::Error::other(
            "the backend spawner thread could not be started",
        )),
    }
}

/// Whether process `pid` still exists (and is not a zombie we could reap).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Sends `signal` to the process group led by `pid`.
#[cfg(unix)]
fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: a negative pid addresses the process group; a stale group is harmless
        // (ESRCH).
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// SIGTERM to the group led by `pid`, then SIGKILL after `grace` if it is still there.
pub async fn terminate_group(pid: u32, grace: Duration) {
    #[cfg(unix)]
    {
        if !alive(pid) {
            return;
        }
        signal_group(pid, libc::SIGTERM);
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if !alive(pid) {
                return;
            }
        }
        signal_group(pid, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = (pid, grace);
}

/// The process group of a backend's current child (a restart replaces it; the old child
/// is killed by its transport).
#[derive(Debug, Default)]
pub struct ChildGroup {
    pid: Mutex<Option<u32>>,
}

impl ChildGroup {
    /// Records the new child.
    pub fn set(&self, pid: u32) {
        *self.pid.lock().unwrap_or_else(|e| e.into_inner()) = Some(pid);
    }

    /// Takes the recorded child, if any.
    pub fn take(&self) -> Option<u32> {
        self.pid.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Drop for ChildGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.take()
            && alive(pid)
        {
            signal_group(pid, libc::SIGKILL);
        }
    }
}
