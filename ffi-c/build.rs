//! The shared library's SONAME, for release builds only.
//!
//! With `YUNXIN_ECP_SONAME=1` in the environment (scripts/dist.sh sets it for the C SDK), the
//! cdylib is linked with `-Wl,-soname,libyunxin_ecp.so.0`: programs linked against it record
//! `libyunxin_ecp.so.0` (the SDK ships that file and the `libyunxin_ecp.so` symlink, and
//! ffi-c/install.sh installs both), so a later incompatible library can sit beside it under
//! another name.
//!
//! Without it (a plain `cargo build`) the library has no SONAME, as before: programs linked with
//! `-L target/release -lyunxin_ecp` record `libyunxin_ecp.so`, the only file cargo writes, and
//! keep running from the build tree (the test suites and tests/faults link that way).

/// The SONAME: the library's name with the major version of its ABI line (0 while the package
/// is 0.x; yx_abi_version() is checked at run time besides).
const SONAME: &str = "libyunxin_ecp.so.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=YUNXIN_ECP_SONAME");
    let wanted = std::env::var("YUNXIN_ECP_SONAME").unwrap_or_default();
    let on = match wanted.as_str() {
        "" | "0" => false,
        "1" => true,
        other => panic!(
            "YUNXIN_ECP_SONAME must be 1 (set the SONAME {SONAME}) or 0/unset, not {other:?}"
        ),
    };
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if on && linux {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    }
}
