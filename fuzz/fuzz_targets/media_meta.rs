#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| photobak_fuzz::media_meta(data));
