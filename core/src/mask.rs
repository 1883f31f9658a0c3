//! Masking phone numbers in text that leaves the process (logs, a command's request lines).
//!
//! Call records and requests are full of phone numbers, which are personal data; a log line
//! keeps enough of each to tell calls apart (`138****8888`) and no more. The rule is textual, so
//! it also catches a number inside a path or a message whatever field it sits in.

use std::borrow::Cow;

/// Shortest run of digits that is masked: a local landline number without its area code.
pub const MIN_MASKED_DIGITS: usize = 7;

/// Characters that people put between the groups of a phone number (`139-1234-5678`,
/// `139.1234.5678`, `139_1234_5678`, `139 1234 5678`): a number written so is one number.
const GROUP_SEPARATORS: &[u8] = b"-._ ";

/// Masks every number of 7 or more ASCII digits with `*`, a number being a run of digits or
/// digit groups joined by single separators (`139-1234-5678`): numbers of 11 or more digits
/// keep their first 3 and last 4 digits (`13888888888` becomes `138****8888`, a landline
/// `057186778825` becomes `057*****8825`); shorter ones keep their first 2 and last 2, so that at
/// least 3 digits are always hidden; separators stay. Two grouped shapes that are not phone
/// numbers are read group by group: a dotted IPv4 address (`192.168.100.200`) and a date
/// (`2026-12-04`). Shorter numbers (a status, a count, a duration) are left alone, and so is
/// text without any number to mask, which is returned borrowed.
///
/// ```
/// use yunxin_ecp::mask::mask_numbers;
/// assert_eq!(mask_numbers("callee=13888888888"), "callee=138****8888");
/// assert_eq!(mask_numbers("callee=139-1234-5678"), "callee=139-****-5678");
/// assert_eq!(mask_numbers("code 414 after 3 ms"), "code 414 after 3 ms");
/// ```
pub fn mask_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut numbers = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let (groups, end) = groups_at(bytes, i);
        let digits: usize = groups.iter().map(|(s, e)| e - s).sum();
        if digits >= MIN_MASKED_DIGITS {
            numbers.push(groups);
        }
        i = end;
    }
    if numbers.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = text.as_bytes().to_vec();
    for groups in numbers {
        let digits: usize = groups.iter().map(|(s, e)| e - s).sum();
        let (front, back) = if digits >= 11 { (3, 4) } else { (2, 2) };
        let positions = groups.iter().flat_map(|&(s, e)| s..e);
        for (n, at) in positions.enumerate() {
            if n >= front && n < digits - back {
                out[at] = b'*';
            }
        }
    }
    // Only ASCII digits were replaced, by an ASCII character: still UTF-8.
    Cow::Owned(String::from_utf8(out).expect("ASCII replaced by ASCII"))
}

/// The digit groups of the number starting at `start` (a digit): the first run, then any runs
/// joined to it by one separator each; and where the number ends. An IPv4 address or a date
/// has no groups to mask: each of its parts is shorter than a phone number.
fn groups_at(bytes: &[u8], start: usize) -> (Vec<(usize, usize)>, usize) {
    let run_end = |from: usize| {
        let mut j = from;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    let mut groups = vec![(start, run_end(start))];
    let mut separators = Vec::new();
    loop {
        let at = groups.last().expect("one group at least").1;
        let Some(&sep) = bytes.get(at) else { break };
        let joins =
            GROUP_SEPARATORS.contains(&sep) && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        if !joins {
            break;
        }
        separators.push(sep);
        groups.push((at + 1, run_end(at + 1)));
    }
    let lens: Vec<usize> = groups.iter().map(|(s, e)| e - s).collect();
    let all = |c: u8| separators.iter().all(|&s| s == c);
    let octet = |&(s, e): &(usize, usize)| {
        e - s <= 3
            && std::str::from_utf8(&bytes[s..e])
                .is_ok_and(|t| t.parse::<u16>().is_ok_and(|v| v <= 255))
    };
    let ipv4 = all(b'.') && groups.len() == 4 && groups.iter().all(octet);
    let date = all(b'-') && lens == [4, 2, 2];
    let end = groups.last().expect("one group at least").1;
    if ipv4 || date {
        groups.clear();
    }
    (groups, end)
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
            // Grouped as people write them.
            ("139-1234-5678", "139-****-5678"),
            ("139.1234.5678", "139.****.5678"),
            ("139_1234_5678", "139_****_5678"),
            ("139 1234 5678", "139 **** 5678"),
            ("0571-86778825", "057*-****8825"),
            ("call 139-1234-5678.", "call 139-****-5678."),
            ("139-1234.5678", "139-****.5678"),
            // Not phone numbers: read group by group.
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("192.168.100.200", "192.168.100.200"),
            ("2026-12-04T15:05:59", "2026-12-04T15:05:59"),
            ("code 414 after 3 ms", "code 414 after 3 ms"),
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

    proptest::proptest! {
        /// A mobile number however it is grouped (any separator between any two digits)
        /// never leaves with more than its first 3 and last 4 digits.
        #[test]
        fn a_grouped_mobile_number_keeps_at_most_seven_digits(
            number in "1[3-9][0-9]{9}",
            cuts in proptest::collection::vec(proptest::option::of(proptest::sample::select(vec!['-', '.', '_', ' '])), 10),
        ) {
            let mut written = String::new();
            for (i, digit) in number.chars().enumerate() {
                written.push(digit);
                if let Some(Some(sep)) = cuts.get(i) {
                    if i + 1 < number.len() {
                        written.push(*sep);
                    }
                }
            }
            let text = format!("callee={written};");
            let masked = mask_numbers(&text);
            let shown: String = masked.chars().filter(char::is_ascii_digit).collect();
            proptest::prop_assert_eq!(shown, format!("{}{}", &number[..3], &number[7..]), "{}", masked);
        }
    }
}
