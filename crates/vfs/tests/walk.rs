//! The walk's rules, one test per rule, on a memfs tree with mounts.

use std::sync::Arc;

use moat_vfs::memfs::MemFs;
use moat_vfs::*;

struct Fx {
    vfs: Vfs,
    root: Arc<MemFs>,
    inner: Arc<MemFs>,
}

/// / etc/passwd etc/shadow dir/{sub/,file,links...} c/l0..l40 mnt/ ro/ secret/
fn fixture() -> Fx {
    let root = Arc::new(MemFs::new());
    let r = &root;
    r.put_file("etc/passwd").unwrap();
    r.put_file("etc/shadow").unwrap();
    r.mkdir_all("dir/sub/deep").unwrap();
    r.put_file("dir/file").unwrap();
    for (name, target) in [
        ("rel", "sub"),
        ("abs", "/etc"),
        ("dangling", "nowhere"),
        ("loop1", "loop2"),
        ("loop2", "loop1"),
        ("up", "../etc"),
        ("escape", "../../../../etc"),
        ("tofile", "file"),
        ("slashlink", "file/"),
        ("rootlink", "/"),
        ("empty", ""),
        ("into_mnt", "/mnt/inner"),
        ("deadparent", "nodir/x"),
    ] {
        r.put_symlink(&format!("dir/{name}"), target).unwrap();
    }
    for i in 0..=40 {
        r.put_symlink(&format!("c/l{i}"), &format!("l{}", i + 1))
            .unwrap();
    }
    r.put_symlink("c/l41", "/etc/passwd").unwrap();
    let dev = r.mkdir_all("dev").unwrap();
    r.mknod(dev, b"null", FileType::CharDev).unwrap();
    let magic = r.put_symlink("proc_exe", "/etc/passwd").unwrap();
    r.set_magic(magic).unwrap();
    r.mkdir_all("mnt").unwrap();
    r.mkdir_all("ro/d").unwrap();
    r.put_file("ro/f").unwrap();
    let ro_dev = r.mkdir_all("ro").unwrap();
    r.mknod(ro_dev, b"tty", FileType::CharDev).unwrap();
    r.put_file("secret/key").unwrap();
    let inner = Arc::new(MemFs::new());
    inner.put_file("inner/file").unwrap();
    inner.put_symlink("uplink", "..").unwrap();
    let mut vfs = Vfs::new(root.clone(), MountFlags::default(), 1024).unwrap();
    let tree = MountSource::Tree {
        backend: inner.clone(),
        root: None,
    };
    vfs.mount(b"/mnt", tree, MountFlags::default()).unwrap();
    vfs.mount(
        b"/ro",
        MountSource::Bind(b"/ro".to_vec()),
        MountFlags::from_options(&["ro"]),
    )
    .unwrap();
    vfs.mount(b"/etc/shadow", MountSource::Masked, MountFlags::masked())
        .unwrap();
    vfs.mount(b"/secret", MountSource::Masked, MountFlags::masked())
        .unwrap();
    Fx { vfs, root, inner }
}

impl Fx {
    fn at(&self, start: &str, path: &str, flags: WalkFlags) -> Result<Resolved> {
        let start = self.loc(start);
        self.vfs.resolve(&start, path.as_bytes(), &flags)
    }

    fn loc(&self, path: &str) -> Location {
        let root = self.vfs.root();
        self.vfs
            .resolve(&root, path.as_bytes(), &WalkFlags::default())
            .unwrap()
            .found()
            .unwrap()
    }

    /// Resolves from the root with default flags; the found path or errno.
    fn path(&self, path: &str) -> std::result::Result<String, Errno> {
        self.path_with("/", path, WalkFlags::default())
    }

    fn path_with(
        &self,
        start: &str,
        path: &str,
        flags: WalkFlags,
    ) -> std::result::Result<String, Errno> {
        let loc = self.at(start, path, flags)?.found()?;
        Ok(String::from_utf8(loc.path()).unwrap())
    }
}

fn open(oflags: i32) -> WalkFlags {
    WalkFlags::open(oflags, 0).unwrap()
}

fn resolve(bits: u64) -> WalkFlags {
    WalkFlags::open(libc::O_PATH, bits).unwrap()
}

const NOFOLLOW: WalkFlags = WalkFlags {
    nofollow: true,
    nofollow_eloop: false,
    directory: false,
    empty_path: false,
    create: false,
    excl: false,
    mkdir: false,
    write: false,
    resolve: 0,
};

#[test]
fn absolute_and_relative() {
    let f = fixture();
    assert_eq!(f.path("/etc/passwd").unwrap(), "/etc/passwd");
    assert_eq!(f.path("etc//passwd").unwrap(), "/etc/passwd");
    assert_eq!(
        f.path_with("/dir", "sub", WalkFlags::default()).unwrap(),
        "/dir/sub"
    );
    assert_eq!(
        f.path_with("/dir", "/etc", WalkFlags::default()).unwrap(),
        "/etc"
    );
    assert_eq!(f.path("/"), Ok("/".into()));
    assert_eq!(f.path("/nope"), Err(Errno::ENOENT));
}

#[test]
fn dot_and_dotdot_never_above_root() {
    let f = fixture();
    assert_eq!(f.path("./dir/./sub/.").unwrap(), "/dir/sub");
    assert_eq!(f.path("dir/sub/../file").unwrap(), "/dir/file");
    assert_eq!(f.path("/../../..").unwrap(), "/");
    assert_eq!(
        f.path_with("/dir/sub", "../../../../etc", WalkFlags::default())
            .unwrap(),
        "/etc"
    );
}

#[test]
fn non_directory_in_the_middle() {
    let f = fixture();
    assert_eq!(f.path("etc/passwd/x"), Err(Errno::ENOTDIR));
    assert_eq!(f.path("etc/passwd/.."), Err(Errno::ENOTDIR));
    assert_eq!(f.path("etc/passwd/."), Err(Errno::ENOTDIR));
}

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
fn symlinks_relative_absolute_dangling() {
    let f = fixture();
    assert_eq!(f.path("dir/rel/deep").unwrap(), "/dir/sub/deep");
    assert_eq!(f.path("dir/abs/passwd").unwrap(), "/etc/passwd");
    assert_eq!(f.path("dir/up/passwd").unwrap(), "/etc/passwd");
    assert_eq!(f.path("dir/escape/passwd").unwrap(), "/etc/passwd");
    assert_eq!(f.path("dir/rootlink").unwrap(), "/");
    assert_eq!(f.path("dir/dangling"), Err(Errno::ENOENT));
    assert_eq!(f.path("dir/empty"), Err(Errno::ENOENT));
    assert_eq!(f.path("dir/loop1"), Err(Errno::ELOOP));
    assert_eq!(f.path("dir/loop1/x"), Err(Errno::ELOOP));
}

#[test]
fn forty_links_and_no_more() {
    let f = fixture();
    // l1 -> l2 -> ... -> l41 -> /etc/passwd: 41 links.
    assert_eq!(f.path("c/l1"), Err(Errno::ELOOP));
    assert_eq!(f.path("c/l2").unwrap(), "/etc/passwd");
    assert_eq!(f.path("c/l0"), Err(Errno::ELOOP));
}

#[test]
fn trailing_slashes() {
    let f = fixture();
    assert_eq!(f.path("dir/file/"), Err(Errno::ENOTDIR));
    assert_eq!(f.path("dir/sub/").unwrap(), "/dir/sub");
    assert_eq!(f.path("dir/sub//").unwrap(), "/dir/sub");
    assert_eq!(f.path_with("/", "dir/rel/", NOFOLLOW).unwrap(), "/dir/sub");
    assert_eq!(f.path_with("/", "dir/rel", NOFOLLOW).unwrap(), "/dir/rel");
    assert_eq!(f.path("dir/tofile/"), Err(Errno::ENOTDIR));
    assert_eq!(f.path("dir/slashlink"), Err(Errno::ENOTDIR));
    assert_eq!(
        f.path_with("/", "dir/slashlink", NOFOLLOW).unwrap(),
        "/dir/slashlink"
    );
}

#[test]
fn empty_path() {
    let f = fixture();
    assert_eq!(
        f.path_with("/dir", "", WalkFlags::default()),
        Err(Errno::ENOENT)
    );
    let flags = WalkFlags::at(libc::AT_EMPTY_PATH);
    assert_eq!(f.path_with("/dir", "", flags).unwrap(), "/dir");
}

#[test]
fn name_and_path_limits() {
    let f = fixture();
    let long = "x".repeat(255);
    assert_eq!(f.path(&long), Err(Errno::ENOENT));
    assert_eq!(f.path(&format!("{long}x")), Err(Errno::ENAMETOOLONG));
    assert_eq!(f.path(&"/".repeat(4095)).unwrap(), "/");
    assert_eq!(f.path(&"/".repeat(4096)), Err(Errno::ENAMETOOLONG));
    let deep = "./".repeat(2047) + "d";
    assert_eq!(deep.len(), 4095);
    assert_eq!(
        f.path_with("/ro", &deep, WalkFlags::default()).unwrap(),
        "/ro/d"
    );
}

#[test]
fn nofollow_flavours() {
    let f = fixture();
    assert_eq!(
        f.path_with("/", "dir/abs", open(libc::O_RDONLY | libc::O_NOFOLLOW)),
        Err(Errno::ELOOP)
    );
    assert_eq!(
        f.path_with("/", "dir/abs", open(libc::O_PATH | libc::O_NOFOLLOW))
            .unwrap(),
        "/dir/abs"
    );
    let at = WalkFlags::at(libc::AT_SYMLINK_NOFOLLOW);
    let loc = f.at("/", "dir/abs", at).unwrap().found().unwrap();
    assert!(loc.attr().is_symlink());
    // Only the last component is spared.
    assert_eq!(
        f.path_with(
            "/",
            "dir/abs/passwd",
            open(libc::O_RDONLY | libc::O_NOFOLLOW)
        )
        .unwrap(),
        "/etc/passwd"
    );
}

#[test]
fn o_directory() {
    let f = fixture();
    assert_eq!(
        f.path_with("/", "etc/passwd", open(libc::O_DIRECTORY)),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        f.path_with("/", "dir/rel", open(libc::O_DIRECTORY))
            .unwrap(),
        "/dir/sub"
    );
}

fn create_of(r: Result<Resolved>) -> std::result::Result<(String, String), Errno> {
    match r? {
        Resolved::Create { parent, name } => Ok((
            String::from_utf8(parent.path()).unwrap(),
            String::from_utf8(name).unwrap(),
        )),
        Resolved::Found(loc) => Ok((String::from_utf8(loc.path()).unwrap(), "<found>".into())),
    }
}

#[test]
fn o_creat_and_o_excl() {
    let f = fixture();
    let creat = open(libc::O_WRONLY | libc::O_CREAT);
    let excl = open(libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL);
    let c = |p: &str, fl| create_of(f.at("/", p, fl));
    assert_eq!(c("dir/new", creat), Ok(("/dir".into(), "new".into())));
    assert_eq!(c("dir/sub/../new", excl), Ok(("/dir".into(), "new".into())));
    assert_eq!(
        c("dir/file", creat),
        Ok(("/dir/file".into(), "<found>".into()))
    );
    assert_eq!(c("dir/file", excl), Err(Errno::EEXIST));
    assert_eq!(c("dir/sub", creat), Err(Errno::EISDIR));
    assert_eq!(c("dir/new/", creat), Err(Errno::EISDIR));
    // A trailing slash is EISDIR before the name is looked at; `.` exists.
    assert_eq!(c("dir/file/", creat), Err(Errno::EISDIR));
    assert_eq!(c("dir/abs/", excl), Err(Errno::EISDIR));
    assert_eq!(c("dir/.", creat), Err(Errno::EISDIR));
    assert_eq!(c("dir/..", excl), Err(Errno::EEXIST));
    assert_eq!(c("nodir/new", creat), Err(Errno::ENOENT));
    // A dangling final symlink: followed by O_CREAT, existing for O_EXCL.
    assert_eq!(
        c("dir/dangling", creat),
        Ok(("/dir".into(), "nowhere".into()))
    );
    assert_eq!(c("dir/dangling", excl), Err(Errno::EEXIST));
    assert_eq!(c("dir/deadparent", creat), Err(Errno::ENOENT));
    assert_eq!(
        c("dir/tofile", creat),
        Ok(("/dir/file".into(), "<found>".into()))
    );
    let nofollow = open(libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW);
    assert_eq!(c("dir/dangling", nofollow), Err(Errno::ELOOP));
    assert_eq!(
        c("dir/new/", WalkFlags::mkdir()),
        Ok(("/dir".into(), "new".into()))
    );
    assert_eq!(c("dir/sub/", WalkFlags::mkdir()), Err(Errno::EEXIST));
    assert_eq!(
        c("dir/rel", WalkFlags::parent_of_new(false)),
        Ok(("/dir/rel".into(), "<found>".into()))
    );
}

#[test]
fn resolve_beneath() {
    let f = fixture();
    let b = resolve(RESOLVE_BENEATH);
    assert_eq!(f.path_with("/dir", "sub/deep/..", b).unwrap(), "/dir/sub");
    assert_eq!(f.path_with("/dir", "rel/deep", b).unwrap(), "/dir/sub/deep");
    assert_eq!(f.path_with("/dir", "..", b), Err(Errno::EXDEV));
    assert_eq!(f.path_with("/dir", "sub/../..", b), Err(Errno::EXDEV));
    assert_eq!(f.path_with("/dir", "/etc", b), Err(Errno::EXDEV));
    assert_eq!(f.path_with("/dir", "abs", b), Err(Errno::EXDEV));
    assert_eq!(f.path_with("/dir", "up", b), Err(Errno::EXDEV));
}

#[test]
fn resolve_in_root() {
    let f = fixture();
    f.root.put_file("dir/etc/passwd").unwrap();
    let r = resolve(RESOLVE_IN_ROOT);
    assert_eq!(f.path_with("/dir", "/sub", r).unwrap(), "/dir/sub");
    assert_eq!(f.path_with("/dir", "../../sub", r).unwrap(), "/dir/sub");
    assert_eq!(
        f.path_with("/dir", "abs/passwd", r).unwrap(),
        "/dir/etc/passwd"
    );
    assert_eq!(
        f.path_with("/dir", "escape/passwd", r).unwrap(),
        "/dir/etc/passwd"
    );
    assert_eq!(f.path_with("/dir", "rootlink", r).unwrap(), "/dir");
}

#[test]
fn resolve_no_symlinks_and_no_xdev() {
    let f = fixture();
    let ns = resolve(RESOLVE_NO_SYMLINKS);
    assert_eq!(f.path_with("/", "dir/rel", ns), Err(Errno::ELOOP));
    assert_eq!(f.path_with("/", "dir/sub", ns).unwrap(), "/dir/sub");
    let ns_nofollow =
        WalkFlags::open(libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_NO_SYMLINKS).unwrap();
    assert_eq!(
        f.path_with("/", "dir/rel", ns_nofollow).unwrap(),
        "/dir/rel"
    );
    let nx = resolve(RESOLVE_NO_XDEV);
    assert_eq!(f.path_with("/", "mnt/inner", nx), Err(Errno::EXDEV));
    assert_eq!(f.path_with("/", "mnt", nx), Err(Errno::EXDEV));
    assert_eq!(f.path_with("/", "dir/sub/..", nx).unwrap(), "/dir");
    assert_eq!(f.path_with("/mnt/inner", "..", nx).unwrap(), "/mnt");
    assert_eq!(f.path_with("/mnt/inner", "../..", nx), Err(Errno::EXDEV));
    assert_eq!(f.path_with("/mnt/inner", "/etc", nx), Err(Errno::EXDEV));
}

#[test]
fn magic_links() {
    let f = fixture();
    assert_eq!(f.path("proc_exe").unwrap(), "/etc/passwd");
    assert_eq!(
        f.path_with("/", "proc_exe", resolve(RESOLVE_NO_MAGICLINKS)),
        Err(Errno::ELOOP)
    );
    assert_eq!(
        f.path_with("/", "proc_exe", resolve(RESOLVE_IN_ROOT)),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        f.path_with("/", "proc_exe", resolve(RESOLVE_BENEATH)),
        Err(Errno::EXDEV)
    );
    let keep = WalkFlags::open(libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_NO_MAGICLINKS).unwrap();
    assert_eq!(f.path_with("/", "proc_exe", keep).unwrap(), "/proc_exe");
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
    // Negative entries too, until the sentry invalidates after a create.
    assert_eq!(
        f.vfs.resolve(&root, b"/dir/new", &flags),
        Err(Errno::ENOENT)
    );
    let before = f.root.lookups();
    assert_eq!(
        f.vfs.resolve(&root, b"/dir/new", &flags),
        Err(Errno::ENOENT)
    );
    assert_eq!(f.root.lookups(), before);
    let dir = f.loc("/dir");
    f.root.create(dir.node(), b"new").unwrap();
    assert_eq!(
        f.vfs.resolve(&root, b"/dir/new", &flags),
        Err(Errno::ENOENT)
    );
    f.vfs.invalidate(&dir, b"new").unwrap();
    assert_eq!(f.path("/dir/new").unwrap(), "/dir/new");
    f.root.unlink(dir.node(), b"file").unwrap();
    f.vfs.invalidate_dir(&dir).unwrap();
    assert_eq!(f.path("/dir/file"), Err(Errno::ENOENT));
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
