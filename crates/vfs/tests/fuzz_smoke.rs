//! The fuzz target's invariants on deterministic pseudo-random inputs, so
//! `cargo test` checks them without cargo-fuzz: half noise bytes, half
//! paths made of the fixture's names, `.`, `..` and slashes.

mod support {
    pub mod fuzz_walk;
}

const WORDS: [&[u8]; 14] = [
    b"a", b"b", b"c", b"d", b"up", b"abs", b"loop", b"escape", b"mnt", b"m", b"out", b"..", b".",
    b"c1",
];

fn input(state: &mut u64) -> Vec<u8> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    let mut data = vec![next() as u8, next() as u8];
    let words = next() % 12;
    let noise = next() % 2 == 0;
    for _ in 0..words {
        let r = next();
        if noise {
            data.push(r as u8);
        } else {
            data.extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize]);
            data.push(b'/');
            if r & 0x100 != 0 {
                data.pop();
            }
        }
    }
    data
}

#[test]
fn fuzz_invariants_on_random_inputs() {
    let fx = support::fuzz_walk::fixture();
    let mut state = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..50_000 {
        support::fuzz_walk::run_one(&fx, &input(&mut state));
    }
}
