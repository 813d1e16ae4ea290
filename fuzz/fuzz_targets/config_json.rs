//! `config.json` bytes, as a bundle hands them to moat: parsing and the
//! checks `moat create` makes must answer every input without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spec) = moat_runtime::bundle::parse(data) {
        // What the front ends read next from an accepted spec.
        let _ = spec.process().as_ref().map(|p| p.args());
        let _ = serde_json::to_vec(&spec);
    }
});
