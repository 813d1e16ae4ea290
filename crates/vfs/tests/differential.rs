//! Differential test: the walk against the kernel's own `openat2`.
//!
//! Builds the same random trees (directories, files, relative, absolute,
//! dangling and looping symlinks, `..` chains) in memfs and on disk under a
//! temporary directory, then resolves many random paths with both: the walk
//! with the tree as its root, and `openat2(dirfd, path, O_PATH | ...,
//! RESOLVE_IN_ROOT or RESOLVE_BENEATH ...)`. Both must name the same inode or
//! fail with the same errno. The seed is fixed, so a failure reproduces.
//!
//! Needs Linux >= 5.6 (openat2); skipped with a message where it is missing.
//! Run with `--nocapture` to see the number of comparisons.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use moat_vfs::memfs::MemFs;
use moat_vfs::*;

const SEED: u64 = 0x6d6f_6174_7666_7321;
const TREES: usize = 40;
const ENTRIES: usize = 40;
const PATHS_PER_TREE: usize = 400;
const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// xorshift64*: small, deterministic, good enough to pick tree shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Random path text: names, `.`, `..` chains, optional leading and
/// trailing slashes, doubled slashes, rarely an overlong name.
fn random_path(rng: &mut Rng, max_parts: usize) -> String {
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

struct Tree {
    disk: PathBuf,
    fs: Arc<MemFs>,
    /// memfs node → inode of the same object on disk.
    inodes: HashMap<Node, u64>,
    /// Directories (relative paths, no symlinks in them) and their nodes.
    dirs: Vec<(String, Node)>,
    /// Every entry's relative path.
    entries: Vec<String>,
}

impl Tree {
    /// A path to resolve: mostly through directories that exist, so that
    /// walks go deep and meet the symlinks; sometimes pure noise.
    fn random_path(&self, rng: &mut Rng) -> String {
        match rng.below(20) {
            0 => "a/".repeat(2100), // over PATH_MAX
            1..=8 => random_path(rng, 8),
            9..=13 => {
                let (dir, _) = rng.pick(&self.dirs);
                let lead = if rng.chance(50) { "/" } else { "" };
                format!("{lead}{dir}/{}", random_path(rng, 3).trim_start_matches('/'))
            }
            _ => {
                let entry = rng.pick(&self.entries).clone();
                if rng.chance(30) { entry + "/" } else { entry }
            }
        }
    }

    fn build(rng: &mut Rng, disk: PathBuf) -> Tree {
        std::fs::create_dir(&disk).expect("tree dir");
        let fs = Arc::new(MemFs::new());
        let mut inodes = HashMap::new();
        inodes.insert(fs.root(), std::fs::metadata(&disk).expect("stat").ino());
        let mut tree = Tree { disk, fs, inodes, dirs: vec![(String::new(), Node(0))], entries: Vec::new() };
        for _ in 0..ENTRIES {
            tree.add_entry(rng);
        }
        tree
    }

    fn add_entry(&mut self, rng: &mut Rng) {
        let (dir, parent) = rng.pick(&self.dirs).clone();
        let name = *rng.pick(&NAMES);
        let rel = if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
        let on_disk = self.disk.join(&rel);
        let made = match rng.below(10) {
            0..=3 => self.fs.mkdir(parent, name.as_bytes()).map(|n| (n, true)),
            4 | 5 => self.fs.create(parent, name.as_bytes()).map(|n| (n, false)),
            _ => {
                let target = self.link_target(rng, &dir);
                let r = self.fs.symlink(parent, name.as_bytes(), target.as_bytes());
                if r.is_ok() {
                    std::os::unix::fs::symlink(&target, &on_disk).expect("symlink");
                }
                r.map(|n| (n, false))
            }
        };
        let Ok((node, is_dir)) = made else { return }; // name taken
        let attr = self.fs.stat(node).expect("stat memfs");
        if is_dir {
            std::fs::create_dir(&on_disk).expect("mkdir");
            self.dirs.push((rel.clone(), node));
        } else if attr.kind == FileType::Regular {
            std::fs::File::create(&on_disk).expect("create");
        }
        self.inodes.insert(node, std::fs::symlink_metadata(&on_disk).expect("lstat").ino());
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
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// The kernel's answer: the inode reached, or the errno.
fn kernel(dirfd: &OwnedFd, path: &str, oflags: i32, resolve: u64) -> Result<u64> {
    use std::os::fd::AsRawFd;
    let cpath = CString::new(path).map_err(|_| Errno::EINVAL)?;
        // openat2 refuses a mode without O_CREAT.
    let mode = if oflags & libc::O_CREAT != 0 { 0o644 } else { 0 };
    let how = OpenHow { flags: (oflags | libc::O_CLOEXEC) as u64, mode, resolve };
    loop {
        // SAFETY: openat2 reads `cpath` (NUL-terminated, alive for the call)
        // and `how` (a live struct of the size passed); it only returns a
        // new descriptor, which is owned at once below.
        let fd = unsafe {
            libc::syscall(libc::SYS_openat2, dirfd.as_raw_fd(), cpath.as_ptr(), &how, std::mem::size_of::<OpenHow>())
        };
        if fd < 0 {
            match Errno::last() {
                Errno::EAGAIN => continue, // a concurrent rename/mount: retry
                e => return Err(e),
            }
        }
        // SAFETY: `fd` is a descriptor openat2 just returned to us alone.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        return Ok(file.metadata().map_err(|_| Errno::EIO)?.ino());
    }
}

fn open_dir(path: &Path) -> OwnedFd {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(path)
        .expect("open tree dir");
    OwnedFd::from(f)
}

use std::os::unix::fs::OpenOptionsExt;

/// The flag combinations compared: open flags and RESOLVE_* bits.
const VARIANTS: [(i32, u64); 10] = [
    (libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_IN_ROOT),
    (libc::O_PATH, RESOLVE_IN_ROOT),
    (libc::O_PATH | libc::O_DIRECTORY, RESOLVE_IN_ROOT),
    (libc::O_RDONLY | libc::O_NOFOLLOW, RESOLVE_IN_ROOT),
    (libc::O_PATH, RESOLVE_BENEATH),
    (libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
    (libc::O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS),
    // Creates: the kernel really creates the file; it is removed again.
    (libc::O_WRONLY | libc::O_CREAT, RESOLVE_IN_ROOT),
    (libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, RESOLVE_IN_ROOT),
    (libc::O_RDONLY | libc::O_CREAT | libc::O_NOFOLLOW, RESOLVE_BENEATH),
];

/// What one side made of a path.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// An existing object, by its on-disk inode.
    Inode(u64),
    /// A new file at this path relative to the tree.
    Created(String),
    Failed(Errno),
}

struct Tally {
    compared: usize,
    found: usize,
    created: usize,
    errnos: std::collections::BTreeMap<String, usize>,
    failures: Vec<String>,
}

fn compare_tree(tree: &Tree, rng: &mut Rng, tally: &mut Tally) {
    let vfs = Vfs::new(tree.fs.clone(), MountFlags::default(), 256).expect("vfs");
    for _ in 0..PATHS_PER_TREE {
        // Half the walks start at the tree's root, where entry paths resolve.
        let (start_rel, _) = if rng.chance(50) { tree.dirs[0].clone() } else { rng.pick(&tree.dirs).clone() };
        let start_fd = open_dir(&tree.disk.join(&start_rel));
        let start = vfs.resolve(&vfs.root(), start_rel.as_bytes(), &WalkFlags::at(libc::AT_EMPTY_PATH));
        let start = start.and_then(Resolved::found).expect("start dir");
        let path = tree.random_path(rng);
        for &(oflags, resolve) in &VARIANTS {
            let flags = WalkFlags::open(oflags, resolve).expect("flags");
            let got = tree.walk_outcome(vfs.resolve(&start, path.as_bytes(), &flags));
            let want = tree.kernel_outcome(&start_fd, &path, oflags, resolve, &got);
            tally.count(&want);
            if got != want && tally.failures.len() < 20 {
                tally.failures.push(format!(
                    "{}: start {start_rel:?} path {path:?} flags {oflags:#x} resolve {resolve:#x}: walk {got:?} kernel {want:?}",
                    tree.disk.display()
                ));
            }
        }
    }
}

impl Tally {
    fn count(&mut self, outcome: &Outcome) {
        self.compared += 1;
        match outcome {
            Outcome::Inode(_) => self.found += 1,
            Outcome::Created(_) => self.created += 1,
            Outcome::Failed(e) => *self.errnos.entry(format!("{e:?}")).or_default() += 1,
        }
    }
}

impl Tree {
    fn walk_outcome(&self, r: Result<Resolved>) -> Outcome {
        match r {
            Ok(Resolved::Found(loc)) => Outcome::Inode(self.inodes.get(&loc.node()).copied().unwrap_or(0)),
            Ok(Resolved::Create { parent, name }) => {
                let dir = self.dirs.iter().find(|(_, n)| *n == parent.node()).map_or("?", |(p, _)| p);
                let name = String::from_utf8_lossy(&name);
                Outcome::Created(if dir.is_empty() { name.into_owned() } else { format!("{dir}/{name}") })
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    /// The kernel's outcome. A new inode is a created file: it counts as
    /// `Created(p)` if it is the file at `p` the walk predicted, and is
    /// removed again so both trees stay the same.
    fn kernel_outcome(&self, dirfd: &OwnedFd, path: &str, oflags: i32, resolve: u64, walk: &Outcome) -> Outcome {
        let ino = match kernel(dirfd, path, oflags, resolve) {
            Ok(ino) => ino,
            Err(e) => return Outcome::Failed(e),
        };
        if self.inodes.values().any(|&i| i == ino) {
            return Outcome::Inode(ino);
        }
        let Outcome::Created(predicted) = walk else { return Outcome::Created(format!("<new inode {ino}>")) };
        let on_disk = self.disk.join(predicted);
        match std::fs::symlink_metadata(&on_disk) {
            Ok(m) if m.ino() == ino => {
                std::fs::remove_file(&on_disk).expect("remove created file");
                Outcome::Created(predicted.clone())
            }
            _ => Outcome::Created(format!("<new inode {ino} elsewhere>")),
        }
    }
}

fn openat2_works() -> bool {
    let fd = open_dir(Path::new("/"));
    kernel(&fd, ".", libc::O_PATH, RESOLVE_IN_ROOT) != Err(Errno::ENOSYS)
}

#[test]
fn walk_matches_kernel_openat2() {
    if !openat2_works() {
        println!("differential: skipped, this kernel has no openat2 (Linux >= 5.6)");
        return;
    }
    let base = std::env::temp_dir().join(format!("moat-vfs-diff-{}", std::process::id()));
    std::fs::create_dir_all(&base).expect("temp dir");
    let mut rng = Rng(SEED);
    let mut tally = Tally { compared: 0, found: 0, created: 0, errnos: Default::default(), failures: Vec::new() };
    for i in 0..TREES {
        let tree = Tree::build(&mut rng, base.join(format!("t{i}")));
        compare_tree(&tree, &mut rng, &mut tally);
    }
    if tally.failures.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
    }
    println!(
        "differential: {} comparisons over {TREES} trees ({} found, {} created, errors {:?}), all equal: {}",
        tally.compared,
        tally.found,
        tally.created,
        tally.errnos,
        tally.failures.is_empty()
    );
    assert!(tally.failures.is_empty(), "walk and kernel differ (trees kept):\n{}", tally.failures.join("\n"));
}
