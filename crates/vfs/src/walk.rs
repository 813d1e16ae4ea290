//! The path walk, component by component, as Linux's `namei` does it.
//!
//! # Rules
//!
//! - An absolute path starts at the walk's root (the container root, or the
//!   start itself under `RESOLVE_IN_ROOT`); a relative one at the start
//!   location (cwd or a dirfd's directory). An empty path is `ENOENT` unless
//!   `AT_EMPTY_PATH`, which yields the start. A path of `PATH_MAX` bytes or
//!   more is `ENAMETOOLONG`, and so is looking up a name over `NAME_MAX`
//!   (in a directory: a non-directory parent is `ENOTDIR` first).
//! - Every component but the last must be a directory (`ENOTDIR`).
//! - `.` stays; `..` drops one step of the [`Location`], which at a mount's
//!   root is the directory holding the mount point; `..` at the walk's root
//!   stays there (`EXDEV` under `RESOLVE_BENEATH`).
//! - Reaching a mount point continues at the mounted root (stacked mounts
//!   too). `RESOLVE_NO_XDEV` makes any mount crossing, by name, by `..` or by
//!   an absolute jump, `EXDEV`.
//! - A symlink is followed unless it is the last component and the caller
//!   asked not to (`AT_SYMLINK_NOFOLLOW`, `O_PATH|O_NOFOLLOW` return it;
//!   `O_NOFOLLOW` fails with `ELOOP`; `O_CREAT|O_EXCL` sees it as existing).
//!   Its target is walked from the link's directory, or from the walk's
//!   root when absolute (`EXDEV` under `RESOLVE_BENEATH`). The 41st link of
//!   one walk is `ELOOP`; so is any link under `RESOLVE_NO_SYMLINKS`, and a
//!   magic link under `RESOLVE_NO_MAGICLINKS` (`EXDEV` for a magic link
//!   under `RESOLVE_BENEATH`/`RESOLVE_IN_ROOT`). Otherwise a magic link
//!   jumps to the location its backend's [`Backend::follow_magic`](crate::Backend::follow_magic) gives
//!   (an open file, a cwd), or is followed by its text if it gives none.
//! - A trailing slash (on the path or on the target text of a final
//!   symlink) forces the last component to be followed and to be a
//!   directory (`ENOTDIR`).
//! - `O_CREAT`: a last name with a trailing slash is `EISDIR` whether it
//!   exists or not; a missing one yields the parent and the name (`EROFS`
//!   on a read-only mount); an existing one (`.` and `..` too) is `EEXIST`
//!   with `O_EXCL`, else `EISDIR` if a directory. A
//!   dangling final symlink is followed, so the create lands on its target
//!   (Linux's behaviour) unless `O_EXCL`.
//! - A parent walk ([`WalkFlags::parent`], for unlink, rmdir, rename...)
//!   stops before the last component and returns it as written (a name,
//!   `.`, `..`, or the root for `/`) with its trailing slash, neither looked
//!   up nor followed; [`Vfs::child`] does that final lookup.
//! - `O_DIRECTORY` on a non-directory is `ENOTDIR`; write intent on a
//!   directory is `EISDIR`, and on a read-only mount `EROFS` (devices,
//!   fifos and sockets excepted).
//!
//! - Walking as someone ([`Vfs::resolve_as`]), each directory a component
//!   is looked up in needs search permission (`EACCES`): see
//!   [`crate::creds`]. Permission on the result is the caller's check.
//!
//! Every walk ends: each symlink costs one of 40
//! follows and every piece of path text is finite.

use std::collections::VecDeque;

use crate::backend::{Attr, Node};
use crate::creds::Creds;
use crate::errno::{Errno, Result};
use crate::flags::*;
use crate::location::{Location, Step};
use crate::mount::MountId;
use crate::vfs::Vfs;

/// Most names one lookahead asks for (the gofer's `WalkPath` limit).
const LOOKAHEAD: usize = 32;

/// A lookup made ahead of the walk: valid for `name` looked up in
/// `parent` of `mount`, if the walk gets there next.
struct Ahead {
    mount: MountId,
    parent: Node,
    name: Vec<u8>,
    result: Result<(Node, Attr)>,
}

/// What a walk found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The path names this node.
    Found(Location),
    /// `O_CREAT` (or [`WalkFlags::parent_of_new`]) and the last component
    /// does not exist: create `name` in `parent`.
    Create { parent: Location, name: Vec<u8> },
    /// [`WalkFlags::parent`]: the directory holding the last component,
    /// the component as written, and whether a slash followed it.
    Parent {
        parent: Location,
        last: Last,
        trailing: bool,
    },
}

/// The last component of a path walked with [`WalkFlags::parent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    Name(Vec<u8>),
    /// `.` (rmdir: `EINVAL`, unlink: `EISDIR`, mkdir: `EEXIST`).
    Dot,
    /// `..` (rmdir: `ENOTEMPTY`).
    DotDot,
    /// The path is `/` (rmdir: `EBUSY`, mkdir: `EEXIST`).
    Root,
}

impl Resolved {
    /// The found location, or `ENOENT` for a name to be created.
    pub fn found(self) -> Result<Location> {
        match self {
            Resolved::Found(loc) => Ok(loc),
            Resolved::Create { .. } | Resolved::Parent { .. } => Err(Errno::ENOENT),
        }
    }
}

/// One component handed out by [`Walker::next_component`].
struct Component {
    name: Vec<u8>,
    /// No path text follows it, in this piece or any below.
    last: bool,
    /// A trailing slash applies to it.
    trailing: bool,
}

/// Path text still to walk: the original path, or a symlink's target.
struct Piece {
    text: Vec<u8>,
    pos: usize,
    trailing: bool,
}

pub(crate) struct Walker<'a> {
    vfs: &'a Vfs,
    flags: &'a WalkFlags,
    creds: Option<&'a Creds>,
    root: Location,
    beneath: bool,
    loc: Location,
    pieces: Vec<Piece>,
    links: u32,
    trailing: bool,
    /// Lookups of the components after the current one, made in the same
    /// request as its own ([`Vfs::lookup_chain`]).
    ahead: VecDeque<Ahead>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(
        vfs: &'a Vfs,
        root: &Location,
        start: &Location,
        flags: &'a WalkFlags,
        creds: Option<&'a Creds>,
    ) -> Walker<'a> {
        let scoped = flags.has(RESOLVE_BENEATH) || flags.has(RESOLVE_IN_ROOT);
        Walker {
            vfs,
            flags,
            creds,
            root: if scoped { start.clone() } else { root.clone() },
            beneath: flags.has(RESOLVE_BENEATH),
            loc: start.clone(),
            pieces: Vec::new(),
            links: 0,
            trailing: false,
            ahead: VecDeque::new(),
        }
    }

    pub(crate) fn run(mut self, path: &[u8]) -> Result<Resolved> {
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if path.is_empty() {
            return if self.flags.empty_path {
                self.finish()
            } else {
                Err(Errno::ENOENT)
            };
        }
        self.push_text(path, false)?;
        while let Some(c) = self.next_component() {
            if !self.loc.attr().is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if let Some(creds) = self.creds {
                creds.may_search(&self.loc.attr())?;
            }
            if c.last && self.flags.parent {
                return Ok(self.parent(c));
            }
            self.trailing = c.last && c.trailing;
            if let Some(create) = self.component(c)? {
                return Ok(create);
            }
        }
        if self.flags.parent {
            return Ok(Resolved::Parent {
                parent: self.loc,
                last: Last::Root,
                trailing: false,
            });
        }
        self.finish()
    }

    /// Queues path text; an absolute one first jumps to the root.
    fn push_text(&mut self, text: &[u8], trailing: bool) -> Result<()> {
        if text.first() == Some(&b'/') {
            self.jump_to_root()?;
        }
        let trailing = trailing || text.last() == Some(&b'/');
        self.pieces.push(Piece {
            text: text.to_vec(),
            pos: 0,
            trailing,
        });
        Ok(())
    }

    fn jump_to_root(&mut self) -> Result<()> {
        if self.beneath {
            return Err(Errno::EXDEV);
        }
        if self.flags.has(RESOLVE_NO_XDEV) && self.root.mount() != self.loc.mount() {
            return Err(Errno::EXDEV);
        }
        self.loc = self.root.clone();
        Ok(())
    }

    /// The next component, dropping pieces as they run out so that `last`
    /// can be told at once.
    fn next_component(&mut self) -> Option<Component> {
        while let Some(piece) = self.pieces.last_mut() {
            let text = &piece.text;
            let start = skip_slashes(text, piece.pos);
            if start >= text.len() {
                self.pieces.pop();
                continue;
            }
            let end = text[start..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(text.len(), |i| start + i);
            let name = text[start..end].to_vec();
            piece.pos = skip_slashes(text, end);
            let exhausted = piece.pos >= text.len();
            let trailing = exhausted && piece.trailing;
            if exhausted {
                self.pieces.pop();
            }
            let last = exhausted && self.pieces.is_empty();
            return Some(Component {
                name,
                last,
                trailing,
            });
        }
        None
    }

    /// The answer of a [`WalkFlags::parent`] walk at its last component.
    fn parent(self, c: Component) -> Resolved {
        let last = match &c.name[..] {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            _ => Last::Name(c.name),
        };
        Resolved::Parent {
            parent: self.loc,
            last,
            trailing: c.trailing,
        }
    }

    /// Walks one component; `Some` ends the walk with a create.
    fn component(&mut self, c: Component) -> Result<Option<Resolved>> {
        match &c.name[..] {
            b"." => Ok(None),
            b".." => self.dotdot().map(|()| None),
            _ => self.descend(c),
        }
    }

    fn dotdot(&mut self) -> Result<()> {
        // At the root: its depth, on its chain. (A cwd outside a chroot's
        // root climbs past it up to the container root, as in Linux.)
        if self.loc.depth() <= self.root.depth() && self.loc.is_within(&self.root) {
            return if self.beneath {
                Err(Errno::EXDEV)
            } else {
                Ok(())
            };
        }
        let from = self.loc.mount();
        self.loc.pop();
        if self.flags.has(RESOLVE_NO_XDEV) && self.loc.mount() != from {
            return Err(Errno::EXDEV);
        }
        Ok(())
    }

    fn descend(&mut self, c: Component) -> Result<Option<Resolved>> {
        let creating = c.last && self.flags.create;
        // open_last_lookups: O_CREAT with a trailing slash fails before the
        // name is even looked up.
        if creating && c.trailing && !self.flags.mkdir {
            return Err(Errno::EISDIR);
        }
        // Checked where Linux's file systems check it: at the lookup, so
        // after the ENOTDIR of a non-directory parent.
        if c.name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let (node, attr) = match self.lookup(&c.name) {
            Err(Errno::ENOENT) if creating => return self.create(c).map(Some),
            other => other?,
        };
        if creating && self.flags.excl {
            return Err(Errno::EEXIST);
        }
        if attr.is_symlink() {
            let keep = c.last && !c.trailing && self.flags.keeps_final_symlink();
            if !keep {
                self.follow(node, attr, c.trailing)?;
                return Ok(None);
            }
            if self.flags.nofollow_eloop {
                return Err(Errno::ELOOP);
            }
        }
        let step = Step {
            mount: self.loc.mount(),
            node,
            attr,
            name: c.name.into(),
        };
        let step = self.cross_mounts(step)?;
        self.loc.push(step);
        Ok(None)
    }

    /// `name` in the current directory: from the lookahead if it was
    /// looked up there already, else in one request with the plain names
    /// that follow it in the path text (up to a `.`, `..` or the end).
    /// Each lookahead result is used only if the walk reaches the same
    /// directory of the same mount and asks for the same name: a symlink,
    /// `..` or a mount crossed on the way discards the rest, which is then
    /// looked up afresh.
    fn lookup(&mut self, name: &[u8]) -> Result<(Node, Attr)> {
        let (mount, parent) = (self.loc.mount(), self.loc.node());
        if let Some(a) = self.ahead.pop_front() {
            if a.mount == mount && a.parent == parent && a.name == name {
                return a.result;
            }
            self.ahead.clear();
        }
        let names = self.upcoming(name);
        let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let mut results = self.vfs.lookup_chain(&self.loc, &refs).into_iter();
        let first = results.next().unwrap_or(Err(Errno::EIO));
        let mut at = first.as_ref().ok().map(|(n, _)| *n);
        for (name, result) in names.into_iter().skip(1).zip(results) {
            let Some(parent) = at else { break };
            at = result.as_ref().ok().map(|(n, _)| *n);
            self.ahead.push_back(Ahead {
                mount,
                parent,
                name,
                result,
            });
        }
        first
    }

    /// `name`, then the plain names that follow in the path text still
    /// to walk (the rest of each piece, the innermost symlink's first).
    fn upcoming(&self, name: &[u8]) -> Vec<Vec<u8>> {
        let mut names = vec![name.to_vec()];
        for piece in self.pieces.iter().rev() {
            let rest = &piece.text[piece.pos.min(piece.text.len())..];
            for n in rest.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
                if names.len() >= LOOKAHEAD || n == b"." || n == b".." || n.len() > NAME_MAX {
                    return names;
                }
                names.push(n.to_vec());
            }
        }
        names
    }

    fn create(&mut self, c: Component) -> Result<Resolved> {
        if self.vfs.mount_flags(self.loc.mount())?.read_only {
            return Err(Errno::EROFS);
        }
        Ok(Resolved::Create {
            parent: self.loc.clone(),
            name: c.name,
        })
    }

    /// Continues at the root of every mount stacked on `step`.
    fn cross_mounts(&self, mut step: Step) -> Result<Step> {
        while let Some(m) = self.vfs.mounts().covering(step.mount, step.node) {
            if self.flags.has(RESOLVE_NO_XDEV) {
                return Err(Errno::EXDEV);
            }
            step = Step {
                mount: m.id,
                node: m.root,
                attr: m.root_attr,
                name: step.name,
            };
        }
        Ok(step)
    }

    fn follow(&mut self, node: crate::Node, attr: Attr, trailing: bool) -> Result<()> {
        if self.flags.has(RESOLVE_NO_SYMLINKS) {
            return Err(Errno::ELOOP);
        }
        if attr.magic {
            if self.flags.has(RESOLVE_NO_MAGICLINKS) {
                return Err(Errno::ELOOP);
            }
            if self.flags.has(RESOLVE_BENEATH) || self.flags.has(RESOLVE_IN_ROOT) {
                return Err(Errno::EXDEV);
            }
        }
        self.links += 1;
        if self.links > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        let backend = &self.vfs.mounts().get(self.loc.mount())?.backend;
        if attr.magic {
            if let Some(target) = backend.follow_magic(node)? {
                return self.jump_magic(target);
            }
        }
        let target = backend.readlink(node)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        self.push_text(&target, trailing)
    }

    /// Continues at the object a magic link names (Linux's nd_jump_link).
    fn jump_magic(&mut self, target: Location) -> Result<()> {
        if self.flags.has(RESOLVE_NO_XDEV) && target.mount() != self.loc.mount() {
            return Err(Errno::EXDEV);
        }
        self.loc = target;
        Ok(())
    }

    /// Checks the result against what the caller means to do with it.
    fn finish(self) -> Result<Resolved> {
        let attr = self.loc.attr();
        let dir = attr.is_dir();
        if self.flags.create && self.flags.excl {
            return Err(Errno::EEXIST); // `.`, `..` or an empty path
        }
        if self.flags.create && dir {
            return Err(Errno::EISDIR);
        }
        if (self.trailing || self.flags.directory) && !dir {
            return Err(Errno::ENOTDIR);
        }
        if self.flags.write && dir {
            return Err(Errno::EISDIR);
        }
        let ro = self.vfs.mount_flags(self.loc.mount())?.read_only;
        if self.flags.write && ro && !attr.kind.writable_on_ro_mount() {
            return Err(Errno::EROFS);
        }
        Ok(Resolved::Found(self.loc))
    }
}

fn skip_slashes(text: &[u8], mut pos: usize) -> usize {
    while text.get(pos) == Some(&b'/') {
        pos += 1;
    }
    pos
}
