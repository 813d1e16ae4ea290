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

fn compare_tree(tree: &Tree, rng: &mut Rng, tally: &mut Tally) {
    let vfs = Vfs::new(tree.fs.clone(), MountFlags::default(), 256).expect("vfs");
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
        compare_tree(&tree, &mut rng, &mut tally);
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
