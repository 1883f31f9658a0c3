//! The C ABI's string and byte inputs: arbitrary C strings (any bytes but NUL, so invalid UTF-8
//! too) into the constructors, and arbitrary bytes into the JSON-reading entry points. Every
//! call must return a result code (never unwind or crash), write its out-parameter only on
//! success, and every handle, string and error must free cleanly.
#![no_main]

use std::ffi::{CString, c_char, c_void};
use std::ptr;

use ffi::callbacks::{yx_callback_event_free, yx_callback_event_to_json, yx_callback_parse};
use ffi::error::{yx_error, yx_result};
use ffi::report::{yx_error_free, yx_error_message};
use ffi::requests::{yx_request_free, yx_request_to_json, yx_start_call_new, yx_start_conf_new};
use ffi::responses::{yx_call_record_free, yx_call_record_to_json, yx_parse_query_response};
use ffi::server::yx_server_parse_request;
use ffi::signing::{yx_credentials_free, yx_credentials_new};
use ffi::strings::yx_string_free;
use libfuzzer_sys::fuzz_target;

/// Consumes an error object, reading its message first (it must be a valid C string).
fn drop_error(err: *mut yx_error) {
    // SAFETY: `err` is NULL or an error object the library made; freed once.
    unsafe {
        if !err.is_null() {
            let _ = std::ffi::CStr::from_ptr(yx_error_message(err));
        }
        yx_error_free(err);
    }
}

/// Reads a JSON string the library returned, then frees it.
fn take_json(json: *mut c_char) {
    // SAFETY: a string the library handed out, freed once.
    unsafe {
        if !json.is_null() {
            let text = std::ffi::CStr::from_ptr(json).to_bytes();
            assert!(serde_json::from_slice::<serde_json::Value>(text).is_ok());
        }
        yx_string_free(json);
    }
}

fuzz_target!(|data: &[u8]| {
    // Up to four C strings, split at the 0xFF bytes; each loses its NUL bytes.
    let mut parts = data.split(|b| *b == 0xff).map(|p| {
        CString::new(p.iter().copied().filter(|b| *b != 0).collect::<Vec<u8>>()).unwrap_or_default()
    });
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    let d = parts.next().unwrap_or_default();
    let body = data.as_ptr().cast::<c_void>();

    // SAFETY: every argument is a valid C string, byte range or out-parameter; every object
    // the library hands back is freed exactly once.
    unsafe {
        let mut err: *mut yx_error = ptr::null_mut();
        let mut creds = ptr::null_mut();
        let r = yx_credentials_new(a.as_ptr(), b.as_ptr(), &mut creds, &mut err);
        assert_eq!(matches!(r, yx_result::YX_OK), !creds.is_null());
        yx_credentials_free(creds);
        drop_error(err);

        let mut err: *mut yx_error = ptr::null_mut();
        let mut request = ptr::null_mut();
        let r = yx_start_call_new(a.as_ptr(), b.as_ptr(), c.as_ptr(), 100, &mut request, &mut err);
        assert_eq!(matches!(r, yx_result::YX_OK), !request.is_null());
        yx_request_free(request);
        drop_error(err);

        let callees = [c.as_ptr(), d.as_ptr()];
        let mut err: *mut yx_error = ptr::null_mut();
        let mut request = ptr::null_mut();
        let r = yx_start_conf_new(a.as_ptr(), b.as_ptr(), callees.as_ptr(), 2, 60, &mut request, &mut err);
        if matches!(r, yx_result::YX_OK) {
            let mut json = ptr::null_mut();
            yx_request_to_json(request, &mut json, ptr::null_mut());
            take_json(json);
        }
        yx_request_free(request);
        drop_error(err);

        let mut err: *mut yx_error = ptr::null_mut();
        let mut request = ptr::null_mut();
        let _ = yx_server_parse_request(a.as_ptr(), b.as_ptr(), body, data.len(), &mut request, &mut err);
        yx_request_free(request);
        drop_error(err);

        let mut err: *mut yx_error = ptr::null_mut();
        let mut record = ptr::null_mut();
        if matches!(yx_parse_query_response(200, body, data.len(), &mut record, &mut err), yx_result::YX_OK) {
            let mut json = ptr::null_mut();
            yx_call_record_to_json(record, &mut json, ptr::null_mut());
            take_json(json);
        }
        yx_call_record_free(record);
        drop_error(err);

        let mut err: *mut yx_error = ptr::null_mut();
        let mut event = ptr::null_mut();
        if matches!(yx_callback_parse(body, data.len(), &mut event, &mut err), yx_result::YX_OK) {
            let mut json = ptr::null_mut();
            yx_callback_event_to_json(event, &mut json, ptr::null_mut());
            take_json(json);
        }
        yx_callback_event_free(event);
        drop_error(err);
    }
});
