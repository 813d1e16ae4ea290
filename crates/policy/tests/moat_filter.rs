//! moat's own filter, run in the interpreter.

mod common;

use common::interp::{run, validate};
use common::*;
use moat_policy::{lookup_nr, moat_filter, table, ArgCheck, CmpOp, Fate};

#[test]
fn loads_and_stays_small() {
    let p = moat_filter();
    validate(&p);
    // The argument checks of ioctl, prctl and personality took it from
    // ~310 to ~390; the kernel takes 4096.
    assert!(p.len() < 420, "{} instructions", p.len());
}

#[test]
fn verdicts() {
    let p = moat_filter();
    assert_eq!(call(&p, "getpid", Z), ALLOW);
    assert_eq!(call(&p, "read", Z), ALLOW);
    for name in [
        "file_setattr",
        "file_getattr",
        "listmount",
        "statmount",
        "getxattrat",
    ] {
        assert_eq!(call(&p, name, Z), errno(libc::ENOSYS), "{name}");
    }
    assert_eq!(call(&p, "uname", Z), NOTIFY);
    assert_eq!(call(&p, "syslog", Z), NOTIFY);
    assert_eq!(call(&p, "setdomainname", Z), NOTIFY);
    assert_eq!(call(&p, "bpf", Z), errno(libc::EPERM));
    assert_eq!(call(&p, "open_tree_attr", Z), errno(libc::EPERM));
    assert_eq!(call(&p, "clone3", Z), errno(libc::ENOSYS));
    assert_eq!(call(&p, "tuxcall", Z), errno(libc::ENOSYS));
    // sendto: a connected socket's send and IP addresses stay native.
    assert_eq!(call(&p, "sendto", Z), ALLOW);
    assert_eq!(call(&p, "sendto", [3, 1, 1, 0, 0x1000, 16]), ALLOW);
    assert_eq!(call(&p, "sendto", [3, 1, 1, 0, 0x1000, 28]), ALLOW);
    assert_eq!(call(&p, "sendto", [3, 1, 1, 0, 0x1000, 110]), NOTIFY);
    assert_eq!(
        call(&p, "sendto", [3, 1, 1, 0, 0x1000, 1 << 32 | 16]),
        ALLOW
    );
}

#[test]
fn unknown_numbers_and_other_entries() {
    let p = moat_filter();
    for n in [
        337,
        400,
        423,
        470,
        512,
        547,
        1000,
        0x3fff_ffff,
        0x8000_0000,
        u32::MAX,
    ] {
        assert_eq!(run(&p, X86_64, n, Z), errno(libc::ENOSYS), "{n}");
    }
    // x32: getpid with the x32 bit.
    assert_eq!(run(&p, X86_64, 0x4000_0027, Z), errno(libc::ENOSYS));
    assert_eq!(run(&p, X86_64, 0x4000_0000 | 512, Z), errno(libc::ENOSYS));
    // i386 (int 0x80): whatever the number.
    for n in [1, 20, 120, 0x4000_0000] {
        assert_eq!(run(&p, I386, n, Z), KILL_PROCESS, "{n}");
    }
    assert_eq!(run(&p, 0xc000_00b7, 172, Z), KILL_PROCESS, "aarch64");
}

#[test]
fn clone_and_unshare() {
    let p = moat_filter();
    let sigchld = libc::SIGCHLD as u64;
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID) as u64;
    assert_eq!(call(&p, "clone", args(&[sigchld])), ALLOW);
    assert_eq!(call(&p, "clone", args(&[thread, 0x7f00_0000_0000])), ALLOW);
    for ns in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWCGROUP,
    ] {
        let flags = ns as u64 | sigchld;
        assert_eq!(
            call(&p, "clone", args(&[flags])),
            errno(libc::EPERM),
            "{ns:#x}"
        );
        assert_eq!(
            call(&p, "unshare", args(&[ns as u64])),
            errno(libc::EPERM),
            "{ns:#x}"
        );
    }
    // High garbage does not hide a namespace flag, nor invent one.
    let high = 0xffff_ffff_0000_0000;
    assert_eq!(call(&p, "clone", args(&[high | sigchld])), ALLOW);
    assert_eq!(
        call(&p, "clone", args(&[high | libc::CLONE_NEWUSER as u64])),
        errno(libc::EPERM)
    );
    let time = libc::CLONE_NEWTIME as u64;
    assert_eq!(call(&p, "unshare", args(&[time])), errno(libc::EPERM));
    let plain = (libc::CLONE_FILES | libc::CLONE_FS | libc::CLONE_SYSVSEM) as u64;
    assert_eq!(call(&p, "unshare", args(&[plain])), ALLOW);
}

#[test]
fn ioctl_prctl_personality() {
    let p = moat_filter();
    let eperm = errno(libc::EPERM);
    for req in [
        libc::TCGETS,
        libc::TIOCGWINSZ,
        libc::FIONREAD,
        libc::TIOCSCTTY,
    ] {
        assert_eq!(call(&p, "ioctl", args(&[0, req])), ALLOW, "{req:#x}");
    }
    for req in [0x5412u64, 0x541c, 0x541d, 0x5423] {
        assert_eq!(call(&p, "ioctl", args(&[0, req])), eperm, "{req:#x}");
        // The kernel reads an unsigned int: upper garbage changes nothing.
        assert_eq!(call(&p, "ioctl", args(&[0, 1 << 32 | req])), eperm);
    }
    assert_eq!(call(&p, "prctl", args(&[libc::PR_SET_NAME as u64])), ALLOW);
    assert_eq!(call(&p, "prctl", args(&[libc::PR_SET_MM as u64])), eperm);
    for pers in [0u64, 8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
        assert_eq!(call(&p, "personality", args(&[pers])), ALLOW, "{pers:#x}");
    }
    // READ_IMPLIES_EXEC, MMAP_PAGE_ZERO, ADDR_NO_RANDOMIZE.
    for pers in [0x40_0000u64, 0x10_0000, 0x4_0000] {
        assert_eq!(call(&p, "personality", args(&[pers])), eperm, "{pers:#x}");
    }
}

#[test]
fn sockets() {
    let p = moat_filter();
    let stream = libc::SOCK_STREAM as u64 | libc::SOCK_CLOEXEC as u64;
    for af in [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6] {
        assert_eq!(
            call(&p, "socket", args(&[af as u64, stream, 0])),
            ALLOW,
            "{af}"
        );
    }
    let netlink = libc::AF_NETLINK as u64;
    let raw = libc::SOCK_RAW as u64;
    assert_eq!(call(&p, "socket", args(&[netlink, raw, 0])), ALLOW, "route");
    let audit = libc::NETLINK_AUDIT as u64;
    let eafnosupport = errno(libc::EAFNOSUPPORT);
    assert_eq!(
        call(&p, "socket", args(&[netlink, raw, audit])),
        eafnosupport
    );
    for af in [
        libc::AF_PACKET,
        libc::AF_VSOCK,
        libc::AF_BLUETOOTH,
        libc::AF_ALG,
        0,
    ] {
        assert_eq!(
            call(&p, "socket", args(&[af as u64, raw, 0])),
            eafnosupport,
            "{af}"
        );
    }
    // The kernel reads an int: upper garbage neither hides AF_PACKET nor
    // spoils AF_INET.
    let high = 0x1_0000_0000;
    let packet = libc::AF_PACKET as u64;
    assert_eq!(
        call(&p, "socket", args(&[high | packet, raw, 0])),
        eafnosupport
    );
    assert_eq!(
        call(
            &p,
            "socket",
            args(&[high | libc::AF_INET as u64, stream, 0])
        ),
        ALLOW
    );
    // No raw internet sockets, whatever the flags around the type.
    for af in [libc::AF_INET, libc::AF_INET6] {
        for ty in [libc::SOCK_RAW, 10 /* SOCK_PACKET */] {
            let ty = ty as u64 | libc::SOCK_CLOEXEC as u64 | libc::SOCK_NONBLOCK as u64;
            assert_eq!(
                call(
                    &p,
                    "socket",
                    args(&[af as u64, ty, libc::IPPROTO_ICMP as u64])
                ),
                eafnosupport,
                "{af} {ty:#x}"
            );
        }
        let dgram = libc::SOCK_DGRAM as u64;
        assert_eq!(call(&p, "socket", args(&[af as u64, dgram, 0])), ALLOW);
    }
    let unix = libc::AF_UNIX as u64;
    assert_eq!(call(&p, "socketpair", args(&[unix, stream, 0])), ALLOW);
    assert_eq!(
        call(&p, "socketpair", args(&[libc::AF_INET as u64, stream, 0])),
        eafnosupport
    );
}

/// mknod goes to the sentry whatever it makes: its handler refuses
/// device nodes.
#[test]
fn device_nodes_are_the_sentrys_to_refuse() {
    let p = moat_filter();
    let mode = |kind: u32| u64::from(kind | 0o600);
    for kind in [
        libc::S_IFIFO,
        libc::S_IFREG,
        0,
        libc::S_IFCHR,
        libc::S_IFBLK,
    ] {
        assert_eq!(
            call(&p, "mknod", args(&[0, mode(kind), 0x0103])),
            NOTIFY,
            "{kind:o}"
        );
        let at = args(&[libc::AT_FDCWD as u64, 0, mode(kind), 0x0103]);
        assert_eq!(call(&p, "mknodat", at), NOTIFY, "{kind:o}");
    }
}

fn reference(checks: &[ArgCheck], args: [u64; 6]) -> bool {
    checks.iter().all(|c| {
        let x = args[usize::from(c.arg)] & c.mask;
        match c.op {
            CmpOp::Eq => x == c.value,
            CmpOp::Ne => x != c.value,
        }
    })
}

/// Every number up to past the table, with assorted arguments, against the
/// table read directly.
#[test]
fn agrees_with_the_table_everywhere() {
    let p = moat_filter();
    let samples: [[u64; 6]; 5] = [
        Z,
        [u64::MAX; 6],
        [1, 1, 0o20644, 0, 0, 0],
        [16, 3, 0, 0, 0, 0],
        [0x7e02_0011, 0x6000, 0o60600, 9, 9, 9],
    ];
    for n in 0..600 {
        for a in samples {
            let want = match lookup_nr(n).map(|e| &e.fate) {
                None => errno(libc::ENOSYS),
                Some(Fate::Native) => ALLOW,
                Some(Fate::Emulated { .. } | Fate::Supervised { .. }) => NOTIFY,
                Some(Fate::Denied { errno: e }) => errno(*e),
                Some(Fate::SupervisedUnless { native_if, .. }) => {
                    if native_if.iter().any(|all| reference(all, a)) {
                        ALLOW
                    } else {
                        NOTIFY
                    }
                }
                Some(Fate::NativeIf { any_of, errno: e }) => {
                    if any_of.iter().any(|all| reference(all, a)) {
                        ALLOW
                    } else {
                        errno(*e)
                    }
                }
            };
            assert_eq!(run(&p, X86_64, n, a), want, "nr {n} args {a:x?}");
        }
    }
    assert!(table().len() > 380);
}
