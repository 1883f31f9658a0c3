//! Credentials, the `CheckSum` (lowercase hex SHA1(AppSecret + Nonce + CurTime)) and the
//! header lists that signing and prepared requests hand out.

use std::ffi::{CString, c_char, c_void};
use std::ptr;

use yunxin_ecp::callback::body_md5;
use yunxin_ecp::signing::{DEFAULT_NONCE_LEN, generate_nonce};
use yunxin_ecp::{AuthHeaders, Credentials, checksum};

use crate::args::{self, Out, bytes_arg, opt_str_arg, str_arg};
use crate::error::{Fallible, yx_error, yx_result};
use crate::panic::fallible;
use crate::strings::c_string;

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
        yx_credentials {
            app_key: c_string(inner.app_key()),
            inner,
        }
    }
}

/// A list of HTTP headers, in the order to send them: the four authentication headers from
/// `yx_credentials_sign()` (`AppKey`, `Nonce`, `CurTime`, `CheckSum`: not the secret, but
/// together a key that authorises any request for the five minutes `CurTime` is accepted, so
/// never log them), all the headers of a prepared request, or the five headers of a signed
/// test callback from `yx_callback_sign()`. Read with `yx_headers_count()`,
/// `yx_headers_name()` and `yx_headers_value()`.
///
/// Immutable: may be read from any number of threads at once.
pub struct yx_headers {
    pairs: Vec<(CString, CString)>,
}

impl yx_headers {
    pub(crate) fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        yx_headers {
            pairs: pairs
                .into_iter()
                .map(|(n, v)| (c_string(n), c_string(v)))
                .collect(),
        }
    }
}

/// Signs with `nonce`, or a fresh one when NULL, and `cur_time`, or the clock when 0.
pub(crate) fn sign(
    credentials: &Credentials,
    nonce: Option<&str>,
    cur_time: u64,
) -> Fallible<AuthHeaders> {
    Ok(match (nonce, cur_time) {
        (None, 0) => credentials.sign_now()?,
        (None, t) => credentials.sign(&generate_nonce(DEFAULT_NONCE_LEN)?, t)?,
        (Some(n), 0) => credentials.sign(n, yunxin_ecp::signing::unix_seconds_now())?,
        (Some(n), t) => credentials.sign(n, t)?,
    })
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
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (out, key, secret) = unsafe {
            (
                Out::new(credentials_out, "credentials_out")?,
                str_arg(app_key, "app_key")?,
                str_arg(app_secret, "app_secret")?,
            )
        };
        let inner = Credentials::new(key, secret)?;
        out.handle(yx_credentials::new(inner));
        Ok(())
    })
}

/// Reads the app key and secret from the environment variables `YUNXIN_APP_KEY` and
/// `YUNXIN_APP_SECRET` (the key checked first). A variable that is not set is `YX_VALIDATION`
/// with that variable's name as the field and rule `"not_set"`; one set but empty, rule
/// `"empty"`.
///
/// # Safety
/// `credentials_out` and `err_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_from_env(
    credentials_out: *mut *mut yx_credentials,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(credentials_out, "credentials_out")? };
        let inner = Credentials::from_env()?;
        out.handle(yx_credentials::new(inner));
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

/// The app key (public, unlike the secret beside it). Borrowed from the handle; NULL when
/// `credentials` is NULL.
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

/// Signs one request: writes its four authentication headers to `*headers_out` (free with
/// `yx_headers_free`). Call it once per request, including once per retry: never reuse a nonce
/// or a `CurTime`.
///
/// - `nonce`: NULL for a fresh 32-character nonce from the OS CSPRNG (what production code
///   does), or 1 to 128 characters of `[A-Za-z0-9]` (what the golden vectors do).
/// - `cur_time`: 0 for one reading of the clock, or UTC Unix **seconds**; a value that can only
///   be milliseconds is refused (`YX_VALIDATION`, field `CurTime`, rule `"milliseconds"`).
///
/// # Safety
/// `credentials` must be NULL or a live handle; `nonce` NULL or a NUL-terminated string;
/// `headers_out` and `err_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_credentials_sign(
    credentials: *const yx_credentials,
    nonce: *const c_char,
    cur_time: u64,
    headers_out: *mut *mut yx_headers,
    err_out: *mut *mut yx_error,
) -> yx_result {
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (creds, nonce, out) = unsafe {
            (
                args::handle(credentials, "credentials")?,
                opt_str_arg(nonce, "nonce")?,
                Out::new(headers_out, "headers_out")?,
            )
        };
        let auth = sign(&creds.inner, nonce, cur_time)?;
        out.handle(yx_headers::new(auth.pairs()));
        Ok(())
    })
}

/// Frees a header list. `NULL` is a no-op. Never free the list a prepared request lends out.
///
/// # Safety
/// `headers` must be NULL or a handle from `yx_credentials_sign()` or `yx_callback_sign()`,
/// not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_headers_free(headers: *mut yx_headers) {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::free_handle(headers) }
}

/// How many headers the list holds; 0 when `headers` is NULL.
///
/// # Safety
/// `headers` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_headers_count(headers: *const yx_headers) -> usize {
    // SAFETY: forwarded from this function's contract.
    unsafe { args::read(headers, 0, |h| h.pairs.len()) }
}

/// The name of header `index` (from 0). Borrowed from the list; NULL when `headers` is NULL or
/// `index` is out of range.
///
/// # Safety
/// `headers` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_headers_name(
    headers: *const yx_headers,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(headers, ptr::null(), |h| {
            h.pairs.get(index).map_or(ptr::null(), |(n, _)| n.as_ptr())
        })
    }
}

/// The value of header `index` (from 0). Borrowed from the list; NULL when `headers` is NULL
/// or `index` is out of range.
///
/// # Safety
/// `headers` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yx_headers_value(
    headers: *const yx_headers,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        args::read(headers, ptr::null(), |h| {
            h.pairs.get(index).map_or(ptr::null(), |(_, v)| v.as_ptr())
        })
    }
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
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (secret, nonce, cur_time, out) = unsafe {
            (
                str_arg(secret, "secret")?,
                str_arg(nonce, "nonce")?,
                str_arg(cur_time, "cur_time")?,
                Out::new(checksum_out, "checksum_out")?,
            )
        };
        out.string(checksum(secret, nonce, cur_time));
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
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let (body, out) = unsafe {
            (
                bytes_arg(body, body_len, "body")?,
                Out::new(md5_out, "md5_out")?,
            )
        };
        out.string(body_md5(body));
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
    fallible!(err_out, {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { Out::new(nonce_out, "nonce_out")? };
        out.string(generate_nonce(len)?);
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
        let mut headers: *mut yx_headers = ptr::null_mut();
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
            assert_eq!(yx_headers_count(headers), 4);
            assert_eq!(CStr::from_ptr(yx_headers_name(headers, 3)), c"CheckSum");
            assert_eq!(
                CStr::from_ptr(yx_headers_value(headers, 3)),
                c"90d19362ba1584524bbd9b375b006837a4f676db"
            );
            assert!(yx_headers_value(headers, 4).is_null());
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
            crate::report::yx_error_free(err);
            yx_headers_free(headers);
            // NULL and 0 sign afresh from the clock.
            let r = yx_credentials_sign(creds, ptr::null(), 0, &mut headers, &mut err);
            assert_eq!(r, yx_result::YX_OK);
            assert_eq!(
                CStr::from_ptr(yx_headers_value(headers, 1))
                    .to_bytes()
                    .len(),
                32
            );
            yx_headers_free(headers);
            yx_credentials_free(creds);
        }
    }
}
