//! Any bytes: decoding never panics, and whatever decodes encodes back to
//! the same bytes (the encoding is canonical, so a frame has one meaning).
//! Run with `cargo fuzz run goferproto_decode` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_goferproto::{Reply, Request};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = Request::decode(data) {
        assert_eq!(req.encode().as_deref(), Ok(data), "{req:?}");
    }
    if let Ok(reply) = Reply::decode(data) {
        assert_eq!(reply.encode().as_deref(), Ok(data), "{reply:?}");
    }
});
