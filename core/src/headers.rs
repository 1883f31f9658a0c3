//! The headers a web server received, as the verifiers read them.
//!
//! [`CallbackVerifier`](crate::CallbackVerifier) and
//! [`server::verify_request`](crate::server::verify_request) take headers as any iterable of
//! [`HeaderPair`]s: `(name, value)` tuples of anything that is `AsRef<str>` (`&str`, `String`,
//! ...), or references to such tuples, so a `&[(String, String)]` or a `&Vec<(String, String)>`
//! (the mock's own type) is passed as it is:
//!
//! ```
//! use yunxin_ecp::{CallbackVerifier, Credentials, callback::sign_callback};
//! let creds = Credentials::new("appkey", "secret")?;
//! let body = br#"{"callback":"{}","eventType":"10"}"#;
//! let received: Vec<(String, String)> = sign_callback(&creds, body, 1_700_000_000_000)
//!     .pairs()
//!     .iter()
//!     .map(|(k, v)| (k.to_string(), v.to_string()))
//!     .collect();
//! let verifier = CallbackVerifier::new(creds);
//! verifier.verify(body, &received, 1_700_000_000_000)?;          // &Vec<(String, String)>
//! verifier.verify(body, &received[..], 1_700_000_000_000)?;      // &[(String, String)]
//! verifier.verify(body, received.iter(), 1_700_000_000_000)?;    // an iterator of references
//! verifier.verify(body, received, 1_700_000_000_000)?;           // owned pairs
//! # Ok::<(), yunxin_ecp::Error>(())
//! ```
//!
//! With the `http` feature, [`from_http`] reads an [`http::HeaderMap`] (axum, hyper, reqwest and
//! most of the Rust web stack hold their headers in one).
//!
//! Both verifiers read headers by the same rules: names case-insensitive, values trimmed, and a
//! signature header that arrives twice refused. With duplicates, "the last one wins" here while
//! a proxy or log reads the first, so a forged copy beside a genuine one would pass one check
//! and mislead the other.

/// One received header: its name and its value as text.
///
/// Implemented for `(K, V)` with `K` and `V` both `AsRef<str>`, and for a reference to anything
/// that implements it (so iterating a `&[(String, String)]` fits).
pub trait HeaderPair {
    /// The header's name, in any case.
    fn name(&self) -> &str;
    /// The header's value.
    fn value(&self) -> &str;
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderPair for (K, V) {
    fn name(&self) -> &str {
        self.0.as_ref()
    }

    fn value(&self) -> &str {
        self.1.as_ref()
    }
}

impl<P: HeaderPair + ?Sized> HeaderPair for &P {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn value(&self) -> &str {
        (**self).value()
    }
}

/// What [`from_http`] reads for a value that is not visible ASCII: no digest, time or key is
/// ever spelled so, so such a header is refused as a mismatch (or a malformed `CurTime`).
#[cfg(feature = "http")]
pub const NOT_TEXT: &str = "\u{fffd}";

/// The headers of an [`http::HeaderMap`] (feature `http`), every value of every name, as
/// `(name, value)` pairs for the verifiers. A value that is not visible ASCII reads as
/// [`NOT_TEXT`], which no signature header matches.
///
/// `&HeaderMap` cannot be passed to the verifiers directly: its items are
/// `(&HeaderName, &HeaderValue)`, and `HeaderValue` is bytes, not `AsRef<str>`.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use yunxin_ecp::{CallbackVerifier, Credentials, callback::sign_callback, headers::from_http};
/// let creds = Credentials::new("appkey", "secret")?;
/// let body = br#"{"callback":"{}","eventType":"10"}"#;
/// let mut map = HeaderMap::new();
/// for (name, value) in sign_callback(&creds, body, 1_700_000_000_000).pairs() {
///     map.append(name, HeaderValue::from_str(value).unwrap());
/// }
/// CallbackVerifier::new(creds).verify(body, from_http(&map), 1_700_000_000_000)?;
/// # Ok::<(), yunxin_ecp::Error>(())
/// ```
#[cfg(feature = "http")]
pub fn from_http(map: &http::HeaderMap) -> impl Iterator<Item = (&str, &str)> + '_ {
    map.iter()
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap_or(NOT_TEXT)))
}

/// The values of the headers named in `names` (matched case-insensitively, values trimmed), or
/// the name of the first one given more than once.
pub(crate) fn pick<const N: usize, I>(
    headers: I,
    names: [&'static str; N],
) -> Result<[Option<String>; N], &'static str>
where
    I: IntoIterator,
    I::Item: HeaderPair,
{
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    for pair in headers {
        let name = pair.name().trim();
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(name)) {
            if found[i].is_some() {
                return Err(names[i]);
            }
            found[i] = Some(pair.value().trim().to_owned());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn names_are_case_insensitive_and_values_trimmed() {
        let got = pick([("md5", " a "), ("X-Other", "b")], ["MD5", "CheckSum"]);
        assert_eq!(got, Ok([Some("a".to_owned()), None]));
    }

    #[test]
    fn a_repeated_name_is_refused_whatever_its_case_or_value() {
        let got = pick([("CheckSum", "x"), ("checksum", "x")], ["MD5", "CheckSum"]);
        assert_eq!(got, Err("CheckSum"));
    }

    #[test]
    fn owned_pairs_references_to_pairs_and_slices_read_alike() {
        let owned: Vec<(String, String)> = vec![("MD5".into(), "a".into())];
        let want = Ok([Some("a".to_owned())]);
        assert_eq!(pick(&owned, ["MD5"]), want);
        assert_eq!(pick(&owned[..], ["MD5"]), want);
        assert_eq!(pick(owned.iter(), ["MD5"]), want);
        assert_eq!(pick(owned.clone(), ["MD5"]), want);
        let refs = [&owned[0]];
        assert_eq!(pick(&refs, ["MD5"]), want);
    }

    #[cfg(feature = "http")]
    #[test]
    fn a_header_map_gives_every_value_and_marks_bytes_that_are_not_text() {
        use http::{HeaderMap, HeaderValue};
        let mut map = HeaderMap::new();
        map.append("md5", HeaderValue::from_static("a"));
        map.append("MD5", HeaderValue::from_static("b"));
        assert_eq!(pick(super::from_http(&map), ["MD5"]), Err("MD5"));
        let mut map = HeaderMap::new();
        map.append("CurTime", HeaderValue::from_bytes(b"17\xff").unwrap());
        assert_eq!(
            pick(super::from_http(&map), ["CurTime"]),
            Ok([Some(super::NOT_TEXT.to_owned())])
        );
    }
}
