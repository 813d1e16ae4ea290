//! Round-trip costs through a real gofer, printed (no timing asserts):
//! `cargo test -p moat-gofer --release --test timing -- --nocapture`.

mod common;

use std::time::Instant;

use common::{name, spawn};

const N: u32 = 5000;

fn per_call(start: Instant, n: u32) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

#[test]
fn walk_stat_and_open_round_trips() {
    let (g, mut c) = spawn();
    let (root, _) = c.root();
    let (f, _, _) = c
        .create(root, &name("f"), libc::O_RDWR, (0o644, 0, 0))
        .expect("create");
    let n = name("f");
    for _ in 0..200 {
        let (h, _) = c.walk_stat(root, &n).expect("warm-up");
        c.close(&[h]).expect("close");
    }

    let t = Instant::now();
    let mut handles = Vec::with_capacity(N as usize);
    for _ in 0..N {
        handles.push(c.walk_stat(root, &n).expect("walk_stat").0);
    }
    let walk = per_call(t, N);
    let t = Instant::now();
    for chunk in handles.chunks(1000) {
        c.close(chunk).expect("close");
    }
    let close = per_call(t, N / 1000);

    let t = Instant::now();
    for _ in 0..N {
        drop(c.open(f, libc::O_RDONLY).expect("open"));
    }
    let open = per_call(t, N);

    let t = Instant::now();
    for _ in 0..N {
        c.stat(f).expect("stat");
    }
    let stat = per_call(t, N);

    let path = g.dir.path().join("f");
    let t = Instant::now();
    for _ in 0..N {
        std::fs::symlink_metadata(&path).expect("lstat");
    }
    let native = per_call(t, N);
    println!(
        "gofer round trips ({N} each): walk-stat {walk:.1} µs, open (fd donated) {open:.1} µs, \
         stat {stat:.1} µs, close of 1000 handles {close:.1} µs; native lstat {native:.2} µs"
    );
}
