//! One fuzz input against a fixed tree: shared by the cargo-fuzz target
//! `fuzz/fuzz_targets/vfs_walk.rs` and the `fuzz_smoke` test, so the
//! invariants are checked in every `cargo test` too.
//!
//! Input: byte 0 picks the flags, byte 1 the start directory (its high
//! bit: a parent walk), the rest is the path. Invariants: no panic, an
//! answer (the walk is bounded), and no result outside the container root,
//! or outside the start directory under `RESOLVE_BENEATH`/`RESOLVE_IN_ROOT`.

use std::sync::Arc;

use moat_vfs::memfs::MemFs;
use moat_vfs::*;

pub struct Fixture {
    pub vfs: Vfs,
    pub starts: Vec<Location>,
}

const LINKS: [(&str, &str); 12] = [
    ("a/up", "../../../.."),
    ("a/abs", "/etc/passwd"),
    ("a/b/loop", "../b/loop"),
    ("a/b/self", "."),
    ("a/b/escape", "../../../../../etc"),
    ("a/b/dangling", "nowhere/x"),
    ("a/b/slash", "../f/"),
    ("a/b/mnt", "/mnt/m"),
    ("a/b/root", "/"),
    ("mnt_link", "mnt/m/../.."),
    ("c1", "c2/x"),
    ("c2", "c1/y"),
];

/// `/etc/passwd`, `/a/f`, `/a/b/...` with symlinks of every kind, a mount
/// on `/mnt` with its own `..`-climbing link, a read-only bind and a mask.
pub fn fixture() -> Fixture {
    let root = Arc::new(MemFs::new());
    let ok = |r: Result<Node>| r.expect("fixture");
    ok(root.put_file("etc/passwd"));
    ok(root.put_file("a/f"));
    ok(root.mkdir_all("a/b/c/d"));
    ok(root.mkdir_all("mnt"));
    ok(root.mkdir_all("ro/x"));
    for (path, target) in LINKS {
        ok(root.put_symlink(path, target));
    }
    let magic = ok(root.put_symlink("a/exe", "/a/f"));
    root.set_magic(magic).expect("fixture");
    let inner = Arc::new(MemFs::new());
    ok(inner.mkdir_all("m/n"));
    ok(inner.put_symlink("m/out", "../../a"));
    let mut vfs = Vfs::new(root, MountFlags::default(), 64).expect("fixture");
    let tree = MountSource::Tree {
        backend: inner,
        root: None,
    };
    vfs.mount(b"/mnt", tree, MountFlags::default())
        .expect("fixture");
    vfs.mount(
        b"/ro",
        MountSource::Bind(b"/ro".to_vec()),
        MountFlags::from_options(&["ro"]),
    )
    .expect("fixture");
    vfs.mount(b"/a/b/c", MountSource::Masked, MountFlags::masked())
        .expect("fixture");
    let starts = ["/", "/a", "/a/b", "/mnt/m", "/ro/x"]
        .iter()
        .map(|p| {
            vfs.resolve(&vfs.root(), p.as_bytes(), &WalkFlags::default())
                .and_then(Resolved::found)
        })
        .collect::<Result<Vec<_>>>()
        .expect("fixture");
    Fixture { vfs, starts }
}

const OFLAGS: [i32; 8] = [
    libc::O_PATH,
    libc::O_PATH | libc::O_NOFOLLOW,
    libc::O_RDONLY | libc::O_NOFOLLOW,
    libc::O_WRONLY,
    libc::O_WRONLY | libc::O_CREAT,
    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
    libc::O_RDONLY | libc::O_DIRECTORY,
    libc::O_RDWR | libc::O_TRUNC,
];

/// Runs one input; panics if an invariant breaks.
pub fn run_one(fx: &Fixture, data: &[u8]) {
    let (Some(&sel), Some(&start)) = (data.first(), data.get(1)) else {
        return;
    };
    let path = &data[2..];
    let parent = start & 0x80 != 0;
    let start = &fx.starts[(start & 0x7f) as usize % fx.starts.len()];
    let resolve = u64::from(sel >> 3) & 0x1f;
    let flags = match WalkFlags::open(OFLAGS[(sel & 7) as usize], resolve) {
        Ok(f) => f,
        Err(e) => return assert_eq!(e, Errno::EINVAL),
    };
    let flags = WalkFlags {
        empty_path: sel & 0x80 != 0,
        parent,
        ..flags
    };
    let scoped = flags.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
    let bound = if scoped { start.clone() } else { fx.vfs.root() };
    let landed = match fx.vfs.resolve(start, path, &flags) {
        Ok(Resolved::Found(loc)) => loc,
        Ok(Resolved::Create { parent, name }) => {
            assert!(!name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/'));
            assert!(parent.attr().is_dir(), "create parent must be a directory");
            parent
        }
        Ok(Resolved::Parent { parent, last, .. }) => {
            if let Last::Name(name) = last {
                assert!(!name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/'));
            }
            assert!(parent.attr().is_dir(), "a parent must be a directory");
            parent
        }
        Err(_) => return,
    };
    assert!(
        landed.is_within(&bound),
        "escaped {:?} to {:?}",
        bound.path(),
        landed.path()
    );
    for pair in landed.steps().windows(2) {
        assert!(pair[0].attr.is_dir(), "walked through a non-directory");
    }
}
