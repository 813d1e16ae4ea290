//! uname(2): moat's release and the sandbox's host and domain names.

use nix::errno::Errno;

use super::Call;
use crate::kernel::{RELEASE, VERSION};

const FIELD: usize = 65;

pub fn uname(call: &mut Call) -> Result<i64, Errno> {
    let hostname = call.kernel.hostname.lock().map_err(|_| Errno::EIO)?.clone();
    let domainname = call
        .kernel
        .domainname
        .lock()
        .map_err(|_| Errno::EIO)?
        .clone();
    let mut buf = [0u8; FIELD * 6];
    let fields = ["Linux", &hostname, RELEASE, VERSION, "x86_64", &domainname];
    for (i, f) in fields.iter().enumerate() {
        let bytes = f.as_bytes();
        let n = bytes.len().min(FIELD - 1);
        buf[i * FIELD..i * FIELD + n].copy_from_slice(&bytes[..n]);
    }
    let addr = call.args[0];
    call.mem()?.write(addr, &buf)?;
    Ok(0)
}
