#![no_main]
// Invariants: lambda_fpm::fuzz::event (src/fuzz.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_fpm::fuzz::event(data));
