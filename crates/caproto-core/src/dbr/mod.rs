//! The 39 DBR types (EPICS base `db_access.h`): type codes, exact payload
//! layouts, typed values and metadata, and the conversions an EPICS server
//! performs when a client asks for a type other than the native one.
//!
//! - [`decode`] / [`encode`] / [`payload_size`]: a payload of any type to and
//!   from [`DbrData`] ([`Metadata`] + [`DbrValues`]); [`decode_values`] and
//!   [`values_view`] (zero-copy) skip the metadata for large arrays;
//! - [`convert`]: native values to another native type with the IOC's rules
//!   ([`double_to_string`] is `cvtDoubleToString`, and so on);
//! - [`EpicsTime`]: timestamps since 1990.
//!
//! Choices worth knowing:
//! - `DBR_PUT_ACKT` / `DBR_PUT_ACKS` carry their `u16` as
//!   [`DbrValues::Short`] (bit for bit), consistent with
//!   [`DbrType::native`]; `meta.ackt` / `meta.acks` belong to
//!   `DBR_STSACK_STRING` only;
//! - a count of 0 means the metadata alone (`dbr_size_n(T, 0)`), as rsrv
//!   sends for an empty array;
//! - text fields decode up to the first NUL, as UTF-8 or else Latin-1, and
//!   encode as UTF-8; bytes after the NUL are not kept, so a peer's stale
//!   bytes there are re-encoded as zeros.

use core::fmt;

mod convert;
mod layout;
mod text;
mod time;
mod values;

pub use convert::{convert, double_to_string, float_to_string, ConvertContext};
pub use layout::{
    decode, decode_values, encode, min_payload_size, payload_size, value_offset, values_view,
};
pub use text::{chars_to_text, decode_text, text_to_chars, truncate_at_char_boundary};
pub use time::{EpicsTime, TimeOutOfRange, EPICS_TIME_WIRE_SIZE};
pub use values::{DbrData, DbrValues, F64Iter, Limits, Metadata, ValuesView};

/// A DBR type code (EPICS base `db_access.h`: `DBR_STRING` = 0 ...
/// `DBR_CLASS_NAME` = 38).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum DbrType {
    String = 0,
    Short = 1,
    Float = 2,
    Enum = 3,
    Char = 4,
    Long = 5,
    Double = 6,
    StsString = 7,
    StsShort = 8,
    StsFloat = 9,
    StsEnum = 10,
    StsChar = 11,
    StsLong = 12,
    StsDouble = 13,
    TimeString = 14,
    TimeShort = 15,
    TimeFloat = 16,
    TimeEnum = 17,
    TimeChar = 18,
    TimeLong = 19,
    TimeDouble = 20,
    GrString = 21,
    GrShort = 22,
    GrFloat = 23,
    GrEnum = 24,
    GrChar = 25,
    GrLong = 26,
    GrDouble = 27,
    CtrlString = 28,
    CtrlShort = 29,
    CtrlFloat = 30,
    CtrlEnum = 31,
    CtrlChar = 32,
    CtrlLong = 33,
    CtrlDouble = 34,
    PutAckt = 35,
    PutAcks = 36,
    StsackString = 37,
    ClassName = 38,
}

/// The seven native (field) types: the value type of a DBR type
/// (`db_access.h` `DBF_*` as seen by CA).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum NativeType {
    /// `DBF_STRING`: 40-byte NUL-terminated strings.
    String,
    /// `DBF_SHORT` (also called INT): `i16`.
    Short,
    /// `DBF_FLOAT`: `f32`.
    Float,
    /// `DBF_ENUM`: `u16` index into the state strings.
    Enum,
    /// `DBF_CHAR`: `u8`.
    Char,
    /// `DBF_LONG`: `i32`.
    Long,
    /// `DBF_DOUBLE`: `f64`.
    Double,
}

/// The family of a DBR type: which metadata precedes the value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DbrFamily {
    /// Value only.
    Plain,
    /// Alarm status and severity.
    Sts,
    /// Status, severity and timestamp.
    Time,
    /// Status, severity and graphic metadata (units, precision, display and
    /// alarm limits, enum strings).
    Gr,
    /// Graphic metadata plus control limits.
    Ctrl,
    /// `DBR_PUT_ACKT`: acknowledge-transient flag (write only).
    PutAckt,
    /// `DBR_PUT_ACKS`: acknowledge severity (write only).
    PutAcks,
    /// `DBR_STSACK_STRING`: status, severity, ackt, acks and a string value.
    StsackString,
    /// `DBR_CLASS_NAME`: the record type name as a string.
    ClassName,
}

const ALL_TYPES: [DbrType; 39] = [
    DbrType::String,
    DbrType::Short,
    DbrType::Float,
    DbrType::Enum,
    DbrType::Char,
    DbrType::Long,
    DbrType::Double,
    DbrType::StsString,
    DbrType::StsShort,
    DbrType::StsFloat,
    DbrType::StsEnum,
    DbrType::StsChar,
    DbrType::StsLong,
    DbrType::StsDouble,
    DbrType::TimeString,
    DbrType::TimeShort,
    DbrType::TimeFloat,
    DbrType::TimeEnum,
    DbrType::TimeChar,
    DbrType::TimeLong,
    DbrType::TimeDouble,
    DbrType::GrString,
    DbrType::GrShort,
    DbrType::GrFloat,
    DbrType::GrEnum,
    DbrType::GrChar,
    DbrType::GrLong,
    DbrType::GrDouble,
    DbrType::CtrlString,
    DbrType::CtrlShort,
    DbrType::CtrlFloat,
    DbrType::CtrlEnum,
    DbrType::CtrlChar,
    DbrType::CtrlLong,
    DbrType::CtrlDouble,
    DbrType::PutAckt,
    DbrType::PutAcks,
    DbrType::StsackString,
    DbrType::ClassName,
];

const NATIVE_ORDER: [NativeType; 7] = [
    NativeType::String,
    NativeType::Short,
    NativeType::Float,
    NativeType::Enum,
    NativeType::Char,
    NativeType::Long,
    NativeType::Double,
];

impl DbrType {
    /// All 39 types in code order.
    pub const ALL: [DbrType; 39] = ALL_TYPES;

    /// The type for a wire code, or `None` if it is not a DBR type.
    pub fn from_u16(code: u16) -> Option<DbrType> {
        ALL_TYPES.get(usize::from(code)).copied()
    }

    /// The wire code.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// The family (which metadata comes with the value).
    pub fn family(self) -> DbrFamily {
        match self.code() {
            0..=6 => DbrFamily::Plain,
            7..=13 => DbrFamily::Sts,
            14..=20 => DbrFamily::Time,
            21..=27 => DbrFamily::Gr,
            28..=34 => DbrFamily::Ctrl,
            35 => DbrFamily::PutAckt,
            36 => DbrFamily::PutAcks,
            37 => DbrFamily::StsackString,
            _ => DbrFamily::ClassName,
        }
    }

    /// The type of the value elements carried.
    ///
    /// `PUT_ACKT` / `PUT_ACKS` carry one `u16` and are reported as
    /// [`NativeType::Enum`]-sized values by libca (`dbr_value_size`); the
    /// STSACK and CLASS_NAME types carry strings.
    pub fn native(self) -> NativeType {
        match self.code() {
            c @ 0..=34 => NATIVE_ORDER
                .get(usize::from(c % 7))
                .copied()
                .unwrap_or(NativeType::String),
            35 | 36 => NativeType::Short,
            _ => NativeType::String,
        }
    }

    /// The DBR type of `family` carrying `native` values, where one exists.
    pub fn from_parts(family: DbrFamily, native: NativeType) -> Option<DbrType> {
        let base = match family {
            DbrFamily::Plain => 0,
            DbrFamily::Sts => 7,
            DbrFamily::Time => 14,
            DbrFamily::Gr => 21,
            DbrFamily::Ctrl => 28,
            DbrFamily::PutAckt => return Some(DbrType::PutAckt),
            DbrFamily::PutAcks => return Some(DbrType::PutAcks),
            DbrFamily::StsackString => {
                return (native == NativeType::String).then_some(DbrType::StsackString)
            }
            DbrFamily::ClassName => {
                return (native == NativeType::String).then_some(DbrType::ClassName)
            }
        };
        DbrType::from_u16(base + native.code())
    }

    /// The plain (value-only) type with the same native type.
    pub fn plain(self) -> DbrType {
        DbrType::from_parts(DbrFamily::Plain, self.native()).unwrap_or(DbrType::String)
    }

    /// The name used by EPICS base (`dbr_type_to_text`), e.g. `"DBR_TIME_DOUBLE"`.
    pub fn name(self) -> &'static str {
        DBR_NAMES
            .get(usize::from(self.code()))
            .copied()
            .unwrap_or("DBR_INVALID")
    }

    /// Looks a type up by its EPICS name (`"DBR_TIME_DOUBLE"`), as `caget -d`
    /// accepts it; `DBR_INT` and friends are accepted for `SHORT`.
    pub fn from_name(name: &str) -> Option<DbrType> {
        if let Some(i) = DBR_NAMES.iter().position(|n| *n == name) {
            return DbrType::from_u16(i as u16);
        }
        let alias = name.replace("_INT", "_SHORT");
        DBR_NAMES
            .iter()
            .position(|n| *n == alias)
            .and_then(|i| DbrType::from_u16(i as u16))
    }

    /// True for the types that only a client may send (PUT_ACKT, PUT_ACKS).
    pub fn is_put_only(self) -> bool {
        matches!(self, DbrType::PutAckt | DbrType::PutAcks)
    }
}

// dbr_text[] in EPICS base db_access.c.
const DBR_NAMES: [&str; 39] = [
    "DBR_STRING",
    "DBR_SHORT",
    "DBR_FLOAT",
    "DBR_ENUM",
    "DBR_CHAR",
    "DBR_LONG",
    "DBR_DOUBLE",
    "DBR_STS_STRING",
    "DBR_STS_SHORT",
    "DBR_STS_FLOAT",
    "DBR_STS_ENUM",
    "DBR_STS_CHAR",
    "DBR_STS_LONG",
    "DBR_STS_DOUBLE",
    "DBR_TIME_STRING",
    "DBR_TIME_SHORT",
    "DBR_TIME_FLOAT",
    "DBR_TIME_ENUM",
    "DBR_TIME_CHAR",
    "DBR_TIME_LONG",
    "DBR_TIME_DOUBLE",
    "DBR_GR_STRING",
    "DBR_GR_SHORT",
    "DBR_GR_FLOAT",
    "DBR_GR_ENUM",
    "DBR_GR_CHAR",
    "DBR_GR_LONG",
    "DBR_GR_DOUBLE",
    "DBR_CTRL_STRING",
    "DBR_CTRL_SHORT",
    "DBR_CTRL_FLOAT",
    "DBR_CTRL_ENUM",
    "DBR_CTRL_CHAR",
    "DBR_CTRL_LONG",
    "DBR_CTRL_DOUBLE",
    "DBR_PUT_ACKT",
    "DBR_PUT_ACKS",
    "DBR_STSACK_STRING",
    "DBR_CLASS_NAME",
];

impl NativeType {
    /// All seven in code order.
    pub const ALL: [NativeType; 7] = NATIVE_ORDER;

    /// The native code (0..=6), equal to the plain DBR type's code.
    pub fn code(self) -> u16 {
        match self {
            NativeType::String => 0,
            NativeType::Short => 1,
            NativeType::Float => 2,
            NativeType::Enum => 3,
            NativeType::Char => 4,
            NativeType::Long => 5,
            NativeType::Double => 6,
        }
    }

    /// Size of one element on the wire (`db_access.h` `dbr_value_size`).
    pub fn element_size(self) -> usize {
        match self {
            NativeType::String => MAX_STRING_SIZE,
            NativeType::Short | NativeType::Enum => 2,
            NativeType::Float | NativeType::Long => 4,
            NativeType::Char => 1,
            NativeType::Double => 8,
        }
    }
}

impl fmt::Debug for DbrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for DbrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Size of a DBR string, NUL included (`db_access.h` `MAX_STRING_SIZE`).
pub const MAX_STRING_SIZE: usize = 40;

/// Size of the units field (`db_access.h` `MAX_UNITS_SIZE`).
pub const MAX_UNITS_SIZE: usize = 8;

/// Size of one enum state string (`db_access.h` `MAX_ENUM_STRING_SIZE`).
pub const MAX_ENUM_STRING_SIZE: usize = 26;

/// Number of enum state strings (`db_access.h` `MAX_ENUM_STATES`).
pub const MAX_ENUM_STATES: usize = 16;

/// Seconds from the Unix epoch (1970) to the EPICS epoch, 1990-01-01 UTC
/// (EPICS base `epicsTime.h` `POSIX_TIME_AT_EPICS_EPOCH`).
pub const EPICS_EPOCH_UNIX_SECS: u64 = 631_152_000;

#[cfg(test)]
mod type_tests {
    use super::*;

    #[test]
    fn type_codes_families_and_natives_agree() {
        for (i, t) in DbrType::ALL.iter().enumerate() {
            assert_eq!(usize::from(t.code()), i);
            assert_eq!(DbrType::from_u16(t.code()), Some(*t));
            assert_eq!(DbrType::from_name(t.name()), Some(*t));
        }
        assert_eq!(DbrType::from_u16(39), None);
        assert_eq!(DbrType::TimeDouble.family(), DbrFamily::Time);
        assert_eq!(DbrType::TimeDouble.native(), NativeType::Double);
        assert_eq!(DbrType::CtrlEnum.plain(), DbrType::Enum);
        assert_eq!(DbrType::from_name("DBR_CTRL_INT"), Some(DbrType::CtrlShort));
        assert_eq!(
            DbrType::from_parts(DbrFamily::Gr, NativeType::Long),
            Some(DbrType::GrLong)
        );
    }
}

/// A value could not be converted between DBR types.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConversionError {
    /// A string that is not a number of the requested type.
    NotANumber {
        /// The offending text.
        text: String,
    },
    /// An enum string that is not one of the states.
    NoSuchState {
        /// The offending text.
        text: String,
    },
    /// A string longer than 39 bytes.
    StringTooLong {
        /// Its length.
        len: usize,
    },
    /// A number (from text, or a value) outside the range of the target
    /// type (`S_stdlib_overflow` / `S_stdlib_underflow` in EPICS base
    /// `epicsStdlib.h`).
    OutOfRange {
        /// The offending text.
        text: String,
    },
    /// More elements than a CA count (`u32`) can describe.
    TooManyElements {
        /// The number of elements.
        len: usize,
    },
    /// The conversion is not defined, or values of one type were given
    /// where another was required.
    Unsupported {
        /// Source type.
        from: NativeType,
        /// Target type.
        to: NativeType,
    },
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversionError::NotANumber { text } => write!(f, "'{text}' is not a number"),
            ConversionError::NoSuchState { text } => {
                write!(f, "'{text}' is not one of the enum states")
            }
            ConversionError::StringTooLong { len } => write!(f, "string of {len} bytes exceeds 39"),
            ConversionError::OutOfRange { text } => {
                write!(f, "'{text}' is out of range for the target type")
            }
            ConversionError::TooManyElements { len } => {
                write!(f, "{len} elements exceed a CA element count")
            }
            ConversionError::Unsupported { from, to } => {
                write!(f, "no conversion from {from:?} to {to:?}")
            }
        }
    }
}

impl std::error::Error for ConversionError {}
