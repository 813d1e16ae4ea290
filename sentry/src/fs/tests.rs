//! The gofer backend under the VFS walk, against a real moat-gofer serving
//! a temporary tree (needs root, and moat-gofer built beside the test
//! binary: `cargo test -p moat-gofer -p moat-sentry`; skipped otherwise).

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use moat_vfs::{Backend, Creds, Errno, MountFlags, MountSource, Resolved, Vfs, WalkFlags};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use super::gofer_backend::GoferBackend;

struct Gofer(Child);

impl Drop for Gofer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gofer_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("moat-gofer");
    bin.is_file().then_some(bin)
}

/// A gofer serving `dir`, and the backend talking to it.
fn serve(dir: &std::path::Path) -> Option<(Gofer, Arc<GoferBackend>)> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: the gofer needs root");
        return None;
    }
    let Some(bin) = gofer_bin() else {
        eprintln!("skipped: moat-gofer is not built");
        return None;
    };
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ok()?;
    let raw = theirs.as_raw_fd();
    let mut cmd = Command::new(bin);
    cmd.arg("--root").arg(dir).args(["--fd", "3"]);
    cmd.stdin(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; the copy at 3 loses FD_CLOEXEC.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = Gofer(cmd.spawn().ok()?);
    drop(theirs);
    let backend = GoferBackend::connect(ours).expect("handshake");
    Some((child, Arc::new(backend)))
}

fn tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path();
    std::fs::create_dir_all(p.join("etc")).unwrap();
    std::fs::write(p.join("etc/passwd"), "root:x:0:0\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", p.join("link")).unwrap();
    std::os::unix::fs::symlink("loop2", p.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", p.join("loop2")).unwrap();
    d
}

#[test]
fn walks_through_a_real_gofer() {
    let dir = tree();
    let Some((_g, gofer)) = serve(dir.path()) else {
        return;
    };
    let vfs = Vfs::new(gofer.clone(), MountFlags::default(), 0).expect("vfs");
    let root = vfs.root();
    let creds = Creds::root();
    let walk = |path: &[u8], flags: &WalkFlags| vfs.resolve_as(&creds, &root, &root, path, flags);
    let follow = WalkFlags::default();
    let nofollow = WalkFlags::at(libc::AT_SYMLINK_NOFOLLOW);

    // An absolute symlink resolves inside the served tree.
    let Ok(Resolved::Found(f)) = walk(b"/link", &follow) else {
        panic!("link did not resolve");
    };
    assert_eq!(f.path(), b"/etc/passwd");
    let st = gofer.walked_stat(f.node()).expect("walked stat");
    assert_eq!(st.size, 11);
    assert_eq!(gofer.full_stat(f.node()).map(|s| s.ino), Ok(st.ino));

    let Ok(Resolved::Found(l)) = walk(b"link", &nofollow) else {
        panic!("link not found");
    };
    assert!(l.attr().is_symlink());
    assert_eq!(gofer.readlink(l.node()), Ok(b"/etc/passwd".to_vec()));
    assert_eq!(gofer.readlink(f.node()), Err(Errno::EINVAL));

    // `..` at the root stays there.
    let Ok(Resolved::Found(r)) = walk(b"/../../etc/../..", &follow) else {
        panic!("dotdot");
    };
    assert_eq!(r.path(), b"/");
    assert_eq!(walk(b"/loop1", &follow), Err(Errno::ELOOP));
    assert_eq!(walk(b"/nope", &follow), Err(Errno::ENOENT));
    assert_eq!(walk(b"/etc/passwd/x", &follow), Err(Errno::ENOTDIR));

    // Repeated walks reuse handles; a replaced file gets a new one.
    let before = gofer.len();
    let _ = walk(b"/etc/passwd", &follow);
    assert_eq!(gofer.len(), before);
    std::fs::remove_file(dir.path().join("etc/passwd")).unwrap();
    std::fs::write(dir.path().join("etc/passwd"), "new").unwrap();
    let Ok(Resolved::Found(n)) = walk(b"/etc/passwd", &follow) else {
        panic!("replaced file");
    };
    assert_eq!(gofer.walked_stat(n.node()).map(|s| s.size), Some(3));
    assert_ne!(n.node(), f.node());

    // Reset gives every handle back; walks still work afterwards.
    gofer.reset(&[]);
    assert_eq!(gofer.len(), 0);
    assert!(matches!(walk(b"/link", &follow), Ok(Resolved::Found(_))));

    // A mount is attached to a handle: reset keeps it, and the walk
    // still crosses into the mount; without it the mount would be lost.
    let mut mounted = Vfs::new(gofer.clone(), MountFlags::default(), 0).expect("vfs");
    let id = mounted
        .mount(b"/etc", MountSource::Masked, MountFlags::masked())
        .expect("mount");
    let point = mounted
        .mounts()
        .get(id)
        .expect("mount")
        .parent
        .expect("parent")
        .1;
    let passwd = |v: &Vfs| v.resolve_as(&creds, &v.root(), &v.root(), b"/etc/passwd", &follow);
    assert_eq!(passwd(&mounted), Err(Errno::ENOENT));
    gofer.reset(&[point]);
    assert_eq!(gofer.len(), 1);
    assert_eq!(passwd(&mounted), Err(Errno::ENOENT));
    gofer.reset(&[]);
    assert!(passwd(&mounted).is_ok());
}

#[test]
fn an_adopted_descriptor_takes_attribute_changes_and_a_cached_walk_sees_them_once_dropped() {
    use std::os::fd::AsFd;
    use std::os::unix::fs::PermissionsExt;
    let dir = tree();
    let Some((_g, gofer)) = serve(dir.path()) else {
        return;
    };
    let vfs = Vfs::new(gofer.clone(), MountFlags::default(), 16).expect("vfs");
    let root = vfs.root();
    let walk = || match vfs.resolve(&root, b"/etc/passwd", &WalkFlags::default()) {
        Ok(Resolved::Found(f)) => f,
        other => panic!("walk: {other:?}"),
    };
    let path = dir.path().join("etc/passwd");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(walk().attr().perm, 0o644);
    let file = std::fs::File::open(&path).unwrap();
    let (h, st) = gofer.with_client(|c| c.adopt(file.as_fd())).expect("adopt");
    assert_eq!(st.mode & 0o7777, 0o644);
    let attr = moat_goferproto::SetAttr {
        mode: Some(0o600),
        ..Default::default()
    };
    gofer
        .with_client(|c| c.set_stat(h, attr))
        .expect("set_stat");
    let on_disk = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(on_disk & 0o7777, 0o600);
    // The cache still has the old mode until the sentry drops it.
    assert_eq!(walk().attr().perm, 0o644);
    vfs.invalidate_all();
    assert_eq!(walk().attr().perm, 0o600);
    gofer.with_client(|c| c.close(&[h])).expect("close");
}
