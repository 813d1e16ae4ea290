//! The tree the walk and mount tests share: memfs with every kind of
//! symlink, a second tree mounted on `/mnt`, a read-only bind, masked
//! paths, and helpers that resolve to a path string or an errno.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::sync::Arc;

use moat_vfs::memfs::MemFs;
use moat_vfs::*;

pub struct Fx {
    pub vfs: Vfs,
    pub root: Arc<MemFs>,
    pub inner: Arc<MemFs>,
}

/// / etc/passwd etc/shadow dir/{sub/,file,links...} c/l0..l40 mnt/ ro/ secret/
pub fn fixture() -> Fx {
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
    pub fn at(&self, start: &str, path: &str, flags: WalkFlags) -> Result<Resolved> {
        let start = self.loc(start);
        self.vfs.resolve(&start, path.as_bytes(), &flags)
    }

    pub fn loc(&self, path: &str) -> Location {
        let root = self.vfs.root();
        self.vfs
            .resolve(&root, path.as_bytes(), &WalkFlags::default())
            .unwrap()
            .found()
            .unwrap()
    }

    /// Resolves from the root with default flags; the found path or errno.
    pub fn path(&self, path: &str) -> std::result::Result<String, Errno> {
        self.path_with("/", path, WalkFlags::default())
    }

    pub fn path_with(
        &self,
        start: &str,
        path: &str,
        flags: WalkFlags,
    ) -> std::result::Result<String, Errno> {
        let loc = self.at(start, path, flags)?.found()?;
        Ok(String::from_utf8(loc.path()).unwrap())
    }
}

pub fn open(oflags: i32) -> WalkFlags {
    WalkFlags::open(oflags, 0).unwrap()
}

pub fn resolve(bits: u64) -> WalkFlags {
    WalkFlags::open(libc::O_PATH, bits).unwrap()
}

/// `AT_SYMLINK_NOFOLLOW`: a final symlink is the result.
pub fn nofollow() -> WalkFlags {
    WalkFlags::at(libc::AT_SYMLINK_NOFOLLOW)
}

pub fn create_of(r: Result<Resolved>) -> std::result::Result<(String, String), Errno> {
    match r? {
        Resolved::Create { parent, name } => Ok((
            String::from_utf8(parent.path()).unwrap(),
            String::from_utf8(name).unwrap(),
        )),
        Resolved::Found(loc) => Ok((String::from_utf8(loc.path()).unwrap(), "<found>".into())),
        other => panic!("not a create: {other:?}"),
    }
}
