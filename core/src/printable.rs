//! Text from outside made safe for a terminal: an answer's `desc`, a request's parameters, a
//! file's name. Printed raw, a line feed starts a line of the sender's choosing (`#1 FAKE ->
//! accepted`), an escape sequence rewrites the screen, and a bidi override shows a line's
//! characters in another order than they are. The command and the mock's console both print
//! through here, so outside text is escaped one way everywhere.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Whether `c` is escaped: C0 controls, DEL, C1 controls, the line and paragraph separators,
/// and the bidi embeddings, overrides and isolates.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` safe to print on one line of a terminal: every character [`is_unsafe`] as `\u{…}`
/// (a line feed is `\u{a}`), and a backslash doubled, so that an escape cannot be faked either.
/// Other text, Chinese included, is unchanged (and borrowed).
///
/// ```
/// use yunxin_ecp::printable::printable;
/// assert_eq!(printable("ok\n#1 FAKE"), "ok\\u{a}#1 FAKE");
/// ```
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

/// `value` as JSON safe for a terminal, pretty (indented) or compact (one line): serde_json
/// escapes the C0 controls already; this also writes DEL, the C1 controls, the separators and
/// the bidi controls as `\uXXXX`. The JSON means the same; only its text differs.
pub fn json(value: &impl Serialize, pretty: bool) -> serde_json::Result<String> {
    let mut out = Vec::new();
    if pretty {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, Escaping(PrettyFormatter::new()));
        value.serialize(&mut ser)?;
    } else {
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Escaping(CompactFormatter));
        value.serialize(&mut ser)?;
    }
    // serde_json writes UTF-8, and the escapes are ASCII.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// serde_json's formatter, except that strings also escape DEL, the C1 controls, U+2028/2029
/// and the bidirectional controls as `\uXXXX`: serde_json escapes only C0, and a JSON document
/// printed on a terminal is read there too. The JSON value is unchanged.
struct Escaping<F>(F);

impl<F: Formatter> Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| is_unsafe(c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            // Every such character is in the Basic Multilingual Plane: one \u escape.
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
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
        let line = json(&value, false).unwrap();
        assert_eq!(
            line,
            r#"{"v":"a\n\u001b[2J\u007f\u009b\u2028\u202e\u2069张"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, value);
    }
}
