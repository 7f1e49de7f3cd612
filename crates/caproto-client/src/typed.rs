//! Typed convenience on top of the raw DBR values: [`FromDbr`] for
//! [`crate::Channel::get`], [`ToDbr`] for [`crate::Channel::put`].

use caproto_core::dbr::{DbrData, DbrType, DbrValues};

/// A Rust type a PV value can be read as. The server converts from the
/// native type to the DBR type [`FromDbr::request`] names (as it does for
/// `caget -d`).
pub trait FromDbr: Sized {
    /// The DBR type and element count to ask for (0: the current length).
    fn request() -> (DbrType, u32);
    /// The value from the decoded reply; `Err` says why not.
    fn from_dbr(data: DbrData) -> Result<Self, String>;
}

/// A Rust value that can be written to a PV.
pub trait ToDbr {
    /// The values to send (their native type picks the DBR type).
    fn to_dbr(&self) -> DbrValues;
}

macro_rules! scalar {
    ($t:ty, $dbr:ident, $variant:ident) => {
        impl FromDbr for $t {
            fn request() -> (DbrType, u32) {
                (DbrType::$dbr, 1)
            }
            fn from_dbr(data: DbrData) -> Result<Self, String> {
                match data.values {
                    DbrValues::$variant(v) => v
                        .into_iter()
                        .next()
                        .ok_or_else(|| "the reply has no element".to_owned()),
                    other => Err(format!(
                        "expected {:?} values, got {:?}",
                        DbrType::$dbr,
                        other.native_type()
                    )),
                }
            }
        }

        impl FromDbr for Vec<$t> {
            fn request() -> (DbrType, u32) {
                (DbrType::$dbr, 0)
            }
            fn from_dbr(data: DbrData) -> Result<Self, String> {
                match data.values {
                    DbrValues::$variant(v) => Ok(v),
                    other => Err(format!(
                        "expected {:?} values, got {:?}",
                        DbrType::$dbr,
                        other.native_type()
                    )),
                }
            }
        }

        impl ToDbr for $t {
            fn to_dbr(&self) -> DbrValues {
                DbrValues::$variant(vec![self.clone()])
            }
        }

        impl ToDbr for [$t] {
            fn to_dbr(&self) -> DbrValues {
                DbrValues::$variant(self.to_vec())
            }
        }

        impl ToDbr for Vec<$t> {
            fn to_dbr(&self) -> DbrValues {
                DbrValues::$variant(self.clone())
            }
        }
    };
}

scalar!(f64, Double, Double);
scalar!(f32, Float, Float);
scalar!(i32, Long, Long);
scalar!(i16, Short, Short);
scalar!(u8, Char, Char);
// An enum PV read or written by index.
scalar!(u16, Enum, Enum);
// Text: a DBR_STRING (an enum PV reads as its state string, and takes one).
scalar!(String, String, String);

impl ToDbr for str {
    fn to_dbr(&self) -> DbrValues {
        DbrValues::String(vec![self.to_owned()])
    }
}

impl ToDbr for &str {
    fn to_dbr(&self) -> DbrValues {
        DbrValues::String(vec![(*self).to_owned()])
    }
}

impl ToDbr for DbrValues {
    fn to_dbr(&self) -> DbrValues {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_requests_and_conversions() {
        assert_eq!(<f64 as FromDbr>::request(), (DbrType::Double, 1));
        assert_eq!(<Vec<i32> as FromDbr>::request(), (DbrType::Long, 0));
        assert_eq!(<String as FromDbr>::request(), (DbrType::String, 1));
        let d = DbrData::from_values(DbrValues::Double(vec![1.5, 2.0]));
        assert_eq!(f64::from_dbr(d.clone()), Ok(1.5));
        assert_eq!(Vec::<f64>::from_dbr(d.clone()), Ok(vec![1.5, 2.0]));
        assert!(i32::from_dbr(d).is_err());
        assert_eq!("on".to_dbr(), DbrValues::String(vec!["on".into()]));
        assert_eq!([1i32, 2][..].to_dbr(), DbrValues::Long(vec![1, 2]));
    }
}
