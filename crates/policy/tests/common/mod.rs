//! Shared by the integration tests: the BPF interpreter and small helpers.
#![allow(dead_code)]

pub mod child;
pub mod interp;

use oci_spec::runtime::LinuxSeccomp;

pub const ALLOW: u32 = 0x7fff_0000;
pub const NOTIFY: u32 = 0x7fc0_0000;
pub const LOG: u32 = 0x7ffc_0000;
pub const TRACE: u32 = 0x7ff0_0000;
pub const TRAP: u32 = 0x0003_0000;
pub const KILL_THREAD: u32 = 0;
pub const KILL_PROCESS: u32 = 0x8000_0000;
pub const X86_64: u32 = 0xc000_003e;
pub const I386: u32 = 0x4000_0003;
pub const Z: [u64; 6] = [0; 6];

pub fn errno(e: i32) -> u32 {
    0x0005_0000 | e as u32
}

/// The x86_64 number of `name`.
pub fn nr(name: &str) -> u32 {
    match moat_policy::lookup_name(name) {
        Some(e) => e.nr,
        None => panic!("{name} is not in the table"),
    }
}

/// Run `prog` on an x86_64 call of `name` with `args`.
pub fn call(prog: &[libc::sock_filter], name: &str, args: [u64; 6]) -> u32 {
    interp::run(prog, X86_64, nr(name), args)
}

/// `args` with the first ones given.
pub fn args(first: &[u64]) -> [u64; 6] {
    let mut a = [0; 6];
    a[..first.len()].copy_from_slice(first);
    a
}

pub fn profile(json: &str) -> LinuxSeccomp {
    match serde_json::from_str(json) {
        Ok(p) => p,
        Err(e) => panic!("bad profile: {e}\n{json}"),
    }
}

/// A Docker-like default profile (written for these tests).
pub fn docker_default() -> LinuxSeccomp {
    profile(include_str!("../fixtures/docker-default.json"))
}
