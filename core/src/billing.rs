//! What a call costs: every started minute is billed as a full minute, at a per-minute rate held
//! in fen (0.01 yuan) so that no float rounding can creep into money.

use std::fmt;

use serde::Serialize;

/// Minutes billed for a call of `duration_sec` seconds: 0 s is free, 1 to 60 s is one minute,
/// 61 s is two.
///
/// ```
/// use yunxin_ecp::billing::billed_minutes;
/// assert_eq!([0, 1, 60, 61].map(billed_minutes), [0, 1, 1, 2]);
/// ```
pub fn billed_minutes(duration_sec: u64) -> u64 {
    duration_sec.div_ceil(60)
}

/// A per-minute price in fen. The default is the published 0.12 yuan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Rate {
    /// Fen charged per started minute.
    pub fen_per_minute: u64,
}

impl Rate {
    /// A rate of `fen` fen per minute.
    pub const fn fen_per_minute(fen: u64) -> Self {
        Rate {
            fen_per_minute: fen,
        }
    }

    /// The cost of a call of `duration_sec` seconds (saturating, never overflowing).
    pub fn cost(self, duration_sec: u64) -> Cost {
        Cost {
            fen: billed_minutes(duration_sec).saturating_mul(self.fen_per_minute),
        }
    }
}

impl Default for Rate {
    fn default() -> Self {
        Rate::fen_per_minute(12)
    }
}

/// An amount of money in fen; `Display` prints yuan with two decimals (`0.24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Cost {
    /// The amount in fen (0.01 yuan).
    pub fen: u64,
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.fen / 100, self.fen % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_exact() {
        assert_eq!(Rate::default().cost(61).to_string(), "0.24");
        assert_eq!(Rate::default().cost(0).fen, 0);
        assert_eq!(Rate::fen_per_minute(150).cost(3600).to_string(), "90.00");
        assert_eq!(
            Rate::default().cost(u64::MAX).fen,
            u64::MAX.div_ceil(60) * 12
        );
    }
}
