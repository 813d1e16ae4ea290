//! Shared by the differential tests: random trees built both in memfs and
//! on disk, and the comparison of the walk with the kernel's `openat2`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use moat_vfs::memfs::MemFs;
use moat_vfs::*;

const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// xorshift64*: small, deterministic, good enough to pick tree shapes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Random path text: names, `.`, `..` chains, optional leading and
/// trailing slashes, doubled slashes, rarely an overlong name.
pub fn random_path(rng: &mut Rng, max_parts: usize) -> String {
    let mut parts = Vec::new();
    for _ in 0..1 + rng.below(max_parts) {
        let part = match rng.below(10) {
            0 => ".".to_string(),
            1 | 2 => "..".to_string(),
            3 if rng.chance(3) => "n".repeat(256),
            _ => rng.pick(&NAMES).to_string(),
        };
        parts.push(part);
    }
    let mut path = parts.join(if rng.chance(10) { "//" } else { "/" });
    if rng.chance(25) {
        path.insert(0, '/');
    }
    if rng.chance(15) {
        path.push('/');
    }
    path
}

/// Host identity of a file: `(st_dev, st_ino)`.
pub type Ident = (u64, u64);

fn ident(m: &std::fs::Metadata) -> Ident {
    (m.dev(), m.ino())
}

/// `(st_dev, st_ino)` of `path`, not following a final symlink.
pub fn lstat_ident(path: &Path) -> Ident {
    ident(&std::fs::symlink_metadata(path).expect("lstat"))
}

/// One random tree, in memfs and on disk.
pub struct Tree {
    pub disk: PathBuf,
    pub fs: Arc<MemFs>,
    /// memfs node → identity of the same object on disk.
    pub idents: HashMap<Node, Ident>,
    /// Directories (relative paths, no symlinks in them) and their nodes.
    pub dirs: Vec<(String, Node)>,
    /// Every entry's relative path.
    pub entries: Vec<String>,
}

impl Tree {
    /// Builds `entries` random entries in memfs and under `disk`.
    pub fn build(rng: &mut Rng, disk: PathBuf, entries: usize) -> Tree {
        std::fs::create_dir_all(&disk).expect("tree dir");
        let fs = Arc::new(MemFs::new());
        let mut idents = HashMap::new();
        idents.insert(fs.root(), lstat_ident(&disk));
        let dirs = vec![(String::new(), fs.root())];
        let mut tree = Tree {
            disk,
            fs,
            idents,
            dirs,
            entries: Vec::new(),
        };
        for _ in 0..entries {
            tree.add_entry(rng);
        }
        tree
    }

    fn add_entry(&mut self, rng: &mut Rng) {
        let (dir, parent) = rng.pick(&self.dirs).clone();
        let name = *rng.pick(&NAMES);
        let rel = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        let on_disk = self.disk.join(&rel);
        let made = match rng.below(10) {
            0..=3 => self.fs.mkdir(parent, name.as_bytes()),
            4 | 5 => self.fs.create(parent, name.as_bytes()),
            _ => {
                let target = self.link_target(rng, &dir);
                let r = self.fs.symlink(parent, name.as_bytes(), target.as_bytes());
                if r.is_ok() {
                    std::os::unix::fs::symlink(&target, &on_disk).expect("symlink");
                }
                r
            }
        };
        let Ok(node) = made else { return }; // name taken
        match self.fs.stat(node).expect("stat memfs").kind {
            FileType::Dir => {
                std::fs::create_dir(&on_disk).expect("mkdir");
                self.dirs.push((rel.clone(), node));
            }
            FileType::Regular => drop(std::fs::File::create(&on_disk).expect("create")),
            _ => {}
        }
        self.idents.insert(node, lstat_ident(&on_disk));
        self.entries.push(rel);
    }

    /// A symlink body: noise, or an existing entry reached absolutely or by
    /// `..` from the link's directory (which makes chains and loops).
    fn link_target(&self, rng: &mut Rng, dir: &str) -> String {
        if self.entries.is_empty() || rng.chance(40) {
            return random_path(rng, 5);
        }
        let entry = rng.pick(&self.entries);
        let depth = dir.split('/').filter(|c| !c.is_empty()).count();
        match rng.below(3) {
            0 => format!("/{entry}"),
            1 => format!("{}{entry}", "../".repeat(depth)),
            _ => format!("{}{entry}", "../".repeat(depth + 1 + rng.below(3))),
        }
    }

    /// A path to resolve: mostly through directories that exist, so that
    /// walks go deep and meet the symlinks; sometimes pure noise.
    pub fn random_path(&self, rng: &mut Rng) -> String {
        match rng.below(20) {
            0 => "a/".repeat(2100), // over PATH_MAX
            1..=8 => random_path(rng, 8),
            9..=13 => {
                let (dir, _) = rng.pick(&self.dirs);
                let lead = if rng.chance(50) { "/" } else { "" };
                format!(
                    "{lead}{dir}/{}",
                    random_path(rng, 3).trim_start_matches('/')
                )
            }
            _ => {
                let entry = rng.pick(&self.entries).clone();
                if rng.chance(30) {
                    entry + "/"
                } else {
                    entry
                }
            }
        }
    }
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// The kernel's answer: the identity of what `openat2` opened, or the errno.
pub fn kernel(dirfd: &OwnedFd, path: &str, oflags: i32, resolve: u64) -> Result<Ident> {
    let cpath = CString::new(path).map_err(|_| Errno::EINVAL)?;
    // openat2 refuses a mode without O_CREAT.
    let mode = if oflags & libc::O_CREAT != 0 {
        0o644
    } else {
        0
    };
    let how = OpenHow {
        flags: (oflags | libc::O_CLOEXEC) as u64,
        mode,
        resolve,
    };
    loop {
        // SAFETY: openat2 reads `cpath` (NUL-terminated, alive for the call)
        // and `how` (a live struct of the size passed); it only returns a
        // new descriptor, which is owned at once below.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd.as_raw_fd(),
                cpath.as_ptr(),
                &how,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd < 0 {
            match Errno::last() {
                Errno::EAGAIN => continue, // a concurrent rename/mount: retry
                e => return Err(e),
            }
        }
        // SAFETY: `fd` is a descriptor openat2 just returned to us alone.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        return Ok(ident(&file.metadata().map_err(|_| Errno::EIO)?));
    }
}

/// Whether this kernel has openat2 (Linux >= 5.6).
pub fn openat2_works() -> bool {
    kernel(
        &open_dir(Path::new("/")),
        ".",
        libc::O_PATH,
        RESOLVE_IN_ROOT,
    ) != Err(Errno::ENOSYS)
}

pub fn open_dir(path: &Path) -> OwnedFd {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(path)
        .expect("open tree dir");
    OwnedFd::from(f)
}

/// What one side made of a path.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An existing object.
    Found(Ident),
    /// A new file at this container path.
    Created(String),
    Failed(Errno),
}

/// Counts of the comparisons made, and the first differences.
#[derive(Default)]
pub struct Tally {
    pub compared: usize,
    pub found: usize,
    pub created: usize,
    pub errnos: BTreeMap<String, usize>,
    pub failures: Vec<String>,
}

impl Tally {
    fn count(&mut self, outcome: &Outcome) {
        self.compared += 1;
        match outcome {
            Outcome::Found(_) => self.found += 1,
            Outcome::Created(_) => self.created += 1,
            Outcome::Failed(e) => *self.errnos.entry(format!("{e:?}")).or_default() += 1,
        }
    }

    pub fn report(&self, what: &str) {
        println!(
            "{what}: {} comparisons ({} found, {} created, errors {:?}), all equal: {}",
            self.compared,
            self.found,
            self.created,
            self.errnos,
            self.failures.is_empty()
        );
    }
}

/// Compares the walk of `vfs` with the kernel, for a container whose root
/// is the directory `disk`.
pub struct Checker<'a> {
    pub vfs: &'a Vfs,
    pub disk: &'a Path,
    /// Identity of each `(tree, node)` the walk can name.
    pub idents: HashMap<(TreeId, Node), Ident>,
    known: HashSet<Ident>,
    /// Walk as these credentials (the kernel side runs with the same).
    pub creds: Option<Creds>,
}

impl<'a> Checker<'a> {
    pub fn new(
        vfs: &'a Vfs,
        disk: &'a Path,
        idents: HashMap<(TreeId, Node), Ident>,
    ) -> Checker<'a> {
        let known = idents.values().copied().collect();
        Checker {
            vfs,
            disk,
            idents,
            known,
            creds: None,
        }
    }

    /// Resolves `path` from the container directory `start` both ways, for
    /// every `(open flags, RESOLVE_*)` variant.
    pub fn compare(&self, start: &str, path: &str, variants: &[(i32, u64)], tally: &mut Tally) {
        // A start covered by a later mount may be gone or be a symlink now
        // (the kernel would follow that from the host's root): skip it.
        let flags = WalkFlags {
            empty_path: true,
            ..WalkFlags::open(libc::O_PATH, RESOLVE_NO_SYMLINKS).expect("flags")
        };
        let at_start = self.vfs.resolve(&self.vfs.root(), start.as_bytes(), &flags);
        let Ok(at_start) = at_start.and_then(Resolved::found) else {
            return;
        };
        if !at_start.attr().is_dir() {
            return;
        }
        let start_fd = open_dir(&self.disk.join(start.trim_start_matches('/')));
        for &(oflags, resolve) in variants {
            let flags = WalkFlags::open(oflags, resolve).expect("flags");
            let got = self.walk_outcome(self.walk(&at_start, path, &flags));
            let want = self.kernel_outcome(&start_fd, path, oflags, resolve, &got);
            tally.count(&want);
            if got != want && tally.failures.len() < 20 {
                tally.failures.push(format!(
                    "{}: start {start:?} path {path:?} flags {oflags:#x} resolve {resolve:#x}: walk {got:?} kernel {want:?}",
                    self.disk.display()
                ));
            }
        }
    }

    fn walk(&self, start: &Location, path: &str, flags: &WalkFlags) -> Result<Resolved> {
        let path = path.as_bytes();
        match &self.creds {
            Some(creds) => self
                .vfs
                .resolve_as(creds, &self.vfs.root(), start, path, flags),
            None => self.vfs.resolve(start, path, flags),
        }
    }

    fn walk_outcome(&self, r: Result<Resolved>) -> Outcome {
        let tree = |loc: &Location| self.vfs.mounts().get(loc.mount()).map(|m| m.tree);
        match r {
            Ok(Resolved::Found(loc)) => {
                let id = tree(&loc)
                    .ok()
                    .and_then(|t| self.idents.get(&(t, loc.node())));
                Outcome::Found(id.copied().unwrap_or((0, 0)))
            }
            Ok(Resolved::Create { parent, name }) => {
                let mut path = String::from_utf8_lossy(&parent.path()).into_owned();
                if !path.ends_with('/') {
                    path.push('/');
                }
                Outcome::Created(path + &String::from_utf8_lossy(&name))
            }
            Ok(other) => panic!("an open walk gave {other:?}"),
            Err(e) => Outcome::Failed(e),
        }
    }

    /// The kernel's outcome. A new identity is a created file: it counts as
    /// `Created(p)` if it is the file at `p` the walk predicted, and is
    /// removed again so both views stay the same.
    fn kernel_outcome(
        &self,
        dirfd: &OwnedFd,
        path: &str,
        oflags: i32,
        resolve: u64,
        walk: &Outcome,
    ) -> Outcome {
        let id = match kernel(dirfd, path, oflags, resolve) {
            Ok(id) => id,
            Err(e) => return Outcome::Failed(e),
        };
        if self.known.contains(&id) {
            return Outcome::Found(id);
        }
        let Outcome::Created(predicted) = walk else {
            return Outcome::Created(format!("<new {id:?}>"));
        };
        let on_disk = self.disk.join(predicted.trim_start_matches('/'));
        match std::fs::symlink_metadata(&on_disk) {
            Ok(m) if ident(&m) == id => {
                std::fs::remove_file(&on_disk).expect("remove created file");
                Outcome::Created(predicted.clone())
            }
            _ => Outcome::Created(format!("<new {id:?} elsewhere>")),
        }
    }
}
