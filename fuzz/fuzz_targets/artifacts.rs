//! libFuzzer entry point for sequences of artifact-store operations
//! checked against a model;
//! see `symphony_fuzz::artifacts::fuzz`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| symphony_fuzz::artifacts::fuzz(data));
