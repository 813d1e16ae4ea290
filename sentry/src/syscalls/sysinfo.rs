//! sysinfo(2): the host's numbers, with memory bounded by the container's
//! limit, uptime counted from the sandbox's boot, and only sandbox processes.

use nix::errno::Errno;

use super::Call;

pub fn sysinfo(call: &mut Call) -> Result<i64, Errno> {
    // SAFETY: sysinfo fills the zeroed struct we pass and nothing else.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid, writable `struct sysinfo`.
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return Err(Errno::last());
    }
    let unit = info.mem_unit.max(1) as u64;
    let host_total = info.totalram as u64 * unit;
    let host_free = info.freeram as u64 * unit;
    let total = call
        .kernel
        .mem_limit
        .map_or(host_total, |l| l.min(host_total));
    info.uptime = call.kernel.boot.elapsed().as_secs() as libc::c_long;
    info.totalram = total as libc::c_ulong;
    info.freeram = host_free.min(total) as libc::c_ulong;
    info.sharedram = (info.sharedram as u64 * unit).min(total) as libc::c_ulong;
    info.bufferram = (info.bufferram as u64 * unit).min(total) as libc::c_ulong;
    info.totalswap = 0;
    info.freeswap = 0;
    info.totalhigh = 0;
    info.freehigh = 0;
    info.mem_unit = 1;
    let procs = moat_runtime::proc::descendants(std::process::id() as i32).len();
    info.procs = procs.min(u16::MAX as usize) as u16;
    // SAFETY: viewing a plain-old-data C struct as bytes for copying out.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            &info as *const libc::sysinfo as *const u8,
            std::mem::size_of::<libc::sysinfo>(),
        )
    };
    let addr = call.args[0];
    call.mem()?.write(addr, bytes)?;
    Ok(0)
}
