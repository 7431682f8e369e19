//! The contract between the host and the guest (`guest/src/lib.rs`): module and export
//! names and the outcome status codes. Both sides must change together.

/// The import module holding the host functions the guest may call.
pub(crate) const IMPORT_MODULE: &str = "sluice";
/// Guest export: allocate `len` bytes for the program text.
pub(crate) const EXPORT_ALLOC: &str = "sluice_alloc";
/// Guest export: run the program `(ptr, len, seed, heap_limit)`.
pub(crate) const EXPORT_RUN: &str = "sluice_run";
/// Guest export: the pre-initialization function wizer runs once.
pub(crate) const EXPORT_INIT: &str = "wizer-initialize";

/// Outcome status codes passed to the `finish` import.
pub(crate) mod status {
    pub const OK: u32 = 0;
    pub const SYNTAX: u32 = 1;
    pub const RUNTIME: u32 = 2;
    pub const MEMORY: u32 = 4;
    pub const TOOL: u32 = 6;
    pub const POLICY_DENIED: u32 = 7;
    pub const INTERNAL: u32 = 9;
}
