#![no_main]
// Invariants: lambda_fpm::fuzz::cgi_response (src/fuzz.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_fpm::fuzz::cgi_response(data));
