//! The policy table and the programs compiled from it, checked with a
//! classic-BPF interpreter and, once, by the kernel itself.

use moat_policy::{compile_oci, lookup_name, moat_filter, table, Fate};
use std::collections::HashSet;

const ALLOW: u32 = 0x7fff_0000;
const NOTIFY: u32 = 0x7fc0_0000;
const KILL_PROCESS: u32 = 0x8000_0000;
const X86_64: u32 = 0xc000_003e;
const I386: u32 = 0x4000_0003;

fn errno(e: i32) -> u32 {
    0x0005_0000 | e as u32
}

/// Run a seccomp program on (arch, nr, args).
fn run(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::new();
    data.extend_from_slice(&nr.to_le_bytes());
    data.extend_from_slice(&arch.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    for a in args {
        data.extend_from_slice(&a.to_le_bytes());
    }
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            0x20 => {
                acc = u32::from_le_bytes(data[i.k as usize..i.k as usize + 4].try_into().unwrap())
            }
            0x54 => acc &= i.k,
            0x06 => return i.k,
            0x05 => pc += i.k as usize,
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match i.code {
                    0x15 => acc == i.k,
                    0x25 => acc > i.k,
                    0x35 => acc >= i.k,
                    _ => acc & i.k != 0,
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

fn nr(name: &str) -> u32 {
    lookup_name(name)
        .unwrap_or_else(|| panic!("{name} not in table"))
        .nr
}

#[test]
fn one_fate_per_number_and_unique_names() {
    let mut nrs = HashSet::new();
    let mut names = HashSet::new();
    let mut last = None;
    for e in table() {
        assert!(nrs.insert(e.nr), "number {} twice", e.nr);
        assert!(names.insert(e.name), "name {} twice", e.name);
        assert!(last < Some(e.nr), "table not sorted at {}", e.name);
        last = Some(e.nr);
    }
    assert!(table().len() > 370, "only {} entries", table().len());
    assert_eq!(lookup_name("mseal").map(|e| e.nr), Some(462));
    assert_eq!(lookup_name("io_pgetevents").map(|e| e.nr), Some(333));
}

#[test]
fn denied_list_holds() {
    for name in [
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "keyctl",
        "add_key",
        "request_key",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "open_by_handle_at",
        "ptrace",
        "setns",
        "reboot",
        "swapon",
        "acct",
        "quotactl",
        "process_vm_writev",
    ] {
        let e = lookup_name(name).unwrap();
        assert!(
            matches!(e.fate, Fate::Denied { errno: libc::EPERM }),
            "{name}: {:?}",
            e.fate
        );
    }
    assert!(matches!(
        lookup_name("clone3").unwrap().fate,
        Fate::Denied {
            errno: libc::ENOSYS
        }
    ));
}

#[test]
fn emulated_set() {
    let emulated: HashSet<&str> = table()
        .iter()
        .filter(|e| matches!(e.fate, Fate::Emulated { .. }))
        .map(|e| e.name)
        .collect();
    let want: HashSet<&str> = ["uname", "syslog", "sysinfo", "sethostname", "setdomainname"].into();
    assert_eq!(emulated, want);
}

#[test]
fn moat_filter_verdicts() {
    let p = moat_filter();
    let z = [0u64; 6];
    assert_eq!(run(&p, X86_64, nr("getpid"), z), ALLOW);
    assert_eq!(run(&p, X86_64, nr("read"), z), ALLOW);
    assert_eq!(run(&p, X86_64, nr("file_setattr"), z), ALLOW);
    assert_eq!(run(&p, X86_64, nr("uname"), z), NOTIFY);
    assert_eq!(run(&p, X86_64, nr("syslog"), z), NOTIFY);
    assert_eq!(run(&p, X86_64, nr("bpf"), z), errno(libc::EPERM));
    assert_eq!(run(&p, X86_64, nr("clone3"), z), errno(libc::ENOSYS));
    assert_eq!(run(&p, X86_64, 1000, z), errno(libc::ENOSYS));
    assert_eq!(run(&p, X86_64, 400, z), errno(libc::ENOSYS));
    assert_eq!(run(&p, X86_64, u32::MAX, z), errno(libc::ENOSYS));
    assert_eq!(run(&p, X86_64, 0x4000_0000, z), errno(libc::ENOSYS), "x32");
    assert_eq!(run(&p, I386, 20, z), KILL_PROCESS, "i386");
    let clone = nr("clone");
    assert_eq!(
        run(&p, X86_64, clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run(
            &p,
            X86_64,
            clone,
            [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]
        ),
        errno(libc::EPERM)
    );
    assert_eq!(
        run(
            &p,
            X86_64,
            nr("unshare"),
            [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]
        ),
        errno(libc::EPERM)
    );
    assert_eq!(
        run(
            &p,
            X86_64,
            nr("unshare"),
            [libc::CLONE_FILES as u64, 0, 0, 0, 0, 0]
        ),
        ALLOW
    );
    let socket = nr("socket");
    assert_eq!(
        run(&p, X86_64, socket, [libc::AF_INET6 as u64, 1, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run(&p, X86_64, socket, [libc::AF_PACKET as u64, 3, 0, 0, 0, 0]),
        errno(libc::EAFNOSUPPORT)
    );
    let mknod = nr("mknodat");
    assert_eq!(
        run(
            &p,
            X86_64,
            mknod,
            [0, 0, (libc::S_IFIFO | 0o644) as u64, 0, 0, 0]
        ),
        ALLOW
    );
    assert_eq!(
        run(
            &p,
            X86_64,
            mknod,
            [0, 0, (libc::S_IFBLK | 0o600) as u64, 0, 0, 0]
        ),
        errno(libc::EPERM)
    );
}

fn profile(json: &str) -> oci_spec::runtime::LinuxSeccomp {
    serde_json::from_str(json).unwrap()
}

const DOCKERISH: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ["read", "write", "getpid", "_llseek", "clock_gettime64", "fcntl64", "uname", "arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_NE"}]},
    {"names": ["lseek"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 4294967296, "op": "SCMP_CMP_GE"}]},
    {"names": ["dup"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LT"}, {"index": 0, "value": 10, "op": "SCMP_CMP_GT"}]}
  ]
}"#;

#[test]
fn oci_profile_verdicts() {
    let uname = nr("uname");
    let c = compile_oci(&profile(DOCKERISH), &[nr("syslog")]).unwrap();
    let p = &c.program;
    let z = [0u64; 6];
    let eperm = errno(libc::EPERM);
    assert_eq!(run(p, X86_64, nr("read"), z), ALLOW);
    assert_eq!(run(p, X86_64, uname, z), ALLOW);
    assert_eq!(run(p, X86_64, nr("mount"), z), eperm, "default action");
    assert_eq!(run(p, X86_64, nr("syslog"), z), ALLOW, "passthrough");
    let pers = nr("personality");
    assert_eq!(run(p, X86_64, pers, z), ALLOW);
    assert_eq!(run(p, X86_64, pers, [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(p, X86_64, pers, [8, 0, 0, 0, 0, 0]), eperm);
    assert_eq!(
        run(p, X86_64, pers, [0x1_0000_0000, 0, 0, 0, 0, 0]),
        eperm,
        "high half counts"
    );
    let clone = nr("clone");
    assert_eq!(
        run(p, X86_64, clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run(p, X86_64, clone, [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]),
        eperm
    );
    assert_eq!(run(p, X86_64, nr("clone3"), z), errno(38));
    assert_eq!(run(p, X86_64, nr("kill"), [1, 15, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(p, X86_64, nr("kill"), [1, 9, 0, 0, 0, 0]), eperm);
    let lseek = nr("lseek");
    assert_eq!(run(p, X86_64, lseek, [0, 0x1_0000_0000, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(p, X86_64, lseek, [0, 0xffff_ffff, 0, 0, 0, 0]), eperm);
    // Repeated index: the two conditions are ORed, as runc does.
    let dup = nr("dup");
    assert_eq!(run(p, X86_64, dup, [2, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(p, X86_64, dup, [11, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(p, X86_64, dup, [5, 0, 0, 0, 0, 0]), eperm);
    assert_eq!(run(p, I386, 3, z), KILL_PROCESS);
}

#[test]
fn unknown_syscall_name_is_one_clear_line() {
    let bad = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["nosuchcall"], "action": "SCMP_ACT_ERRNO"}]}"#;
    let err = compile_oci(&profile(bad), &[]).unwrap_err().to_string();
    assert_eq!(err, r#"unknown syscall "nosuchcall" in linux.seccomp"#);
    let notify = r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#;
    assert!(compile_oci(&profile(notify), &[]).is_err());
}

/// The kernel accepts both programs and enforces them: a forked child
/// installs them and reports the errno of denied calls in its exit code.
#[test]
fn kernel_enforces_the_stack() {
    let allowing = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]}"#;
    let oci = compile_oci(&profile(allowing), &[]).unwrap();
    let moat = moat_filter();
    // SAFETY: the child only makes raw system calls and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            if moat_policy::install(&moat, 0).is_err()
                || moat_policy::install(&oci.program, 0).is_err()
            {
                libc::_exit(100);
            }
            // bpf: moat denies with EPERM.
            let r = libc::syscall(libc::SYS_bpf, 0, 0, 0);
            let e1 = if r < 0 { *libc::__errno_location() } else { 0 };
            // unknown number: ENOSYS.
            let r = libc::syscall(999);
            let e2 = if r < 0 { *libc::__errno_location() } else { 0 };
            // getppid: the OCI profile's errno.
            let r = libc::syscall(libc::SYS_getppid);
            let e3 = if r < 0 { *libc::__errno_location() } else { 0 };
            let code = if e1 == libc::EPERM && e2 == libc::ENOSYS && e3 == 77 {
                0
            } else {
                1
            };
            libc::syscall(libc::SYS_exit_group, code);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child died: {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 0);
}

#[test]
fn render_names_every_fate() {
    let t = moat_policy::render_table();
    assert!(t.contains("uname") && t.contains("emulated") && t.contains("denied"));
    assert_eq!(t.lines().count(), table().len() + 2);
}
