//! Any bytes: decoding never panics, and whatever decodes encodes back to
//! the same bytes (the encoding is canonical, so a message has one
//! meaning); `is_synthetic` never panics on any path.
//! Run with `cargo fuzz run goferproto_decode` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_goferproto::{procfile, Message};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(m.encode(), data, "{m:?}");
    }
    let _ = procfile::is_synthetic(data);
});
