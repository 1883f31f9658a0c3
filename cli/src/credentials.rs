//! Where the command's credentials come from: the environment, or a file. Never a flag, which
//! every user of the machine can read in the process list.
//!
//! Values are kept verbatim (only the line break is dropped), so that `doctor` can point at a
//! secret with a stray space instead of the command quietly fixing one copy of it.

use std::path::Path;

use yunxin_ecp::signing::{ENV_APP_KEY, ENV_APP_SECRET};
use yunxin_ecp::{Credentials, Rule};
use zeroize::Zeroizing;

use crate::files::{MAX_CREDENTIALS_BYTES, read_capped};
use crate::output::{Failure, escape};

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
                escape(&self.source)
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
    let key = env_text(ENV_APP_KEY)?;
    let secret = env_text(ENV_APP_SECRET)?.map(Zeroizing::new);
    match (key, secret) {
        (None, None) => Ok(None),
        (Some(app_key), Some(app_secret)) => Ok(Some(RawCredentials {
            app_key,
            app_secret,
            source: "the environment".to_owned(),
        })),
        (None, Some(_)) => Err(missing(ENV_APP_KEY, ENV_APP_SECRET)),
        (Some(_), None) => Err(missing(ENV_APP_SECRET, ENV_APP_KEY)),
    }
}

/// The variable's value; `None` when it is not set. One that is set but not UTF-8 is refused
/// rather than taken as unset, which would blame its partner or ask for credentials that are
/// there.
fn env_text(name: &'static str) -> Result<Option<String>, Failure> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) => match value.into_string() {
            Ok(text) => Ok(Some(text)),
            Err(value) => {
                // The bytes may be the secret's: wiped, never shown.
                drop(Zeroizing::new(value.into_encoded_bytes()));
                Err(Failure::Invalid {
                    field: name,
                    rule: Rule::NotUnicode.code(),
                    message: format!("{name} is set but is not valid UTF-8 text"),
                })
            }
        },
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

/// `name` is unset while `partner` is set.
fn missing(name: &'static str, partner: &'static str) -> Failure {
    Failure::Invalid {
        field: name,
        rule: Rule::NotSet.code(),
        message: format!(
            "{name} is not set (but {partner} is): export it too, or pass --credentials-file PATH \
             (lines app_key=... and app_secret=...)"
        ),
    }
}

/// Reads `app_key=` / `app_secret=` (or `YUNXIN_APP_KEY=` / `YUNXIN_APP_SECRET=`, optionally
/// after `export `) lines; blank lines and `#` comments are skipped.
///
/// Errors name the file, the line and the rule, never the line's text: a line that breaks the
/// format is as likely as not the secret itself (`app_secret: S3CRET=x`).
fn from_file(path: &Path) -> Result<RawCredentials, Failure> {
    let shown = path.display().to_string();
    let bytes = Zeroizing::new(read_capped(
        path,
        "--credentials-file",
        MAX_CREDENTIALS_BYTES,
    )?);
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(Failure::usage_local(format!(
            "cannot read --credentials-file {shown}: not UTF-8 text"
        )));
    };
    warn_if_readable_by_others(path);
    let at = |number: usize, rule: &str| {
        Failure::usage_local(format!("--credentials-file {shown} line {number}: {rule}"))
    };
    // Each with the number of the line it came from.
    let mut key: Option<(usize, String)> = None;
    let mut secret: Option<(usize, Zeroizing<String>)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let assignment = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(at(number, "expected app_key=... or app_secret=..."));
        };
        // A second line for a name would silently win over the first: refused, so that the
        // key or secret used is never a surprise.
        match name.trim() {
            "app_key" | ENV_APP_KEY => match &key {
                Some((first, _)) => {
                    return Err(at(
                        number,
                        &format!("a second app_key (the first is on line {first})"),
                    ));
                }
                None => key = Some((number, value.to_owned())),
            },
            "app_secret" | ENV_APP_SECRET => match &secret {
                Some((first, _)) => {
                    return Err(at(
                        number,
                        &format!("a second app_secret (the first is on line {first})"),
                    ));
                }
                None => secret = Some((number, Zeroizing::new(value.to_owned()))),
            },
            _ => {
                return Err(at(
                    number,
                    "unknown name (expected app_key or app_secret, or YUNXIN_APP_KEY or \
                     YUNXIN_APP_SECRET)",
                ));
            }
        }
    }
    let key = key.map(|(_, k)| k);
    let secret = secret.map(|(_, s)| s);
    let source = path.display().to_string();
    match (key, secret) {
        (Some(app_key), Some(app_secret)) => Ok(RawCredentials {
            app_key,
            app_secret,
            source,
        }),
        (None, _) => Err(Failure::usage_local(format!(
            "--credentials-file {shown}: no app_key line"
        ))),
        (_, None) => Err(Failure::usage_local(format!(
            "--credentials-file {shown}: no app_secret line"
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
            escape(&path.display().to_string())
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}
