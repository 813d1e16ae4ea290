//! `utimensat`, `utimes`, `futimesat` and `utime` on paths, as Linux's
//! `do_utimes`: the times are copied first (`EFAULT`); `utimensat` with
//! both `UTIME_OMIT` does nothing, not even walk the path; nanoseconds
//! (microseconds for `utimes`) out of range are `EINVAL`; a NULL path
//! with a descriptor is a call on the descriptor and runs natively, as
//! does an empty path with `AT_EMPTY_PATH`; unknown flags are `EINVAL`;
//! then the walk, `EROFS`, and `may_setattr`/`setattr_prepare`
//! ([`may_set_times`]): explicit times need the owner or `CAP_FOWNER`
//! (`EPERM`); no times, or both `UTIME_NOW`, also let a caller with
//! write permission (`EACCES`).

use moat_goferproto::{SetAttr, SetTime, Time};
use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::mutate::{read_only_first, with_target};
use super::path::read_path;
use super::Call;
use crate::fs::setattr::may_set_times;

/// The times asked for (`None`: now, both), as read from the caller.
type Times = Option<[libc::timespec; 2]>;

/// utimensat(dirfd, path, times, flags)
pub fn utimensat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, times, flags, ..] = call.args;
    let times = read_pairs(call, times, 1)?;
    if let Some([a, m]) = times {
        if a.tv_nsec == libc::UTIME_OMIT && m.tv_nsec == libc::UTIME_OMIT {
            return Ok(0);
        }
    }
    set_times(call, dirfd as i32, path, times, flags as i32)
}

/// utimes(path, times): `struct timeval[2]`.
pub fn utimes(call: &mut Call) -> Result<i64, Errno> {
    let [path, times, ..] = call.args;
    let times = read_pairs(call, times, 1000)?;
    set_times(call, libc::AT_FDCWD, path, times, 0)
}

/// futimesat(dirfd, path, times): `struct timeval[2]`.
pub fn futimesat(call: &mut Call) -> Result<i64, Errno> {
    let [dirfd, path, times, ..] = call.args;
    let times = read_pairs(call, times, 1000)?;
    set_times(call, dirfd as i32, path, times, 0)
}

/// utime(path, times): `struct utimbuf`, whole seconds.
pub fn utime(call: &mut Call) -> Result<i64, Errno> {
    let [path, times, ..] = call.args;
    let times = match times {
        0 => None,
        addr => {
            let b = call.mem()?.read(addr, 16)?;
            let sec = |i: usize| i64::from_ne_bytes(b[i..i + 8].try_into().unwrap_or_default());
            Some([ts(sec(0), 0), ts(sec(8), 0)])
        }
    };
    set_times(call, libc::AT_FDCWD, path, times, 0)
}

fn ts(tv_sec: i64, tv_nsec: i64) -> libc::timespec {
    libc::timespec { tv_sec, tv_nsec }
}

/// Two (seconds, fraction) pairs at `addr`, the fraction in units of
/// `scale` nanoseconds: timespecs (1) or timevals (1000, whose
/// microseconds must lie in `0..1_000_000`).
fn read_pairs(call: &mut Call, addr: u64, scale: i64) -> Result<Times, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let b = call.mem()?.read(addr, 32)?;
    let word = |i: usize| i64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let mut out = [ts(word(0), word(1)), ts(word(2), word(3))];
    if scale != 1 {
        for t in &mut out {
            if !(0..1_000_000).contains(&t.tv_nsec) {
                return Err(Errno::EINVAL);
            }
            t.tv_nsec *= scale;
        }
    }
    Ok(Some(out))
}

/// One time for the gofer: `None` leaves it alone.
fn set_time(t: &libc::timespec) -> Result<Option<SetTime>, Errno> {
    match t.tv_nsec {
        libc::UTIME_OMIT => Ok(None),
        libc::UTIME_NOW => Ok(Some(SetTime::Now)),
        nsec @ 0..=999_999_999 => Ok(Some(SetTime::At(Time {
            sec: t.tv_sec,
            nsec: nsec as u32,
        }))),
        _ => Err(Errno::EINVAL),
    }
}

fn set_times(
    call: &mut Call,
    dirfd: i32,
    path: u64,
    times: Times,
    flags: i32,
) -> Result<i64, Errno> {
    let (atime, mtime, explicit) = match &times {
        None => (Some(SetTime::Now), Some(SetTime::Now), false),
        Some([a, m]) => {
            let (a, m) = (set_time(a)?, set_time(m)?);
            let now = a == Some(SetTime::Now) && m == Some(SetTime::Now);
            (a, m, !now)
        }
    };
    if path == 0 && dirfd != libc::AT_FDCWD {
        call.continue_natively();
        return Ok(0);
    }
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(call, path)?;
    let walk = WalkFlags::at(flags);
    with_target(call, dirfd, &path, &walk, |call, files, t, status| {
        may_set_times(status, &t.stat, explicit).map_err(|e| read_only_first(files, t.node, e))?;
        let attr = SetAttr {
            atime,
            mtime,
            ..SetAttr::default()
        };
        t.set_stat(call, files, attr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_the_kernel_takes_them() {
        assert_eq!(set_time(&ts(5, libc::UTIME_OMIT)), Ok(None));
        assert_eq!(set_time(&ts(5, libc::UTIME_NOW)), Ok(Some(SetTime::Now)));
        assert_eq!(
            set_time(&ts(5, 7)),
            Ok(Some(SetTime::At(Time { sec: 5, nsec: 7 })))
        );
        assert_eq!(set_time(&ts(5, 1_000_000_000)), Err(Errno::EINVAL));
        assert_eq!(set_time(&ts(5, -1)), Err(Errno::EINVAL));
    }
}
