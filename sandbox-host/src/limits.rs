//! Per-execute resource limits.

use std::time::Duration;

/// The budget of one execute. Every field is enforced by the host, whatever the program does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget for the whole execute, tool calls included; CPU time in the guest
    /// is bounded by the same figure through epoch interruption.
    pub timeout: Duration,
    /// The JS heap budget in bytes; the linear memory is capped a little above it.
    pub memory_bytes: u64,
    /// Budget for console output plus the serialized result, in bytes.
    pub max_output_bytes: usize,
    /// How many tool calls one program may start.
    pub max_calls: u32,
    /// Largest program accepted, in bytes.
    pub max_code_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            max_output_bytes: 1 << 20,
            max_calls: 1_000,
            max_code_bytes: 256 << 10,
        }
    }
}

impl Limits {
    /// Returns these limits with another wall-clock budget.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Returns these limits with another heap budget in bytes.
    pub fn with_memory_bytes(mut self, bytes: u64) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Returns these limits with another output budget in bytes.
    pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// Returns these limits with another tool-call budget.
    pub fn with_max_calls(mut self, calls: u32) -> Self {
        self.max_calls = calls;
        self
    }

    /// Returns these limits with another maximum program size.
    pub fn with_max_code_bytes(mut self, bytes: usize) -> Self {
        self.max_code_bytes = bytes;
        self
    }
}
