//! libFuzzer entry point for the template instantiator;
//! see `symphony_fuzz::template::fuzz`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| symphony_fuzz::template::fuzz(data));
