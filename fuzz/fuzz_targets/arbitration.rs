//! libFuzzer entry point for `arbitration.toml` and the arbiter it
//! configures; see `symphony_fuzz::arbitration::fuzz`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| symphony_fuzz::arbitration::fuzz(data));
