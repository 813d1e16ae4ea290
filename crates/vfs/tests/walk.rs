//! The walk's rules, one test per rule, on a memfs tree with mounts.

mod support {
    pub mod walk_fixture;
}

use std::sync::Arc;

use moat_vfs::memfs::MemFs;
use moat_vfs::*;
use support::walk_fixture::*;

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
fn chroot_root() {
    let f = fixture();
    let (root, flags) = (f.loc("/dir"), WalkFlags::default());
    let walk = |start: &str, path: &str| {
        let r = f
            .vfs
            .resolve_in(&root, &f.loc(start), path.as_bytes(), &flags);
        let loc = r.and_then(Resolved::found)?;
        Ok(String::from_utf8(loc.path()).unwrap())
    };
    assert_eq!(walk("/dir/sub", "../../.."), Ok("/dir".into()));
    assert_eq!(walk("/dir/sub", "/rel/deep"), Ok("/dir/sub/deep".into()));
    assert_eq!(walk("/dir", "abs"), Err(Errno::ENOENT)); // no /etc in the chroot
                                                         // A cwd left outside the new root is not clamped by it.
    assert_eq!(walk("/etc", "../.."), Ok("/".into()));
    // ...until it walks into it.
    assert_eq!(walk("/etc", "../dir/sub/../../.."), Ok("/dir".into()));
}

#[test]
fn non_directory_in_the_middle() {
    let f = fixture();
    assert_eq!(f.path("etc/passwd/x"), Err(Errno::ENOTDIR));
    assert_eq!(f.path("etc/passwd/.."), Err(Errno::ENOTDIR));
    assert_eq!(f.path("etc/passwd/."), Err(Errno::ENOTDIR));
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
    assert_eq!(
        f.path_with("/", "dir/rel/", nofollow()).unwrap(),
        "/dir/sub"
    );
    assert_eq!(f.path_with("/", "dir/rel", nofollow()).unwrap(), "/dir/rel");
    assert_eq!(f.path("dir/tofile/"), Err(Errno::ENOTDIR));
    assert_eq!(f.path("dir/slashlink"), Err(Errno::ENOTDIR));
    assert_eq!(
        f.path_with("/", "dir/slashlink", nofollow()).unwrap(),
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

/// A synthetic tree whose magic links jump to locations, as the sentry's
/// procfs will for `/proc/<pid>/fd/<n>` and `cwd`.
struct Proc {
    fs: MemFs,
    targets: std::sync::Mutex<Vec<(Node, Location)>>,
}

impl Backend for Proc {
    fn root(&self) -> Node {
        self.fs.root()
    }
    fn lookup(&self, dir: Node, name: &[u8]) -> Result<(Node, Attr)> {
        self.fs.lookup(dir, name)
    }
    fn stat(&self, node: Node) -> Result<Attr> {
        self.fs.stat(node)
    }
    fn readlink(&self, node: Node) -> Result<Vec<u8>> {
        self.fs.readlink(node)
    }
    fn follow_magic(&self, node: Node) -> Result<Option<Location>> {
        let targets = self.targets.lock().unwrap();
        Ok(targets
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, l)| l.clone()))
    }
}

#[test]
fn magic_links_jump_to_locations() {
    let mut f = fixture();
    let proc = Arc::new(Proc {
        fs: MemFs::new(),
        targets: Default::default(),
    });
    let magic = |name: &str, text: &str| {
        let n = proc.fs.put_symlink(name, text).unwrap();
        proc.fs.set_magic(n).unwrap();
        n
    };
    let (fd3, cwd) = (magic("fd3", "/etc/passwd (deleted)"), magic("cwd", "/dir"));
    magic("exe", "/etc/passwd");
    let src = MountSource::Tree {
        backend: proc.clone(),
        root: None,
    };
    f.vfs.mount(b"/dev", src, MountFlags::default()).unwrap();
    let targets = [(fd3, f.loc("/etc/passwd")), (cwd, f.loc("/dir"))];
    proc.targets.lock().unwrap().extend(targets);
    assert_eq!(f.path("/dev/fd3").unwrap(), "/etc/passwd");
    assert_eq!(f.path("/dev/cwd/sub/../rel").unwrap(), "/dir/sub");
    assert_eq!(f.path("/dev/fd3/"), Err(Errno::ENOTDIR));
    assert_eq!(f.path("/dev/exe").unwrap(), "/etc/passwd"); // by its text
    let nx = resolve(RESOLVE_NO_XDEV);
    assert_eq!(f.path_with("/dev", "fd3", nx), Err(Errno::EXDEV));
    let nm = resolve(RESOLVE_NO_MAGICLINKS);
    assert_eq!(f.path_with("/", "dev/cwd", nm), Err(Errno::ELOOP));
}

fn parent_of(f: &Fx, start: &str, path: &str, flags: WalkFlags) -> Result<(String, Last, bool)> {
    match f.at(start, path, flags)? {
        Resolved::Parent {
            parent,
            last,
            trailing,
        } => Ok((String::from_utf8(parent.path()).unwrap(), last, trailing)),
        other => panic!("not a parent: {other:?}"),
    }
}

#[test]
fn parent_walks_leave_the_last_component() {
    let f = fixture();
    let p = |path: &str| parent_of(&f, "/", path, WalkFlags::parent());
    let name = |n: &str| Last::Name(n.as_bytes().to_vec());
    assert_eq!(
        p("dir/sub/deep"),
        Ok(("/dir/sub".into(), name("deep"), false))
    );
    assert_eq!(p("dir/rel/x"), Ok(("/dir/sub".into(), name("x"), false)));
    assert_eq!(p("dir/rel"), Ok(("/dir".into(), name("rel"), false)));
    assert_eq!(p("dir/new//"), Ok(("/dir".into(), name("new"), true)));
    assert_eq!(p("dir/."), Ok(("/dir".into(), Last::Dot, false)));
    assert_eq!(
        p("dir/sub/.."),
        Ok(("/dir/sub".into(), Last::DotDot, false))
    );
    assert_eq!(p("//"), Ok(("/".into(), Last::Root, false)));
    assert_eq!(p("nosuch"), Ok(("/".into(), name("nosuch"), false)));
    assert_eq!(p("etc/passwd/x"), Err(Errno::ENOTDIR));
    assert_eq!(p("nodir/x"), Err(Errno::ENOENT));
    assert_eq!(p(""), Err(Errno::ENOENT));
    let beneath = WalkFlags {
        resolve: RESOLVE_BENEATH,
        ..WalkFlags::parent()
    };
    assert_eq!(parent_of(&f, "/dir", "../x", beneath), Err(Errno::EXDEV));
    assert_eq!(
        parent_of(&f, "/dir", "..", beneath),
        Ok(("/dir".into(), Last::DotDot, false))
    );
}

#[test]
fn child_lookups_after_a_parent_walk() {
    let f = fixture();
    let dir = f.loc("/dir");
    assert_eq!(f.vfs.child(&dir, b"sub").unwrap().path(), b"/dir/sub");
    assert!(f.vfs.child(&dir, b"rel").unwrap().attr().is_symlink());
    assert_eq!(
        f.vfs.child(&f.vfs.root(), b"mnt").unwrap().mount(),
        MountId(1)
    );
    assert_eq!(
        f.vfs.child(&dir, &[b'x'; 256]).err(),
        Some(Errno::ENAMETOOLONG)
    );
    assert_eq!(f.vfs.child(&dir, b"nope").err(), Some(Errno::ENOENT));
    let file = f.loc("/dir/file");
    assert_eq!(f.vfs.child(&file, b"x").err(), Some(Errno::ENOTDIR));
}

#[test]
fn search_permission_of_each_directory() {
    let f = fixture();
    let sub = f.loc("/dir/sub");
    f.root.chmod(sub.node(), 0o700).unwrap();
    f.vfs.invalidate(&f.loc("/dir"), b"sub").unwrap(); // attrs are cached
    let as_user = |creds: &Creds, path: &str, flags: WalkFlags| {
        let root = f.vfs.root();
        let r = f
            .vfs
            .resolve_as(creds, &root, &root, path.as_bytes(), &flags);
        match r? {
            Resolved::Found(loc) => Ok(String::from_utf8(loc.path()).unwrap()),
            other => Ok(format!("{other:?}").chars().take(6).collect()),
        }
    };
    let user = Creds::user(1000, 1000, vec![]);
    let dflt = WalkFlags::default();
    assert_eq!(as_user(&user, "dir/sub", dflt), Ok("/dir/sub".into()));
    assert_eq!(as_user(&user, "dir/sub/deep", dflt), Err(Errno::EACCES));
    assert_eq!(as_user(&user, "dir/sub/.", dflt), Err(Errno::EACCES));
    assert_eq!(as_user(&user, "dir/rel/deep", dflt), Err(Errno::EACCES));
    assert_eq!(
        as_user(&user, "dir/sub/x", WalkFlags::parent()),
        Err(Errno::EACCES)
    );
    assert_eq!(as_user(&user, "dir/rel", nofollow()), Ok("/dir/rel".into()));
    assert_eq!(
        as_user(&Creds::root(), "dir/sub/deep", dflt),
        Ok("/dir/sub/deep".into())
    );
    let owner = Creds::user(0, 0, vec![]);
    assert_eq!(
        as_user(&owner, "dir/sub/deep", dflt),
        Ok("/dir/sub/deep".into())
    );
    f.root.chown(sub.node(), 5, 1000).unwrap();
    f.root.chmod(sub.node(), 0o710).unwrap();
    f.vfs.invalidate(&f.loc("/dir"), b"sub").unwrap();
    assert_eq!(
        as_user(&user, "dir/sub/deep", dflt),
        Ok("/dir/sub/deep".into())
    );
    assert_eq!(
        as_user(&Creds::user(7, 7, vec![1000]), "dir/sub/deep", dflt),
        Ok("/dir/sub/deep".into())
    );
    assert_eq!(
        as_user(&Creds::user(7, 7, vec![]), "dir/sub/deep", dflt),
        Err(Errno::EACCES)
    );
}

/// A backend that answers a chain of lookups in one call, counting calls.
struct Chains {
    fs: Arc<MemFs>,
    chains: std::sync::atomic::AtomicU64,
}

impl Backend for Chains {
    fn root(&self) -> Node {
        self.fs.root()
    }
    fn lookup(&self, dir: Node, name: &[u8]) -> Result<(Node, Attr)> {
        self.fs.lookup(dir, name)
    }
    fn lookup_chain(&self, dir: Node, names: &[&[u8]]) -> Vec<Result<(Node, Attr)>> {
        self.chains
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.fs.lookup_chain(dir, names)
    }
    fn stat(&self, node: Node) -> Result<Attr> {
        self.fs.stat(node)
    }
    fn readlink(&self, node: Node) -> Result<Vec<u8>> {
        self.fs.readlink(node)
    }
}

/// Without a dentry cache, the plain names of a path are looked up in one
/// request; a symlink or `..` starts a new one, and results are the same.
#[test]
fn lookups_go_ahead_in_chains_without_a_cache() {
    let fs = Arc::new(MemFs::new());
    let r = fs.root();
    let a = fs.mkdir(r, b"a").unwrap();
    let b = fs.mkdir(a, b"b").unwrap();
    let c = fs.mkdir(b, b"c").unwrap();
    fs.create(c, b"f").unwrap();
    fs.symlink(r, b"l", b"a/b").unwrap();
    let back = Arc::new(Chains {
        fs,
        chains: Default::default(),
    });
    let vfs = Vfs::new(back.clone(), MountFlags::default(), 0).unwrap();
    let root = vfs.root();
    let count = || back.chains.load(std::sync::atomic::Ordering::Relaxed);
    let flags = WalkFlags::default();
    let found = |p: &str| {
        vfs.resolve(&root, p.as_bytes(), &flags)
            .map(|r| r.found().is_ok())
    };
    assert_eq!(found("/a/b/c/f"), Ok(true));
    assert_eq!(count(), 1);
    // The symlink ends the first chain; its target and the rest: a second.
    assert_eq!(found("/l/c/f"), Ok(true));
    assert_eq!(count(), 3);
    assert_eq!(found("/a/b/../b/c/f"), Ok(true));
    assert_eq!(count(), 5);
    assert_eq!(found("/a/x/c"), Err(Errno::ENOENT));
    // A file in the middle: ENOTDIR, as a walk one lookup at a time says.
    assert_eq!(found("/a/b/c/f/g"), Err(Errno::ENOTDIR));
}
