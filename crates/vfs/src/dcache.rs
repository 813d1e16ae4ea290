//! The dentry cache: `(tree, directory node, name) → (node, attr)` or "absent".
//!
//! Every lookup of the walk goes through it, so a repeated path costs no
//! gofer round trip (each one is a socket message on top of the ~5 µs of the
//! intercepted call). It is bounded and evicts the least recently used entry.
//!
//! Entries are keyed by *tree* (one per distinct [`Backend`](crate::Backend)
//! instance) rather than by mount, so bind mounts of one tree share entries
//! and one invalidation covers all of them.
//!
//! # Invalidation contract
//!
//! The cache is only as fresh as the sentry keeps it. After a call that
//! changes a directory's entries, the sentry invalidates:
//!
//! - create, mkdir, mknod, symlink, link: `invalidate(dir, name)` (drops a
//!   negative entry);
//! - unlink, rmdir: `invalidate(dir, name)`, and `invalidate_dir(node)` for
//!   a removed directory;
//! - rename: both `(dir, name)` pairs;
//! - chmod, chown, truncate, utimes: `invalidate(dir, name)` of the path used
//!   (cached attributes are the walk's, not `stat`'s answer: the sentry
//!   should ask the backend for a fresh `stat` before returning one).
//!
//! Changes made behind the sentry's back (another container sharing a
//! volume) are not seen until the entry is evicted or invalidated.

use std::collections::{BTreeMap, HashMap};

use crate::backend::{Attr, Node};

/// Identity of one backend tree in a mount table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeId(pub u32);

/// A cached lookup result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cached {
    Found(Node, Attr),
    /// The name did not exist (`ENOENT`) when last asked.
    Absent,
}

/// Counters of the cache, for tests and the sentry's stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

type DirKey = (TreeId, Node);
/// The cached names of one directory, with the tick of their last use.
type DirEntries = HashMap<Box<[u8]>, (Cached, u64)>;

/// A bounded LRU dentry cache.
pub struct Dcache {
    capacity: usize,
    dirs: HashMap<DirKey, DirEntries>,
    order: BTreeMap<u64, (DirKey, Box<[u8]>)>,
    tick: u64,
    hits: u64,
    misses: u64,
}

impl Dcache {
    /// A cache holding at most `capacity` entries (0 disables caching).
    pub fn new(capacity: usize) -> Dcache {
        Dcache {
            capacity,
            dirs: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// Does the cache keep anything (a capacity above 0)?
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub fn stats(&self) -> Stats {
        Stats {
            hits: self.hits,
            misses: self.misses,
            entries: self.order.len(),
        }
    }

    /// The cached result for `name` in `dir`, counting a hit or a miss.
    pub fn get(&mut self, tree: TreeId, dir: Node, name: &[u8]) -> Option<Cached> {
        self.tick += 1;
        let tick = self.tick;
        let Some((value, used)) = self
            .dirs
            .get_mut(&(tree, dir))
            .and_then(|d| d.get_mut(name))
        else {
            self.misses += 1;
            return None;
        };
        let value = *value;
        let old = std::mem::replace(used, tick);
        if let Some(key) = self.order.remove(&old) {
            self.order.insert(tick, key);
        }
        self.hits += 1;
        Some(value)
    }

    /// Records the result of a lookup, evicting the oldest entry when full.
    pub fn insert(&mut self, tree: TreeId, dir: Node, name: &[u8], value: Cached) {
        if self.capacity == 0 {
            return;
        }
        self.invalidate(tree, dir, name);
        while self.order.len() >= self.capacity {
            self.evict_oldest();
        }
        self.tick += 1;
        let name: Box<[u8]> = name.into();
        self.dirs
            .entry((tree, dir))
            .or_default()
            .insert(name.clone(), (value, self.tick));
        self.order.insert(self.tick, ((tree, dir), name));
    }

    fn evict_oldest(&mut self) {
        if let Some((_, (dir, name))) = self.order.pop_first() {
            self.remove_from_dir(dir, &name);
        }
    }

    fn remove_from_dir(&mut self, dir: DirKey, name: &[u8]) -> Option<u64> {
        let entries = self.dirs.get_mut(&dir)?;
        let (_, used) = entries.remove(name)?;
        if entries.is_empty() {
            self.dirs.remove(&dir);
        }
        Some(used)
    }

    /// Forgets `name` in `dir` (after create, unlink, rename, setattr).
    pub fn invalidate(&mut self, tree: TreeId, dir: Node, name: &[u8]) {
        if let Some(used) = self.remove_from_dir((tree, dir), name) {
            self.order.remove(&used);
        }
    }

    /// Forgets every entry of directory `dir` (removed or replaced dir).
    pub fn invalidate_dir(&mut self, tree: TreeId, dir: Node) {
        if let Some(entries) = self.dirs.remove(&(tree, dir)) {
            for (_, used) in entries.values() {
                self.order.remove(used);
            }
        }
    }

    /// Forgets everything of one tree (a backend reconnected or unmounted).
    pub fn invalidate_tree(&mut self, tree: TreeId) {
        let dirs: Vec<DirKey> = self
            .dirs
            .keys()
            .filter(|(t, _)| *t == tree)
            .copied()
            .collect();
        for (t, dir) in dirs {
            self.invalidate_dir(t, dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::FileType;

    const T: TreeId = TreeId(0);

    fn found(n: u64) -> Cached {
        let attr = Attr {
            kind: FileType::Regular,
            perm: 0,
            dev: 0,
            ino: n,
            size: 0,
            uid: 0,
            gid: 0,
            magic: false,
        };
        Cached::Found(Node(n), attr)
    }

    #[test]
    fn hit_miss_and_lru_eviction() {
        let mut c = Dcache::new(2);
        assert_eq!(c.get(T, Node(0), b"a"), None);
        c.insert(T, Node(0), b"a", found(1));
        c.insert(T, Node(0), b"b", Cached::Absent);
        assert_eq!(c.get(T, Node(0), b"a"), Some(found(1)));
        c.insert(T, Node(0), b"c", found(3)); // evicts b, the least recent
        assert_eq!(c.get(T, Node(0), b"b"), None);
        assert_eq!(c.get(T, Node(0), b"a"), Some(found(1)));
        assert_eq!(c.get(T, Node(0), b"c"), Some(found(3)));
        assert_eq!(
            c.stats(),
            Stats {
                hits: 3,
                misses: 2,
                entries: 2
            }
        );
    }

    #[test]
    fn invalidation() {
        let mut c = Dcache::new(10);
        c.insert(T, Node(0), b"a", found(1));
        c.insert(T, Node(0), b"b", found(2));
        c.insert(T, Node(1), b"x", found(3));
        c.insert(TreeId(1), Node(1), b"x", found(4));
        c.invalidate(T, Node(0), b"a");
        assert_eq!(c.get(T, Node(0), b"a"), None);
        assert_eq!(c.get(T, Node(0), b"b"), Some(found(2)));
        c.invalidate_dir(T, Node(0));
        assert_eq!(c.get(T, Node(0), b"b"), None);
        c.invalidate_tree(T);
        assert_eq!(c.get(T, Node(1), b"x"), None);
        assert_eq!(c.get(TreeId(1), Node(1), b"x"), Some(found(4)));
        assert_eq!(c.stats().entries, 1);
    }

    #[test]
    fn reinsert_replaces_and_zero_capacity_caches_nothing() {
        let mut c = Dcache::new(2);
        c.insert(T, Node(0), b"a", Cached::Absent);
        c.insert(T, Node(0), b"a", found(1));
        assert_eq!(c.stats().entries, 1);
        assert_eq!(c.get(T, Node(0), b"a"), Some(found(1)));
        let mut off = Dcache::new(0);
        off.insert(T, Node(0), b"a", found(1));
        assert_eq!(off.get(T, Node(0), b"a"), None);
    }
}
