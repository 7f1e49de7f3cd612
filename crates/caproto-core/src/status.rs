//! Status codes: CA status (`ECA_*`), alarm status and severity, access rights.
//!
//! These are newtypes over the wire integer rather than closed enums so that a
//! value the peer sends which this crate does not know still round-trips
//! unchanged; `name()` says whether it is known.

use core::fmt;

/// A CA status code (`ECA_*`, EPICS base `caerr.h`), as carried in READ_NOTIFY /
/// WRITE_NOTIFY / EVENT_ADD replies and ERROR messages.
///
/// The code is `message_number << 3 | severity` (`caerr.h` `DEFMSG`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EcaStatus(pub u32);

/// Severity part of an [`EcaStatus`] (`caerr.h` `CA_K_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EcaSeverity {
    /// `CA_K_WARNING`: unsuccessful.
    Warning,
    /// `CA_K_SUCCESS`: successful.
    Success,
    /// `CA_K_ERROR`: failed, continue.
    Error,
    /// `CA_K_INFO`: successful, informational.
    Info,
    /// `CA_K_SEVERE`: failed, quit.
    Severe,
    /// `CA_K_FATAL` (`CA_K_ERROR | CA_K_SEVERE`).
    Fatal,
    /// Any other severity bits.
    Other(u8),
}

macro_rules! eca_codes {
    ($( $name:ident = ($sev:expr, $num:expr, $text:expr); )*) => {
        impl EcaStatus {
            $(
                #[doc = $text]
                pub const $name: EcaStatus = EcaStatus(($num << 3) | $sev);
            )*

            /// The symbolic name (`"ECA_NORMAL"`), if the code is known.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( EcaStatus::$name => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// The message text libca's `ca_message()` gives for this code.
            pub fn message(self) -> &'static str {
                match self {
                    $( EcaStatus::$name => $text, )*
                    _ => "Unknown CA status code",
                }
            }
        }
    };
}

// caerr.h: CA_K_WARNING 0, CA_K_SUCCESS 1, CA_K_ERROR 2, CA_K_INFO 3, CA_K_SEVERE 4,
// CA_K_FATAL = CA_K_ERROR | CA_K_SEVERE = 6. Texts as caerr.c's ca_message_text.
const W: u32 = 0;
const S: u32 = 1;
const E: u32 = 2;
const I: u32 = 3;
const F: u32 = 6;

eca_codes! {
    ECA_NORMAL = (S, 0, "Normal successful completion");
    ECA_MAXIOC = (E, 1, "Maximum simultaneous IOC connections exceeded");
    ECA_UKNHOST = (E, 2, "Unknown internet host");
    ECA_UKNSERV = (E, 3, "Unknown internet service");
    ECA_SOCK = (E, 4, "Unable to allocate a new socket");
    ECA_CONN = (W, 5, "Unable to connect to internet host or service");
    ECA_ALLOCMEM = (W, 6, "Unable to allocate additional dynamic memory");
    ECA_UKNCHAN = (W, 7, "Unknown IO channel");
    ECA_UKNFIELD = (W, 8, "Record field specified inappropriate for channel specified");
    ECA_TOLARGE = (W, 9, "The requested data transfer is greater than available memory or EPICS_CA_MAX_ARRAY_BYTES");
    ECA_TIMEOUT = (W, 10, "User specified timeout on IO operation expired");
    ECA_NOSUPPORT = (W, 11, "Sorry, that feature is planned but not supported at this time");
    ECA_STRTOBIG = (W, 12, "The supplied string is unusually large");
    ECA_DISCONNCHID = (E, 13, "The request was ignored because the specified channel is disconnected");
    ECA_BADTYPE = (E, 14, "The data type specifed is invalid");
    ECA_CHIDNOTFND = (I, 15, "Remote Channel not found");
    ECA_CHIDRETRY = (I, 16, "Unable to locate all user specified channels");
    ECA_INTERNAL = (F, 17, "Channel Access Internal Failure");
    ECA_DBLCLFAIL = (W, 18, "The requested local DB operation failed");
    ECA_GETFAIL = (W, 19, "Channel read request failed");
    ECA_PUTFAIL = (W, 20, "Channel write request failed");
    ECA_ADDFAIL = (W, 21, "Channel subscription request failed");
    ECA_BADCOUNT = (W, 22, "Invalid element count requested");
    ECA_BADSTR = (E, 23, "Invalid string");
    ECA_DISCONN = (W, 24, "Virtual circuit disconnect");
    ECA_DBLCHNL = (W, 25, "Identical process variable name on multiple servers");
    ECA_EVDISALLOW = (E, 26, "Request inappropriate within subscription (monitor) update callback");
    ECA_BUILDGET = (W, 27, "Database value get for that channel failed during channel search");
    ECA_NEEDSFP = (W, 28, "Unable to initialize without the vxWorks VX_FP_TASK task option set");
    ECA_OVEVFAIL = (W, 29, "Event queue overflow has prevented first pass event after event add");
    ECA_BADMONID = (E, 30, "Bad event subscription (monitor) identifier");
    ECA_NEWADDR = (W, 31, "Remote channel has new network address");
    ECA_NEWCONN = (I, 32, "New or resumed network connection");
    ECA_NOCACTX = (W, 33, "Specified task isnt a member of a CA context");
    ECA_DEFUNCT = (F, 34, "Attempt to use defunct CA feature failed");
    ECA_EMPTYSTR = (W, 35, "The supplied string is empty");
    ECA_NOREPEATER = (W, 36, "Unable to spawn the CA repeater thread- auto reconnect will fail");
    ECA_NOCHANMSG = (W, 37, "No channel id match for search reply- search reply ignored");
    ECA_DLCKREST = (W, 38, "Reseting dead connection- will try to reconnect");
    ECA_SERVBEHIND = (W, 39, "Server (IOC) has fallen behind or is not responding- still waiting");
    ECA_NOCAST = (W, 40, "No internet interface with broadcast available");
    ECA_BADMASK = (E, 41, "Invalid event selection mask");
    ECA_IODONE = (I, 42, "IO operations have completed");
    ECA_IOINPROGRESS = (I, 43, "IO operations are in progress");
    ECA_BADSYNCGRP = (E, 44, "Invalid synchronous group identifier");
    ECA_PUTCBINPROG = (E, 45, "Put callback timed out");
    ECA_NORDACCESS = (W, 46, "Read access denied");
    ECA_NOWTACCESS = (W, 47, "Write access denied");
    ECA_ANACHRONISM = (E, 48, "Requested feature is no longer supported");
    ECA_NOSEARCHADDR = (W, 49, "Empty PV search address list");
    ECA_NOCONVERT = (W, 50, "No reasonable data conversion between client and server types");
    ECA_BADCHID = (E, 51, "Invalid channel identifier");
    ECA_BADFUNCPTR = (E, 52, "Invalid function pointer");
    ECA_ISATTACHED = (W, 53, "Thread is already attached to a client context");
    ECA_UNAVAILINSERV = (W, 54, "Not supported by attached service");
    ECA_CHANDESTROY = (W, 55, "User destroyed channel");
    ECA_BADPRIORITY = (E, 56, "Invalid channel priority");
    ECA_NOTTHREADED = (E, 57, "Preemptive callback not enabled - additional threads may not join context");
    ECA_16KARRAYCLIENT = (W, 58, "Client's protocol revision does not support transfers exceeding 16k bytes");
    ECA_CONNSEQTMO = (W, 59, "Virtual circuit connection sequence aborted");
    ECA_UNRESPTMO = (W, 60, "Virtual circuit unresponsive");
}

impl EcaStatus {
    /// The message number (the code without its severity bits).
    pub fn number(self) -> u32 {
        self.0 >> 3
    }

    /// The severity bits.
    pub fn severity(self) -> EcaSeverity {
        match self.0 & 7 {
            0 => EcaSeverity::Warning,
            1 => EcaSeverity::Success,
            2 => EcaSeverity::Error,
            3 => EcaSeverity::Info,
            4 => EcaSeverity::Severe,
            6 => EcaSeverity::Fatal,
            other => EcaSeverity::Other(other as u8),
        }
    }

    /// True for a successful status (`CA_M_SUCCESS` bit set).
    pub fn is_success(self) -> bool {
        self.0 & 1 == 1
    }
}

impl fmt::Debug for EcaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "EcaStatus({})", self.0),
        }
    }
}

impl fmt::Display for EcaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

macro_rules! named_u16 {
    ($(#[$doc:meta])* $ty:ident { $( $(#[$vdoc:meta])* $name:ident = $val:expr, $text:expr; )* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $ty(pub u16);

        impl $ty {
            $( $(#[$vdoc])* pub const $name: $ty = $ty($val); )*

            /// The name EPICS base prints for this value, if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($text), )*
                    _ => None,
                }
            }

            /// Looks a value up by the name EPICS base prints.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some($ty($val)), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!(stringify!($ty), "({})"), self.0),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }
    };
}

named_u16! {
    /// Alarm status (EPICS base `alarm.h` `epicsAlarmCondition`, names from
    /// `epicsAlarmConditionStrings`).
    AlarmStatus {
        /// No alarm.
        NO_ALARM = 0, "NO_ALARM";
        /// Read failure.
        READ = 1, "READ";
        /// Write failure.
        WRITE = 2, "WRITE";
        /// Above HIHI.
        HIHI = 3, "HIHI";
        /// Above HIGH.
        HIGH = 4, "HIGH";
        /// Below LOLO.
        LOLO = 5, "LOLO";
        /// Below LOW.
        LOW = 6, "LOW";
        /// State alarm (binary/multi-bit records).
        STATE = 7, "STATE";
        /// Change of state.
        COS = 8, "COS";
        /// Communication failure.
        COMM = 9, "COMM";
        /// Timeout.
        TIMEOUT = 10, "TIMEOUT";
        /// Hardware limit.
        HWLIMIT = 11, "HWLIMIT";
        /// Calculation error.
        CALC = 12, "CALC";
        /// Scan error.
        SCAN = 13, "SCAN";
        /// Link error.
        LINK = 14, "LINK";
        /// Soft alarm.
        SOFT = 15, "SOFT";
        /// Bad subroutine.
        BAD_SUB = 16, "BAD_SUB";
        /// Undefined value.
        UDF = 17, "UDF";
        /// Record disabled.
        DISABLE = 18, "DISABLE";
        /// Simulation mode.
        SIMM = 19, "SIMM";
        /// Read access denied.
        READ_ACCESS = 20, "READ_ACCESS";
        /// Write access denied.
        WRITE_ACCESS = 21, "WRITE_ACCESS";
    }
}

named_u16! {
    /// Alarm severity (EPICS base `alarm.h` `epicsAlarmSeverity`).
    AlarmSeverity {
        /// No alarm.
        NO_ALARM = 0, "NO_ALARM";
        /// Minor alarm.
        MINOR = 1, "MINOR";
        /// Major alarm.
        MAJOR = 2, "MAJOR";
        /// Invalid value.
        INVALID = 3, "INVALID";
    }
}

/// Access rights of a channel, as in an ACCESS_RIGHTS message
/// (CA protocol spec, CA_PROTO_ACCESS_RIGHTS: bit 0 read, bit 1 write).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccessRights(pub u32);

impl AccessRights {
    /// No access.
    pub const NONE: AccessRights = AccessRights(0);
    /// Read access (`CA_PROTO_ACCESS_RIGHT_READ`).
    pub const READ: AccessRights = AccessRights(1);
    /// Write access (`CA_PROTO_ACCESS_RIGHT_WRITE`).
    pub const WRITE: AccessRights = AccessRights(2);
    /// Read and write access.
    pub const READ_WRITE: AccessRights = AccessRights(3);

    /// True if reading is allowed.
    pub fn can_read(self) -> bool {
        self.0 & 1 != 0
    }

    /// True if writing is allowed.
    pub fn can_write(self) -> bool {
        self.0 & 2 != 0
    }
}

impl fmt::Debug for AccessRights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match (self.can_read(), self.can_write()) {
            (false, false) => "NoAccess",
            (true, false) => "ReadOnly",
            (false, true) => "WriteOnly",
            (true, true) => "ReadWrite",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eca_codes_match_caerr_h_values() {
        // Spot checks against the numeric values in EPICS base caerr.h.
        assert_eq!(EcaStatus::ECA_NORMAL.0, 1);
        assert_eq!(EcaStatus::ECA_TIMEOUT.0, 80);
        assert_eq!(EcaStatus::ECA_BADTYPE.0, 114);
        assert_eq!(EcaStatus::ECA_INTERNAL.0, 142);
        assert_eq!(EcaStatus::ECA_BADCOUNT.0, 176);
        assert_eq!(EcaStatus::ECA_PUTFAIL.0, 160);
        assert_eq!(EcaStatus::ECA_NORDACCESS.0, 368);
        assert_eq!(EcaStatus::ECA_NOWTACCESS.0, 376);
        assert_eq!(EcaStatus::ECA_UNRESPTMO.0, 480);
        assert!(EcaStatus::ECA_NORMAL.is_success());
        assert!(!EcaStatus::ECA_PUTFAIL.is_success());
        assert_eq!(EcaStatus::ECA_BADTYPE.severity(), EcaSeverity::Error);
    }

    #[test]
    fn unknown_codes_keep_their_value() {
        let s = EcaStatus(0xFFFF);
        assert_eq!(s.name(), None);
        assert_eq!(format!("{s:?}"), "EcaStatus(65535)");
        assert_eq!(AlarmStatus(99).name(), None);
        assert_eq!(AlarmStatus::from_name("HIHI"), Some(AlarmStatus::HIHI));
        assert_eq!(AlarmSeverity::MAJOR.to_string(), "MAJOR");
    }
}
