//! Differential test: the walk against the kernel's own `openat2`.
//!
//! Builds the same random trees (directories, files, relative, absolute,
//! dangling and looping symlinks, `..` chains) in memfs and on disk under a
//! temporary directory, then resolves many random paths with both: the walk
//! with the tree as its root, and `openat2(dirfd, path, O_PATH | ...,
//! RESOLVE_IN_ROOT or RESOLVE_BENEATH ...)`. Both must name the same inode,
//! create the same file, or fail with the same errno. The seed is fixed, so
//! a failure reproduces; the trees of a failing run are kept.
//!
//! A second test gives the trees' directories random modes and owners and
//! walks as an unprivileged user (the kernel side in a thread whose fsuid,
//! fsgid and groups are that user's), so search permission is compared too.
//!
//! Needs Linux >= 5.6 (openat2); skipped with a message where it is missing.
//! Run with `--nocapture` to see the number of comparisons.
//! `differential_mounts.rs` does the same with mounts.

mod support {
    pub mod difftree;
}

use std::collections::HashMap;

use moat_vfs::*;
use support::difftree::{openat2_works, Checker, Rng, Tally, Tree};

const SEED: u64 = 0x6d6f_6174_7666_7321;
const TREES: usize = 40;
const ENTRIES: usize = 40;
const PATHS_PER_TREE: usize = 400;

/// The flag combinations compared: open flags and RESOLVE_* bits.
const VARIANTS: [(i32, u64); 10] = [
    (libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_IN_ROOT),
    (libc::O_PATH, RESOLVE_IN_ROOT),
    (libc::O_PATH | libc::O_DIRECTORY, RESOLVE_IN_ROOT),
    (libc::O_RDONLY | libc::O_NOFOLLOW, RESOLVE_IN_ROOT),
    (libc::O_PATH, RESOLVE_BENEATH),
    (
        libc::O_PATH | libc::O_NOFOLLOW,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
    ),
    (libc::O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS),
    // Creates: the kernel really creates the file; it is removed again.
    (libc::O_WRONLY | libc::O_CREAT, RESOLVE_IN_ROOT),
    (
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
        RESOLVE_IN_ROOT,
    ),
    (
        libc::O_RDONLY | libc::O_CREAT | libc::O_NOFOLLOW,
        RESOLVE_BENEATH,
    ),
];

/// Odd trees are walked with the dentry cache off, as the sentry walks
/// (lookups then go ahead in chains: `Backend::lookup_chain`).
fn dcache_for(i: usize) -> usize {
    if i.is_multiple_of(2) {
        256
    } else {
        0
    }
}

fn compare_tree(tree: &Tree, dcache: usize, rng: &mut Rng, tally: &mut Tally) {
    let vfs = Vfs::new(tree.fs.clone(), MountFlags::default(), dcache).expect("vfs");
    let root_tree = vfs.mounts().get(MountId(0)).expect("root mount").tree;
    let idents: HashMap<_, _> = tree
        .idents
        .iter()
        .map(|(n, id)| ((root_tree, *n), *id))
        .collect();
    let checker = Checker::new(&vfs, &tree.disk, idents);
    for _ in 0..PATHS_PER_TREE {
        // Half the walks start at the tree's root, where entry paths resolve.
        let start = if rng.chance(50) {
            ""
        } else {
            &rng.pick(&tree.dirs).0
        };
        checker.compare(start, &tree.random_path(rng), &VARIANTS, tally);
    }
}

#[test]
fn walk_matches_kernel_openat2() {
    if !openat2_works() {
        println!("differential: skipped, this kernel has no openat2 (Linux >= 5.6)");
        return;
    }
    let base = std::env::temp_dir().join(format!("moat-vfs-diff-{}", std::process::id()));
    let mut rng = Rng(SEED);
    let mut tally = Tally::default();
    for i in 0..TREES {
        let tree = Tree::build(&mut rng, base.join(format!("t{i}")), ENTRIES);
        compare_tree(&tree, dcache_for(i), &mut rng, &mut tally);
    }
    if tally.failures.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
    }
    tally.report(&format!("differential over {TREES} trees"));
    assert!(
        tally.failures.is_empty(),
        "walk and kernel differ (trees kept):\n{}",
        tally.failures.join("\n")
    );
}

const NOBODY: u32 = 65534;
const DIR_MODES: [u32; 12] = [
    0o755, 0o700, 0o711, 0o750, 0o705, 0o000, 0o070, 0o007, 0o001, 0o010, 0o100, 0o644,
];
const OWNERS: [(u32, u32); 5] = [
    (0, 0),
    (NOBODY, NOBODY),
    (0, NOBODY),
    (NOBODY, 0),
    (1000, 1000),
];
const AS_USER: [(i32, u64); 4] = [
    (libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_IN_ROOT),
    (libc::O_PATH, RESOLVE_IN_ROOT),
    (libc::O_PATH | libc::O_DIRECTORY, RESOLVE_BENEATH),
    (libc::O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS),
];

/// Random modes and owners on every directory but the tree's root.
fn scramble_permissions(tree: &Tree, rng: &mut Rng) {
    use std::os::unix::fs::PermissionsExt;
    for (rel, node) in &tree.dirs[1..] {
        let mode = *rng.pick(&DIR_MODES);
        let (uid, gid) = *rng.pick(&OWNERS);
        let path = tree.disk.join(rel);
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        tree.fs.chown(*node, uid, gid).expect("memfs chown");
        tree.fs.chmod(*node, mode).expect("memfs chmod");
    }
}

/// Makes the calling thread (only) check files as nobody: raw syscalls act
/// on one thread, and leaving fsuid 0 drops its file capabilities.
fn become_nobody() {
    // SAFETY: setgroups with size 0 reads no memory; setfsgid and setfsuid
    // take plain ids. None touches memory of this process.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()),
            0
        );
        libc::syscall(libc::SYS_setfsgid, NOBODY);
        libc::syscall(libc::SYS_setfsuid, NOBODY);
        assert_eq!(libc::syscall(libc::SYS_setfsuid, u32::MAX) as u32, NOBODY);
    }
}

#[test]
fn walk_as_a_user_matches_kernel_openat2() {
    // SAFETY: geteuid has no preconditions.
    if !openat2_works() || unsafe { libc::geteuid() } != 0 {
        println!("differential as a user: skipped, needs root and openat2 (Linux >= 5.6)");
        return;
    }
    let base = std::env::temp_dir().join(format!("moat-vfs-diff-user-{}", std::process::id()));
    let mut rng = Rng(SEED ^ 0x7573_6572);
    let trees: Vec<Tree> = (0..TREES / 2)
        .map(|i| {
            let tree = Tree::build(&mut rng, base.join(format!("t{i}")), ENTRIES);
            scramble_permissions(&tree, &mut rng);
            tree
        })
        .collect();
    let tally = std::thread::scope(|s| {
        s.spawn(|| {
            become_nobody();
            let mut tally = Tally::default();
            for (i, tree) in trees.iter().enumerate() {
                let vfs =
                    Vfs::new(tree.fs.clone(), MountFlags::default(), dcache_for(i)).expect("vfs");
                let root_tree = vfs.mounts().get(MountId(0)).expect("root").tree;
                let idents = tree.idents.iter().map(|(n, id)| ((root_tree, *n), *id));
                let mut checker = Checker::new(&vfs, &tree.disk, idents.collect());
                checker.creds = Some(Creds::user(NOBODY, NOBODY, Vec::new()));
                for _ in 0..PATHS_PER_TREE {
                    checker.compare("", &tree.random_path(&mut rng), &AS_USER, &mut tally);
                }
            }
            tally
        })
        .join()
        .expect("walk thread")
    });
    if tally.failures.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
    }
    tally.report(&format!(
        "differential as uid {NOBODY} over {} trees",
        trees.len()
    ));
    assert!(
        tally.failures.is_empty(),
        "walk and kernel differ (trees kept):\n{}",
        tally.failures.join("\n")
    );
}
