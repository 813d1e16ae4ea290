//! Differential test with mounts: the walk's mount table against real
//! mounts, resolved by `openat2`.
//!
//! Each random tree gets random mounts, in memfs and for real: a tmpfs
//! holding a second random tree, bind mounts of its own directories (some
//! read-only), and runc-style masks (a read-only tmpfs on a directory,
//! `/dev/null` bound on a file). Then random paths, many through mount
//! points and `..` out of mounted roots, are resolved both ways, also with
//! `RESOLVE_NO_XDEV` and with write and create intents (`EROFS`).
//!
//! The real mounts are made in a child process (this test binary again)
//! started by `unshare --mount --propagation private`, so nothing leaks to
//! the host's mount table. Needs root, util-linux `unshare` and Linux >= 5.6;
//! skipped with a message otherwise. Run with `--nocapture` to see counts.

mod support {
    pub mod difftree;
}

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use moat_vfs::*;
use support::difftree::{lstat_ident, openat2_works, Checker, Ident, Rng, Tally, Tree};

const ENV: &str = "MOAT_VFS_MOUNT_NS_BASE";
const SEED: u64 = 0x6d6f_6174_6d6e_7473;
const TREES: usize = 25;
const MOUNTS_PER_TREE: usize = 5;
const PATHS_PER_TREE: usize = 400;

const VARIANTS: [(i32, u64); 9] = [
    (libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_IN_ROOT),
    (libc::O_PATH, RESOLVE_IN_ROOT),
    (libc::O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_XDEV),
    (
        libc::O_PATH | libc::O_NOFOLLOW,
        RESOLVE_BENEATH | RESOLVE_NO_XDEV,
    ),
    (libc::O_WRONLY, RESOLVE_IN_ROOT),
    (
        libc::O_RDWR | libc::O_TRUNC | libc::O_NOFOLLOW,
        RESOLVE_BENEATH,
    ),
    (libc::O_WRONLY | libc::O_CREAT, RESOLVE_IN_ROOT),
    (
        libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL,
        RESOLVE_IN_ROOT,
    ),
    (
        libc::O_RDONLY | libc::O_CREAT,
        RESOLVE_BENEATH | RESOLVE_NO_XDEV,
    ),
];

fn sys_mount(
    src: &Path,
    dst: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
) -> std::io::Result<()> {
    let src = CString::new(src.as_os_str().as_bytes())?;
    let dst = CString::new(dst.as_os_str().as_bytes())?;
    let fstype = fstype.map(CString::new).transpose()?;
    let fstype_ptr = fstype.as_ref().map_or(std::ptr::null(), |f| f.as_ptr());
    // SAFETY: every pointer is a NUL-terminated string alive for the call,
    // or null where mount(2) accepts null; data is null.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            fstype_ptr,
            flags,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// One tree with its mounts, in memfs and in the child's mount namespace.
struct Mounted {
    main: Tree,
    vfs: Vfs,
    idents: HashMap<(TreeId, Node), Ident>,
    points: Vec<String>,
    /// Where the second tree is mounted.
    other_points: Vec<String>,
    other: Tree,
    /// The mounts made, for the failure message.
    log: Vec<String>,
}

impl Mounted {
    fn build(rng: &mut Rng, base: &Path, i: usize) -> Mounted {
        let main = Tree::build(rng, base.join(format!("t{i}")), 40);
        // Odd trees without the dentry cache, as the sentry walks.
        let dcache = if i.is_multiple_of(2) { 256 } else { 0 };
        let vfs = Vfs::new(main.fs.clone(), MountFlags::default(), dcache).expect("vfs");
        let root_tree = vfs.mounts().get(MountId(0)).expect("root").tree;
        let idents = main
            .idents
            .iter()
            .map(|(n, id)| ((root_tree, *n), *id))
            .collect();
        let other_disk = base.join(format!("u{i}"));
        std::fs::create_dir_all(&other_disk).expect("mkdir");
        sys_mount(Path::new("tmpfs"), &other_disk, Some("tmpfs"), 0).expect("mount tmpfs");
        let other = Tree::build(rng, other_disk, 25);
        let mut m = Mounted {
            main,
            vfs,
            idents,
            points: Vec::new(),
            other_points: Vec::new(),
            other,
            log: Vec::new(),
        };
        m.mount_tree(rng);
        for _ in 1..MOUNTS_PER_TREE {
            match rng.below(3) {
                0 => m.mount_bind(rng),
                1 => m.mount_masked(rng),
                _ => m.mount_tree(rng),
            }
        }
        m
    }

    /// A directory or file of the main tree reachable without symlinks
    /// (mount(2) would follow them from the host's root).
    fn pick_target(&self, rng: &mut Rng, dir_only: bool) -> Option<(String, Location)> {
        // The deepest of a few candidates, so that mounts hide less.
        let mut path = String::new();
        for _ in 0..3 {
            let p = if dir_only || rng.chance(60) {
                &rng.pick(&self.main.dirs).0
            } else {
                rng.pick(&self.main.entries)
            };
            if p.matches('/').count() >= path.matches('/').count() {
                path = p.clone();
            }
        }
        let flags = WalkFlags::open(libc::O_PATH, RESOLVE_NO_SYMLINKS).ok()?;
        let loc = self
            .vfs
            .resolve(&self.vfs.root(), path.as_bytes(), &flags)
            .ok()?
            .found()
            .ok()?;
        let ok = !path.is_empty() && !loc.attr().is_symlink() && (!dir_only || loc.attr().is_dir());
        ok.then_some((path, loc))
    }

    fn disk(&self, path: &str) -> PathBuf {
        self.main.disk.join(path)
    }

    fn mount_tree(&mut self, rng: &mut Rng) {
        let Some((dst, _)) = self.pick_target(rng, true) else {
            return;
        };
        let src = MountSource::Tree {
            backend: self.other.fs.clone(),
            root: None,
        };
        let id = self
            .vfs
            .mount(dst.as_bytes(), src, MountFlags::default())
            .expect("vfs mount");
        sys_mount(&self.other.disk, &self.disk(&dst), None, libc::MS_BIND).expect("bind tmpfs");
        let tree = self.vfs.mounts().get(id).expect("mount").tree;
        self.idents.extend(
            self.other
                .idents
                .iter()
                .map(|(n, ident)| ((tree, *n), *ident)),
        );
        self.log.push(format!("tree at {dst}"));
        self.points.push(dst.clone());
        self.other_points.push(dst);
    }

    fn mount_bind(&mut self, rng: &mut Rng) {
        let (Some((src, src_loc)), Some((dst, dst_loc))) =
            (self.pick_target(rng, false), self.pick_target(rng, false))
        else {
            return;
        };
        if src_loc.attr().is_dir() != dst_loc.attr().is_dir() {
            return;
        }
        let ro = rng.chance(50);
        let flags = MountFlags {
            read_only: ro,
            ..MountFlags::default()
        };
        self.vfs
            .mount(
                dst.as_bytes(),
                MountSource::Bind(src.clone().into_bytes()),
                flags,
            )
            .expect("vfs bind");
        sys_mount(&self.disk(&src), &self.disk(&dst), None, libc::MS_BIND).expect("bind");
        self.log.push(format!("bind {src} at {dst} ro={ro}"));
        if ro {
            let remount = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
            sys_mount(Path::new("none"), &self.disk(&dst), None, remount).expect("remount ro");
        }
        self.points.push(dst);
    }

    fn mount_masked(&mut self, rng: &mut Rng) {
        let Some((dst, loc)) = self.pick_target(rng, false) else {
            return;
        };
        let id = self
            .vfs
            .mount(dst.as_bytes(), MountSource::Masked, MountFlags::masked())
            .expect("vfs mask");
        if loc.attr().is_dir() {
            sys_mount(
                Path::new("tmpfs"),
                &self.disk(&dst),
                Some("tmpfs"),
                libc::MS_RDONLY,
            )
            .expect("mask dir");
        } else {
            sys_mount(&null_device(), &self.disk(&dst), None, libc::MS_BIND).expect("mask file");
        }
        let tree = self.vfs.mounts().get(id).expect("mount").tree;
        self.idents
            .insert((tree, Node(0)), lstat_ident(&self.disk(&dst)));
        self.log.push(format!("mask {dst}"));
        self.points.push(dst);
    }

    /// Paths of the main tree, and paths into mount points (of the second
    /// tree where that is what is mounted).
    fn random_path(&self, rng: &mut Rng) -> String {
        if !self.other_points.is_empty() && rng.chance(30) {
            let inside = self.other.random_path(rng);
            return format!(
                "{}/{}",
                rng.pick(&self.other_points),
                inside.trim_start_matches('/')
            );
        }
        let path = self.main.random_path(rng);
        if self.points.is_empty() || rng.chance(60) {
            return path;
        }
        format!(
            "{}/{}",
            rng.pick(&self.points),
            path.trim_start_matches('/')
        )
    }

    fn compare(&self, rng: &mut Rng, tally: &mut Tally) {
        let failed = tally.failures.len();
        let checker = Checker::new(&self.vfs, &self.main.disk, self.idents.clone());
        for _ in 0..PATHS_PER_TREE {
            let start = match rng.below(4) {
                0 => String::new(),
                1 if !self.points.is_empty() => rng.pick(&self.points).clone(),
                _ => rng.pick(&self.main.dirs).0.clone(),
            };
            checker.compare(&start, &self.random_path(rng), &VARIANTS, tally);
        }
        if tally.failures.len() > failed {
            tally.failures.push(format!(
                "mounts of {}: {:?}",
                self.main.disk.display(),
                self.log
            ));
        }
    }
}

/// What file masks bind: a null device of the test's own, root's and mode
/// 0666 like a pristine /dev/null. The host's /dev/null may have another
/// owner (Debian's runsc chowns it to nobody), which changes the kernel's
/// answers for O_CREAT.
fn null_device() -> PathBuf {
    PathBuf::from(std::env::var_os(ENV).expect("child only")).join("null")
}

fn make_null_device(base: &Path) {
    std::fs::create_dir_all(base).expect("mkdir base");
    let path =
        std::ffi::CString::new(null_device().into_os_string().into_encoded_bytes()).expect("path");
    // SAFETY: mknod reads the NUL-terminated path we own; makedev is pure.
    let r = unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(r, 0, "mknod null: {}", std::io::Error::last_os_error());
    // SAFETY: chmod reads the same path; the umask may have cut the mode.
    assert_eq!(unsafe { libc::chmod(path.as_ptr(), 0o666) }, 0);
}

/// The work, in the child's private mount namespace.
#[test]
fn in_private_mount_namespace() {
    let Some(base) = std::env::var_os(ENV) else {
        return;
    }; // only in the child
    let base = PathBuf::from(base);
    make_null_device(&base);
    let mut rng = Rng(SEED);
    let mut tally = Tally::default();
    for i in 0..TREES {
        Mounted::build(&mut rng, &base, i).compare(&mut rng, &mut tally);
    }
    tally.report(&format!("differential with mounts over {TREES} trees"));
    assert!(
        tally.failures.is_empty(),
        "walk and kernel differ:\n{}",
        tally.failures.join("\n")
    );
}

fn can_run() -> std::result::Result<(), &'static str> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root");
    }
    if !openat2_works() {
        return Err("this kernel has no openat2 (Linux >= 5.6)");
    }
    match Command::new("unshare").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("util-linux unshare is missing"),
    }
}

#[test]
fn walk_matches_kernel_across_mounts() {
    if std::env::var_os(ENV).is_some() {
        return; // the child runs only in_private_mount_namespace
    }
    if let Err(why) = can_run() {
        println!("differential with mounts: skipped, {why}");
        return;
    }
    let base = std::env::temp_dir().join(format!("moat-vfs-mnt-{}", std::process::id()));
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .arg(exe)
        .args([
            "--exact",
            "in_private_mount_namespace",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV, &base)
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        if let Some(at) = line.find("differential with mounts") {
            println!("{}", &line[at..]);
        }
    }
    if out.status.success() {
        let _ = std::fs::remove_dir_all(&base);
    }
    assert!(
        out.status.success(),
        "child failed (trees kept in {}):\n{stdout}\n{}",
        base.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
