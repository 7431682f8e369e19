//! Process resources a server or load generator needs under many concurrent sessions.
//!
//! * The open-files limit. Each MCP-over-HTTP session holds two sockets (its request
//!   connection and its event stream), so a thousand sessions need more descriptors than
//!   the usual soft limit of 1,024. Only the soft limit moves, never past the hard limit
//!   the operator set.
//! * glibc's malloc arenas. By default glibc gives threads up to eight arenas per core;
//!   with the runtime's blocking threads coming and going under load, memory freed in one
//!   arena is not reused by another and the resident size creeps up. Measured with 1,000
//!   MCP sessions on 2 cores: still climbing past 400 MiB after two minutes with the
//!   default, flat at about 320 MiB from the first minute with two arenas. (Measured when
//!   glibc held the whole heap; the binary's Rust heap is now mimalloc's, `main.rs`, and
//!   the cap bounds what C code allocates through glibc.)

/// The open-files limit before and after [`raise_open_files_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFilesLimit {
    /// The soft limit found.
    pub before: u64,
    /// The soft limit now in force.
    pub after: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (capped at 1,048,576); returns what it
/// found and set, or the OS error. A no-op where the soft limit is already there.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is `u64` here, narrower on some targets
pub fn raise_open_files_limit() -> std::io::Result<OpenFilesLimit> {
    const CAP: libc::rlim_t = 1 << 20;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid, exclusive pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    let target = limit.rlim_max.min(CAP).max(before);
    if target > before {
        limit.rlim_cur = target;
        // SAFETY: setrlimit reads one `rlimit` through a valid pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(OpenFilesLimit {
        before: before as u64,
        after: target as u64,
    })
}

/// Caps glibc's malloc arenas at one per core (at least two), unless `MALLOC_ARENA_MAX` is
/// set (the operator's choice wins). Call before the process starts threads. A no-op on
/// other C libraries.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes a malloc tunable; M_ARENA_MAX takes a count.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Elsewhere there is no such limit to raise.
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> std::io::Result<OpenFilesLimit> {
    Ok(OpenFilesLimit {
        before: u64::MAX,
        after: u64::MAX,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn soft_and_hard() -> (libc::rlim_t, libc::rlim_t) {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in `raise_open_files_limit`.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        (limit.rlim_cur, limit.rlim_max)
    }

    #[test]
    #[allow(clippy::unnecessary_cast)] // as in `raise_open_files_limit`
    fn a_low_soft_limit_is_raised_to_the_hard_limit() {
        let (_, hard) = soft_and_hard();
        if hard <= 256 {
            return; // nothing to test on such a machine
        }
        let low = libc::rlimit {
            rlim_cur: 256,
            rlim_max: hard,
        };
        // SAFETY: as in `raise_open_files_limit`. Lowering the soft limit of the test
        // process is harmless: it is raised again right below.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        let raised = raise_open_files_limit().expect("raise");
        assert_eq!(raised.before, 256);
        assert_eq!(raised.after, hard.min(1 << 20) as u64);
        assert_eq!(soft_and_hard().0, hard.min(1 << 20));
    }
}
