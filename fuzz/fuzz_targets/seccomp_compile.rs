//! Arbitrary OCI seccomp profiles through moat's profile compiler: it must
//! never panic, and every program it returns must be one the kernel would
//! load (checked by the policy crate's BPF validator) and must run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxSeccomp;

#[path = "../../crates/policy/tests/common/interp.rs"]
#[allow(dead_code)]
mod interp;

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = serde_json::from_slice::<LinuxSeccomp>(data) else {
        return;
    };
    let passthrough: Vec<u32> = moat_policy::emulated_nrs().collect();
    if let Ok(compiled) = moat_policy::compile_oci(&profile, &passthrough) {
        interp::validate(&compiled.program);
        // A few calls through the program: it must reach a return.
        for nr in [0u32, 1, 39, 59, 165, 435, 1000] {
            let _ = interp::run(&compiled.program, AUDIT_ARCH_X86_64, nr, [0; 6]);
        }
    }
});
