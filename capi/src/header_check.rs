//! The committed header in `include/` must be exactly what cbindgen generates from this
//! source (the build script writes a fresh one to `OUT_DIR`). Run with `YX_UPDATE_HEADERS=1` to
//! rewrite the committed copy after a change to the API.

use std::path::Path;

fn fresh() -> String {
    let path = Path::new(env!("OUT_DIR")).join("yunxin_ecp.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn header_is_current() {
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/yunxin_ecp.h");
    let fresh = fresh();
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
            "include/yunxin_ecp.h differs from a fresh cbindgen generation (first difference at \
             line {line}). Regenerate it: YX_UPDATE_HEADERS=1 cargo test -p yunxin-ecp-capi header"
        );
    }
}

/// What the PHP wrapper's filter relies on: every preprocessor line stands alone, and the only
/// conditional blocks are the C++ ones, which hold nothing but `extern "C" {` or its `}`.
#[test]
fn header_preprocessor_lines_are_what_the_php_filter_expects() {
    let header = fresh();
    let mut in_cplusplus = false;
    for line in header.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#ifdef __cplusplus") {
            assert!(!in_cplusplus, "nested C++ block");
            in_cplusplus = true;
        } else if in_cplusplus && trimmed.starts_with("#endif") {
            in_cplusplus = false;
        } else if in_cplusplus {
            assert!(
                trimmed == "extern \"C\" {" || trimmed.starts_with('}'),
                "unexpected line in a C++ block: {line}"
            );
        } else if trimmed.starts_with('#') {
            let directive = trimmed.split_whitespace().next().unwrap_or("");
            assert!(
                ["#ifndef", "#define", "#endif", "#include"].contains(&directive),
                "a preprocessor line the PHP filter does not drop cleanly: {line}"
            );
            assert!(!trimmed.ends_with('\\'), "a continued directive: {line}");
        }
    }
    assert!(!in_cplusplus);
}
