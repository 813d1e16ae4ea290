//! execve(2) and execveat(2): checked, then run by the kernel.
//!
//! The sentry answers CONTINUE: the kernel reads the path and arguments
//! itself, so nothing here depends on the caller's pointers. What the
//! sentry learns is that the caller's address space is about to be
//! replaced, so the cached memory files of its threads are dropped. (The
//! path check moves here when the sentry owns the file system.)

use nix::errno::Errno;

use super::Call;

pub fn execve(call: &mut Call) -> Result<i64, Errno> {
    call.forget_memory();
    call.continue_natively();
    Ok(0)
}
