//! Where the command's credentials come from: the environment, or a file. Never a flag, which
//! every user of the machine can read in the process list.
//!
//! Values are kept verbatim (only the line break is dropped), so that `doctor` can point at a
//! secret with a stray space instead of the command quietly fixing one copy of it.

use std::path::Path;

use yunxin_ecp::signing::{ENV_APP_KEY, ENV_APP_SECRET};
use yunxin_ecp::{Credentials, Rule, ValidationError};
use zeroize::Zeroizing;

use crate::output::Failure;

/// The app key and secret as they were found, before any check.
pub struct RawCredentials {
    pub app_key: String,
    pub app_secret: Zeroizing<String>,
    /// Where they came from, for messages: `the environment` or the file's path.
    pub source: String,
}

impl RawCredentials {
    /// Builds the library's credentials, warning on standard error about a secret with
    /// surrounding whitespace (a copy-paste slip that makes every signature wrong).
    pub fn credentials(&self) -> Result<Credentials, Failure> {
        if self.app_secret.trim() != self.app_secret.as_str() {
            eprintln!(
                "yunxin-ecp: warning: the app secret from {} has surrounding whitespace; \
                 signatures will be refused if the console's secret has none (see `yunxin-ecp doctor`)",
                self.source
            );
        }
        Credentials::new(self.app_key.as_str(), self.app_secret.as_str())
            .map_err(|e| Failure::from(yunxin_ecp::Error::from(e)))
    }
}

/// Reads the credentials: from `file` when given, else from `$YUNXIN_APP_KEY` and
/// `$YUNXIN_APP_SECRET`. `None` when neither is set (some subcommands can do without).
pub fn load(file: Option<&Path>) -> Result<Option<RawCredentials>, Failure> {
    if let Some(path) = file {
        return from_file(path).map(Some);
    }
    let key = std::env::var(ENV_APP_KEY).ok();
    let secret = std::env::var(ENV_APP_SECRET).ok();
    match (key, secret) {
        (None, None) => Ok(None),
        (Some(app_key), Some(app_secret)) => Ok(Some(RawCredentials {
            app_key,
            app_secret: Zeroizing::new(app_secret),
            source: "the environment".to_owned(),
        })),
        (None, Some(_)) => Err(missing(ENV_APP_KEY)),
        (Some(_), None) => Err(missing(ENV_APP_SECRET)),
    }
}

/// Like [`load`], but credentials are required.
pub fn require(file: Option<&Path>) -> Result<Credentials, Failure> {
    match load(file)? {
        Some(raw) => raw.credentials(),
        None => Err(Failure::usage_local(format!(
            "no credentials: set ${ENV_APP_KEY} and ${ENV_APP_SECRET}, or pass \
             --credentials-file PATH (lines app_key=... and app_secret=...)"
        ))),
    }
}

fn missing(name: &'static str) -> Failure {
    Failure::from(yunxin_ecp::Error::from(ValidationError::new(
        name,
        Rule::Empty,
    )))
}

/// Reads `app_key=` / `app_secret=` (or `YUNXIN_APP_KEY=` / `YUNXIN_APP_SECRET=`, optionally
/// after `export `) lines; blank lines and `#` comments are skipped.
fn from_file(path: &Path) -> Result<RawCredentials, Failure> {
    // The error names the file, never its content.
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage_local(format!(
            "cannot read --credentials-file {}: {e}",
            path.display()
        ))
    })?;
    warn_if_readable_by_others(path);
    let (mut key, mut secret) = (None, None);
    for (number, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let assignment = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(Failure::usage_local(format!(
                "{} line {}: expected app_key=... or app_secret=...",
                path.display(),
                number + 1
            )));
        };
        match name.trim() {
            "app_key" | ENV_APP_KEY => key = Some(value.to_owned()),
            "app_secret" | ENV_APP_SECRET => secret = Some(value.to_owned()),
            other => {
                return Err(Failure::usage_local(format!(
                    "{} line {}: unknown name {other:?} (expected app_key or app_secret)",
                    path.display(),
                    number + 1
                )));
            }
        }
    }
    let source = path.display().to_string();
    match (key, secret) {
        (Some(app_key), Some(app_secret)) => Ok(RawCredentials {
            app_key,
            app_secret: Zeroizing::new(app_secret),
            source,
        }),
        (None, _) => Err(Failure::usage_local(format!("{source}: no app_key line"))),
        (_, None) => Err(Failure::usage_local(format!(
            "{source}: no app_secret line"
        ))),
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "yunxin-ecp: warning: {} can be read by other users (chmod 600 it)",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}
