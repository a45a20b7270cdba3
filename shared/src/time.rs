//! Timestamps: RFC 3339 in UTC with `Z` and millisecond precision, fixed width so that the
//! string order is the time order (the expiry index sorts on it).
//!
//! Every timestamp lies within `MIN..=MAX` once converted to UTC: a four-digit year is what the
//! fixed-width form can write and read back. An input outside (year 0000, or 9999 pushed past
//! the year's end by its offset) is refused by `parse`, the one door every caller goes through.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

/// The earliest and latest timestamps the product stores.
pub const MIN: &str = "0001-01-01T00:00:00.000Z";
pub const MAX: &str = "9999-12-31T23:59:59.999Z";
const MIN_DT: OffsetDateTime = datetime!(0001-01-01 00:00:00 UTC);
const MAX_DT: OffsetDateTime = datetime!(9999-12-31 23:59:59.999 UTC);
/// The stored form, its digits as `0`s: what `text` fills in and `parse_stored` reads.
const STORED_SHAPE: &[u8; 24] = b"0000-00-00T00:00:00.000Z";

/// Why a client's text is no timestamp; the message completes "<field> ...".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("must be an RFC 3339 date-time, e.g. 2027-01-01T00:00:00Z")]
    Syntax,
    #[error(
        "must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once converted to UTC"
    )]
    OutOfRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::clamped(OffsetDateTime::now_utc())
    }

    /// Millisecond precision (what we store is exactly what we return), in UTC, or `None`
    /// outside `MIN..=MAX`.
    fn from_datetime(dt: OffsetDateTime) -> Option<Self> {
        let dt = dt.checked_to_offset(UtcOffset::UTC)?;
        let dt = dt.replace_millisecond(dt.millisecond()).ok()?;
        (MIN_DT..=MAX_DT).contains(&dt).then_some(Timestamp(dt))
    }

    /// For times the server computes: the nearest representable one.
    fn clamped(dt: OffsetDateTime) -> Self {
        Self::from_datetime(dt).unwrap_or(if dt < MIN_DT {
            Timestamp(MIN_DT)
        } else {
            Timestamp(MAX_DT)
        })
    }

    /// Any RFC 3339 offset is accepted; the value is normalised to UTC and must lie within
    /// `MIN..=MAX` there.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        if let Some(stored) = Self::parse_stored(text) {
            return Ok(stored);
        }
        let dt = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TimestampError::Syntax)?;
        Self::from_datetime(dt).ok_or(TimestampError::OutOfRange)
    }

    /// The stored form (`text`'s), read digit by digit: every record read holds two or more,
    /// and `time`'s RFC 3339 parser was most of a timestamp's decode. `None` for anything else
    /// (other offsets and precisions, leap seconds, what does not parse), which `parse` hands
    /// to `time`; a test holds the two equal.
    fn parse_stored(text: &str) -> Option<Self> {
        let b: &[u8; 24] = text.as_bytes().try_into().ok()?;
        let digits = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        for (i, &c) in STORED_SHAPE.iter().enumerate() {
            if c != b'0' && b[i] != c {
                return None;
            }
        }
        let month = time::Month::try_from(digits(5, 7)? as u8).ok()?;
        let date =
            time::Date::from_calendar_date(digits(0, 4)? as i32, month, digits(8, 10)? as u8);
        let second = digits(17, 19)? as u8;
        if second == 60 {
            return None;
        }
        let time = time::Time::from_hms_milli(
            digits(11, 13)? as u8,
            digits(14, 16)? as u8,
            second,
            digits(20, 23)? as u16,
        );
        let dt = time::PrimitiveDateTime::new(date.ok()?, time.ok()?).assume_utc();
        (MIN_DT..=MAX_DT).contains(&dt).then_some(Timestamp(dt))
    }

    /// `secs` later (earlier when negative), clamped to `MIN..=MAX`.
    pub fn plus_seconds(&self, secs: i64) -> Self {
        Self::clamped(self.0.saturating_add(Duration::seconds(secs)))
    }

    /// `ms` milliseconds later (earlier when negative), clamped to `MIN..=MAX`.
    pub fn plus_millis(&self, ms: i64) -> Self {
        Self::clamped(self.0.saturating_add(Duration::milliseconds(ms)))
    }

    /// Milliseconds since the Unix epoch (what CloudWatch metric timestamps are).
    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    pub fn as_string(&self) -> String {
        self.text().as_str().to_string()
    }

    /// The stored form, on the stack. Written digit by digit: every record written or read
    /// prints two or more of these, and `time`'s format-description walk was ten times the cost
    /// (its output is the oracle in the tests). The year is 1..=9999 (`MIN..=MAX`).
    fn text(&self) -> Text {
        let dt = self.0;
        let mut b = *STORED_SHAPE;
        let fields = [
            (0, 4, dt.year() as u32),
            (5, 2, u8::from(dt.month()) as u32),
            (8, 2, dt.day() as u32),
            (11, 2, dt.hour() as u32),
            (14, 2, dt.minute() as u32),
            (17, 2, dt.second() as u32),
            (20, 3, dt.millisecond() as u32),
        ];
        for (at, width, mut n) in fields {
            for digit in b[at..at + width].iter_mut().rev() {
                *digit = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        Text(b)
    }
}

/// A timestamp's text: ASCII digits and separators only.
struct Text([u8; 24]);

impl Text {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or(MIN)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text().as_str())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::format_description;

    fn formatted_by_time(t: &Timestamp) -> String {
        let fmt = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        t.0.format(&fmt).unwrap()
    }

    #[test]
    fn the_range_ends_print_as_time_prints_them() {
        for text in [
            MIN,
            MAX,
            "2026-12-04T03:04:05.006Z",
            "0999-10-31T23:59:59.990Z",
        ] {
            let t = Timestamp::parse(text).unwrap();
            assert_eq!(t.to_string(), text);
            assert_eq!(t.to_string(), formatted_by_time(&t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{text}\""));
        }
    }

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
        assert_eq!(Timestamp::parse("2027-01-01"), Err(TimestampError::Syntax));
        assert_eq!(Timestamp::parse("yesterday"), Err(TimestampError::Syntax));
    }

    #[test]
    fn string_order_is_time_order() {
        let a = Timestamp::parse("2027-01-01T00:00:09.9Z").unwrap();
        let b = Timestamp::parse("2027-01-01T00:00:10Z").unwrap();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    /// Issue 9: these were stored as `-0001-…` (unreadable) or panicked in `to_offset`.
    #[test]
    fn extreme_offsets_are_out_of_range() {
        for text in [
            "0000-01-01T00:00:00+00:01",
            "0000-12-31T23:59:59Z",
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:00:00-23:59",
            "0001-01-01T00:00:00+00:01",
        ] {
            assert_eq!(
                Timestamp::parse(text),
                Err(TimestampError::OutOfRange),
                "{text}"
            );
        }
    }

    #[test]
    fn the_range_ends_are_accepted_and_read_back() {
        for (text, stored) in [
            ("0001-01-01T00:00:00Z", MIN),
            ("0001-01-01T00:59:00+00:59", MIN),
            ("9999-12-31T23:59:59.999999Z", MAX),
            ("9999-12-31T22:59:59.999-01:00", MAX),
        ] {
            let t = Timestamp::parse(text).unwrap();
            assert_eq!(t.to_string(), stored, "{text}");
            assert_eq!(Timestamp::parse(stored), Ok(t));
        }
    }

    #[test]
    fn server_arithmetic_stays_in_range() {
        let max = Timestamp::parse(MAX).unwrap();
        let min = Timestamp::parse(MIN).unwrap();
        assert_eq!(max.plus_seconds(i64::MAX), max);
        assert_eq!(min.plus_seconds(i64::MIN), min);
        assert_eq!(max.plus_seconds(1), max);
        assert_eq!(min.plus_seconds(-1), min);
    }

    /// RFC 3339-shaped text over the whole of what the grammar allows (years 0000-9999, offsets
    /// up to ±23:59, leap seconds, 0-9 fraction digits, lower-case separators), valid dates or not.
    fn rfc3339_like() -> impl Strategy<Value = (i32, String)> {
        (
            0..=9999i32,
            1..=12u8,
            1..=31u8,
            (0..=23u8, 0..=59u8, 0..=60u8),
            proptest::option::of("[0-9]{1,9}"),
            prop_oneof![
                Just("Z".to_string()),
                Just("z".to_string()),
                (prop_oneof![Just('+'), Just('-')], 0..=23u8, 0..=59u8)
                    .prop_map(|(sign, h, m)| format!("{sign}{h:02}:{m:02}")),
            ],
            prop_oneof![Just('T'), Just('t'), Just(' ')],
        )
            .prop_map(|(y, mo, d, (h, mi, s), frac, offset, sep)| {
                let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                (
                    y,
                    format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{offset}"),
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The stored form's own reader answers as `time`'s RFC 3339 parser does, for the stored
        /// shape with any digits (days past the month's end, hour 24, second 60, year 0000).
        #[test]
        fn the_stored_form_reads_as_time_reads_it(text in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9][.][0-9]{3}Z") {
            let by_time = OffsetDateTime::parse(&text, &Rfc3339)
                .ok()
                .and_then(Timestamp::from_datetime);
            match Timestamp::parse_stored(&text) {
                Some(t) => prop_assert_eq!(Some(t), by_time, "{}", text),
                // Only what `parse` hands on: a leap second, or what `time` refuses too.
                None => prop_assert!(by_time.is_none() || &text[17..19] == "60", "{}", text),
            }
        }

        /// What is accepted is in range, fixed width, and reads back unchanged from its stored
        /// text, from JSON and from a DynamoDB attribute; only the first two and the last year can fall
        /// outside the range.
        #[test]
        fn accepted_timestamps_round_trip((year, text) in rfc3339_like()) {
            match Timestamp::parse(&text) {
                Ok(t) => {
                    let stored = t.to_string();
                    prop_assert_eq!(stored.len(), MAX.len());
                    prop_assert_eq!(&stored, &formatted_by_time(&t));
                    prop_assert!(MIN <= stored.as_str() && stored.as_str() <= MAX, "{}", stored);
                    prop_assert_eq!(Timestamp::parse(&stored), Ok(t));
                    let json = serde_json::to_string(&t).unwrap();
                    prop_assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
                    let attr = serde_dynamo::to_attribute_value::<_, aws_sdk_dynamodb::types::AttributeValue>(t).unwrap();
                    prop_assert_eq!(serde_dynamo::from_attribute_value::<_, Timestamp>(attr).unwrap(), t);
                }
                Err(TimestampError::OutOfRange) => {
                    prop_assert!(year <= 1 || year == 9999, "{}", text);
                }
                Err(TimestampError::Syntax) => {}
            }
        }

        /// String order is time order for any two stored timestamps (the expiry index relies on it).
        #[test]
        fn stored_order_is_time_order((_, a) in rfc3339_like(), (_, b) in rfc3339_like()) {
            if let (Ok(a), Ok(b)) = (Timestamp::parse(&a), Timestamp::parse(&b)) {
                prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
            }
        }

        /// Nothing a client can send makes the parser panic.
        #[test]
        fn any_text_is_parsed_without_panic(text in "\\PC{0,40}|[0-9:.+\\-TZ]{0,40}") {
            let _ = Timestamp::parse(&text);
        }
    }
}
