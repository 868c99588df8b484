//! libFuzzer entry point for the frame decoder; see `symphony_fuzz::frame::fuzz`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| symphony_fuzz::frame::fuzz(data));
