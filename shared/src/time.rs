//! Timestamps: RFC 3339 in UTC with `Z` and millisecond precision, fixed width so that the
//! string order is the time order (the expiry index sorts on it).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    fn from_datetime(dt: OffsetDateTime) -> Self {
        let dt = dt.to_offset(UtcOffset::UTC);
        // Millisecond precision: what we store is exactly what we return.
        let ms = dt.millisecond();
        Timestamp(dt.replace_millisecond(ms).unwrap_or(dt))
    }

    /// Any RFC 3339 offset is accepted; the value is normalised to UTC.
    pub fn parse(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(Self::from_datetime)
    }

    pub fn plus_seconds(&self, secs: i64) -> Self {
        Self::from_datetime(self.0 + time::Duration::seconds(secs))
    }

    pub fn as_string(&self) -> String {
        let fmt = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        self.0
            .format(&fmt)
            .unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("invalid RFC 3339 timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = Timestamp::parse("2027-01-01T02:00:00+02:00").unwrap();
        assert_eq!(t.to_string(), "2027-01-01T00:00:00.000Z");
    }

    #[test]
    fn sub_millisecond_digits_are_dropped() {
        let t = Timestamp::parse("2027-01-01T00:00:00.123456Z").unwrap();
        assert_eq!(t.to_string(), "2027-01-01T00:00:00.123Z");
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(Timestamp::parse("2027-01-01").is_none());
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn string_order_is_time_order() {
        let a = Timestamp::parse("2027-01-01T00:00:09.9Z").unwrap();
        let b = Timestamp::parse("2027-01-01T00:00:10Z").unwrap();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
