//! The committed headers in `include/` must be exactly what cbindgen generates from this
//! source (the build script writes fresh ones to `OUT_DIR`). Run with `YX_UPDATE_HEADERS=1` to
//! rewrite the committed copies after a change to the API.

use std::path::Path;

fn check(name: &str) {
    let fresh_path = Path::new(env!("OUT_DIR")).join(name);
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../include")
        .join(name);
    let fresh = std::fs::read_to_string(&fresh_path)
        .unwrap_or_else(|e| panic!("{}: {e}", fresh_path.display()));
    if std::env::var_os("YX_UPDATE_HEADERS").is_some() {
        std::fs::write(&committed_path, &fresh)
            .unwrap_or_else(|e| panic!("{}: {e}", committed_path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()))
            + 1;
        panic!(
            "include/{name} differs from a fresh cbindgen generation (first difference at \
             line {line}). Regenerate it: YX_UPDATE_HEADERS=1 cargo test -p yunxin-ecp-ffi header"
        );
    }
}

#[test]
fn header_c_is_current() {
    check("yunxin_ecp.h");
}

#[test]
fn header_php_is_current() {
    check("yunxin_ecp_php.h");
}

#[test]
fn header_php_has_no_preprocessor_but_ffi_directives() {
    let php = std::fs::read_to_string(Path::new(env!("OUT_DIR")).join("yunxin_ecp_php.h")).unwrap();
    let directives: Vec<&str> = php
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .collect();
    assert_eq!(
        directives,
        [
            "#define FFI_SCOPE \"YUNXIN_ECP\"",
            "#define FFI_LIB \"libyunxin_ecp.so\""
        ]
    );
    assert!(
        php.starts_with("#define FFI_SCOPE"),
        "FFI::load reads directives only at the top"
    );
    assert!(!php.contains("extern \"C\""));
}
