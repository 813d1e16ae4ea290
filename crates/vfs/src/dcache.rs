//! The dentry cache: `(tree, directory node, name) → (node, attr)`.
//!
//! Every lookup of the walk goes through it, so a repeated path costs no
//! gofer round trip (each one is a socket message on top of the ~5 µs of the
//! intercepted call). It is bounded and evicts the least recently used entry.
//!
//! Entries are keyed by *tree* (one per distinct [`Backend`](crate::Backend)
//! instance) rather than by mount, so bind mounts of one tree share entries
//! and one invalidation covers all of them.
//!
//! # What is cached
//!
//! The cached attributes (type, mode, owner) feed the sentry's permission
//! checks, made for a gofer that could pass them all: a stale mode is a
//! permission bypass. So the cache keeps only what the sentry alone
//! changes, as gVisor does for an "exclusive" root file system
//! ([`Vfs`](crate::Vfs) decides):
//!
//! - entries of the root tree on the root's device: the container's own
//!   rootfs. A volume (another device) can be changed by the host or
//!   another container at any time, so each of its lookups is asked anew;
//! - found names only, never "absent": a name can appear without the
//!   sentry (a path socket `bind(2)` makes natively after the sentry's
//!   check), and a client polling for it must see it.
//!
//! # Invalidation contract
//!
//! After a call that changed something, the sentry (not before: a lookup
//! racing the change would cache the old value again):
//!
//! - unlink, rmdir: `invalidate(dir, name)`; rename: both `(dir, name)`
//!   pairs (create, mkdir, mknod, symlink, link add a name: nothing
//!   cached can be stale, as no absence is cached);
//! - any change of a file's attributes, by path or by descriptor (chmod,
//!   chown, truncate, utimes, xattrs, POSIX ACLs: `fchmod`, `fchown`,
//!   `fsetxattr` are emulated for that): [`Dcache::clear`], since the file
//!   may have other names (hard links) and such calls are rare;
//! - the backend's nodes were given back (the sentry resets its gofer
//!   handles past a bound): [`Dcache::clear`], so no reset node is used
//!   again. An evicted entry's node is simply never returned again.
//!
//! - a mount or umount the kernel runs in the container (`mount(2)` with
//!   `CAP_SYS_ADMIN`): [`Dcache::disable`], for good, before the kernel
//!   runs it: what a name leads to is then the kernel's mount table's;
//! - an open of a found name fails `ESTALE` or `ENOENT` (the name changed
//!   behind the sentry: the host wrote into the rootfs): [`Dcache::clear`]
//!   before the walk is retried.
//!
//! Attributes the kernel changes on its own are not seen: size and times
//! (a `write`), and the set-user-ID bit a write by an unprivileged caller
//! drops. None of them widens a permission check (a set-ID bit only makes
//! `link` stricter), and the sentry answers `stat` fresh from the backend,
//! never from here.

use std::collections::{BTreeMap, HashMap};

use crate::backend::{Attr, Node};

/// Identity of one backend tree in a mount table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeId(pub u32);

/// A cached lookup result: the node a name named, and its attributes.
pub type Cached = (Node, Attr);

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
    /// Bumped by every invalidation: a lookup that started before one
    /// must not cache what it learnt ([`Dcache::insert_since`]).
    generation: u64,
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
            generation: 0,
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

    /// The count of invalidations so far.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// [`Dcache::insert`], unless something was invalidated since the
    /// lookup began at `generation`: its result may predate the change.
    pub fn insert_since(
        &mut self,
        generation: u64,
        tree: TreeId,
        dir: Node,
        name: &[u8],
        value: Cached,
    ) {
        if generation == self.generation {
            self.insert(tree, dir, name, value);
        }
    }

    /// Records the result of a lookup, evicting the oldest entry when full.
    pub fn insert(&mut self, tree: TreeId, dir: Node, name: &[u8], value: Cached) {
        if self.capacity == 0 {
            return;
        }
        if let Some(used) = self.remove_from_dir((tree, dir), name) {
            self.order.remove(&used);
        }
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
        self.generation += 1;
        if let Some(used) = self.remove_from_dir((tree, dir), name) {
            self.order.remove(&used);
        }
    }

    /// Forgets every entry of directory `dir` (removed or replaced dir).
    pub fn invalidate_dir(&mut self, tree: TreeId, dir: Node) {
        self.generation += 1;
        if let Some(entries) = self.dirs.remove(&(tree, dir)) {
            for (_, used) in entries.values() {
                self.order.remove(used);
            }
        }
    }

    /// Forgets everything (an attribute changed; nodes were given back).
    pub fn clear(&mut self) {
        self.generation += 1;
        self.dirs.clear();
        self.order.clear();
    }

    /// Forgets everything and keeps nothing from now on (what names name
    /// may change behind the sentry: a mount the kernel makes).
    pub fn disable(&mut self) {
        self.capacity = 0;
        self.clear();
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
            acl: None,
        };
        (Node(n), attr)
    }

    #[test]
    fn hit_miss_and_lru_eviction() {
        let mut c = Dcache::new(2);
        assert_eq!(c.get(T, Node(0), b"a"), None);
        c.insert(T, Node(0), b"a", found(1));
        c.insert(T, Node(0), b"b", found(2));
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
        c.clear();
        assert_eq!(c.get(TreeId(1), Node(1), b"x"), None);
        assert_eq!(c.stats().entries, 0);
    }

    #[test]
    fn a_lookup_older_than_an_invalidation_is_not_cached() {
        let mut c = Dcache::new(10);
        let began = c.generation();
        c.clear(); // a chmod on another thread, while the lookup ran
        c.insert_since(began, T, Node(0), b"a", found(1));
        assert_eq!(c.get(T, Node(0), b"a"), None);
        let began = c.generation();
        c.insert_since(began, T, Node(0), b"a", found(1));
        assert_eq!(c.get(T, Node(0), b"a"), Some(found(1)));
    }

    #[test]
    fn reinsert_replaces_and_zero_capacity_caches_nothing() {
        let mut c = Dcache::new(2);
        c.insert(T, Node(0), b"a", found(2));
        c.insert(T, Node(0), b"a", found(1));
        assert_eq!(c.stats().entries, 1);
        assert_eq!(c.get(T, Node(0), b"a"), Some(found(1)));
        let mut off = Dcache::new(0);
        off.insert(T, Node(0), b"a", found(1));
        assert_eq!(off.get(T, Node(0), b"a"), None);
        c.disable();
        assert!(!c.enabled());
        c.insert(T, Node(0), b"b", found(2));
        assert_eq!(c.stats().entries, 0);
    }
}
