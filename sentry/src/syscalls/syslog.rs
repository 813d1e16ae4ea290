//! syslog(2) (klogctl): the sandbox's own kernel log, which `dmesg` prints.
//! No host log is ever read.

use nix::errno::Errno;

use super::Call;

const READ: u64 = 2;
const READ_ALL: u64 = 3;
const READ_CLEAR: u64 = 4;
const SIZE_UNREAD: u64 = 9;
const SIZE_BUFFER: u64 = 10;

pub fn syslog(call: &mut Call) -> Result<i64, Errno> {
    let (kind, buf, len) = (
        call.args[0] as i32 as i64,
        call.args[1],
        call.args[2] as i32 as i64,
    );
    let log = &call.kernel.log;
    match kind as u64 {
        // close, open, clear, console off/on/level: nothing to do.
        0 | 1 | 5..=8 => Ok(0),
        READ | READ_ALL | READ_CLEAR => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            let n = log.len().min(len as usize);
            // READ_ALL returns the newest `len` bytes.
            let chunk = &log[log.len() - n..];
            call.mem()?.write(buf, chunk)?;
            Ok(n as i64)
        }
        SIZE_UNREAD | SIZE_BUFFER => Ok(log.len() as i64),
        _ => Err(Errno::EINVAL),
    }
}
