//! Credentials and the `CheckSum`: lowercase hex SHA1(AppSecret + Nonce + CurTime).

use std::ffi::{CString, c_char, c_void};
use std::ptr;

use serde::Serialize;
use yunxin_ecp::callback::body_md5;
use yunxin_ecp::signing::generate_nonce;
use yunxin_ecp::{AuthHeaders, Credentials, checksum};

use crate::args::{self, Out, into_handle};
use crate::error::{yx_error, yx_result};
use crate::panic::{ErrOut, guard};
use crate::strings::{bytes_arg, c_string, out_string, str_arg};

/// An app key and its secret. Create with `yx_credentials_new()` or
/// `yx_credentials_from_env()`, free with `yx_credentials_free()` (which wipes the secret).
///
/// Immutable: one handle may be used from any number of threads at once. Its secret never
/// appears in any message or JSON the library produces.
pub struct yx_credentials {
    pub(crate) inner: Credentials,
    app_key: CString,
}

impl yx_credentials {
    fn new(inner: Credentials) -> Self {
        let app_key = c_string(inner.app_key());
        yx_credentials { inner, app_key }
    }
}

/// The four authentication headers of one request (`AppKey`, `Nonce`, `CurTime`, `CheckSum`).
/// Nothing in it is secret. Free with `yx_auth_headers_free()`.
///
/// Immutable: may be read from any number of threads at once.
pub struct yx_auth_headers {
    pub(crate) inner: AuthHeaders,
    app_key: CString,
    nonce: CString,
    cur_time: CString,
    checksum: CString,
}

impl yx_auth_headers {
    fn new(inner: AuthHeaders) -> Self {
        yx_auth_headers {
            app_key: c_string(inner.app_key.as_str()),
            nonce: c_string(inner.nonce.as_str()),
            cur_time: c_string(inner.cur_time.as_str()),
            checksum: c_string(inner.checksum.as_str()),
            inner,
        }
    }
}

/// Checks and stores an app key and secret. The app key must be non-empty visible ASCII
/// (it goes into a header); the secret must be non-empty and may hold any UTF-8. The library
/// copies both: the caller may wipe its own copy right away.
///
/// On success writes a new handle to `*credentials_out`. Errors: `YX_VALIDATION` (field
/// `appKey` or `appSecret`), `YX_NULL_ARGUMENT`, `YX_INVALID_UTF8`.
///
/// # Safety
/// `app_key` and `app_secret` must be NULL or NUL-terminated strings; `credentials_out` and
/// `err_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_new(
    app_key: *const c_char,
    app_secret: *const c_char,
    credentials_out: *mut *mut yx_credentials,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (out, key, secret) = unsafe {
            (
                Out::new(credentials_out, "credentials_out")?,
                str_arg(app_key, "app_key")?,
                str_arg(app_secret, "app_secret")?,
            )
        };
        let creds = Credentials::new(key, secret)?;
        out.write(into_handle(yx_credentials::new(creds)));
        Ok(())
    })
}

/// Reads the app key and secret from the environment variables `YUNXIN_APP_KEY` and
/// `YUNXIN_APP_SECRET`. A missing variable is `YX_VALIDATION` with that variable's name as the
/// field and rule `"empty"`.
///
/// # Safety
/// `credentials_out` and `err_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_from_env(
    credentials_out: *mut *mut yx_credentials,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(credentials_out, "credentials_out")? };
        let creds = Credentials::from_env()?;
        out.write(into_handle(yx_credentials::new(creds)));
        Ok(())
    })
}

/// Frees credentials and wipes the secret from memory. `NULL` is a no-op.
///
/// # Safety
/// `credentials` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_free(credentials: *mut yx_credentials) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(credentials) }
}

/// The app key (public). Borrowed from the handle; NULL when `credentials` is NULL.
///
/// # Safety
/// `credentials` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_app_key(
    credentials: *const yx_credentials,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(credentials, ptr::null(), |c| c.app_key.as_ptr()) }
}

/// Signs with a given nonce and `CurTime` (UTC Unix **seconds**): the pure building block the
/// golden vectors test. The nonce must be 1 to 128 characters of `[A-Za-z0-9]`; a `cur_time`
/// that can only be milliseconds is refused (`YX_VALIDATION`, field `CurTime`, rule
/// `"milliseconds"`). Production code uses `yx_credentials_sign_now()`.
///
/// On success writes a new `yx_auth_headers` to `*headers_out`.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `nonce` NULL or a NUL-terminated string;
/// `headers_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_sign(
    credentials: *const yx_credentials,
    nonce: *const c_char,
    cur_time: u64,
    headers_out: *mut *mut yx_auth_headers,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (creds, nonce, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                str_arg(nonce, "nonce")?,
                Out::new(headers_out, "headers_out")?,
            )
        };
        let headers = creds.inner.sign(nonce, cur_time)?;
        out.write(into_handle(yx_auth_headers::new(headers)));
        Ok(())
    })
}

/// Signs with a fresh 32-character nonce from the OS CSPRNG and one reading of the clock, so
/// `CurTime` and `CheckSum` always agree. Call it once per request, including once per retry:
/// never reuse a nonce or a `CurTime`.
///
/// # Safety
/// `credentials` must be NULL or a live handle; `headers_out` and `err_out` NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_sign_now(
    credentials: *const yx_credentials,
    headers_out: *mut *mut yx_auth_headers,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (creds, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                Out::new(headers_out, "headers_out")?,
            )
        };
        let headers = creds.inner.sign_now()?;
        out.write(into_handle(yx_auth_headers::new(headers)));
        Ok(())
    })
}

/// Frees authentication headers. `NULL` is a no-op.
///
/// # Safety
/// `headers` must be NULL or a live handle, not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_auth_headers_free(headers: *mut yx_auth_headers) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(headers) }
}

/// The `AppKey` header value. Borrowed from the handle; NULL when `headers` is NULL.
///
/// # Safety
/// `headers` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_auth_headers_app_key(headers: *const yx_auth_headers) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(headers, ptr::null(), |h| h.app_key.as_ptr()) }
}

/// The `Nonce` header value. Borrowed from the handle; NULL when `headers` is NULL.
///
/// # Safety
/// `headers` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_auth_headers_nonce(headers: *const yx_auth_headers) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(headers, ptr::null(), |h| h.nonce.as_ptr()) }
}

/// The `CurTime` header value (decimal seconds). Borrowed from the handle; NULL when
/// `headers` is NULL.
///
/// # Safety
/// `headers` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_auth_headers_cur_time(
    headers: *const yx_auth_headers,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(headers, ptr::null(), |h| h.cur_time.as_ptr()) }
}

/// The `CheckSum` header value (40 lowercase hex characters). Borrowed from the handle; NULL
/// when `headers` is NULL.
///
/// # Safety
/// `headers` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_auth_headers_checksum(
    headers: *const yx_auth_headers,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(headers, ptr::null(), |h| h.checksum.as_ptr()) }
}

#[derive(Serialize)]
struct AuthHeadersJson<'a> {
    #[serde(flatten)]
    fields: &'a AuthHeaders,
    headers: [(&'static str, &'a str); 4],
}

/// Writes the headers as JSON to `*json_out` (free with `yx_string_free`):
/// `{"app_key":...,"nonce":...,"cur_time":...,"checksum":...,"headers":[["AppKey",...],
/// ["Nonce",...],["CurTime",...],["CheckSum",...]]}`.
///
/// # Safety
/// `headers` must be NULL or a live handle; `json_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_auth_headers_to_json(
    headers: *const yx_auth_headers,
    json_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (h, out) = unsafe {
            (
                args::handle(headers, "headers")?,
                Out::new(json_out, "json_out")?,
            )
        };
        let view = AuthHeadersJson {
            fields: &h.inner,
            headers: h.inner.pairs(),
        };
        out_string(out, crate::json::to_json(&view)?);
        Ok(())
    })
}

/// The bare digest: lowercase hex SHA1(`secret` + `nonce` + `cur_time`) over UTF-8 bytes,
/// without any check of its inputs. The same function signs callbacks, with the body's MD5 in
/// place of the nonce and `CurTime` in milliseconds. Writes 40 characters to `*checksum_out`
/// (free with `yx_string_free`).
///
/// # Safety
/// The three strings must be NULL or NUL-terminated; `checksum_out` and `err_out` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_checksum(
    secret: *const c_char,
    nonce: *const c_char,
    cur_time: *const c_char,
    checksum_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (secret, nonce, cur_time, out) = unsafe {
            (
                str_arg(secret, "secret")?,
                str_arg(nonce, "nonce")?,
                str_arg(cur_time, "cur_time")?,
                Out::new(checksum_out, "checksum_out")?,
            )
        };
        out_string(out, checksum(secret, nonce, cur_time));
        Ok(())
    })
}

/// Lowercase hex MD5 of `body_len` raw bytes, as a callback's `MD5` header carries it: 32
/// characters (not 64: the digest is hex-encoded once). `body` may be NULL when `body_len` is
/// 0. Free the result with `yx_string_free`.
///
/// # Safety
/// `body` must be NULL or valid for reads of `body_len` bytes; `md5_out` and `err_out` NULL
/// or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_body_md5(
    body: *const c_void,
    body_len: usize,
    md5_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let (body, out) = unsafe {
            (
                bytes_arg(body, body_len, "body")?,
                Out::new(md5_out, "md5_out")?,
            )
        };
        out_string(out, body_md5(body));
        Ok(())
    })
}

/// Draws a nonce of `len` lowercase hex characters (1 to 128) from the OS CSPRNG. Free the
/// result with `yx_string_free`.
///
/// # Safety
/// `nonce_out` and `err_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_generate_nonce(
    len: usize,
    nonce_out: *mut *mut c_char,
    err_out: *mut *mut yx_error,
) -> yx_result {
    // SAFETY: err_out is NULL or valid for a write: this function's contract.
    let err_out = unsafe { ErrOut::new(err_out) };
    guard(err_out, || {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(nonce_out, "nonce_out")? };
        out_string(out, generate_nonce(len)?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn sign_and_free() {
        let mut creds: *mut yx_credentials = ptr::null_mut();
        let mut headers: *mut yx_auth_headers = ptr::null_mut();
        let mut err: *mut yx_error = ptr::null_mut();
        // SAFETY: valid literals and out-parameters; handles freed once.
        unsafe {
            let r = yx_credentials_new(
                c"fd460d34e786e7754e505bc4fab0f027".as_ptr(),
                c"xxxxxxxx".as_ptr(),
                &mut creds,
                &mut err,
            );
            assert_eq!(r, yx_result::YX_OK);
            let r = yx_credentials_sign(
                creds,
                c"123456".as_ptr(),
                1440570500,
                &mut headers,
                &mut err,
            );
            assert_eq!(r, yx_result::YX_OK);
            let sum = CStr::from_ptr(yx_auth_headers_checksum(headers));
            assert_eq!(sum, c"90d19362ba1584524bbd9b375b006837a4f676db");
            // Out-parameters stay untouched on failure.
            let before = headers;
            let r = yx_credentials_sign(creds, c"12-34".as_ptr(), 1, &mut headers, &mut err);
            assert_eq!(r, yx_result::YX_VALIDATION);
            assert_eq!(headers, before);
            assert!(
                !CStr::from_ptr((*err).message.as_ptr())
                    .to_str()
                    .unwrap()
                    .contains("xxxxxxxx")
            );
            crate::error::yx_error_free(err);
            yx_auth_headers_free(headers);
            yx_credentials_free(creds);
        }
    }
}
