//! Typed values and metadata: what a DBR payload decodes to.

use super::time::EpicsTime;
use super::NativeType;
use crate::status::{AlarmSeverity, AlarmStatus};

/// The value elements of a DBR payload, one vector per native type
/// (`db_access.h` `dbr_string_t` ... `dbr_double_t`).
#[derive(Clone, Debug, PartialEq)]
pub enum DbrValues {
    /// `DBR_STRING` elements (each at most 39 bytes on the wire).
    String(Vec<String>),
    /// `DBR_SHORT` elements; also `DBR_PUT_ACKT` / `DBR_PUT_ACKS`, whose
    /// `u16` is carried bit for bit (`v as i16`).
    Short(Vec<i16>),
    /// `DBR_FLOAT` elements.
    Float(Vec<f32>),
    /// `DBR_ENUM` elements: indexes into the state strings.
    Enum(Vec<u16>),
    /// `DBR_CHAR` elements (`dbr_char_t` is `epicsUInt8`).
    Char(Vec<u8>),
    /// `DBR_LONG` elements.
    Long(Vec<i32>),
    /// `DBR_DOUBLE` elements.
    Double(Vec<f64>),
}

impl DbrValues {
    /// An empty vector of the given native type.
    pub fn empty(native: NativeType) -> DbrValues {
        match native {
            NativeType::String => DbrValues::String(Vec::new()),
            NativeType::Short => DbrValues::Short(Vec::new()),
            NativeType::Float => DbrValues::Float(Vec::new()),
            NativeType::Enum => DbrValues::Enum(Vec::new()),
            NativeType::Char => DbrValues::Char(Vec::new()),
            NativeType::Long => DbrValues::Long(Vec::new()),
            NativeType::Double => DbrValues::Double(Vec::new()),
        }
    }

    /// The native type of the elements.
    pub fn native_type(&self) -> NativeType {
        match self {
            DbrValues::String(_) => NativeType::String,
            DbrValues::Short(_) => NativeType::Short,
            DbrValues::Float(_) => NativeType::Float,
            DbrValues::Enum(_) => NativeType::Enum,
            DbrValues::Char(_) => NativeType::Char,
            DbrValues::Long(_) => NativeType::Long,
            DbrValues::Double(_) => NativeType::Double,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            DbrValues::String(v) => v.len(),
            DbrValues::Short(v) => v.len(),
            DbrValues::Float(v) => v.len(),
            DbrValues::Enum(v) => v.len(),
            DbrValues::Char(v) => v.len(),
            DbrValues::Long(v) => v.len(),
            DbrValues::Double(v) => v.len(),
        }
    }

    /// True if there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as `f64` (exact for every numeric type); `None` for
    /// strings or past the end.
    pub fn to_f64(&self, i: usize) -> Option<f64> {
        match self {
            DbrValues::String(_) => None,
            DbrValues::Short(v) => v.get(i).map(|&x| f64::from(x)),
            DbrValues::Float(v) => v.get(i).map(|&x| f64::from(x)),
            DbrValues::Enum(v) => v.get(i).map(|&x| f64::from(x)),
            DbrValues::Char(v) => v.get(i).map(|&x| f64::from(x)),
            DbrValues::Long(v) => v.get(i).map(|&x| f64::from(x)),
            DbrValues::Double(v) => v.get(i).copied(),
        }
    }

    /// All elements as `f64` (exact); `None` for strings.
    pub fn as_f64_vec(&self) -> Option<Vec<f64>> {
        Some(match self {
            DbrValues::String(_) => return None,
            DbrValues::Short(v) => v.iter().map(|&x| f64::from(x)).collect(),
            DbrValues::Float(v) => v.iter().map(|&x| f64::from(x)).collect(),
            DbrValues::Enum(v) => v.iter().map(|&x| f64::from(x)).collect(),
            DbrValues::Char(v) => v.iter().map(|&x| f64::from(x)).collect(),
            DbrValues::Long(v) => v.iter().map(|&x| f64::from(x)).collect(),
            DbrValues::Double(v) => v.clone(),
        })
    }

    /// The strings, if these are string values.
    pub fn as_strings(&self) -> Option<&[String]> {
        match self {
            DbrValues::String(v) => Some(v),
            _ => None,
        }
    }

    /// Keeps the first `n` elements (no-op if there are fewer).
    pub fn truncate(&mut self, n: usize) {
        match self {
            DbrValues::String(v) => v.truncate(n),
            DbrValues::Short(v) => v.truncate(n),
            DbrValues::Float(v) => v.truncate(n),
            DbrValues::Enum(v) => v.truncate(n),
            DbrValues::Char(v) => v.truncate(n),
            DbrValues::Long(v) => v.truncate(n),
            DbrValues::Double(v) => v.truncate(n),
        }
    }
}

macro_rules! from_vec {
    ($($t:ty => $variant:ident),*) => {
        $(
            impl From<Vec<$t>> for DbrValues {
                fn from(v: Vec<$t>) -> DbrValues {
                    DbrValues::$variant(v)
                }
            }
        )*
    };
}

from_vec!(String => String, i16 => Short, f32 => Float, u16 => Enum, u8 => Char, i32 => Long, f64 => Double);

/// Display, alarm and control limits (`db_access.h` `dbr_gr_*` /
/// `dbr_ctrl_*`). `f64` holds every native limit type exactly; on encode
/// they are converted to the structure's type as the IOC does (see
/// [`crate::dbr::encode`]).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Limits {
    /// `upper_disp_limit`.
    pub upper_disp: f64,
    /// `lower_disp_limit`.
    pub lower_disp: f64,
    /// `upper_alarm_limit` (HIHI).
    pub upper_alarm: f64,
    /// `upper_warning_limit` (HIGH).
    pub upper_warning: f64,
    /// `lower_warning_limit` (LOW).
    pub lower_warning: f64,
    /// `lower_alarm_limit` (LOLO).
    pub lower_alarm: f64,
    /// `upper_ctrl_limit` (CTRL types only).
    pub upper_ctrl: f64,
    /// `lower_ctrl_limit` (CTRL types only).
    pub lower_ctrl: f64,
}

/// Everything a DBR structure can carry besides the values. A decoded
/// payload fills only the fields its type carries and leaves the others at
/// their default.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Metadata {
    /// Alarm status (STS and richer types, STSACK_STRING).
    pub status: AlarmStatus,
    /// Alarm severity (STS and richer types, STSACK_STRING).
    pub severity: AlarmSeverity,
    /// Timestamp (TIME types).
    pub timestamp: EpicsTime,
    /// Engineering units (GR/CTRL of SHORT, FLOAT, CHAR, LONG, DOUBLE): at
    /// most 7 bytes on the wire, longer text is cut on encode.
    pub units: String,
    /// Display precision (GR/CTRL of FLOAT and DOUBLE).
    pub precision: i16,
    /// Limits (GR: the six display/alarm limits; CTRL: also the two control
    /// limits).
    pub limits: Limits,
    /// Enum state strings (GR/CTRL ENUM): at most 16, each at most 25 bytes
    /// on the wire; extra states and longer text are cut on encode.
    pub enum_strings: Vec<String>,
    /// Acknowledge-transient flag (STSACK_STRING).
    pub ackt: u16,
    /// Highest unacknowledged severity (STSACK_STRING).
    pub acks: u16,
}

/// A decoded DBR payload: metadata and values.
#[derive(Clone, Debug, PartialEq)]
pub struct DbrData {
    /// The metadata the type carries (others at default).
    pub meta: Metadata,
    /// The values.
    pub values: DbrValues,
}

impl DbrData {
    /// Values with default metadata.
    pub fn from_values(values: DbrValues) -> DbrData {
        DbrData {
            meta: Metadata::default(),
            values,
        }
    }
}

/// A borrowed, zero-copy view of the value bytes of a payload: `len`
/// big-endian elements of one native type, exactly `len * element_size`
/// bytes. Obtained from [`crate::dbr::values_view`]; read elements without
/// allocating, or turn into owned [`DbrValues`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValuesView<'a> {
    native: NativeType,
    bytes: &'a [u8],
}

impl<'a> ValuesView<'a> {
    /// A view of `bytes` as elements of `native`; `None` unless the length
    /// is a whole number of elements.
    pub fn new(native: NativeType, bytes: &'a [u8]) -> Option<ValuesView<'a>> {
        (bytes.len() % native.element_size() == 0).then_some(ValuesView { native, bytes })
    }

    /// The element type.
    pub fn native_type(&self) -> NativeType {
        self.native
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.native.element_size()
    }

    /// True if there are no elements.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The raw big-endian wire bytes of the elements.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Element `i` as `f64` (exact); `None` for strings or past the end.
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        let size = self.native.element_size();
        let start = i.checked_mul(size)?;
        let b = self.bytes.get(start..start.checked_add(size)?)?;
        Some(match self.native {
            NativeType::String => return None,
            NativeType::Short => f64::from(i16::from_be_bytes(arr(b))),
            NativeType::Float => f64::from(f32::from_be_bytes(arr(b))),
            NativeType::Enum => f64::from(u16::from_be_bytes(arr(b))),
            NativeType::Char => f64::from(b.first().copied().unwrap_or(0)),
            NativeType::Long => f64::from(i32::from_be_bytes(arr(b))),
            NativeType::Double => f64::from_be_bytes(arr(b)),
        })
    }

    /// Every element as `f64`, in order; empty for strings. The element
    /// type is fixed for the whole iteration, so the per-element branch is
    /// perfectly predicted, unlike repeated [`ValuesView::get_f64`] calls
    /// that redo the index arithmetic and bounds checks.
    pub fn iter_f64(&self) -> F64Iter<'a> {
        let size = match self.native {
            NativeType::String => self.bytes.len().max(1),
            other => other.element_size(),
        };
        F64Iter {
            native: self.native,
            chunks: self.bytes.chunks_exact(size),
        }
    }

    /// String element `i` (decoded like [`crate::dbr::decode`] does);
    /// `None` for numeric views or past the end.
    pub fn get_string(&self, i: usize) -> Option<String> {
        if self.native != NativeType::String {
            return None;
        }
        let start = i.checked_mul(super::MAX_STRING_SIZE)?;
        let b = self
            .bytes
            .get(start..start.checked_add(super::MAX_STRING_SIZE)?)?;
        Some(super::text::decode_text(b))
    }

    /// Owned values (a bulk byte swap for numeric types).
    pub fn to_values(&self) -> DbrValues {
        super::layout::values_from_bytes(self.native, self.bytes)
    }
}

/// Iterator returned by [`ValuesView::iter_f64`].
#[derive(Debug, Clone)]
pub struct F64Iter<'a> {
    native: NativeType,
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for F64Iter<'_> {
    type Item = f64;

    #[inline]
    fn next(&mut self) -> Option<f64> {
        let c = self.chunks.next()?;
        Some(match self.native {
            NativeType::String => return None,
            NativeType::Short => f64::from(i16::from_be_bytes(arr(c))),
            NativeType::Float => f64::from(f32::from_be_bytes(arr(c))),
            NativeType::Enum => f64::from(u16::from_be_bytes(arr(c))),
            NativeType::Char => f64::from(c.first().copied().unwrap_or(0)),
            NativeType::Long => f64::from(i32::from_be_bytes(arr(c))),
            NativeType::Double => f64::from_be_bytes(arr(c)),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.native {
            NativeType::String => (0, Some(0)),
            _ => self.chunks.size_hint(),
        }
    }
}

/// A fixed-size array from a slice that the caller obtained with the right
/// length (`chunks_exact`, checked `get`); a wrong length yields zeros
/// instead of a panic, and the optimiser removes the check.
#[inline(always)]
pub(crate) fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().unwrap_or([0; N])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iter_f64_matches_get_f64() {
        let bytes: Vec<u8> = [1.5f64, -2.0, 3.25]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let view = ValuesView::new(NativeType::Double, &bytes).unwrap();
        let all: Vec<f64> = view.iter_f64().collect();
        assert_eq!(
            all,
            (0..3).filter_map(|i| view.get_f64(i)).collect::<Vec<_>>()
        );
        let longs: Vec<u8> = [7i32, -1].iter().flat_map(|v| v.to_be_bytes()).collect();
        let view = ValuesView::new(NativeType::Long, &longs).unwrap();
        assert_eq!(view.iter_f64().collect::<Vec<_>>(), vec![7.0, -1.0]);
    }

    #[test]
    fn len_native_and_conversions() {
        let v = DbrValues::from(vec![1i16, -2, 3]);
        assert_eq!(v.len(), 3);
        assert!(!v.is_empty());
        assert_eq!(v.native_type(), NativeType::Short);
        assert_eq!(v.to_f64(1), Some(-2.0));
        assert_eq!(v.to_f64(3), None);
        assert_eq!(v.as_f64_vec(), Some(vec![1.0, -2.0, 3.0]));
        let s = DbrValues::from(vec!["a".to_owned()]);
        assert_eq!(s.to_f64(0), None);
        assert_eq!(s.as_f64_vec(), None);
        assert_eq!(s.as_strings(), Some(&["a".to_owned()][..]));
        for n in NativeType::ALL {
            assert_eq!(DbrValues::empty(n).native_type(), n);
            assert!(DbrValues::empty(n).is_empty());
        }
    }

    #[test]
    fn view_reads_big_endian_elements() {
        let bytes = [0x40, 0x88, 0, 0, 0, 0, 0, 0, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0];
        let v = ValuesView::new(NativeType::Double, &bytes).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v.get_f64(0), Some(768.0));
        assert_eq!(v.get_f64(1), Some(-1.0));
        assert_eq!(v.get_f64(2), None);
        assert_eq!(v.to_values(), DbrValues::Double(vec![768.0, -1.0]));
        assert!(ValuesView::new(NativeType::Double, &bytes[..9]).is_none());
    }
}
