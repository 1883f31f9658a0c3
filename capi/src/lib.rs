//! The C ABI of yunxin-ecp as a Rust library: every `yx_` entry point, which the `ffi-c` crate
//! links into `libyunxin_ecp.so` / `libyunxin_ecp.a`, and the source of the header
//! `include/yunxin_ecp.h`, generated from this crate by cbindgen.
//!
//! The conventions (ownership, NULL, errors, panics, threads, versioning) are in
//! `ffi-c/README.md`, section "C API conventions"; the header repeats the part that concerns
//! each function.
//!
//! Module map, in dependency order (each imports only modules above it):
//! [`strings`] (strings handed out), [`error`] (result codes, error objects), [`mod@panic`] (the
//! guard every entry point runs in), [`args`] (pointers in, out-parameters, handles),
//! [`json`], [`report`] (reading an error), then the API in the order a program uses it:
//! [`signing`], [`requests`], [`responses`], [`callbacks`], [`deliveries`] (the duplicate
//! guard), [`server`], [`client`],
//! [`exchange`] (the client's decisions for a program with its own HTTP stack), [`logging`]
//! and [`mock`].
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// The exported types follow C naming (`yx_error`), as C callers see them.
#![allow(non_camel_case_types)]

pub mod strings;

pub mod error;

pub mod panic;

pub mod args;

pub mod json;

pub mod report;

pub mod signing;

pub mod requests;

pub mod responses;

pub mod callbacks;

pub mod deliveries;

pub mod server;

pub mod client;

pub mod exchange;

pub mod logging;

pub mod mock;

#[cfg(test)]
mod header_check;

use std::ffi::{CStr, c_char};

/// The version of the ABI this header describes. It changes whenever a function's signature or
/// meaning changes incompatibly; compare it with `yx_abi_version()` at startup to detect a header
/// and a library that do not belong together.
pub const YX_ABI_VERSION: u32 = 2;

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the package version holds a NUL byte"),
    };

/// The library's version, e.g. `"0.1.0"`: a static string, never freed.
///
/// Thread-safe; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn yx_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The ABI version of the loaded library. A program built against this header should check
/// `yx_abi_version() == YX_ABI_VERSION` before anything else.
///
/// Thread-safe; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn yx_abi_version() -> u32 {
    YX_ABI_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handles the header calls shareable between threads must be `Send + Sync`.
    #[test]
    fn shareable_handles_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<error::yx_error>();
        shareable::<signing::yx_credentials>();
        shareable::<signing::yx_headers>();
        shareable::<requests::yx_request>();
        shareable::<requests::yx_prepared_request>();
        shareable::<responses::yx_call_record>();
        shareable::<callbacks::yx_callback_verifier>();
        shareable::<callbacks::yx_callback_event>();
        shareable::<deliveries::yx_delivery_guard>();
        shareable::<client::yx_client>();
        shareable::<mock::yx_mock_server>();
    }

    /// An exchange is used by one thread at a time, but may move between threads.
    #[test]
    fn an_exchange_may_move_between_threads() {
        fn movable<T: Send>() {}
        movable::<exchange::yx_exchange>();
    }

    #[test]
    fn version_is_the_package_version() {
        // SAFETY: yx_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(yx_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(yx_abi_version(), YX_ABI_VERSION);
    }
}
