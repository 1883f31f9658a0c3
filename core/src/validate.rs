//! Input rules, checked before any request is built, so a wrong argument fails here with the
//! field and the rule instead of costing a round trip (and a 414 with no detail).
//!
//! Rules follow the ECP reference: mainland numbers without country code (mobile `1` + 10 digits,
//! landline `0` + area code + number, 10 to 12 digits in all), `callerAcc` of at most 32 characters
//! of `[A-Za-z0-9_@.-]`, a positive `maxDur`, 2 to 7 distinct conference callees.

use std::fmt;

/// The conference callee count the service accepts by default (3 to 8 participants including the
/// caller).
pub const CONF_CALLEES: std::ops::RangeInclusive<usize> = 2..=7;
/// Longest accepted `callerAcc` (a YunXin accid).
pub const MAX_ACCID_LEN: usize = 32;
/// Longest accepted session id; real ones are 36-character UUIDs.
pub const MAX_SESSION_LEN: usize = 128;

/// Why a value was refused. `code()` gives a stable identifier for the bindings and the vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// The value is empty.
    Empty,
    /// The value is shorter or longer than allowed (counted in characters).
    Length {
        /// Fewest characters accepted.
        min: usize,
        /// Most characters accepted.
        max: usize,
        /// Characters given.
        actual: usize,
    },
    /// The value holds a character outside the allowed set.
    Charset {
        /// The allowed set, as a character class.
        allowed: &'static str,
    },
    /// A phone number carries a country code (`+86`, `0086`, `86…`); the service takes none.
    CountryCode,
    /// A phone number holds spaces, dashes, dots or parentheses; only digits are sent.
    Separator,
    /// A phone number holds something other than digits.
    NotDigits,
    /// Starts with `1` (a mobile number) but is not 11 digits long.
    MobileLength,
    /// Starts with `0` (a landline with area code) but is not 10 to 12 digits long.
    LandlineLength,
    /// Neither a mobile (`1…`) nor a landline with area code (`0…`).
    NumberPrefix,
    /// A list has too few or too many entries.
    Count {
        /// Fewest entries accepted.
        min: usize,
        /// Most entries accepted.
        max: usize,
        /// Entries given.
        actual: usize,
    },
    /// The same number appears twice among the participants (the caller included).
    Duplicate {
        /// The repeated number.
        number: String,
    },
    /// A number that must be positive is zero.
    NotPositive,
    /// A value that must be an integer in range is not one.
    NotInteger,
    /// A value outside a fixed set (such as the query `type`).
    OneOf {
        /// The accepted values.
        allowed: &'static str,
    },
    /// A request `CurTime` that looks like milliseconds; requests are signed in seconds.
    Milliseconds,
    /// A URL that is not an absolute `http://` or `https://` base URL.
    Url,
    /// A list parameter that is not a JSON array of numbers.
    JsonArray,
    /// A wait that must be positive is zero, negative or not a number.
    PositiveSeconds,
    /// A wait that may be zero is negative or not a number.
    NonNegativeSeconds,
    /// A setting larger than any sane use of it (a wait of days would overflow the clock
    /// arithmetic of every request, and hide a unit mistake).
    AtMost {
        /// The largest value accepted.
        max: u64,
        /// The unit of `max`.
        unit: &'static str,
    },
    /// A decimal number written with leading zeros: `0170…` and `170…` would be two spellings
    /// of one signed value, so one signature would verify for two different headers.
    LeadingZero,
    /// A path for [`crate::ApiRequest`] that is not a plain absolute path below the base URL.
    ApiPath {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Settings given as JSON (by the C ABI, hence PHP and C#) that are not one JSON object.
    JsonObject,
    /// An environment variable that is not set at all.
    NotSet,
    /// An environment variable whose value is not valid Unicode.
    NotUnicode,
    /// Two settings that contradict each other (the second would be silently ignored).
    Conflict {
        /// The setting this one cannot be given with.
        with: &'static str,
    },
    /// An epoch time in seconds where milliseconds belong (`date +%s` for `date +%s%3N`).
    Seconds,
    /// A key in settings JSON that names no setting: a typo would otherwise be ignored and the
    /// default used without a word.
    UnknownSetting {
        /// The key as given.
        name: String,
        /// The keys accepted.
        known: &'static [&'static str],
    },
}

impl Rule {
    /// A stable identifier for the rule (`"country_code"`, `"length"`, ...), shared by every binding.
    pub fn code(&self) -> &'static str {
        match self {
            Rule::Empty => "empty",
            Rule::Length { .. } => "length",
            Rule::Charset { .. } => "charset",
            Rule::CountryCode => "country_code",
            Rule::Separator => "separator",
            Rule::NotDigits => "not_digits",
            Rule::MobileLength => "mobile_length",
            Rule::LandlineLength => "landline_length",
            Rule::NumberPrefix => "number_prefix",
            Rule::Count { .. } => "count",
            Rule::Duplicate { .. } => "duplicate",
            Rule::NotPositive => "not_positive",
            Rule::NotInteger => "not_integer",
            Rule::OneOf { .. } => "one_of",
            Rule::Milliseconds => "milliseconds",
            Rule::Url => "url",
            Rule::JsonArray => "json_array",
            // Same code as an integer's: callers check one rule for "zero is not allowed".
            Rule::PositiveSeconds => "not_positive",
            Rule::NonNegativeSeconds => "negative",
            Rule::AtMost { .. } => "at_most",
            Rule::LeadingZero => "leading_zero",
            Rule::ApiPath { .. } => "api_path",
            Rule::JsonObject => "json_object",
            Rule::NotSet => "not_set",
            Rule::NotUnicode => "not_unicode",
            Rule::Seconds => "seconds",
            Rule::Conflict { .. } => "conflict",
            Rule::UnknownSetting { .. } => "unknown_setting",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Empty => f.write_str("must not be empty"),
            Rule::Length { min, max, actual } => {
                write!(f, "must be {min} to {max} characters long, got {actual}")
            }
            Rule::Charset { allowed } => write!(f, "may only contain characters of {allowed}"),
            Rule::CountryCode => f.write_str(
                "must not carry a country code (+86, 0086, 86): mainland numbers only, as dialled domestically",
            ),
            Rule::Separator => {
                f.write_str("must be digits only: remove spaces, dashes, dots and parentheses")
            }
            Rule::NotDigits => f.write_str("must be digits only"),
            Rule::MobileLength => f.write_str("a mobile number is 1 followed by 10 digits"),
            Rule::LandlineLength => f.write_str(
                "a landline is 0, the area code and the number: 10 to 12 digits (e.g. 057186778825)",
            ),
            Rule::NumberPrefix => f.write_str(
                "must be a mobile number (starting with 1) or a landline with its area code (starting with 0)",
            ),
            Rule::Count { min, max, actual } => {
                write!(f, "must hold {min} to {max} entries, got {actual}")
            }
            Rule::Duplicate { number } => write!(f, "lists {number} more than once"),
            Rule::NotPositive => f.write_str("must be a positive integer"),
            Rule::NotInteger => f.write_str("must be a decimal integer in range"),
            Rule::OneOf { allowed } => write!(f, "must be one of {allowed}"),
            Rule::Milliseconds => f.write_str(
                "looks like milliseconds: requests are signed with UTC Unix time in seconds",
            ),
            Rule::Url => f.write_str(
                "must be an absolute http:// or https:// URL without query or fragment",
            ),
            Rule::JsonArray => f.write_str("must be a JSON array of numbers, e.g. [\"13800000000\"]"),
            Rule::PositiveSeconds => f.write_str("must be a positive number of seconds"),
            Rule::NonNegativeSeconds => f.write_str("must be a number of seconds, 0 or more"),
            Rule::AtMost { max, unit } => write!(f, "must be at most {max} {unit}"),
            Rule::LeadingZero => f.write_str("must be a decimal number without leading zeros"),
            Rule::ApiPath { problem } => {
                write!(f, "must be a plain absolute path such as /nimserver/user/create.action: {problem}")
            }
            Rule::JsonObject => f.write_str("must be a JSON object, e.g. {\"timeout_ms\":5000}"),
            Rule::Conflict { with } => write!(f, "cannot be given together with {with}"),
            Rule::NotSet => f.write_str("is not set"),
            Rule::NotUnicode => f.write_str("is not valid Unicode"),
            Rule::Seconds => f.write_str(
                "looks like seconds: it must be Unix epoch milliseconds (seconds x 1000)",
            ),
            Rule::UnknownSetting { name, known } => {
                write!(f, "has no setting {name:?}; the settings are {}", known.join(", "))
            }
        }
    }
}

/// A value refused before anything was built or sent: which field, and which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The API parameter (or argument) name, e.g. `callee`, `maxDur`, `nonce`.
    pub field: &'static str,
    /// For list parameters, the position of the offending entry.
    pub index: Option<usize>,
    /// The rule that was broken.
    pub rule: Rule,
}

impl ValidationError {
    /// A refusal of `field` by `rule`; public so that bindings can report their own argument
    /// conversions (a Python `bool` where a count belongs) with the same type.
    pub fn new(field: &'static str, rule: Rule) -> Self {
        ValidationError {
            field,
            index: None,
            rule,
        }
    }

    fn at(mut self, index: Option<usize>) -> Self {
        self.index = index;
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            // Not a bad value but a missing one: "invalid X: is not set" would read badly.
            None if self.rule == Rule::NotSet => {
                write!(f, "the environment variable {} is not set", self.field)
            }
            Some(i) => write!(f, "invalid {}[{i}]: {}", self.field, self.rule),
            None => write!(f, "invalid {}: {}", self.field, self.rule),
        }
    }
}

impl std::error::Error for ValidationError {}

/// Any epoch time below this is seconds, not milliseconds: 10^11 ms is March 1973, 10^11 s the
/// year 5138.
pub const MILLIS_FLOOR: u64 = 100_000_000_000;

/// Refuses an epoch time in seconds where milliseconds belong (a callback's "now"): compared
/// with a callback's `CurTime` it would read as decades in the future, and the refusal would
/// blame the callback. One rule for every binding and the command.
///
/// ```
/// use yunxin_ecp::validate::epoch_millis;
/// assert_eq!(epoch_millis("now_ms", 1_700_000_000_000), Ok(1_700_000_000_000));
/// assert_eq!(epoch_millis("now_ms", 1_700_000_000).unwrap_err().rule.code(), "seconds");
/// ```
pub fn epoch_millis(field: &'static str, value: u64) -> Result<u64, ValidationError> {
    if value < MILLIS_FLOOR {
        return Err(ValidationError::new(field, Rule::Seconds));
    }
    Ok(value)
}

/// Checks one mainland China phone number as the service wants it: digits only, no country code.
///
/// ```
/// use yunxin_ecp::validate::phone_number;
/// assert!(phone_number("callee", None, "13777777777").is_ok());
/// assert!(phone_number("callee", None, "057186778825").is_ok());
/// let e = phone_number("callee", None, "+8613777777777").unwrap_err();
/// assert_eq!(e.rule.code(), "country_code");
/// ```
pub fn phone_number(
    field: &'static str,
    index: Option<usize>,
    number: &str,
) -> Result<(), ValidationError> {
    let refuse = |rule| Err(ValidationError::new(field, rule).at(index));
    if number.is_empty() {
        return refuse(Rule::Empty);
    }
    if number.starts_with('+') {
        return refuse(Rule::CountryCode);
    }
    if number
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')'))
    {
        return refuse(Rule::Separator);
    }
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(Rule::NotDigits);
    }
    // A domestic number never starts with 86, so a leading 86 or 0086 in front of a full mobile or
    // landline number is the country code the service rejects.
    let national = number
        .strip_prefix("0086")
        .or_else(|| number.strip_prefix("86"));
    if let Some(rest) = national {
        let mobile = rest.len() == 11 && rest.starts_with('1');
        let landline = (9..=11).contains(&rest.len()) && !rest.starts_with('0');
        if mobile || landline {
            return refuse(Rule::CountryCode);
        }
    }
    match number.as_bytes()[0] {
        b'1' if number.len() == 11 => Ok(()),
        b'1' => refuse(Rule::MobileLength),
        b'0' if (10..=12).contains(&number.len()) => Ok(()),
        b'0' => refuse(Rule::LandlineLength),
        _ => refuse(Rule::NumberPrefix),
    }
}

/// Checks a `callerAcc`: the YunXin accid on whose behalf the call is placed.
pub fn caller_acc(value: &str) -> Result<(), ValidationError> {
    const FIELD: &str = "callerAcc";
    let len = value.chars().count();
    if len == 0 {
        return Err(ValidationError::new(FIELD, Rule::Empty));
    }
    if len > MAX_ACCID_LEN {
        return Err(ValidationError::new(
            FIELD,
            Rule::Length {
                min: 1,
                max: MAX_ACCID_LEN,
                actual: len,
            },
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'.' | b'-'))
    {
        return Err(ValidationError::new(
            FIELD,
            Rule::Charset {
                allowed: "[A-Za-z0-9_@.-]",
            },
        ));
    }
    Ok(())
}

/// Checks `maxDur`: the call is cut after this many seconds, so zero would place a call that
/// cannot last.
pub fn max_dur(value: u32) -> Result<(), ValidationError> {
    if value == 0 {
        return Err(ValidationError::new("maxDur", Rule::NotPositive));
    }
    Ok(())
}

/// Parses `maxDur` given as text (form fields, bindings): a positive decimal integer.
pub fn parse_max_dur(value: &str) -> Result<u32, ValidationError> {
    let parsed =
        parse_decimal::<u32>(value).ok_or(ValidationError::new("maxDur", Rule::NotInteger))?;
    max_dur(parsed)?;
    Ok(parsed)
}

/// Parses a signed timestamp (`CurTime`): plain ASCII digits, and no leading zero, so that each
/// value has exactly one spelling under the signature.
pub(crate) fn parse_timestamp(value: &str) -> Option<u64> {
    if value.len() > 1 && value.starts_with('0') {
        return None;
    }
    parse_decimal(value)
}

/// Longest wait a client setting accepts: ten minutes, far beyond any ECP exchange.
pub const MAX_WAIT_SECS: u64 = 600;

/// Checks a wait setting (a timeout, a backoff): at most [`MAX_WAIT_SECS`], and positive unless
/// `zero_ok`.
pub fn wait(
    field: &'static str,
    value: std::time::Duration,
    zero_ok: bool,
) -> Result<std::time::Duration, ValidationError> {
    if value.is_zero() && !zero_ok {
        return Err(ValidationError::new(field, Rule::PositiveSeconds));
    }
    if value > std::time::Duration::from_secs(MAX_WAIT_SECS) {
        return Err(ValidationError::new(
            field,
            Rule::AtMost {
                max: MAX_WAIT_SECS,
                unit: "seconds",
            },
        ));
    }
    Ok(value)
}

/// [`wait`] for a number of seconds as a binding receives it (Python's `float`): NaN and
/// negative values are refused rather than clamped, and huge ones never reach `Duration`'s
/// panicking arithmetic.
pub fn wait_secs_f64(
    field: &'static str,
    secs: f64,
    zero_ok: bool,
) -> Result<std::time::Duration, ValidationError> {
    let sign_rule = if zero_ok {
        Rule::NonNegativeSeconds
    } else {
        Rule::PositiveSeconds
    };
    if secs.is_nan() || secs < 0.0 {
        return Err(ValidationError::new(field, sign_rule));
    }
    let capped = secs.min(MAX_WAIT_SECS as f64 + 1.0);
    wait(field, std::time::Duration::from_secs_f64(capped), zero_ok)
}

/// Parses an unsigned decimal integer of plain ASCII digits: no sign, no spaces, no exponent.
pub(crate) fn parse_decimal<T: std::str::FromStr>(value: &str) -> Option<T> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Checks the conference callee list: 2 to 7 valid numbers, none repeated, none equal to the caller.
pub fn conference_callees(caller: &str, callees: &[String]) -> Result<(), ValidationError> {
    const FIELD: &str = "callee";
    if !CONF_CALLEES.contains(&callees.len()) {
        return Err(ValidationError::new(
            FIELD,
            Rule::Count {
                min: *CONF_CALLEES.start(),
                max: *CONF_CALLEES.end(),
                actual: callees.len(),
            },
        ));
    }
    for (i, number) in callees.iter().enumerate() {
        phone_number(FIELD, Some(i), number)?;
        if number == caller || callees[..i].contains(number) {
            return Err(ValidationError::new(
                FIELD,
                Rule::Duplicate {
                    number: number.clone(),
                },
            )
            .at(Some(i)));
        }
    }
    Ok(())
}

/// Checks a session id returned by a start request before it goes back into a query.
pub fn session(value: &str) -> Result<(), ValidationError> {
    const FIELD: &str = "session";
    let len = value.chars().count();
    if len == 0 {
        return Err(ValidationError::new(FIELD, Rule::Empty));
    }
    if len > MAX_SESSION_LEN {
        return Err(ValidationError::new(
            FIELD,
            Rule::Length {
                min: 1,
                max: MAX_SESSION_LEN,
                actual: len,
            },
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            FIELD,
            Rule::Charset {
                allowed: "printable ASCII without spaces",
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(n: &str) -> Option<&'static str> {
        phone_number("caller", None, n).err().map(|e| e.rule.code())
    }

    #[test]
    fn numbers() {
        assert_eq!(rule("13888888888"), None);
        assert_eq!(rule("01012345678"), None);
        assert_eq!(rule("0571867788"), None);
        assert_eq!(rule("8613888888888"), Some("country_code"));
        assert_eq!(rule("008613888888888"), Some("country_code"));
        assert_eq!(rule("+8613888888888"), Some("country_code"));
        assert_eq!(rule("138 8888 8888"), Some("separator"));
        assert_eq!(rule("138-8888-8888"), Some("separator"));
        assert_eq!(rule("1388888888"), Some("mobile_length"));
        assert_eq!(rule("057186"), Some("landline_length"));
        assert_eq!(rule("23888888888"), Some("number_prefix"));
        assert_eq!(rule("１３８８８８８８８８８"), Some("not_digits"));
    }

    #[test]
    fn callees_refuse_caller_and_repeats() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(conference_callees("13700000000", &list(&["13800000000", "13900000000"])).is_ok());
        let e =
            conference_callees("13700000000", &list(&["13800000000", "13700000000"])).unwrap_err();
        assert_eq!((e.index, e.rule.code()), (Some(1), "duplicate"));
        let e = conference_callees("13700000000", &list(&["13800000000"])).unwrap_err();
        assert_eq!(e.rule.code(), "count");
    }
}
