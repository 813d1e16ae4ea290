//! Random path bytes and walk flags against a fixed memfs tree with mounts:
//! the walk must never panic, always return, and never leave the root (or
//! the start directory under RESOLVE_BENEATH/RESOLVE_IN_ROOT).
//!
//! `cargo +nightly fuzz run vfs_walk` from the repository root.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/vfs/tests/support/fuzz_walk.rs"]
mod fuzz_walk;

static FIXTURE: OnceLock<fuzz_walk::Fixture> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let fx = FIXTURE.get_or_init(fuzz_walk::fixture);
    fuzz_walk::run_one(fx, data);
});
