//! The `CheckSum` shared by every YunXin server API: lowercase hex SHA1(AppSecret + Nonce + CurTime)
//! over UTF-8 bytes, sent in four headers together with `AppKey`, `Nonce` and `CurTime` (seconds).
//!
//! The secret lives only in [`Credentials`], which never prints it and wipes it on drop. Nonces come
//! from the operating system's CSPRNG and are drawn afresh for every request, because a fixed or
//! growing nonce is the most common bug in copied sample code.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::validate::{Rule, ValidationError, parse_decimal};

/// Length of the nonces [`Credentials::sign_now`] draws: 32 hex characters, 128 bits.
pub const DEFAULT_NONCE_LEN: usize = 32;
/// The service refuses nonces longer than this.
pub const MAX_NONCE_LEN: usize = 128;
/// Any `CurTime` at or above this is taken for milliseconds (it is the year 5138 in seconds).
const SECONDS_CEILING: u64 = 100_000_000_000;

/// The environment variable [`Credentials::from_env`] reads the app key from.
pub const ENV_APP_KEY: &str = "YUNXIN_APP_KEY";
/// The environment variable [`Credentials::from_env`] reads the app secret from.
pub const ENV_APP_SECRET: &str = "YUNXIN_APP_SECRET";

/// Lowercase hex SHA1 of `secret + nonce + cur_time`, hashed as UTF-8 bytes.
///
/// The same function signs call-end callbacks, with the body's MD5 in place of the nonce and
/// `CurTime` in milliseconds.
///
/// ```
/// assert_eq!(
///     yunxin_ecp::checksum("xxxxxxxx", "123456", "1440570500"),
///     "90d19362ba1584524bbd9b375b006837a4f676db"
/// );
/// ```
pub fn checksum(secret: &str, nonce: &str, cur_time: &str) -> Checksum {
    let mut hasher = Sha1::new();
    hasher.update(secret.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(cur_time.as_bytes());
    let mut hex = [0u8; 40];
    // A SHA1 digest is 20 bytes, exactly half the buffer, so encoding cannot fail.
    let _ = hex::encode_to_slice(hasher.finalize(), &mut hex);
    Checksum(hex)
}

/// A `CheckSum`: 40 lowercase hex characters, kept on the stack.
///
/// `checksum` sits on every request's path and building a `String` for its result costs as
/// much as the SHA1 itself; use [`as_str`](Self::as_str), compare with `==`, or convert with
/// `String::from` / `to_string()` when an owned string is needed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum([u8; 40]);

impl Checksum {
    /// The hex text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::ops::Deref for Checksum {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Checksum {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for Checksum {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Checksum {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Checksum {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl From<Checksum> for String {
    fn from(sum: Checksum) -> String {
        sum.as_str().to_owned()
    }
}

impl serde::Serialize for Checksum {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Lowercase hex of a digest, encoded on the stack and allocated once (`hex::encode` builds its
/// `String` one character at a time, which costs as much as the SHA1 itself).
pub(crate) fn lower_hex(digest: &[u8]) -> String {
    let mut buf = [0u8; 64];
    let encoded = buf
        .get_mut(..digest.len().saturating_mul(2))
        .and_then(|out| hex::encode_to_slice(digest, out).ok().map(|()| &*out))
        .and_then(|out| std::str::from_utf8(out).ok());
    match encoded {
        Some(hex) => hex.to_owned(),
        // Longer than any digest used here: the general path.
        None => hex::encode(digest),
    }
}

/// Draws a nonce of `len` lowercase hex characters from the OS CSPRNG.
///
/// `len` must be 1 to 128: the service refuses longer nonces with a 414.
///
/// ```
/// let n = yunxin_ecp::signing::generate_nonce(32)?;
/// assert_eq!(n.len(), 32);
/// assert!(n.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
/// assert!(yunxin_ecp::signing::generate_nonce(129).is_err());
/// # Ok::<(), yunxin_ecp::Error>(())
/// ```
pub fn generate_nonce(len: usize) -> Result<String, Error> {
    check_nonce_len(len)?;
    let mut bytes = [0u8; MAX_NONCE_LEN / 2];
    let bytes = &mut bytes[..len.div_ceil(2)];
    entropy::fill(bytes).map_err(|e| Error::Entropy(e.to_string()))?;
    let mut nonce = lower_hex(bytes);
    nonce.truncate(len);
    Ok(nonce)
}

/// OS randomness, drawn from `getrandom` a block at a time.
///
/// A `getrandom` call costs several hundred nanoseconds whatever its size, more than the whole
/// signature; one 1 KiB draw serves 64 default nonces. Each thread keeps its own block, and a
/// block is thrown away after a fork, so a forked child (a pre-fork web server worker) never hands
/// out the nonces its parent also holds. A fork is seen by a counter that a `pthread_atfork`
/// child handler bumps (registered on first use), or, where that could not be registered, by
/// the process id changing: reading the process id is a system call (about 140 ns, a third of
/// `sign_now`), reading the counter is not.
mod entropy {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    const BLOCK: usize = 1024;

    /// Forks seen by the registered handler.
    static FORKS: AtomicU64 = AtomicU64::new(0);
    /// Whether the handler is registered.
    static HOOKED: AtomicBool = AtomicBool::new(false);

    /// What the block was drawn under: a different one means a fork since.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Lineage {
        Unset,
        Pid(u32),
        Forks(u64),
    }

    struct Pool {
        lineage: Lineage,
        used: usize,
        block: [u8; BLOCK],
    }

    thread_local! {
        static POOL: RefCell<Pool> = const {
            RefCell::new(Pool { lineage: Lineage::Unset, used: BLOCK, block: [0; BLOCK] })
        };
    }

    /// Runs in every forked child before anything else there: only an atomic increment, which
    /// is async-signal-safe.
    extern "C" fn after_fork_in_child() {
        FORKS.fetch_add(1, Ordering::SeqCst);
    }

    /// Registers [`after_fork_in_child`] once per process.
    #[cfg(unix)]
    fn hook_forks() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // The one unsafe call of the crate: a C function given a handler that touches
            // nothing but an atomic. glibc forgets the handler when the library that registered
            // it is unloaded (dlclose), so an unloaded binding leaves no dangling pointer.
            #[allow(unsafe_code)]
            let registered = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
            if registered == 0 {
                HOOKED.store(true, Ordering::SeqCst);
            }
        });
    }

    #[cfg(not(unix))]
    fn hook_forks() {
        let _ = after_fork_in_child; // no fork here: the process id is never read either
    }

    fn lineage() -> Lineage {
        hook_forks();
        if HOOKED.load(Ordering::Acquire) {
            Lineage::Forks(FORKS.load(Ordering::Acquire))
        } else {
            Lineage::Pid(std::process::id())
        }
    }

    /// Fills `out` (at most one block) with OS randomness no other caller receives.
    pub(super) fn fill(out: &mut [u8]) -> Result<(), getrandom::Error> {
        if out.len() > BLOCK {
            return getrandom::fill(out);
        }
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let lineage = lineage();
            if pool.lineage != lineage || pool.used + out.len() > BLOCK {
                getrandom::fill(&mut pool.block)?;
                pool.lineage = lineage;
                pool.used = 0;
            }
            let start = pool.used;
            out.copy_from_slice(&pool.block[start..start + out.len()]);
            // Handed-out bytes are wiped so they can be neither reused nor read back later.
            pool.block[start..start + out.len()].fill(0);
            pool.used += out.len();
            Ok(())
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_bumped_counter_throws_the_block_away() {
            // A thread of its own: its pool starts empty.
            let used = std::thread::spawn(|| {
                let mut out = [0u8; 16];
                fill(&mut out).unwrap();
                fill(&mut out).unwrap();
                let before = POOL.with(|p| p.borrow().used);
                after_fork_in_child();
                fill(&mut out).unwrap();
                (before, POOL.with(|p| p.borrow().used))
            })
            .join()
            .unwrap();
            // 32 bytes of the first block were used; after the fork a fresh block has 16 used.
            assert_eq!(used, (32, 16));
        }
    }
}

fn check_nonce_len(len: usize) -> Result<(), ValidationError> {
    if !(1..=MAX_NONCE_LEN).contains(&len) {
        return Err(ValidationError::new(
            "nonce",
            Rule::Length {
                min: 1,
                max: MAX_NONCE_LEN,
                actual: len,
            },
        ));
    }
    Ok(())
}

/// Checks a caller-supplied nonce: 1 to 128 characters of `[A-Za-z0-9]`. Punctuation is refused
/// because it has caused intermittent 414s in the wild.
pub fn validate_nonce(nonce: &str) -> Result<(), ValidationError> {
    check_nonce_len(nonce.chars().count())?;
    if !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ValidationError::new(
            "nonce",
            Rule::Charset {
                allowed: "[A-Za-z0-9]",
            },
        ));
    }
    Ok(())
}

/// Checks a request `CurTime` and refuses values that can only be milliseconds.
pub fn validate_cur_time(cur_time: u64) -> Result<(), ValidationError> {
    if cur_time >= SECONDS_CEILING {
        return Err(ValidationError::new("CurTime", Rule::Milliseconds));
    }
    Ok(())
}

/// Seconds since the Unix epoch, from the system clock (0 if the clock is before 1970).
pub fn unix_seconds_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch, from the system clock (0 if the clock is before 1970).
pub fn unix_millis_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An app key and its secret.
///
/// `Debug` and `Display` show the app key only; the secret is zeroized when the value is dropped.
///
/// ```
/// let c = yunxin_ecp::Credentials::new("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx")?;
/// assert!(!format!("{c:?} {c}").contains("xxxxxxxx"));
/// # Ok::<(), yunxin_ecp::Error>(())
/// ```
#[derive(Clone)]
pub struct Credentials {
    app_key: String,
    app_secret: Zeroizing<String>,
}

impl Credentials {
    /// Builds credentials. The app key goes into a header, so it must be non-empty visible ASCII;
    /// the secret must be non-empty and may hold any UTF-8 but a control character: a secret
    /// read from a file or a terminal keeps its line break (`open(...).read()`, `$(cat ...)`
    /// with CRLF), and would sign every request wrongly without a word until the service
    /// answered 414.
    pub fn new(
        app_key: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let app_key = app_key.into();
        let app_secret = Zeroizing::new(app_secret.into());
        if app_key.is_empty() {
            return Err(ValidationError::new("appKey", Rule::Empty));
        }
        if !app_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "appKey",
                Rule::Charset {
                    allowed: "visible ASCII",
                },
            ));
        }
        if app_secret.is_empty() {
            return Err(ValidationError::new("appSecret", Rule::Empty));
        }
        if app_secret.chars().any(char::is_control) {
            let allowed = "text without control characters (a line break read with the secret?)";
            return Err(ValidationError::new("appSecret", Rule::Charset { allowed }));
        }
        Ok(Credentials {
            app_key,
            app_secret,
        })
    }

    /// Reads `YUNXIN_APP_KEY` and `YUNXIN_APP_SECRET`, the key first. A variable that is not
    /// set is a `NotSet` error naming it, one set but empty an `Empty` error naming it (so the
    /// message points at the variable to fix, not at the next one read).
    pub fn from_env() -> Result<Self, ValidationError> {
        let read = |name: &'static str| match std::env::var_os(name) {
            None => Err(ValidationError::new(name, Rule::NotSet)),
            Some(value) if value.is_empty() => Err(ValidationError::new(name, Rule::Empty)),
            Some(value) => value
                .into_string()
                .map_err(|_| ValidationError::new(name, Rule::NotUnicode)),
        };
        let key = read(ENV_APP_KEY)?;
        let secret = Zeroizing::new(read(ENV_APP_SECRET)?);
        Credentials::new(key, secret.as_str())
    }

    /// The public app key.
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// The secret, for the rare caller that must hash it itself. Keep it out of logs.
    pub fn expose_secret(&self) -> &str {
        &self.app_secret
    }

    /// Signs with a given nonce and `CurTime` (UTC Unix seconds). Pure: the building block that
    /// the golden vectors test.
    pub fn sign(&self, nonce: &str, cur_time: u64) -> Result<AuthHeaders, ValidationError> {
        validate_nonce(nonce)?;
        validate_cur_time(cur_time)?;
        let cur_time = cur_time.to_string();
        Ok(AuthHeaders {
            checksum: checksum(&self.app_secret, nonce, &cur_time).into(),
            app_key: self.app_key.clone(),
            nonce: nonce.to_owned(),
            cur_time,
        })
    }

    /// Signs with a fresh 32-character nonce and one reading of the clock, so `CurTime` and
    /// `CheckSum` always agree. Call it once per request, including once per retry.
    pub fn sign_now(&self) -> Result<AuthHeaders, Error> {
        let nonce = generate_nonce(DEFAULT_NONCE_LEN)?;
        Ok(self.sign(&nonce, unix_seconds_now())?)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppKey {} (secret redacted)", self.app_key)
    }
}

/// The four authentication headers of one request. Nothing here is secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthHeaders {
    /// `AppKey`.
    pub app_key: String,
    /// `Nonce`.
    pub nonce: String,
    /// `CurTime`, UTC Unix seconds as a decimal string.
    pub cur_time: String,
    /// `CheckSum`, 40 lowercase hex characters.
    pub checksum: String,
}

impl AuthHeaders {
    /// The headers as (name, value) pairs, in the order the documentation lists them.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("AppKey", &self.app_key),
            ("Nonce", &self.nonce),
            ("CurTime", &self.cur_time),
            ("CheckSum", &self.checksum),
        ]
    }

    /// The `CurTime` as a number.
    pub fn cur_time_secs(&self) -> u64 {
        parse_decimal(&self.cur_time).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_now_uses_fresh_nonces_and_one_clock_reading() {
        let c = Credentials::new("k", "s").unwrap();
        let a = c.sign_now().unwrap();
        let b = c.sign_now().unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(checksum("s", &a.nonce, &a.cur_time), a.checksum);
        assert!(a.cur_time_secs().abs_diff(unix_seconds_now()) <= 1);
    }

    #[test]
    fn a_secret_with_a_line_break_or_other_control_character_is_refused() {
        for secret in [
            "c0ffee\n",
            "c0ffee\r\n",
            "\tc0ffee",
            "c0\u{7f}ffee",
            "c0\u{85}ffee",
        ] {
            let e = Credentials::new("k", secret).unwrap_err();
            assert_eq!(
                (e.field, e.rule.code()),
                ("appSecret", "charset"),
                "{secret:?}"
            );
            assert!(!e.to_string().contains("c0ffee"), "{e}");
        }
        for secret in ["c0ffee", "密钥 with spaces", "a=b;c"] {
            assert!(Credentials::new("k", secret).is_ok(), "{secret:?}");
        }
    }

    #[test]
    fn refuses_millisecond_cur_time() {
        let c = Credentials::new("k", "s").unwrap();
        let e = c.sign("abc", 1_440_570_500_855).unwrap_err();
        assert_eq!((e.field, e.rule), ("CurTime", Rule::Milliseconds));
    }

    #[test]
    fn nonce_lengths() {
        for len in [1, 2, 31, 32, 127, 128] {
            assert_eq!(generate_nonce(len).unwrap().len(), len);
        }
        assert!(generate_nonce(0).is_err());
        assert!(generate_nonce(129).is_err());
    }

    #[test]
    fn nonces_never_repeat_across_blocks_and_threads() {
        let draw = || {
            (0..2000)
                .map(|_| generate_nonce(DEFAULT_NONCE_LEN).unwrap())
                .collect::<Vec<_>>()
        };
        let others: Vec<_> = (0..3).map(|_| std::thread::spawn(draw)).collect();
        let mut all: Vec<String> = draw();
        for t in others {
            all.extend(t.join().unwrap());
        }
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        // Not a constant or a short cycle: every hex digit shows up.
        let digits: std::collections::HashSet<char> = all.concat().chars().collect();
        assert_eq!(digits.len(), 16);
    }
}
