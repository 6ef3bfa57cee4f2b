#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| redarc::fuzz::redact(data));
