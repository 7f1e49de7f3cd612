//! Newtypes for the protocol's identifiers, so that a cid can never be passed
//! where a sid is expected.

use core::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
        pub struct $name(pub u32);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<u32> for $name {
            fn from(v: u32) -> Self {
                Self(v)
            }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                v.0
            }
        }
    };
}

id_type!(
    /// Client channel id: chosen by the client, used in searches and
    /// CREATE_CHAN, echoed back by the server.
    Cid
);
id_type!(
    /// Server channel id: chosen by the server in its CREATE_CHAN reply, used
    /// by the client in every request on that channel.
    Sid
);
id_type!(
    /// Request id of a READ_NOTIFY / WRITE_NOTIFY (`m_available` in libca).
    IoId
);
id_type!(
    /// Subscription id of an EVENT_ADD, chosen by the client.
    SubId
);

/// Allocates ids that never wrap onto one still in use (INTEROP.md: "Ids must
/// never wrap onto one still in use").
///
/// `in_use` is asked about each candidate; allocation is O(1) in the common
/// case and only scans after the 32-bit counter wraps.
#[derive(Debug, Clone, Default)]
pub struct IdAllocator {
    next: u32,
}

impl IdAllocator {
    /// A new allocator starting at `start`.
    pub fn starting_at(start: u32) -> Self {
        Self { next: start }
    }

    /// The next id for which `in_use` is false. Returns `None` only if all
    /// 2^32 ids are in use.
    pub fn allocate(&mut self, mut in_use: impl FnMut(u32) -> bool) -> Option<u32> {
        for _ in 0..=u32::MAX {
            let candidate = self.next;
            self.next = self.next.wrapping_add(1);
            if !in_use(candidate) {
                return Some(candidate);
            }
        }
        None
    }
}

/// A hash map keyed by a protocol id, with a cheap multiplicative hash.
///
/// The circuits look ids up on every message; SipHash (std's default) showed
/// up at ~6 % of server CPU. The ids of one circuit are either chosen by this
/// side (sids, ioids) or only hurt the circuit that chose them (a client's
/// subscription ids), so hash flooding cannot reach other clients.
pub type IdMap<K, V> = std::collections::HashMap<K, V, core::hash::BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of a 32-bit id (Knuth, TAOCP vol. 3, 6.4): one multiply.
#[derive(Default, Clone, Copy, Debug)]
pub struct IdHasher(u64);

impl core::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys that are not a single u32; fold them in.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

macro_rules! hash_as_u32 {
    ($($t:ident),*) => {$(
        impl core::hash::Hash for $t {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                state.write_u32(self.0);
            }
        }
    )*};
}
hash_as_u32!(Cid, Sid, IoId, SubId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_skips_ids_in_use_after_wrapping() {
        let mut a = IdAllocator::starting_at(u32::MAX);
        let used = [0u32, 1];
        assert_eq!(a.allocate(|id| used.contains(&id)), Some(u32::MAX));
        assert_eq!(a.allocate(|id| used.contains(&id)), Some(2));
    }

    #[test]
    fn id_maps_hash_ids_apart() {
        let mut m: IdMap<Sid, u32> = IdMap::default();
        for i in 0..1000 {
            m.insert(Sid(i), i);
        }
        assert_eq!(m.get(&Sid(777)), Some(&777));
        assert_eq!(m.len(), 1000);
    }

    #[test]
    fn ids_print_as_their_number() {
        assert_eq!(format!("{} {:?}", Cid(7), Sid(9)), "7 Sid(9)");
    }
}
