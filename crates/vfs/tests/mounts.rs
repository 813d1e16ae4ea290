//! Mounts seen by the walk (crossing, stacking, binds, read-only, masks,
//! OCI paths) and the dentry cache.

mod support {
    pub mod walk_fixture;
}

use std::sync::Arc;

use moat_vfs::memfs::MemFs;
use moat_vfs::*;
use support::walk_fixture::*;

#[test]
fn mounts_are_crossed_both_ways() {
    let f = fixture();
    let loc = f.loc("/mnt/inner/file");
    assert_eq!(loc.mount(), MountId(1));
    assert_eq!(loc.attr().dev, f.inner.stat(Node(0)).unwrap().dev);
    assert_eq!(f.loc("/mnt").mount(), MountId(1));
    assert_eq!(f.loc("/mnt").node(), f.inner.root());
    let up = f.loc("/mnt/inner/../..");
    assert_eq!((up.mount(), up.depth()), (MountId(0), 1));
    assert_eq!(f.path("/mnt/uplink/etc").unwrap(), "/etc");
    assert_eq!(f.path("/dir/into_mnt/file").unwrap(), "/mnt/inner/file");
}

#[test]
fn stacked_and_bind_mounts() {
    let mut f = fixture();
    let top = Arc::new(MemFs::new());
    top.put_file("top").unwrap();
    f.vfs
        .mount(
            b"/mnt",
            MountSource::Tree {
                backend: top,
                root: None,
            },
            MountFlags::default(),
        )
        .unwrap();
    assert_eq!(f.path("/mnt/top").unwrap(), "/mnt/top");
    assert_eq!(f.path("/mnt/inner"), Err(Errno::ENOENT));
    f.vfs
        .mount(
            b"/dev",
            MountSource::Bind(b"/dir".to_vec()),
            MountFlags::default(),
        )
        .unwrap();
    let file = f.loc("/dev/file");
    assert_eq!(file.node(), f.loc("/dir/file").node());
    assert_ne!(file.mount(), f.loc("/dir/file").mount());
    assert_eq!(f.path("/dev/sub/../../etc").unwrap(), "/etc");
    assert_eq!(
        f.vfs
            .mount(
                b"/etc/passwd",
                MountSource::Bind(b"/dir".to_vec()),
                MountFlags::default()
            )
            .err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        f.vfs
            .mount(
                b"/dir",
                MountSource::Bind(b"/etc/passwd".to_vec()),
                MountFlags::default()
            )
            .err(),
        Some(Errno::ENOTDIR)
    );
}

#[test]
fn read_only_mounts() {
    let f = fixture();
    let w = open(libc::O_WRONLY);
    assert_eq!(f.path_with("/", "ro/f", w), Err(Errno::EROFS));
    assert_eq!(
        f.path_with("/", "ro/f", open(libc::O_RDONLY)).unwrap(),
        "/ro/f"
    );
    assert_eq!(
        f.path_with("/", "ro/f", open(libc::O_RDONLY | libc::O_TRUNC)),
        Err(Errno::EROFS)
    );
    assert_eq!(
        f.path_with("/", "ro/tty", open(libc::O_RDWR)).unwrap(),
        "/ro/tty"
    );
    assert_eq!(f.path_with("/", "ro/d", w), Err(Errno::EISDIR));
    assert_eq!(
        create_of(f.at("/", "ro/new", open(libc::O_WRONLY | libc::O_CREAT))),
        Err(Errno::EROFS)
    );
    assert_eq!(
        create_of(f.at("/", "ro/new", WalkFlags::mkdir())),
        Err(Errno::EROFS)
    );
    assert_eq!(
        f.path_with("/", "ro/f", open(libc::O_RDONLY | libc::O_CREAT))
            .unwrap(),
        "/ro/f"
    );
    assert_eq!(f.path_with("/", "dir/file", w).unwrap(), "/dir/file");
}

#[test]
fn binds_keep_the_source_mounts_restrictions() {
    let mut f = fixture();
    let w = open(libc::O_WRONLY);
    f.vfs
        .mount(
            b"/mnt",
            MountSource::Bind(b"/ro".to_vec()),
            MountFlags::default(),
        )
        .unwrap();
    assert_eq!(f.path_with("/", "mnt/f", w), Err(Errno::EROFS));
    f.vfs
        .mount(
            b"/dir/sub",
            MountSource::Bind(b"/secret".to_vec()),
            MountFlags::default(),
        )
        .unwrap();
    let creat = open(libc::O_WRONLY | libc::O_CREAT);
    assert_eq!(f.path_with("/", "dir/sub/x", creat), Err(Errno::EROFS));
}

#[test]
fn masked_paths() {
    let f = fixture();
    let shadow = f.loc("/etc/shadow");
    assert_eq!(shadow.attr().kind, FileType::CharDev);
    assert_eq!(f.path("/etc/shadow/x"), Err(Errno::ENOTDIR));
    assert!(f.loc("/secret").attr().is_dir());
    assert_eq!(f.path("/secret/key"), Err(Errno::ENOENT));
    assert_eq!(
        f.path_with("/", "/secret/key", open(libc::O_WRONLY | libc::O_CREAT)),
        Err(Errno::EROFS)
    );
}

#[test]
fn oci_mounts_in_order_with_their_options() {
    let root = Arc::new(MemFs::new());
    for dir in ["proc", "dev", "sys"] {
        root.mkdir_all(dir).unwrap();
    }
    let mut vfs = Vfs::new(root, MountFlags::default(), 16).unwrap();
    let spec = oci_spec::runtime::Spec::default(); // /proc, /dev, /dev/pts, ..., /sys
    let mut seen = Vec::new();
    vfs.apply_oci_mounts(&spec, |m| {
        let dest = m.destination().to_string_lossy().into_owned();
        seen.push(dest.clone());
        let fs = MemFs::new();
        if dest == "/dev" {
            for d in ["pts", "shm", "mqueue"] {
                fs.mkdir_all(d).unwrap();
            }
        }
        let tree = MountSource::Tree {
            backend: Arc::new(fs),
            root: None,
        };
        Ok((dest != "/sys/fs/cgroup").then_some(tree))
    })
    .unwrap();
    assert!(seen.contains(&"/dev/pts".to_string()));
    let mounted: Vec<_> = vfs.mounts().iter().map(|m| m.path.clone()).collect();
    assert_eq!(mounted.len(), seen.len()); // root, and all but /sys/fs/cgroup
    let sys = vfs.mounts().iter().find(|m| m.path == b"/sys").unwrap();
    assert!(sys.flags.read_only && sys.flags.nosuid && sys.flags.noexec);
    let pts = vfs.resolve(&vfs.root(), b"/dev/pts", &WalkFlags::default());
    assert_eq!(pts.unwrap().found().unwrap().mount(), MountId(3));
}

#[test]
fn oci_masked_and_readonly_paths() {
    let root = Arc::new(MemFs::new());
    root.put_file("proc/kcore").unwrap();
    root.put_file("proc/sys/kernel/x").unwrap();
    let mut vfs = Vfs::new(root, MountFlags::default(), 16).unwrap();
    let spec: oci_spec::runtime::Spec = oci_spec::runtime::Spec::default();
    vfs.apply_oci_paths(&spec).unwrap(); // the default masks /proc/kcore, /proc/sys read-only
    let w = WalkFlags::open(libc::O_WRONLY, 0).unwrap();
    let kcore = vfs
        .resolve(&vfs.root(), b"/proc/kcore", &WalkFlags::default())
        .unwrap()
        .found()
        .unwrap();
    assert_eq!(kcore.attr().kind, FileType::CharDev);
    assert_eq!(
        vfs.resolve(&vfs.root(), b"/proc/sys/kernel/x", &w),
        Err(Errno::EROFS)
    );
}

#[test]
fn dentry_cache_keeps_lookups_off_the_backend() {
    let f = fixture();
    let flags = WalkFlags::default();
    let root = f.vfs.root();
    f.vfs.resolve(&root, b"/dir/rel/deep", &flags).unwrap();
    let before = f.root.lookups();
    let stats = f.vfs.dcache_stats();
    for _ in 0..10 {
        f.vfs.resolve(&root, b"/dir/rel/deep", &flags).unwrap();
    }
    assert_eq!(f.root.lookups(), before);
    assert_eq!(f.vfs.dcache_stats().hits, stats.hits + 40);
    // Never an absent name: one made behind the sentry (a native bind)
    // is seen at once.
    assert_eq!(
        f.vfs.resolve(&root, b"/dir/new", &flags),
        Err(Errno::ENOENT)
    );
    let dir = f.loc("/dir");
    f.root.create(dir.node(), b"new").unwrap();
    assert_eq!(f.path("/dir/new").unwrap(), "/dir/new");
    // A removed name is forgotten when the sentry says so.
    assert!(f.path("/dir/file").is_ok());
    f.root.unlink(dir.node(), b"file").unwrap();
    assert!(f.path("/dir/file").is_ok());
    f.vfs.invalidate(&dir, b"file").unwrap();
    assert_eq!(f.path("/dir/file"), Err(Errno::ENOENT));
}

#[test]
fn dentry_cache_keeps_only_the_root_device_and_forgets_all_on_demand() {
    let f = fixture();
    let flags = WalkFlags::default();
    let root = f.vfs.root();
    // Another device (a volume) is asked every time.
    f.vfs.resolve(&root, b"/mnt/inner/file", &flags).unwrap();
    let inner = f.inner.lookups();
    f.vfs.resolve(&root, b"/mnt/inner/file", &flags).unwrap();
    assert_eq!(f.inner.lookups(), inner + 2);
    // A changed mode is seen once the cache is dropped, not before.
    let file = f.loc("/dir/file");
    f.root.chmod(file.node(), 0o600).unwrap();
    assert_ne!(f.loc("/dir/file").attr().perm, 0o600);
    f.vfs.invalidate_all();
    assert_eq!(f.vfs.dcache_stats().entries, 0);
    assert_eq!(f.loc("/dir/file").attr().perm, 0o600);
}

#[test]
fn location_paths_for_getcwd() {
    let f = fixture();
    let loc = f.loc("/mnt/inner");
    assert_eq!(loc.path(), b"/mnt/inner");
    assert_eq!(loc.name(), b"inner");
    assert!(loc.is_within(&f.loc("/mnt")));
    assert!(!loc.is_within(&f.loc("/dir")));
    assert_eq!(f.vfs.root().path(), b"/");
}
