//! The C ABI's cost, measured in one process:
//! 1. `yx_checksum` (C strings in, an owned C string out, freed with `yx_string_free`) against
//!    the Rust `checksum` call: the FFI overhead;
//! 2. memory: one million sign + build + prepare + parse + verify cycles through the C entry
//!    points, every handle and string freed, with the resident set size before and after.
//!
//! Run: `cargo run --release -p yunxin-ecp-bench --bin ffi`

use std::ffi::{CStr, CString, c_char, c_void};
use std::hint::black_box;
use std::ptr;

use ffi::args::yx_pair;
use ffi::callbacks::{
    yx_callback_verifier, yx_callback_verifier_free, yx_callback_verifier_new,
    yx_callback_verifier_verify,
};
use ffi::error::yx_result;
use ffi::requests::{
    yx_prepared_request, yx_prepared_request_free, yx_request, yx_request_free, yx_request_prepare,
    yx_start_call_new,
};
use ffi::responses::yx_parse_start_response;
use ffi::signing::{yx_checksum, yx_credentials, yx_credentials_free, yx_credentials_new};
use ffi::strings::yx_string_free;
use yunxin_ecp::callback::sign_callback;
use yunxin_ecp::{Credentials, checksum};
use yunxin_ecp_bench::{ns_per_call, report, rss_kib};

const CYCLES: u32 = 1_000_000;

fn ok(r: yx_result) {
    assert!(matches!(r, yx_result::YX_OK), "C entry point failed: {r:?}");
}

fn main() {
    let (secret, nonce, cur_time) = (
        c"xxxxxxxx",
        c"0123456789abcdef0123456789abcdef",
        c"1700000000",
    );
    // Both sides agree before they are timed.
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: valid C strings and out-parameter; the result is freed below.
    unsafe {
        ok(yx_checksum(
            secret.as_ptr(),
            nonce.as_ptr(),
            cur_time.as_ptr(),
            &mut out,
            ptr::null_mut(),
        ));
        assert_eq!(
            checksum("xxxxxxxx", "0123456789abcdef0123456789abcdef", "1700000000"),
            CStr::from_ptr(out).to_str().unwrap()
        );
        yx_string_free(out);
    }
    let (rounds, n) = (7, 400_000);
    let (mut rust, mut c_abi) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        rust = rust.min(ns_per_call(rounds, n, || {
            black_box(checksum(
                black_box("xxxxxxxx"),
                black_box("0123456789abcdef0123456789abcdef"),
                black_box("1700000000"),
            ));
        }));
        c_abi = c_abi.min(ns_per_call(rounds, n, || {
            let mut out: *mut c_char = ptr::null_mut();
            // SAFETY: as above.
            unsafe {
                yx_checksum(
                    black_box(secret.as_ptr()),
                    nonce.as_ptr(),
                    cur_time.as_ptr(),
                    &mut out,
                    ptr::null_mut(),
                );
                yx_string_free(black_box(out));
            }
        }));
    }
    report(
        "C ABI yx_checksum + yx_string_free",
        c_abi,
        "Rust checksum()",
        rust,
        "small FFI overhead",
    );

    memory_cycles();
}

/// One million full cycles through the C entry points; prints RSS before and after.
fn memory_cycles() {
    let body = br#"{"callback":"{\"session\":\"s\",\"durationSec\":61}","eventType":"10"}"#;
    let now: u64 = 1_700_000_000_000;
    let signed = sign_callback(
        &Credentials::new("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx").unwrap(),
        body,
        now,
    );
    let names: Vec<CString> = signed
        .pairs()
        .iter()
        .map(|(k, _)| CString::new(*k).unwrap())
        .collect();
    let values: Vec<CString> = signed
        .pairs()
        .iter()
        .map(|(_, v)| CString::new(*v).unwrap())
        .collect();
    let headers: Vec<yx_pair> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| yx_pair {
            name: n.as_ptr(),
            value: v.as_ptr(),
        })
        .collect();
    let reply = br#"{"code":200,"obj":{"session":"7c4b7673-4f70-4164-82a0-decb84d77914"}}"#;

    let mut creds: *mut yx_credentials = ptr::null_mut();
    let mut verifier: *mut yx_callback_verifier = ptr::null_mut();
    // SAFETY: valid C strings and out-parameters; both handles are freed at the end.
    unsafe {
        ok(yx_credentials_new(
            c"fd460d34e786e7754e505bc4fab0f027".as_ptr(),
            c"xxxxxxxx".as_ptr(),
            &mut creds,
            ptr::null_mut(),
        ));
        ok(yx_callback_verifier_new(
            creds,
            ptr::null(),
            &mut verifier,
            ptr::null_mut(),
        ));
    }
    let cycle = || {
        // SAFETY: every pointer is a valid C string, handle or out-parameter, and every handle
        // and string made here is freed before the closure returns.
        unsafe {
            let mut request: *mut yx_request = ptr::null_mut();
            ok(yx_start_call_new(
                c"liuxuanlin".as_ptr(),
                c"13888888888".as_ptr(),
                c"13777777777".as_ptr(),
                100,
                &mut request,
                ptr::null_mut(),
            ));
            let mut prepared: *mut yx_prepared_request = ptr::null_mut();
            ok(yx_request_prepare(
                request,
                creds,
                c"http://127.0.0.1:1".as_ptr(),
                c"0123456789abcdef".as_ptr(),
                1_700_000_000,
                &mut prepared,
                ptr::null_mut(),
            ));
            let mut session: *mut c_char = ptr::null_mut();
            ok(yx_parse_start_response(
                ffi::requests::yx_endpoint::YX_ENDPOINT_START_CALL as i32,
                200,
                reply.as_ptr().cast::<c_void>(),
                reply.len(),
                &mut session,
                ptr::null_mut(),
            ));
            ok(yx_callback_verifier_verify(
                verifier,
                body.as_ptr().cast::<c_void>(),
                body.len(),
                headers.as_ptr(),
                headers.len(),
                now,
                ptr::null_mut(),
            ));
            yx_string_free(session);
            yx_prepared_request_free(prepared);
            yx_request_free(request);
        }
    };
    for _ in 0..10_000 {
        cycle(); // warm-up: allocator arenas and thread-locals reach their steady size
    }
    let before = rss_kib();
    let began = std::time::Instant::now();
    for _ in 0..CYCLES {
        cycle();
    }
    let secs = began.elapsed().as_secs_f64();
    let after = rss_kib();
    println!(
        "C ABI memory: {CYCLES} sign + build + prepare + parse + verify cycles ({:.2} us each): RSS {before} KiB before, {after} KiB after, growth {} KiB (target < 1024)",
        secs * 1e6 / f64::from(CYCLES),
        after as i64 - before as i64
    );
    // SAFETY: the handles made above, freed once.
    unsafe {
        yx_callback_verifier_free(verifier);
        yx_credentials_free(creds);
    }
}
