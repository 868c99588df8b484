//! libFuzzer entry point for the manifest parser (`Manifest::parse`);
//! see `symphony_fuzz::manifest::fuzz`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| symphony_fuzz::manifest::fuzz(data));
