//! Closed sets of names (statuses, types, sources): enums whose variants serialise as their
//! snake_case names, so records store and answer the very strings the API names, and nothing
//! past the parser handles a string that might be outside the set.

/// A closed set of names. `closed_set!` implements it; the name of each variant is written once.
pub trait Closed: Sized + Copy + PartialEq + 'static {
    const ALL: &'static [Self];
    /// Every name, in declaration order (error messages, list filter checks).
    const NAMES: &'static [&'static str];

    fn as_str(self) -> &'static str;

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == name)
    }
}

/// `closed_set! { pub enum Status { Active = "active", … } }`: the enum, its serde names and
/// `Closed`.
#[macro_export]
macro_rules! closed_set {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $crate::vocab::Closed for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            const NAMES: &'static [&'static str] = &[$($text),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        /// Tests compare with the name as the API spells it.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                $crate::vocab::Closed::as_str(*self) == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::vocab::Closed::as_str(*self))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::Closed;

    crate::closed_set! {
        enum Sample { One = "one", TwoWords = "two_words" }
    }

    #[test]
    fn names_serde_and_parse_agree() {
        for v in Sample::ALL {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(json, serde_json::Value::String(v.as_str().into()));
            assert_eq!(Sample::parse(v.as_str()), Some(*v));
        }
        assert_eq!(Sample::NAMES, &["one", "two_words"]);
        assert_eq!(Sample::parse("three"), None);
    }
}
