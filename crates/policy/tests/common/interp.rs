//! A classic-BPF interpreter for seccomp programs, for tests: it accepts
//! what the kernel's checker accepts of the instructions moat emits, and
//! runs a program on one `struct seccomp_data`.

use libc::sock_filter;

const SECCOMP_DATA_LEN: u32 = 64;

/// Panic unless the kernel would load `prog`: 1..=4096 instructions, known
/// opcodes, aligned loads inside `seccomp_data`, jumps inside the program,
/// a return last.
pub fn validate(prog: &[sock_filter]) {
    assert!(
        !prog.is_empty() && prog.len() <= 4096,
        "length {}",
        prog.len()
    );
    for (pc, i) in prog.iter().enumerate() {
        let next = pc + 1;
        match i.code {
            0x20 => assert!(
                i.k % 4 == 0 && i.k < SECCOMP_DATA_LEN,
                "load of {} at {pc}",
                i.k
            ),
            0x54 | 0x06 => {}
            0x05 => assert!(next + (i.k as usize) < prog.len(), "ja out at {pc}"),
            0x15 | 0x25 | 0x35 | 0x45 => {
                let far = usize::from(i.jt.max(i.jf));
                assert!(next + far < prog.len(), "jump out at {pc}");
            }
            c => panic!("opcode {c:#x} at {pc}"),
        }
    }
    assert_eq!(
        prog[prog.len() - 1].code,
        0x06,
        "last instruction is no return"
    );
}

/// Run `prog` on (arch, nr, args); returns the `SECCOMP_RET_*` value.
pub fn run(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::with_capacity(SECCOMP_DATA_LEN as usize);
    data.extend_from_slice(&nr.to_le_bytes());
    data.extend_from_slice(&arch.to_le_bytes());
    data.extend_from_slice(&0x7f00_0000_1000u64.to_le_bytes()); // instruction pointer
    for a in args {
        data.extend_from_slice(&a.to_le_bytes());
    }
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            0x20 => {
                let k = i.k as usize;
                let mut w = [0u8; 4];
                w.copy_from_slice(&data[k..k + 4]);
                acc = u32::from_le_bytes(w);
            }
            0x54 => acc &= i.k,
            0x06 => return i.k,
            0x05 => pc += i.k as usize,
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match i.code {
                    0x15 => acc == i.k,
                    0x25 => acc > i.k,
                    0x35 => acc >= i.k,
                    _ => acc & i.k != 0,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            c => panic!("opcode {c:#x} at {}", pc - 1),
        }
    }
}
