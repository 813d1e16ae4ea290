//! Where a walk is: the chain of directories from the root to a node.
//!
//! A [`Location`] is what the sentry keeps for a process's root and cwd and
//! for every directory descriptor. It remembers each step's mount, node and
//! name, which is what makes `..` work without asking a backend for parents
//! (the gofer never resolves `..`): `..` drops the last step, and at a
//! mount's root that lands on the directory holding the mount point, in the
//! parent mount. The names also give `getcwd` and `/proc/<pid>/cwd`.

use crate::backend::{Attr, Node};
use crate::mount::MountId;

/// One step of a [`Location`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub mount: MountId,
    pub node: Node,
    pub attr: Attr,
    /// The name this step was reached by (empty for the root).
    pub name: Box<[u8]>,
}

/// A node and the directories leading to it from the container root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    steps: Vec<Step>,
}

impl Location {
    /// A location with only a root step.
    pub fn new_root(mount: MountId, node: Node, attr: Attr) -> Location {
        Location {
            steps: vec![Step {
                mount,
                node,
                attr,
                name: Box::default(),
            }],
        }
    }

    fn last(&self) -> &Step {
        // `steps` is never empty: built with a root step, `pop` keeps one.
        &self.steps[self.steps.len() - 1]
    }

    pub fn mount(&self) -> MountId {
        self.last().mount
    }

    pub fn node(&self) -> Node {
        self.last().node
    }

    pub fn attr(&self) -> Attr {
        self.last().attr
    }

    /// The name of the last step (empty at the root).
    pub fn name(&self) -> &[u8] {
        &self.last().name
    }

    /// Number of steps (1 at the root).
    pub fn depth(&self) -> usize {
        self.steps.len()
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub(crate) fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Drops the last step unless only the root is left.
    pub(crate) fn pop(&mut self) -> Option<Step> {
        if self.steps.len() > 1 {
            self.steps.pop()
        } else {
            None
        }
    }

    /// The absolute path of this location (`/` at the root).
    pub fn path(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for step in &self.steps[1..] {
            out.push(b'/');
            out.extend_from_slice(&step.name);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        out
    }

    /// Whether `self` is `ancestor` or below it.
    pub fn is_within(&self, ancestor: &Location) -> bool {
        let n = ancestor.steps.len();
        self.steps.len() >= n
            && self.steps[..n]
                .iter()
                .zip(&ancestor.steps)
                .all(|(a, b)| (a.mount, a.node) == (b.mount, b.node))
    }
}
