//! Picking the signature headers out of what a web server received.
//!
//! Shared by the callback verifier and the request verifier so that both read headers by the
//! same rules: names case-insensitive, values trimmed, and a signature header that arrives twice
//! refused. With duplicates, "the last one wins" here while a proxy or log reads the first, so a
//! forged copy beside a genuine one would pass one check and mislead the other.

/// The values of the headers named in `names` (matched case-insensitively, values trimmed), or
/// the name of the first one given more than once.
pub(crate) fn pick<const N: usize, I, K, V>(
    headers: I,
    names: [&'static str; N],
) -> Result<[Option<String>; N], &'static str>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    for (name, value) in headers {
        let name = name.as_ref().trim();
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(name)) {
            if found[i].is_some() {
                return Err(names[i]);
            }
            found[i] = Some(value.as_ref().trim().to_owned());
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
}
