//! Text for a terminal from what clients sent. A request's path and parameters are chosen by
//! anyone who can reach the port: printed raw, a line feed in a parameter starts a line of the
//! sender's choosing (`#1 FAKE -> accepted`), an escape sequence rewrites the screen, and a bidi
//! override shows the line's characters in another order than they are.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use serde::Serialize;

/// Whether `c` is escaped in console text: C0 controls, DEL, C1 controls, the line and
/// paragraph separators, and the bidi embeddings, overrides and isolates.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` safe to print on one line of a terminal: every character [`is_unsafe`] as `\u{…}`
/// (a line feed is `\u{a}`), and a backslash doubled, so that an escape cannot be faked either.
/// Other text, Chinese included, is unchanged.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == '\\' {
            shown.push_str("\\\\");
        } else if is_unsafe(c) {
            let _ = write!(shown, "{}", c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// `value` as one line of JSON safe for a terminal: serde_json escapes the C0 controls already;
/// this also writes DEL, the C1 controls, the separators and the bidi controls as `\uXXXX`.
/// The JSON means the same; only its text differs.
pub fn json_line(value: &impl Serialize) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, ConsoleFormatter);
    // A value built from strings, numbers and JSON values serializes.
    if value.serialize(&mut serializer).is_err() {
        return String::new();
    }
    // serde_json writes UTF-8, and the escapes added are ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// serde_json's compact layout, with the extra escapes of [`json_line`].
struct ConsoleFormatter;

impl serde_json::ser::Formatter for ConsoleFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| is_unsafe(*c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            // Every character escaped here is in the Basic Multilingual Plane: one \u escape.
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("13800000000 张三"), "13800000000 张三");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a\n#1 FAKE -> accepted\u{1b}[2J\r\t"),
            "a\\u{a}#1 FAKE -> accepted\\u{1b}[2J\\u{d}\\u{9}"
        );
        assert_eq!(
            printable("\0\u{7f}\u{85}\u{9b}"),
            "\\u{0}\\u{7f}\\u{85}\\u{9b}"
        );
        assert_eq!(printable("\u{2028}\u{2029}"), "\\u{2028}\\u{2029}");
        assert_eq!(
            printable("\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}"),
            "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}\\u{2066}\\u{2067}\\u{2068}\\u{2069}"
        );
        // A backslash is doubled, so text cannot pass for an escape.
        assert_eq!(printable("\\u{a}"), "\\\\u{a}");
    }

    #[test]
    fn json_lines_escape_what_serde_json_leaves() {
        let value = serde_json::json!({
            "v": "a\n\u{1b}[2J\u{7f}\u{9b}\u{2028}\u{202e}\u{2069}张",
        });
        let line = json_line(&value);
        assert_eq!(
            line,
            r#"{"v":"a\n\u001b[2J\u007f\u009b\u2028\u202e\u2069张"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, value);
    }
}
