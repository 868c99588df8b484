//! libFuzzer entry point for the workflow loader (JSON and msgpack);
//! see `symphony_fuzz::workflow::fuzz`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| symphony_fuzz::workflow::fuzz(data));
