//! Masking phone numbers in text that leaves the process (logs, a command's request lines).
//!
//! Call records and requests are full of phone numbers, which are personal data; a log line
//! keeps enough of each to tell calls apart (`138****8888`) and no more. The rule is textual, so
//! it also catches a number inside a path or a message whatever field it sits in.

use std::borrow::Cow;

/// Shortest run of digits that is masked: a local landline number without its area code.
pub const MIN_MASKED_DIGITS: usize = 7;

/// Masks every run of 7 or more ASCII digits with `*`: runs of 11 or more keep their first 3
/// and last 4 digits (`13888888888` becomes `138****8888`, a landline `057186778825` becomes
/// `057*****8825`); shorter runs keep their first 2 and last 2, so that at least 3 digits are
/// always hidden. Shorter runs (a status, a count, a duration) are left alone, and so is text
/// without any run to mask, which is returned borrowed.
///
/// ```
/// use yunxin_ecp::mask::mask_numbers;
/// assert_eq!(mask_numbers("callee=13888888888"), "callee=138****8888");
/// assert_eq!(mask_numbers("code 414 after 3 ms"), "code 414 after 3 ms");
/// ```
pub fn mask_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start >= MIN_MASKED_DIGITS {
                runs.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in runs {
        let (front, back) = if end - start >= 11 { (3, 4) } else { (2, 2) };
        out.push_str(&text[last..start + front]);
        out.extend(std::iter::repeat_n('*', end - start - front - back));
        out.push_str(&text[end - back..end]);
        last = end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked() {
        let cases = [
            ("13888888888", "138****8888"),
            ("057186778825", "057*****8825"),
            ("86778825", "86****25"),
            ("1234567", "12***67"),
            ("123456", "123456"),
            ("", ""),
            ("no digits", "no digits"),
            (
                "[\"13888888888\",\"13666666666\"]",
                "[\"138****8888\",\"136****6666\"]",
            ),
            ("a13888888888b1234c", "a138****8888b1234c"),
            ("1440570500855", "144******0855"),
            ("电话13888888888。", "电话138****8888。"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask_numbers(text), masked, "{text:?}");
        }
    }

    #[test]
    fn no_run_of_seven_digits_survives() {
        let long = "9".repeat(100);
        for text in [long.as_str(), "1234567 12345678 123456789 1234567890"] {
            let masked = mask_numbers(text);
            let longest = masked
                .split(|c: char| !c.is_ascii_digit())
                .map(str::len)
                .max()
                .unwrap_or(0);
            assert!(longest < MIN_MASKED_DIGITS, "{masked}");
        }
        assert!(matches!(mask_numbers("code 200"), Cow::Borrowed(_)));
    }
}
