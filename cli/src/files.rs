//! Reading the files a caller names (`--credentials-file`, `--body`, `--raw-request`,
//! `--captured-headers`): regular files only, and never more than a cap.
//!
//! Without both rules `--credentials-file /dev/zero` read until memory ran out, and a FIFO (or
//! `/dev/stdin` on a terminal) blocked forever with nothing on the screen to say why.

use std::io::Read;
use std::path::Path;

use crate::output::Failure;

/// Largest credentials file read: two lines and comments.
pub const MAX_CREDENTIALS_BYTES: u64 = 64 * 1024;

/// The bytes of the regular file at `path`, refused (naming `what`, the option, and the path)
/// when it is anything else or larger than `cap` bytes. Its kind is checked before it is
/// opened, since opening a FIFO for reading blocks until a writer comes; the size is checked
/// on what is read, since a file can grow after its length was looked at.
pub fn read_capped(path: &Path, what: &str, cap: u64) -> Result<Vec<u8>, Failure> {
    let shown = || path.display().to_string();
    let cannot =
        |e: std::io::Error| Failure::usage_local(format!("cannot read {what} {}: {e}", shown()));
    let not_regular = || {
        Failure::usage_local(format!(
            "cannot read {what} {}: not a regular file (a device, FIFO or directory is \
             refused; - reads standard input where the option allows it)",
            shown()
        ))
    };
    if !std::fs::metadata(path).map_err(cannot)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path).map_err(cannot)?;
    // The path may have been replaced between the two looks: check what was opened.
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(Failure::usage_local(format!(
            "cannot read {what} {}: larger than {cap} bytes",
            shown()
        )));
    }
    Ok(bytes)
}
