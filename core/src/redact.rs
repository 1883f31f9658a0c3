//! Keeping a request's signature out of what its answer echoes back.
//!
//! A gateway or proxy in front of the service may answer with an error page that repeats the
//! request's headers; the service's own `desc` may quote them. Whatever the answer says ends up
//! in an error's message and raw body, and from there in logs, exception texts and a terminal.
//! The `Nonce` and `CheckSum` of a request are a five-minute key to its exact body, and the
//! secret is the key to everything, so they are replaced before any of that text leaves the
//! client.

/// What stands where a signature value or the secret was.
pub const REDACTED: &str = "[redacted]";

/// Shortest value redacted: a nonce may be one character long, and hiding every occurrence of
/// one character would destroy the text while protecting nothing (the `CheckSum` is always 40
/// hexadecimal characters and the default nonce 32).
pub const MIN_REDACTED_CHARS: usize = 6;

/// Replaces every occurrence of each of `values` in `text` (ASCII letters in either case, as a
/// gateway may print hex in upper case) with [`REDACTED`].
///
/// ```
/// use yunxin_ecp::redact::redact;
/// let mut text = String::from("echo: CheckSum: 0A1B2C3D4E5F");
/// redact(&mut text, &["0a1b2c3d4e5f"]);
/// assert_eq!(text, "echo: CheckSum: [redacted]");
/// ```
pub fn redact(text: &mut String, values: &[&str]) {
    for value in values {
        if value.len() < MIN_REDACTED_CHARS || value.len() > text.len() {
            continue;
        }
        let needle = value.to_ascii_lowercase();
        // ASCII lowercasing keeps every byte offset, so positions found in the lowered copy
        // are positions in `text`, and they fall on character boundaries of both.
        let lowered = text.to_ascii_lowercase();
        if !lowered.contains(&needle) {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (at, _) in lowered.match_indices(&needle) {
            out.push_str(&text[last..at]);
            out.push_str(REDACTED);
            last = at + needle.len();
        }
        out.push_str(&text[last..]);
        *text = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_in_either_case_is_replaced() {
        let nonce = "4f2a9c0d1e2b3a4f5c6d7e8f9a0b1c2d";
        let sum = "9e107d9d372bb6826bd81d3542a419d6e2f1c0b9";
        let mut text = format!(
            "<pre>Nonce: {nonce}\nCheckSum: {}\nagain {sum}</pre>",
            sum.to_ascii_uppercase()
        );
        redact(&mut text, &[nonce, sum, "the-app-secret"]);
        assert_eq!(
            text,
            "<pre>Nonce: [redacted]\nCheckSum: [redacted]\nagain [redacted]</pre>"
        );
    }

    #[test]
    fn short_or_absent_values_leave_the_text_alone() {
        let mut text = String::from("code 414 电话 abc");
        redact(&mut text, &["4", "", "41", "missing-value"]);
        assert_eq!(text, "code 414 电话 abc");
    }
}
