//! moat-gofer driven through the protocol client, as the sentry will.
//! Needs root (the gofer unshares a mount namespace and pivots).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{name, spawn, spawn_raw};
use moat_goferproto::{Client, ClientError, NodeKind, SetAttr, SetTime, SockType, Time};
use nix::errno::Errno;

fn errno<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Errno {
    match r {
        Err(e) => e.errno(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[test]
fn create_stat_write_read() {
    let (g, mut c) = spawn();
    let (root, rst) = c.root();
    assert_eq!(rst.kind(), libc::S_IFDIR);
    let (node, st, fd) = c
        .create(root, &name("f"), libc::O_RDWR, (0o640, 1234, 5678))
        .expect("create");
    assert_eq!(
        (st.mode, st.uid, st.gid),
        (libc::S_IFREG | 0o640, 1234, 5678)
    );
    nix::unistd::write(&fd, b"hello").expect("write");
    let on_disk = std::fs::metadata(g.dir.path().join("f")).expect("metadata");
    assert_eq!(
        (on_disk.uid(), on_disk.gid(), on_disk.len()),
        (1234, 5678, 5)
    );
    assert_eq!(c.stat(node).expect("stat").size, 5);
    let (n2, st2) = c.walk_stat(root, &name("f")).expect("walk_stat");
    assert_eq!(st2.ino, st.ino);
    let ro = c.open(n2, libc::O_RDONLY).expect("open");
    let mut buf = [0u8; 8];
    assert_eq!(nix::unistd::read(&ro, &mut buf), Ok(5));
    assert_eq!(
        errno(c.create(root, &name("f"), libc::O_RDWR, (0o600, 0, 0))),
        Errno::EEXIST
    );
    assert_eq!(errno(c.walk(root, &name("missing"))), Errno::ENOENT);
    assert_eq!(
        errno(c.open(node, libc::O_RDONLY | libc::O_CREAT)),
        Errno::EINVAL
    );
    c.close(&[node, n2, root]).expect("close");
    assert_eq!(errno(c.stat(node)), Errno::EBADF);
    assert!(c.stat(root).is_ok(), "the root handle stays");
    // chown clears set-id bits; the gofer puts them back.
    let (_, st, _) = c
        .create(root, &name("sgid"), libc::O_RDONLY, (0o2755, 1, 2))
        .expect("create");
    assert_eq!(st.mode & 0o7777, 0o2755);
}

#[test]
fn mkdir_rename_link_unlink() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    let (d, dst) = c.mkdir(root, &name("d"), (0o750, 7, 8)).expect("mkdir");
    assert_eq!((dst.mode, dst.uid), (libc::S_IFDIR | 0o750, 7));
    let (f, _, _) = c
        .create(d, &name("a"), libc::O_WRONLY, (0o600, 0, 0))
        .expect("create");
    c.rename((d, &name("a")), (root, &name("b")), 0)
        .expect("rename");
    assert!(g.dir.path().join("b").exists() && !g.dir.path().join("d/a").exists());
    let (l, lst) = c.link(f, d, &name("hard")).expect("link");
    assert_eq!(lst.nlink, 2);
    assert_eq!(c.stat(l).expect("stat").ino, c.stat(f).expect("stat").ino);
    let exists = errno(c.rename(
        (root, &name("b")),
        (d, &name("hard")),
        libc::RENAME_NOREPLACE,
    ));
    assert_eq!(exists, Errno::EEXIST);
    c.rename(
        (root, &name("b")),
        (d, &name("hard")),
        libc::RENAME_EXCHANGE,
    )
    .expect("exchange");
    assert_eq!(errno(c.unlink(root, &name("d"), true)), Errno::ENOTEMPTY);
    c.unlink(d, &name("hard"), false).expect("unlink");
    c.unlink(root, &name("b"), false).expect("unlink");
    c.unlink(root, &name("d"), true).expect("rmdir");
    assert_eq!(
        std::fs::read_dir(g.dir.path()).expect("read_dir").count(),
        0
    );
}

#[test]
fn symlinks_are_never_followed() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    std::fs::create_dir(g.dir.path().join("real")).expect("mkdir");
    std::fs::write(g.dir.path().join("real/secret"), "x").expect("write");
    let (s, st) = c
        .symlink(root, &name("ln"), b"real", (3, 4))
        .expect("symlink");
    assert_eq!((st.kind(), st.uid), (libc::S_IFLNK, 3));
    assert_eq!(c.readlink(s).expect("readlink"), b"real");
    std::os::unix::fs::symlink("/etc", g.dir.path().join("abs")).expect("symlink");
    let (w, wst) = c
        .walk_stat(root, &name("abs"))
        .expect("walk returns the link itself");
    assert_eq!(wst.kind(), libc::S_IFLNK);
    assert_eq!(errno(c.open(w, libc::O_RDONLY)), Errno::ELOOP);
    assert_eq!(errno(c.open(s, libc::O_RDONLY)), Errno::ELOOP);
    assert_eq!(errno(c.walk(s, &name("secret"))), Errno::ENOTDIR);
    assert_eq!(errno(c.getdents(s, 0, 4096)), Errno::ELOOP);
    assert_eq!(errno(c.readlink(root)), Errno::EINVAL);
}

#[test]
fn bad_names_and_malformed_frames_get_errors() {
    let (_g, mut c) = spawn();
    let (root, _) = c.root();
    for bad in [&b".."[..], b".", b"a/b", b"/etc", b"a\0"] {
        assert!(moat_goferproto::Name::new(bad).is_err());
        let mut frame = vec![2u8];
        frame.extend_from_slice(&root.to_le_bytes());
        frame.push(bad.len() as u8);
        frame.extend_from_slice(bad);
        assert_eq!(errno(c.call_raw(&frame)), Errno::EINVAL, "{bad:?}");
    }
    for frame in [vec![], vec![0xee, 1, 2], vec![4, 1], vec![1; 70_000]] {
        let e = errno(c.call_raw(&frame));
        assert!(e == Errno::EINVAL || e == Errno::EMSGSIZE, "{frame:?}: {e}");
    }
    assert_eq!(c.stat(root).expect("still serving").kind(), libc::S_IFDIR);
}

#[test]
fn getdents_pages_through_a_directory() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    let mut want: Vec<String> = (0..300)
        .map(|i| format!("file-with-a-longish-name-{i:04}"))
        .collect();
    for n in &want {
        std::fs::write(g.dir.path().join(n), "").expect("write");
    }
    let mut got = Vec::new();
    let mut off = 0;
    loop {
        let ents = c.getdents(root, off, 2048).expect("getdents");
        let Some(last) = ents.last() else { break };
        off = last.off;
        got.extend(
            ents.iter()
                .map(|e| String::from_utf8_lossy(e.name.as_bytes()).into_owned()),
        );
        assert!(ents.iter().all(|e| e.kind == libc::DT_REG));
    }
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn xattrs() {
    let (_g, mut c) = spawn();
    let (root, _) = c.root();
    let (f, _, _) = c
        .create(root, &name("x"), libc::O_RDONLY, (0o644, 0, 0))
        .expect("create");
    let set = c.set_xattr(f, b"user.moat", b"value", 0);
    if let Err(ClientError::Remote(Errno::EOPNOTSUPP)) = set {
        eprintln!("the temp file system has no user xattrs; skipping");
        return;
    }
    set.expect("setxattr");
    assert_eq!(c.get_xattr(f, b"user.moat").expect("getxattr"), b"value");
    assert!(c
        .list_xattr(f)
        .expect("listxattr")
        .windows(10)
        .any(|w| w == b"user.moat\0"));
    let create = c.set_xattr(f, b"user.moat", b"v2", libc::XATTR_CREATE as u32);
    assert_eq!(errno(create), Errno::EEXIST);
    c.remove_xattr(f, b"user.moat").expect("removexattr");
    assert_eq!(errno(c.get_xattr(f, b"user.moat")), Errno::ENODATA);
    c.set_xattr(root, b"user.dir", b"d", 0)
        .expect("xattr on the root");
}

/// `system.posix_acl_*` of `user::rw- user:1000:r-- group::r-- mask::r--
/// other::---`, as the kernel stores it.
fn acl_value() -> Vec<u8> {
    let none = u32::MAX;
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, none),
        (2, 4, 1000),
        (4, 4, none),
        (0x10, 4, none),
        (0x20, 0, none),
    ] {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

#[test]
fn attributes_carry_the_acls() {
    let (_g, mut c) = spawn();
    let (root, _) = c.root();
    let (f, st, _) = c
        .create(root, &name("f"), libc::O_RDONLY, (0o644, 0, 0))
        .expect("create");
    assert_eq!((st.acl, st.default_acl), (None, false));
    let set = c.set_xattr(f, b"system.posix_acl_access", &acl_value(), 0);
    if let Err(ClientError::Remote(Errno::EOPNOTSUPP)) = set {
        eprintln!("the temp file system has no POSIX ACLs; skipping");
        return;
    }
    set.expect("setting an access ACL");
    let (h, st) = c.walk_stat(root, &name("f")).expect("walk_stat");
    let acl = st.acl.expect("the access ACL");
    assert_eq!(acl.entries().len(), 5);
    assert_eq!(
        (
            acl.entries()[1].tag,
            acl.entries()[1].perm,
            acl.entries()[1].id
        ),
        (2, 4, 1000)
    );
    assert_eq!(st.mode & 0o777, 0o640, "the mask is the group bits");
    // A change is seen at once (the cache goes by ctime).
    c.remove_xattr(f, b"system.posix_acl_access")
        .expect("removing it");
    assert_eq!(c.stat(h).expect("stat").acl, None);

    let (d, st) = c.mkdir(root, &name("d"), (0o755, 0, 0)).expect("mkdir");
    assert!(!st.default_acl);
    c.set_xattr(d, b"system.posix_acl_default", &acl_value(), 0)
        .expect("setting a default ACL");
    assert!(c.stat(d).expect("stat").default_acl);
    let (_, st, _) = c
        .create(d, &name("inherits"), libc::O_RDONLY, (0o666, 0, 0))
        .expect("create under a default ACL");
    assert_eq!(st.acl.map(|a| a.entries().len()), Some(5), "inherited");
    assert!(!st.default_acl, "files have no default ACL");
}

#[test]
fn set_stat_and_statfs() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    let (f, _, _) = c
        .create(root, &name("s"), libc::O_RDONLY, (0o600, 0, 0))
        .expect("create");
    let t = Time {
        sec: 1_000_000,
        nsec: 5,
    };
    let attr = SetAttr {
        mode: Some(0o4711),
        uid: Some(42),
        gid: Some(43),
        size: Some(1000),
        atime: Some(SetTime::At(t)),
        mtime: Some(SetTime::Now),
    };
    c.set_stat(f, attr).expect("set_stat");
    let st = c.stat(f).expect("stat");
    assert_eq!(
        (st.mode & 0o7777, st.uid, st.gid, st.size),
        (0o4711, 42, 43, 1000)
    );
    assert_eq!(st.atime, t);
    let md = std::fs::metadata(g.dir.path().join("s")).expect("metadata");
    assert_eq!(md.permissions().mode() & 0o7777, 0o4711);
    let fs = c.statfs(root).expect("statfs");
    let host = nix::sys::statfs::statfs(g.dir.path()).expect("statfs");
    assert_eq!(fs.blocks, host.blocks());
    assert!(fs.namelen >= 255);
}

#[test]
fn fifos_and_unix_sockets() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    let (fifo, st) = c
        .mknod(root, &name("p"), NodeKind::Fifo, (0o620, 1, 2))
        .expect("mkfifo");
    assert_eq!(
        (st.kind(), st.mode & 0o777, st.gid),
        (libc::S_IFIFO, 0o620, 2)
    );
    // Opening a fifo never blocks the gofer.
    let r = c.open(fifo, libc::O_RDONLY).expect("open fifo for reading");
    let w = c.open(fifo, libc::O_WRONLY).expect("then for writing");
    nix::unistd::write(&w, b"z").expect("write");
    let mut b = [0u8; 1];
    assert_eq!(nix::unistd::read(&r, &mut b), Ok(1));
    let (_, sst) = c
        .mknod(root, &name("sockfile"), NodeKind::Socket, (0o600, 0, 0))
        .expect("mknod socket");
    assert_eq!(sst.kind(), libc::S_IFSOCK);

    let (_node, st, listener) = c
        .bind(root, &name("srv"), SockType::Stream, (0o666, 9, 9))
        .expect("bind");
    assert_eq!(
        (st.kind(), st.uid, st.mode & 0o777),
        (libc::S_IFSOCK, 9, 0o666)
    );
    nix::sys::socket::listen(
        &listener,
        nix::sys::socket::Backlog::new(4).expect("backlog"),
    )
    .expect("listen");
    let conn = c
        .connect(root, &name("srv"), SockType::Stream)
        .expect("connect");
    let accepted =
        nix::sys::socket::accept(std::os::fd::AsRawFd::as_raw_fd(&listener)).expect("accept");
    // SAFETY: accept returned a new descriptor nothing else owns.
    let accepted =
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(accepted) };
    nix::unistd::write(&conn, b"ping").expect("write");
    let mut buf = [0u8; 4];
    assert_eq!(nix::unistd::read(&accepted, &mut buf), Ok(4));
    assert_eq!(&buf, b"ping");
    assert!(g.dir.path().join("srv").exists());
    std::os::unix::fs::symlink("srv", g.dir.path().join("srvlink")).expect("symlink");
    assert_eq!(
        errno(c.connect(root, &name("srvlink"), SockType::Stream)),
        Errno::ELOOP
    );
    assert_eq!(
        errno(c.connect(root, &name("p"), SockType::Stream)),
        Errno::ECONNREFUSED
    );
    assert_eq!(
        errno(c.bind(root, &name("srv"), SockType::Stream, (0o600, 0, 0))),
        Errno::EADDRINUSE
    );
}

#[test]
fn exits_when_the_peer_closes() {
    let (mut g, c) = spawn();
    drop(c);
    let status = wait_timeout(&mut g.child, 5).expect("the gofer exits within 5 s");
    assert!(status.success(), "{status}");
}

fn wait_timeout(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    for _ in 0..secs * 100 {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

fn status_field(pid: u32, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

#[test]
fn the_gofer_is_confined() {
    let (g, mut c) = spawn();
    // Once it has answered, it is serving: confinement came first.
    c.stat(c.root().0).expect("stat");
    let pid = g.child.id();
    assert_eq!(status_field(pid, "Seccomp:"), "2");
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    assert_eq!(status_field(pid, "Seccomp_filters:"), "1");
    // CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID: bits 0..=4.
    for set in ["CapEff:", "CapPrm:", "CapInh:", "CapBnd:"] {
        assert_eq!(status_field(pid, set), "000000000000001f", "{set}");
    }
    assert_eq!(status_field(pid, "CapAmb:"), "0000000000000000");
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).expect("their mount ns");
    let ours = std::fs::read_link("/proc/self/ns/mnt").expect("our mount ns");
    assert_ne!(theirs, ours);
    // Its root is the served tree.
    let md = std::fs::metadata(format!("/proc/{pid}/root")).expect("its root");
    let tree = std::fs::metadata(g.dir.path()).expect("tree");
    assert_eq!((md.dev(), md.ino()), (tree.dev(), tree.ino()));
}

#[test]
fn handshake_is_required() {
    let (_g, sock) = spawn_raw();
    let mut c = Client::without_handshake(sock);
    assert_eq!(errno(c.stat(1)), Errno::EPROTO);
    let mut c = c.handshake().expect("handshake");
    let root = c.root().0;
    assert!(c.stat(root).is_ok());
}

#[test]
fn the_gofer_allowlist_is_small() {
    let n = moat_policy::confine::GOFER.len();
    assert!(n < 60, "the gofer's seccomp allowlist has {n} calls");
    for banned in [
        "execve", "execveat", "mount", "open", "openat", "ptrace", "kill",
    ] {
        assert!(!moat_policy::confine::GOFER.contains(&banned), "{banned}");
    }
}

#[test]
fn a_swapped_name_is_noticed_and_devices_are_not_opened() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    std::fs::write(g.dir.path().join("a"), "old").expect("write");
    let (a, _) = c.walk_stat(root, &name("a")).expect("walk");
    std::fs::write(g.dir.path().join("b"), "new").expect("write");
    std::fs::rename(g.dir.path().join("b"), g.dir.path().join("a")).expect("rename");
    assert_eq!(errno(c.open(a, libc::O_RDONLY)), Errno::ESTALE);
    let null = g.dir.path().join("null");
    let dev = nix::sys::stat::makedev(1, 3);
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o666);
    nix::sys::stat::mknod(&null, nix::sys::stat::SFlag::S_IFCHR, mode, dev).expect("mknod");
    let (n, st) = c.walk_stat(root, &name("null")).expect("walk");
    assert_eq!(st.kind(), libc::S_IFCHR);
    assert_eq!(errno(c.open(n, libc::O_RDWR)), Errno::EACCES);
    assert_eq!(errno(c.open(root, libc::O_WRONLY)), Errno::EISDIR);
}

#[test]
fn dies_with_the_thread_that_started_it() {
    use std::os::unix::process::ExitStatusExt;
    // Start it from a thread that returns once the gofer serves (so
    // PR_SET_PDEATHSIG is in place); our end of the socket stays open.
    let (mut g, c) = std::thread::spawn(spawn).join().expect("spawning thread");
    let status = wait_timeout(&mut g.child, 5).expect("the gofer dies within 5 s");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    drop(c);
}

#[test]
fn closed_handles_release_their_descriptors() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", g.child.id()))
            .expect("fd dir")
            .count()
    };
    std::fs::create_dir(g.dir.path().join("d")).expect("mkdir");
    let before = fds();
    let (d, _) = c.walk_stat(root, &name("d")).expect("walk");
    let mut handles = vec![d];
    for i in 0..100 {
        let (h, _, fd) = c
            .create(d, &name(&format!("f{i}")), libc::O_RDWR, (0o600, 0, 0))
            .expect("create");
        drop(fd);
        handles.push(h);
        handles.push(c.walk(d, &name(&format!("f{i}"))).expect("walk"));
    }
    assert!(fds() >= before + 201);
    c.getdents(d, 0, 4096).expect("getdents");
    c.close(&handles).expect("close");
    assert_eq!(fds(), before, "every descriptor is gone with its handle");
}

#[test]
fn status_flags_are_as_asked() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    std::fs::write(g.dir.path().join("f"), "x").expect("write");
    let getfl = |fd: &std::os::fd::OwnedFd| {
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).expect("F_GETFL")
    };
    let (f, _) = c.walk_stat(root, &name("f")).expect("walk");
    let fd = c.open(f, libc::O_RDONLY).expect("open");
    assert_eq!(getfl(&fd) & libc::O_NOFOLLOW, 0, "not asked for");
    let fd = c.open(f, libc::O_RDONLY | libc::O_NOFOLLOW).expect("open");
    assert_ne!(getfl(&fd) & libc::O_NOFOLLOW, 0);
    let fd = c.open(f, libc::O_ACCMODE).expect("access mode 3");
    assert_eq!(getfl(&fd) & libc::O_ACCMODE, libc::O_ACCMODE);
    // O_PATH alone: the node's own descriptor (the sentry watches through it).
    let fd = c.open(f, libc::O_PATH).expect("O_PATH");
    assert_ne!(getfl(&fd) & libc::O_PATH, 0);
    assert_eq!(
        errno(c.open(f, libc::O_PATH | libc::O_NOFOLLOW)),
        Errno::EINVAL
    );
}
