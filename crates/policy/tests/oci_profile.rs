//! OCI profiles compiled and run in the interpreter.

mod common;

use common::interp::{run, validate};
use common::*;
use moat_policy::{compile_oci, emulated_nrs, CompiledProfile, PolicyError};

fn compile(json: &str) -> CompiledProfile {
    match compile_oci(&profile(json), &[]) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn compile_err(json: &str) -> String {
    match compile_oci(&profile(json), &[]) {
        Ok(_) => panic!("compiled: {json}"),
        Err(e) => e.to_string(),
    }
}

fn docker() -> CompiledProfile {
    let passthrough: Vec<u32> = emulated_nrs().collect();
    match compile_oci(&docker_default(), &passthrough) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn docker_like_profile() {
    let c = docker();
    let p = &c.program;
    validate(p);
    assert_eq!(c.flags, 0);
    let eperm = errno(libc::EPERM);
    assert_eq!(call(p, "read", Z), ALLOW);
    assert_eq!(call(p, "getpid", Z), ALLOW);
    assert_eq!(call(p, "uname", Z), ALLOW);
    assert_eq!(call(p, "mount", Z), eperm, "default action");
    assert_eq!(call(p, "bpf", Z), eperm, "default action");
    assert_eq!(call(p, "clone3", Z), errno(libc::ENOSYS));
    assert_eq!(
        call(p, "ptrace", Z),
        ALLOW,
        "the profile allows it; moat denies it"
    );
    assert_eq!(run(p, I386, 20, Z), KILL_PROCESS);
    assert_eq!(run(p, X86_64, 0x4000_0027, Z), errno(libc::ENOSYS), "x32");
}

/// The sentry's calls pass the OCI filter even where the profile denies them.
#[test]
fn passthrough_beats_the_profile() {
    let p = &docker().program;
    for name in ["syslog", "sethostname", "setdomainname", "uname", "sysinfo"] {
        assert_eq!(call(p, name, Z), ALLOW, "{name}");
    }
    let without = compile_oci(&docker_default(), &[]).map(|c| c.program);
    let without = without.unwrap_or_default();
    assert_eq!(call(&without, "syslog", Z), errno(libc::EPERM));
    assert_eq!(call(&without, "sethostname", Z), errno(libc::EPERM));
}

#[test]
fn personality_rules_are_ored() {
    let p = &docker().program;
    for v in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(call(p, "personality", args(&[v])), ALLOW, "{v:#x}");
    }
    for v in [
        1,
        0x40000,
        0x1_0000_0000,
        0xffff_ffff_ffff_ffff,
        0x1_0000_0008,
    ] {
        assert_eq!(
            call(p, "personality", args(&[v])),
            errno(libc::EPERM),
            "{v:#x}"
        );
    }
}

#[test]
fn clone_masked_eq() {
    let p = &docker().program;
    let sigchld = libc::SIGCHLD as u64;
    assert_eq!(call(p, "clone", args(&[sigchld])), ALLOW);
    assert_eq!(
        call(p, "clone", args(&[0xffff_ffff_0000_0000 | sigchld])),
        ALLOW
    );
    let newns = libc::CLONE_NEWNS as u64 | sigchld;
    assert_eq!(call(p, "clone", args(&[newns])), errno(libc::EPERM));
    let newuser = libc::CLONE_NEWUSER as u64 | sigchld;
    assert_eq!(call(p, "clone", args(&[newuser])), errno(libc::EPERM));
}

#[test]
fn socket_ne() {
    let p = &docker().program;
    assert_eq!(call(p, "socket", args(&[libc::AF_INET as u64, 1])), ALLOW);
    assert_eq!(
        call(p, "socket", args(&[libc::AF_VSOCK as u64, 1])),
        errno(libc::EPERM)
    );
    assert_eq!(
        call(p, "socket", args(&[0x1_0000_0028, 1])),
        ALLOW,
        "64-bit NE"
    );
}

/// runc's ENOSYS rule: numbers above the largest the profile names.
#[test]
fn newer_than_the_profile_is_enosys() {
    let p = &docker().program;
    // The fixture's largest x86_64 number is mseal/setxattrat.. (466).
    assert_eq!(call(p, "file_getattr", Z), errno(libc::ENOSYS));
    assert_eq!(run(p, X86_64, 470, Z), errno(libc::ENOSYS));
    assert_eq!(run(p, X86_64, u32::MAX, Z), errno(libc::ENOSYS));
    assert_eq!(call(p, "open_tree_attr", Z), errno(libc::ENOSYS));
    assert_eq!(call(p, "removexattrat", Z), ALLOW);
    // Below the largest, unlisted numbers get the default.
    assert_eq!(call(p, "kexec_file_load", Z), errno(libc::EPERM));
    // An allowing default has no such rule.
    let log = compile(
        r#"{"defaultAction": "SCMP_ACT_LOG", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(run(&log.program, X86_64, 1000, Z), LOG);
    assert_eq!(call(&log.program, "read", Z), errno(libc::EPERM));
}

#[test]
fn conditions_and_and_repeated_index_or() {
    let c = compile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13, "syscalls": [
        {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_GT"},
            {"index": 1, "value": 9, "op": "SCMP_CMP_NE"}]},
        {"names": ["dup"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 3, "op": "SCMP_CMP_LT"},
            {"index": 0, "value": 10, "op": "SCMP_CMP_GT"}]},
        {"names": ["lseek"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 1, "value": 4294967296, "op": "SCMP_CMP_GE"}]},
        {"names": ["lseek"], "action": "SCMP_ACT_TRAP", "args": [
            {"index": 1, "value": 100, "op": "SCMP_CMP_LE"}]},
        {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22}
    ]}"#,
    );
    let p = &c.program;
    let eacces = errno(libc::EACCES);
    // AND.
    assert_eq!(call(p, "kill", args(&[5, 15])), ALLOW);
    assert_eq!(call(p, "kill", args(&[5, 9])), eacces);
    assert_eq!(call(p, "kill", args(&[1, 15])), eacces);
    // The same index twice: two rules, ORed (runc).
    assert_eq!(call(p, "dup", args(&[2])), ALLOW);
    assert_eq!(call(p, "dup", args(&[11])), ALLOW);
    assert_eq!(call(p, "dup", args(&[5])), eacces);
    // Rules in order, the first match decides; 64-bit orderings.
    assert_eq!(call(p, "lseek", args(&[0, 0x1_0000_0000])), ALLOW);
    assert_eq!(call(p, "lseek", args(&[0, u64::MAX])), ALLOW);
    assert_eq!(
        call(p, "lseek", args(&[0, 0xffff_ffff])),
        errno(libc::EINVAL)
    );
    assert_eq!(call(p, "lseek", args(&[0, 100])), TRAP);
    assert_eq!(call(p, "lseek", args(&[0, 0])), TRAP);
    assert_eq!(call(p, "lseek", args(&[0, 101])), errno(libc::EINVAL));
}

#[test]
fn actions() {
    let c = compile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_KILL"},
        {"names": ["getpgrp"], "action": "SCMP_ACT_KILL_THREAD"},
        {"names": ["getsid"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["gettid"], "action": "SCMP_ACT_TRAP"},
        {"names": ["getuid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
        {"names": ["getgid"], "action": "SCMP_ACT_TRACE"},
        {"names": ["geteuid"], "action": "SCMP_ACT_LOG"},
        {"names": ["getegid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
    ]}"#,
    );
    let p = &c.program;
    assert_eq!(call(p, "getppid", Z), KILL_THREAD);
    assert_eq!(call(p, "getpgrp", Z), KILL_THREAD);
    assert_eq!(call(p, "getsid", Z), KILL_PROCESS);
    assert_eq!(call(p, "gettid", Z), TRAP);
    assert_eq!(call(p, "getuid", Z), TRACE | 7);
    assert_eq!(call(p, "getgid", Z), TRACE | libc::EPERM as u32);
    assert_eq!(call(p, "geteuid", Z), LOG);
    assert_eq!(call(p, "getegid", Z), errno(libc::EPERM));
    // A rule with the default's action is skipped (runc): getpid stays ALLOW.
    assert_eq!(call(p, "getpid", Z), ALLOW);
    assert_eq!(run(p, X86_64, 999, Z), ALLOW);
}

#[test]
fn flags() {
    let c = compile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]}"#,
    );
    let want = (libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW) as u32;
    assert_eq!(c.flags, want, "TSYNC dropped");
    let e = compile_err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    );
    assert!(e.contains("WAIT_KILLABLE_RECV"), "{e}");
}

#[test]
fn errors_are_one_clear_line() {
    let e = compile_err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", "nosuchcall"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(e, r#"unknown syscall "nosuchcall" in linux.seccomp"#);
    let err = compile_oci(
        &profile(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["frob"], "action": "SCMP_ACT_ALLOW"}]}"#,
        ),
        &[],
    );
    assert!(matches!(err, Err(PolicyError::UnknownSyscall(ref n)) if n == "frob"));
    for bad in [
        r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}"#,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
    ] {
        let e = compile_err(bad);
        assert!(e.starts_with("linux.seccomp: ") && !e.contains('\n'), "{e}");
    }
}

/// Every name the brief of this crate calls out as another architecture's,
/// and every name of moat's table, are accepted.
#[test]
fn names_of_every_architecture_are_accepted() {
    let foreign = [
        "_llseek",
        "_newselect",
        "chown32",
        "fcntl64",
        "fstat64",
        "fstatat64",
        "fstatfs64",
        "ftruncate64",
        "getegid32",
        "geteuid32",
        "getgid32",
        "getuid32",
        "clock_gettime64",
        "clock_settime64",
        "futex_time64",
        "ppoll_time64",
        "utimensat_time64",
        "send",
        "recv",
        "socketcall",
        "ipc",
        "ugetrlimit",
        "waitpid",
        "sigreturn",
        "sigaction",
        "sigprocmask",
        "sigpending",
        "sigsuspend",
        "signal",
        "mmap2",
        "sync_file_range2",
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "breakpoint",
        "cacheflush",
        "set_tls",
        "s390_pci_mmio_read",
        "s390_pci_mmio_write",
        "s390_runtime_instr",
        "spu_create",
        "spu_run",
        "subpage_prot",
        "riscv_flush_icache",
        "riscv_hwprobe",
        "sys_debug_setcontext",
        "switch_endian",
        "vm86",
        "vm86old",
        "stime",
        "umount",
        "readdir",
        "oldfstat",
        "olduname",
        "nice",
        "sgetmask",
        "ssetmask",
        "bdflush",
        "idle",
        "multiplexer",
        "rtas",
        "pciconfig_read",
        "pciconfig_write",
        "pciconfig_iobase",
        "usr26",
        "usr32",
        "sysmips",
        "cachectl",
        "set_thread_area",
        "get_thread_area",
        "listns",
    ];
    let names: Vec<String> = foreign
        .iter()
        .map(|s| s.to_string())
        .chain(moat_policy::table().iter().map(|e| e.name.to_string()))
        .collect();
    let json = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]
    });
    let c = compile(&json.to_string());
    validate(&c.program);
    assert_eq!(call(&c.program, "file_setattr", Z), ALLOW);
    assert_eq!(run(&c.program, X86_64, 470, Z), errno(libc::ENOSYS));
}

/// Hundreds of argument rules: jumps far beyond 255 instructions, which the
/// assembler bridges with long jumps.
#[test]
fn big_profiles_need_long_jumps() {
    let groups: Vec<serde_json::Value> = moat_policy::table()
        .iter()
        .map(|e| {
            serde_json::json!({
                "names": [e.name], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 2, "value": e.nr, "op": "SCMP_CMP_EQ"}]
            })
        })
        .collect();
    let json = serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": groups});
    let c = compile(&json.to_string());
    let p = &c.program;
    validate(p);
    assert!(p.len() > 2000, "{}", p.len());
    let ja = p.iter().filter(|i| i.code == 0x05).count();
    assert!(ja > 0, "no long jumps");
    for e in moat_policy::table() {
        let n = u64::from(e.nr);
        assert_eq!(run(p, X86_64, e.nr, args(&[0, 0, n])), ALLOW, "{}", e.name);
        assert_eq!(
            run(p, X86_64, e.nr, args(&[0, 0, n + 1])),
            errno(libc::EPERM),
            "{}",
            e.name
        );
    }
}

#[test]
fn too_big_profiles_are_refused() {
    let groups: Vec<serde_json::Value> = (0..8)
        .flat_map(|i| {
            moat_policy::table().iter().map(move |e| {
                serde_json::json!({
                    "names": [e.name], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 2, "value": i, "op": "SCMP_CMP_EQ"},
                             {"index": 3, "value": i, "op": "SCMP_CMP_LT"}]
                })
            })
        })
        .collect();
    let json = serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": groups});
    let e = compile_err(&json.to_string());
    assert!(e.starts_with("seccomp program too long"), "{e}");
}
