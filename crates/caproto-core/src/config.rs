//! Configuration from `EPICS_CA_*` / `EPICS_CAS_*` variables.
//!
//! The core never reads the environment itself: the caller passes a *lookup
//! function* (`|name| std::env::var(name).ok()` in a front-end, a map in a
//! test), and [`ClientConfig::from_lookup`] / [`ServerConfig::from_lookup`]
//! turn it into typed values with the defaults of EPICS base
//! (`configure/CONFIG_ENV`, documented in `CAref.html`, "EPICS Environment
//! Variables").
//!
//! Rules shared by every variable:
//! - a variable that is unset, empty or only white space takes its default
//!   (EPICS base `envSubr.c` `envGetConfigParamPtr` treats an empty value as
//!   "no value");
//! - a value that cannot be used is a [`ConfigError`] naming the variable,
//!   the value and what was expected. EPICS base prints a message and falls
//!   back to the default instead; silently using another port or address
//!   than the one the user wrote has cost people hours, so here it is an
//!   error. The two documented exceptions are clamps that EPICS base also
//!   applies: `EPICS_CA_MAX_SEARCH_PERIOD` below 60 s becomes 60 s, and
//!   `EPICS_CA_MAX_ARRAY_BYTES` below 16384 still allows 16384-byte messages
//!   (see [`ClientConfig::max_recv_bytes`]).

use core::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// `EPICS_CA_SERVER_PORT` default (`CONFIG_ENV`; `caProto.h` `CA_SERVER_PORT`).
pub const DEFAULT_SERVER_PORT: u16 = crate::DEFAULT_SERVER_PORT;

/// `EPICS_CA_REPEATER_PORT` default (`CONFIG_ENV`; `caProto.h`
/// `CA_REPEATER_PORT`).
pub const DEFAULT_REPEATER_PORT: u16 = crate::DEFAULT_REPEATER_PORT;

/// `EPICS_CA_CONN_TMO` default: 30 s (`CONFIG_ENV`; libca `iocinf.h`
/// `CA_CONN_VERIFY_PERIOD`).
pub const DEFAULT_CONN_TMO: Duration = Duration::from_secs(30);

/// `EPICS_CA_BEACON_PERIOD` default: 15 s (`CONFIG_ENV`; rsrv
/// `online_notify.c` falls back to 15 s as well).
pub const DEFAULT_BEACON_PERIOD: Duration = Duration::from_secs(15);

/// `EPICS_CA_MAX_ARRAY_BYTES` default: 16384 (`CONFIG_ENV`; `caProto.h`
/// `MAX_TCP`).
pub const DEFAULT_MAX_ARRAY_BYTES: u32 = 16384;

/// The smallest receive buffer libca uses whatever `EPICS_CA_MAX_ARRAY_BYTES`
/// says (`caProto.h` `MAX_TCP`; libca `cac.cpp`: smaller values are "rounded
/// up to 16384").
pub const MIN_RECV_BYTES: u32 = 16384;

/// Room libca adds to `EPICS_CA_MAX_ARRAY_BYTES` for the (extended) message
/// header "so that they get the array size they requested" (libca
/// `cac.cpp`: `sizeof(caHdr) + 2 * sizeof(ca_uint32_t)` = 24).
pub const ARRAY_HEADER_ROOM: u32 = 24;

/// `EPICS_CA_MAX_SEARCH_PERIOD` default: 300 s (`CONFIG_ENV`; libca
/// `udpiiu.h` `maxSearchPeriodDefault`).
pub const DEFAULT_MAX_SEARCH_PERIOD: Duration = Duration::from_secs(300);

/// Lower limit of `EPICS_CA_MAX_SEARCH_PERIOD`: 60 s; smaller values are
/// raised to it (libca `udpiiu.h` `maxSearchPeriodLowerLimit`, `udpiiu.cpp`
/// `getMaxPeriod`).
pub const MIN_MAX_SEARCH_PERIOD: Duration = Duration::from_secs(60);

/// `EPICS_CA_MCAST_TTL` default: 1 (`CONFIG_ENV`).
pub const DEFAULT_MCAST_TTL: u8 = 1;

/// Periods (`EPICS_CA_CONN_TMO`, beacon periods) must be above 0.1 s
/// (`CAref.html`, table of client variables: "r > 0.1 seconds").
const MIN_PERIOD_SECS: f64 = 0.1;

/// Ports must be above `IPPORT_USERRESERVED` (5000) (libcom `envSubr.c`
/// `envGetInetPortConfigParam`; `CAref.html`: "i > 5000").
const MIN_PORT: u16 = 5001;

/// A configuration value that cannot be used.
///
/// Its `Display` names the variable, the value and what was expected, e.g.
/// `EPICS_CA_SERVER_PORT="50x": expected an integer port number in 5001..=65535`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The variable, e.g. `EPICS_CA_SERVER_PORT`.
    pub variable: &'static str,
    /// The value as it was found.
    pub value: String,
    /// What was expected instead (and, for lists, which entry was wrong).
    pub expected: String,
}

impl ConfigError {
    fn new(variable: &'static str, value: &str, expected: impl Into<String>) -> Self {
        ConfigError {
            variable,
            value: value.to_owned(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?}: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// One entry of an address list such as `EPICS_CA_ADDR_LIST`: `a.b.c.d`,
/// `a.b.c.d:port`, `host` or `host:port` (libca `iocinf.cpp`
/// `addAddrToChannelAccessAddressList`, libcom `aToIPAddr`).
///
/// An entry without a port gets the list's default port (for example
/// `EPICS_CA_SERVER_PORT` for `EPICS_CA_ADDR_LIST`); an explicit port is kept.
/// Host names are kept unresolved: resolving them is I/O, done by the
/// front-end.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddrListEntry {
    /// A numeric IPv4 address and port.
    Ip(SocketAddrV4),
    /// A host name still to be resolved, and the port.
    Host {
        /// The host name as written.
        host: String,
        /// The port (explicit or the list's default).
        port: u16,
    },
}

impl AddrListEntry {
    /// The port of the entry.
    pub fn port(&self) -> u16 {
        match self {
            AddrListEntry::Ip(a) => a.port(),
            AddrListEntry::Host { port, .. } => *port,
        }
    }

    /// The IPv4 address if the entry is numeric.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        match self {
            AddrListEntry::Ip(a) => Some(*a.ip()),
            AddrListEntry::Host { .. } => None,
        }
    }
}

impl fmt::Display for AddrListEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrListEntry::Ip(a) => write!(f, "{a}"),
            AddrListEntry::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// Client configuration (libca), from `EPICS_CA_*` variables.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// `EPICS_CA_ADDR_LIST`: where searches go, in addition to the
    /// automatic list. Default: empty.
    pub addr_list: Vec<AddrListEntry>,
    /// `EPICS_CA_AUTO_ADDR_LIST`: also search the broadcast address of every
    /// interface. Default: `YES`.
    pub auto_addr_list: bool,
    /// `EPICS_CA_NAME_SERVERS`: servers searched over TCP. Default: empty.
    pub name_servers: Vec<AddrListEntry>,
    /// `EPICS_CA_SERVER_PORT`: default server port. Default: 5064.
    pub server_port: u16,
    /// `EPICS_CA_REPEATER_PORT`. Default: 5065.
    pub repeater_port: u16,
    /// `EPICS_CA_CONN_TMO`: silence on a circuit after which an echo is sent.
    /// Default: 30 s; must be above 0.1 s.
    pub conn_timeout: Duration,
    /// `EPICS_CA_BEACON_PERIOD`: expected beacon period. Default: 15 s; must
    /// be above 0.1 s.
    pub beacon_period: Duration,
    /// `EPICS_CA_MAX_ARRAY_BYTES` as configured. Default: 16384. See
    /// [`ClientConfig::max_recv_bytes`] for the limit libca derives from it.
    pub max_array_bytes: u32,
    /// `EPICS_CA_AUTO_ARRAY_BYTES`: allocate buffers as needed instead of
    /// honouring `max_array_bytes`. Default: `YES`.
    pub auto_array_bytes: bool,
    /// `EPICS_CA_MAX_SEARCH_PERIOD`: longest interval between two searches
    /// of an unresolved name. Default: 300 s; values below 60 s become 60 s.
    pub max_search_period: Duration,
    /// `EPICS_CA_MCAST_TTL`: time to live of multicast searches. Default: 1.
    pub mcast_ttl: u8,
}

impl Default for ClientConfig {
    /// The EPICS base defaults (`configure/CONFIG_ENV`).
    fn default() -> Self {
        ClientConfig {
            addr_list: Vec::new(),
            auto_addr_list: true,
            name_servers: Vec::new(),
            server_port: DEFAULT_SERVER_PORT,
            repeater_port: DEFAULT_REPEATER_PORT,
            conn_timeout: DEFAULT_CONN_TMO,
            beacon_period: DEFAULT_BEACON_PERIOD,
            max_array_bytes: DEFAULT_MAX_ARRAY_BYTES,
            auto_array_bytes: true,
            max_search_period: DEFAULT_MAX_SEARCH_PERIOD,
            mcast_ttl: DEFAULT_MCAST_TTL,
        }
    }
}

impl ClientConfig {
    /// Reads every client variable through `lookup` (`Some(value)` for a
    /// set variable).
    ///
    /// ```
    /// # use caproto_core::config::ClientConfig;
    /// let cfg = ClientConfig::from_lookup(|name| match name {
    ///     "EPICS_CA_ADDR_LIST" => Some("127.0.0.1 10.0.0.255:5070".into()),
    ///     "EPICS_CA_AUTO_ADDR_LIST" => Some("no".into()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// assert!(!cfg.auto_addr_list);
    /// assert_eq!(cfg.addr_list[1].port(), 5070);
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let d = ClientConfig::default();
        let server_port = env.port("EPICS_CA_SERVER_PORT")?.unwrap_or(d.server_port);
        Ok(ClientConfig {
            addr_list: env
                .addr_list("EPICS_CA_ADDR_LIST", server_port)?
                .unwrap_or_default(),
            auto_addr_list: env
                .yes_no("EPICS_CA_AUTO_ADDR_LIST")?
                .unwrap_or(d.auto_addr_list),
            name_servers: env
                .addr_list("EPICS_CA_NAME_SERVERS", server_port)?
                .unwrap_or_default(),
            server_port,
            repeater_port: env
                .port("EPICS_CA_REPEATER_PORT")?
                .unwrap_or(d.repeater_port),
            conn_timeout: env.period("EPICS_CA_CONN_TMO")?.unwrap_or(d.conn_timeout),
            beacon_period: env
                .period("EPICS_CA_BEACON_PERIOD")?
                .unwrap_or(d.beacon_period),
            max_array_bytes: env
                .array_bytes("EPICS_CA_MAX_ARRAY_BYTES")?
                .unwrap_or(d.max_array_bytes),
            auto_array_bytes: env
                .yes_no("EPICS_CA_AUTO_ARRAY_BYTES")?
                .unwrap_or(d.auto_array_bytes),
            max_search_period: env
                .max_search_period("EPICS_CA_MAX_SEARCH_PERIOD")?
                .unwrap_or(d.max_search_period),
            mcast_ttl: env.ttl("EPICS_CA_MCAST_TTL")?.unwrap_or(d.mcast_ttl),
        })
    }

    /// The largest message libca accepts with this configuration:
    /// `max_array_bytes` plus 24 bytes of header room, and never less than
    /// 16384 (libca `cac.cpp`, the handling of `EPICS_CA_MAX_ARRAY_BYTES`).
    pub fn max_recv_bytes(&self) -> u32 {
        max_recv_bytes(self.max_array_bytes)
    }
}

/// Server configuration (rsrv), from `EPICS_CAS_*` variables and the
/// `EPICS_CA_*` ones they fall back to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// `EPICS_CAS_SERVER_PORT`, else `EPICS_CA_SERVER_PORT`: the TCP and UDP
    /// port. Default: 5064.
    pub server_port: u16,
    /// `EPICS_CAS_BEACON_PORT`, else `EPICS_CA_REPEATER_PORT`: where beacons
    /// go (rsrv `caservertask.c`). Default: 5065.
    pub beacon_port: u16,
    /// `EPICS_CAS_BEACON_PERIOD`, else `EPICS_CA_BEACON_PERIOD`: the
    /// steady beacon period. Default: 15 s; must be above 0.1 s.
    pub beacon_period: Duration,
    /// `EPICS_CAS_INTF_ADDR_LIST`: interfaces to serve on (default port: the
    /// server port). Empty (the default) means every interface (0.0.0.0);
    /// 0.0.0.0 may not be combined with other entries (rsrv
    /// `caservertask.c`). Multicast entries (224.0.0.0/4) are groups to join.
    pub intf_addr_list: Vec<AddrListEntry>,
    /// `EPICS_CAS_BEACON_ADDR_LIST`: extra beacon destinations (default
    /// port: `beacon_port`). Default: empty. Since EPICS R3.15.4 rsrv no
    /// longer falls back to `EPICS_CA_ADDR_LIST`, and neither does this.
    pub beacon_addr_list: Vec<AddrListEntry>,
    /// `EPICS_CAS_AUTO_BEACON_ADDR_LIST`: also beacon to the broadcast
    /// address of every (selected) interface. Default: `YES` (rsrv
    /// `caservertask.c`).
    pub auto_beacon_addr_list: bool,
    /// `EPICS_CAS_IGNORE_ADDR_LIST`: clients whose searches are not
    /// answered. Only the address counts (rsrv `cast_server.c`); entries
    /// without a port carry port 0. Default: empty.
    pub ignore_addr_list: Vec<AddrListEntry>,
    /// `EPICS_CA_MAX_ARRAY_BYTES` as configured. Default: 16384.
    pub max_array_bytes: u32,
    /// `EPICS_CA_AUTO_ARRAY_BYTES`. Default: `YES`.
    pub auto_array_bytes: bool,
}

impl Default for ServerConfig {
    /// The EPICS base defaults (`configure/CONFIG_ENV`, rsrv).
    fn default() -> Self {
        ServerConfig {
            server_port: DEFAULT_SERVER_PORT,
            beacon_port: DEFAULT_REPEATER_PORT,
            beacon_period: DEFAULT_BEACON_PERIOD,
            intf_addr_list: Vec::new(),
            beacon_addr_list: Vec::new(),
            auto_beacon_addr_list: true,
            ignore_addr_list: Vec::new(),
            max_array_bytes: DEFAULT_MAX_ARRAY_BYTES,
            auto_array_bytes: true,
        }
    }
}

impl ServerConfig {
    /// Reads every server variable through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let d = ServerConfig::default();
        let server_port = match env.port("EPICS_CAS_SERVER_PORT")? {
            Some(p) => p,
            None => env.port("EPICS_CA_SERVER_PORT")?.unwrap_or(d.server_port),
        };
        let beacon_port = match env.port("EPICS_CAS_BEACON_PORT")? {
            Some(p) => p,
            None => env.port("EPICS_CA_REPEATER_PORT")?.unwrap_or(d.beacon_port),
        };
        let beacon_period = match env.period("EPICS_CAS_BEACON_PERIOD")? {
            Some(p) => p,
            None => env
                .period("EPICS_CA_BEACON_PERIOD")?
                .unwrap_or(d.beacon_period),
        };
        let intf_addr_list = env
            .addr_list("EPICS_CAS_INTF_ADDR_LIST", server_port)?
            .unwrap_or_default();
        let wildcard = intf_addr_list
            .iter()
            .any(|e| e.ip() == Some(Ipv4Addr::UNSPECIFIED));
        if wildcard && intf_addr_list.len() != 1 {
            let value = env.get("EPICS_CAS_INTF_ADDR_LIST").unwrap_or_default();
            return Err(ConfigError::new(
                "EPICS_CAS_INTF_ADDR_LIST",
                &value,
                "either 0.0.0.0 alone or specific interface addresses, not both",
            ));
        }
        Ok(ServerConfig {
            server_port,
            beacon_port,
            beacon_period,
            intf_addr_list,
            beacon_addr_list: env
                .addr_list("EPICS_CAS_BEACON_ADDR_LIST", beacon_port)?
                .unwrap_or_default(),
            auto_beacon_addr_list: env
                .yes_no("EPICS_CAS_AUTO_BEACON_ADDR_LIST")?
                .unwrap_or(d.auto_beacon_addr_list),
            ignore_addr_list: env
                .addr_list("EPICS_CAS_IGNORE_ADDR_LIST", 0)?
                .unwrap_or_default(),
            max_array_bytes: env
                .array_bytes("EPICS_CA_MAX_ARRAY_BYTES")?
                .unwrap_or(d.max_array_bytes),
            auto_array_bytes: env
                .yes_no("EPICS_CA_AUTO_ARRAY_BYTES")?
                .unwrap_or(d.auto_array_bytes),
        })
    }

    /// The largest message accepted with this configuration (same rule as
    /// [`ClientConfig::max_recv_bytes`]).
    pub fn max_recv_bytes(&self) -> u32 {
        max_recv_bytes(self.max_array_bytes)
    }

    /// True if `ip` is in `EPICS_CAS_IGNORE_ADDR_LIST` (numeric entries only;
    /// host names must be resolved by the front-end).
    pub fn ignores(&self, ip: Ipv4Addr) -> bool {
        self.ignore_addr_list.iter().any(|e| e.ip() == Some(ip))
    }
}

fn max_recv_bytes(max_array_bytes: u32) -> u32 {
    max_array_bytes
        .saturating_add(ARRAY_HEADER_ROOM)
        .max(MIN_RECV_BYTES)
}

/// The lookup function with typed accessors. Every accessor returns
/// `Ok(None)` for an unset or blank variable.
struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn port(&self, name: &'static str) -> Result<Option<u16>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.trim().parse::<u16>() {
            Ok(p) if p >= MIN_PORT => Ok(Some(p)),
            _ => Err(ConfigError::new(
                name,
                &v,
                "an integer port number in 5001..=65535",
            )),
        }
    }

    fn period(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s > MIN_PERIOD_SECS && s < 1e9 => {
                Ok(Some(Duration::from_secs_f64(s)))
            }
            _ => Err(ConfigError::new(
                name,
                &v,
                "a number of seconds greater than 0.1",
            )),
        }
    }

    fn max_search_period(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.trim().parse::<f64>() {
            // Below the lower limit libca uses the lower limit (udpiiu.cpp).
            Ok(s) if s.is_finite() && s < 1e9 => Ok(Some(
                Duration::from_secs_f64(s.max(0.0)).max(MIN_MAX_SEARCH_PERIOD),
            )),
            _ => Err(ConfigError::new(
                name,
                &v,
                "a number of seconds (values below 60 are raised to 60)",
            )),
        }
    }

    fn array_bytes(&self, name: &'static str) -> Result<Option<u32>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        v.trim().parse::<u32>().map(Some).map_err(|_| {
            ConfigError::new(
                name,
                &v,
                "a non-negative integer number of bytes, at most 4294967295",
            )
        })
    }

    fn ttl(&self, name: &'static str) -> Result<Option<u8>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.trim().parse::<u8>() {
            Ok(t) if t >= 1 => Ok(Some(t)),
            _ => Err(ConfigError::new(name, &v, "an integer in 1..=255")),
        }
    }

    fn yes_no(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let t = v.trim();
        if t.eq_ignore_ascii_case("yes") {
            Ok(Some(true))
        } else if t.eq_ignore_ascii_case("no") {
            Ok(Some(false))
        } else {
            Err(ConfigError::new(name, &v, "YES or NO"))
        }
    }

    fn addr_list(
        &self,
        name: &'static str,
        default_port: u16,
    ) -> Result<Option<Vec<AddrListEntry>>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let mut out: Vec<AddrListEntry> = Vec::new();
        for token in v.split_whitespace() {
            let entry = parse_entry(token, default_port)
                .map_err(|why| ConfigError::new(name, &v, format!("{why} (entry {token:?})")))?;
            // Duplicates are dropped, as libca's removeDuplicateAddresses does.
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        Ok(Some(out))
    }
}

/// Parses `host[:port]` or `a.b.c.d[:port]`.
fn parse_entry(token: &str, default_port: u16) -> Result<AddrListEntry, &'static str> {
    let (host, port) = match token.split_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) if p > 0 => (h, p),
            _ => return Err("a port number in 1..=65535 after ':'"),
        },
        None => (token, default_port),
    };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(AddrListEntry::Ip(SocketAddrV4::new(ip, port)));
    }
    if host.is_empty() {
        return Err("an IPv4 address or host name before the port");
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("a valid IPv4 address a.b.c.d");
    }
    let valid_host = host.len() <= 253
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !valid_host {
        return Err("space-separated IPv4 addresses or host names, each with an optional :port");
    }
    Ok(AddrListEntry::Host {
        host: host.to_owned(),
        port,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn client(pairs: &[(&str, &str)]) -> Result<ClientConfig, ConfigError> {
        ClientConfig::from_lookup(env(pairs))
    }

    fn server(pairs: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_lookup(env(pairs))
    }

    fn ip(a: [u8; 4], port: u16) -> AddrListEntry {
        AddrListEntry::Ip(SocketAddrV4::new(Ipv4Addr::from(a), port))
    }

    #[test]
    fn client_defaults_are_epics_base_defaults() {
        let c = client(&[]).unwrap();
        assert_eq!(c, ClientConfig::default());
        assert!(c.addr_list.is_empty());
        assert!(c.auto_addr_list);
        assert!(c.name_servers.is_empty());
        assert_eq!(c.server_port, 5064);
        assert_eq!(c.repeater_port, 5065);
        assert_eq!(c.conn_timeout, Duration::from_secs(30));
        assert_eq!(c.beacon_period, Duration::from_secs(15));
        assert_eq!(c.max_array_bytes, 16384);
        assert!(c.auto_array_bytes);
        assert_eq!(c.max_search_period, Duration::from_secs(300));
        assert_eq!(c.mcast_ttl, 1);
    }

    #[test]
    fn server_defaults_are_epics_base_defaults() {
        let s = server(&[]).unwrap();
        assert_eq!(s, ServerConfig::default());
        assert_eq!(s.server_port, 5064);
        assert_eq!(s.beacon_port, 5065);
        assert_eq!(s.beacon_period, Duration::from_secs(15));
        assert!(s.intf_addr_list.is_empty());
        assert!(s.beacon_addr_list.is_empty());
        assert!(s.auto_beacon_addr_list);
        assert!(s.ignore_addr_list.is_empty());
    }

    #[test]
    fn blank_values_mean_default() {
        let c = client(&[("EPICS_CA_SERVER_PORT", ""), ("EPICS_CA_CONN_TMO", "  ")]).unwrap();
        assert_eq!(c.server_port, 5064);
        assert_eq!(c.conn_timeout, DEFAULT_CONN_TMO);
    }

    #[test]
    fn addr_list_keeps_ports_and_host_names() {
        let c = client(&[
            ("EPICS_CA_SERVER_PORT", "25064"),
            (
                "EPICS_CA_ADDR_LIST",
                " 127.0.0.1\t10.0.0.255:5070 ioc-host.example.org gw:6064 127.0.0.1 ",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.addr_list,
            vec![
                ip([127, 0, 0, 1], 25064),
                ip([10, 0, 0, 255], 5070),
                AddrListEntry::Host {
                    host: "ioc-host.example.org".into(),
                    port: 25064
                },
                AddrListEntry::Host {
                    host: "gw".into(),
                    port: 6064
                },
            ]
        );
        assert_eq!(c.addr_list[3].to_string(), "gw:6064");
        assert_eq!(c.addr_list[0].to_string(), "127.0.0.1:25064");
    }

    #[test]
    fn addr_list_errors_name_the_entry() {
        for bad in [
            "10.0.0.256",
            "1.2.3.4:",
            "1.2.3.4:0",
            "1.2.3.4:70000",
            "host:port",
            ":5064",
            "a..b",
            "bad/host",
        ] {
            let e = client(&[("EPICS_CA_ADDR_LIST", &format!("127.0.0.1 {bad}"))]).unwrap_err();
            assert_eq!(e.variable, "EPICS_CA_ADDR_LIST");
            let text = e.to_string();
            assert!(
                text.starts_with("EPICS_CA_ADDR_LIST=\"127.0.0.1 "),
                "{text}"
            );
            assert!(text.contains(&format!("(entry {bad:?})")), "{text}");
        }
    }

    #[test]
    fn auto_addr_list_is_yes_or_no_in_any_case() {
        assert!(
            !client(&[("EPICS_CA_AUTO_ADDR_LIST", "no")])
                .unwrap()
                .auto_addr_list
        );
        assert!(
            !client(&[("EPICS_CA_AUTO_ADDR_LIST", "NO")])
                .unwrap()
                .auto_addr_list
        );
        assert!(
            client(&[("EPICS_CA_AUTO_ADDR_LIST", "Yes")])
                .unwrap()
                .auto_addr_list
        );
        let e = client(&[("EPICS_CA_AUTO_ADDR_LIST", "false")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "EPICS_CA_AUTO_ADDR_LIST=\"false\": expected YES or NO"
        );
    }

    #[test]
    fn ports_are_checked_like_libcom() {
        let c = client(&[
            ("EPICS_CA_SERVER_PORT", "25064"),
            ("EPICS_CA_REPEATER_PORT", " 25065 "),
        ])
        .unwrap();
        assert_eq!((c.server_port, c.repeater_port), (25064, 25065));
        for bad in ["5000", "0", "65536", "-1", "50x", "5064.5"] {
            let e = client(&[("EPICS_CA_SERVER_PORT", bad)]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "EPICS_CA_SERVER_PORT=\"{bad}\": expected an integer port number in 5001..=65535"
                )
            );
        }
        let e = client(&[("EPICS_CA_REPEATER_PORT", "abc")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CA_REPEATER_PORT");
        assert_eq!(e.value, "abc");
    }

    #[test]
    fn conn_tmo_and_beacon_period_must_exceed_a_tenth_of_a_second() {
        let c = client(&[
            ("EPICS_CA_CONN_TMO", "2.5"),
            ("EPICS_CA_BEACON_PERIOD", "1"),
        ])
        .unwrap();
        assert_eq!(c.conn_timeout, Duration::from_millis(2500));
        assert_eq!(c.beacon_period, Duration::from_secs(1));
        for bad in ["0.1", "0", "-3", "soon", "inf", "NaN"] {
            let e = client(&[("EPICS_CA_CONN_TMO", bad)]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "EPICS_CA_CONN_TMO=\"{bad}\": expected a number of seconds greater than 0.1"
                )
            );
            let e = client(&[("EPICS_CA_BEACON_PERIOD", bad)]).unwrap_err();
            assert_eq!(e.variable, "EPICS_CA_BEACON_PERIOD");
        }
    }

    #[test]
    fn max_array_bytes_small_values_still_allow_16384() {
        let c = client(&[("EPICS_CA_MAX_ARRAY_BYTES", "1000")]).unwrap();
        assert_eq!(c.max_array_bytes, 1000);
        assert_eq!(c.max_recv_bytes(), 16384);
        let c = client(&[("EPICS_CA_MAX_ARRAY_BYTES", "2000000")]).unwrap();
        assert_eq!(c.max_recv_bytes(), 2_000_024);
        let c = client(&[("EPICS_CA_MAX_ARRAY_BYTES", "4294967295")]).unwrap();
        assert_eq!(c.max_recv_bytes(), u32::MAX);
        assert_eq!(ClientConfig::default().max_recv_bytes(), 16384 + 24);
        for bad in ["-1", "1e6", "lots", "4294967296"] {
            let e = client(&[("EPICS_CA_MAX_ARRAY_BYTES", bad)]).unwrap_err();
            assert_eq!(e.variable, "EPICS_CA_MAX_ARRAY_BYTES");
            assert!(e.to_string().contains("non-negative integer"), "{e}");
        }
        let c = client(&[("EPICS_CA_AUTO_ARRAY_BYTES", "NO")]).unwrap();
        assert!(!c.auto_array_bytes);
    }

    #[test]
    fn max_search_period_has_a_floor_of_sixty_seconds() {
        let c = client(&[("EPICS_CA_MAX_SEARCH_PERIOD", "30")]).unwrap();
        assert_eq!(c.max_search_period, Duration::from_secs(60));
        let c = client(&[("EPICS_CA_MAX_SEARCH_PERIOD", "-5")]).unwrap();
        assert_eq!(c.max_search_period, Duration::from_secs(60));
        let c = client(&[("EPICS_CA_MAX_SEARCH_PERIOD", "120.5")]).unwrap();
        assert_eq!(c.max_search_period, Duration::from_millis(120_500));
        let e = client(&[("EPICS_CA_MAX_SEARCH_PERIOD", "never")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "EPICS_CA_MAX_SEARCH_PERIOD=\"never\": expected a number of seconds (values below 60 are raised to 60)"
        );
    }

    #[test]
    fn name_servers_default_to_the_server_port() {
        let c = client(&[
            ("EPICS_CA_SERVER_PORT", "6000"),
            ("EPICS_CA_NAME_SERVERS", "10.1.1.1 ns.example:7000"),
        ])
        .unwrap();
        assert_eq!(
            c.name_servers,
            vec![
                ip([10, 1, 1, 1], 6000),
                AddrListEntry::Host {
                    host: "ns.example".into(),
                    port: 7000
                }
            ]
        );
        let e = client(&[("EPICS_CA_NAME_SERVERS", "10.1.1.1:x")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CA_NAME_SERVERS");
    }

    #[test]
    fn mcast_ttl_is_checked() {
        assert_eq!(client(&[("EPICS_CA_MCAST_TTL", "4")]).unwrap().mcast_ttl, 4);
        let e = client(&[("EPICS_CA_MCAST_TTL", "0")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "EPICS_CA_MCAST_TTL=\"0\": expected an integer in 1..=255"
        );
    }

    #[test]
    fn server_port_prefers_cas_then_ca() {
        assert_eq!(
            server(&[("EPICS_CA_SERVER_PORT", "6064")])
                .unwrap()
                .server_port,
            6064
        );
        let s = server(&[
            ("EPICS_CA_SERVER_PORT", "6064"),
            ("EPICS_CAS_SERVER_PORT", "7064"),
        ])
        .unwrap();
        assert_eq!(s.server_port, 7064);
        let e = server(&[("EPICS_CAS_SERVER_PORT", "1")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CAS_SERVER_PORT");
        // The fallback is only read when the CAS variable is unset.
        let e = server(&[("EPICS_CA_SERVER_PORT", "x")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CA_SERVER_PORT");
    }

    #[test]
    fn beacon_period_prefers_cas_then_ca() {
        let s = server(&[("EPICS_CA_BEACON_PERIOD", "5")]).unwrap();
        assert_eq!(s.beacon_period, Duration::from_secs(5));
        let s = server(&[
            ("EPICS_CA_BEACON_PERIOD", "5"),
            ("EPICS_CAS_BEACON_PERIOD", "2.5"),
        ])
        .unwrap();
        assert_eq!(s.beacon_period, Duration::from_millis(2500));
        let e = server(&[("EPICS_CAS_BEACON_PERIOD", "0")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "EPICS_CAS_BEACON_PERIOD=\"0\": expected a number of seconds greater than 0.1"
        );
    }

    #[test]
    fn beacon_port_and_list() {
        let s = server(&[
            ("EPICS_CA_REPEATER_PORT", "25065"),
            ("EPICS_CAS_BEACON_ADDR_LIST", "127.0.0.1 10.0.0.255:6000"),
            ("EPICS_CAS_AUTO_BEACON_ADDR_LIST", "no"),
        ])
        .unwrap();
        assert_eq!(s.beacon_port, 25065);
        assert_eq!(
            s.beacon_addr_list,
            vec![ip([127, 0, 0, 1], 25065), ip([10, 0, 0, 255], 6000)]
        );
        assert!(!s.auto_beacon_addr_list);
        let s = server(&[
            ("EPICS_CA_REPEATER_PORT", "25065"),
            ("EPICS_CAS_BEACON_PORT", "26065"),
        ])
        .unwrap();
        assert_eq!(s.beacon_port, 26065);
        let e = server(&[("EPICS_CAS_AUTO_BEACON_ADDR_LIST", "maybe")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "EPICS_CAS_AUTO_BEACON_ADDR_LIST=\"maybe\": expected YES or NO"
        );
        let e = server(&[("EPICS_CAS_BEACON_ADDR_LIST", "1.2.3")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CAS_BEACON_ADDR_LIST");
        // The server does not fall back to the client's address list.
        let s = server(&[("EPICS_CA_ADDR_LIST", "10.0.0.255")]).unwrap();
        assert!(s.beacon_addr_list.is_empty());
    }

    #[test]
    fn interface_list_uses_the_server_port_and_refuses_mixed_wildcard() {
        let s = server(&[
            ("EPICS_CAS_SERVER_PORT", "25064"),
            ("EPICS_CAS_INTF_ADDR_LIST", "127.0.0.1 224.0.2.9"),
        ])
        .unwrap();
        assert_eq!(
            s.intf_addr_list,
            vec![ip([127, 0, 0, 1], 25064), ip([224, 0, 2, 9], 25064)]
        );
        assert!(server(&[("EPICS_CAS_INTF_ADDR_LIST", "0.0.0.0")]).is_ok());
        let e = server(&[("EPICS_CAS_INTF_ADDR_LIST", "0.0.0.0 127.0.0.1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "EPICS_CAS_INTF_ADDR_LIST=\"0.0.0.0 127.0.0.1\": expected either 0.0.0.0 alone or specific interface addresses, not both"
        );
        let e = server(&[("EPICS_CAS_INTF_ADDR_LIST", "999.1.1.1")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CAS_INTF_ADDR_LIST");
    }

    #[test]
    fn ignore_list_matches_addresses_only() {
        let s = server(&[(
            "EPICS_CAS_IGNORE_ADDR_LIST",
            "10.0.0.7 10.0.0.8:5064 badhost",
        )])
        .unwrap();
        assert_eq!(s.ignore_addr_list[0], ip([10, 0, 0, 7], 0));
        assert!(s.ignores(Ipv4Addr::new(10, 0, 0, 7)));
        assert!(s.ignores(Ipv4Addr::new(10, 0, 0, 8)));
        assert!(!s.ignores(Ipv4Addr::new(10, 0, 0, 9)));
        let e = server(&[("EPICS_CAS_IGNORE_ADDR_LIST", "10.0.0.7:")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CAS_IGNORE_ADDR_LIST");
    }

    #[test]
    fn server_array_bytes() {
        let s = server(&[
            ("EPICS_CA_MAX_ARRAY_BYTES", "100000"),
            ("EPICS_CA_AUTO_ARRAY_BYTES", "no"),
        ])
        .unwrap();
        assert_eq!(s.max_array_bytes, 100_000);
        assert_eq!(s.max_recv_bytes(), 100_024);
        assert!(!s.auto_array_bytes);
        let e = server(&[("EPICS_CA_MAX_ARRAY_BYTES", "-5")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CA_MAX_ARRAY_BYTES");
        let e = server(&[("EPICS_CA_AUTO_ARRAY_BYTES", "y")]).unwrap_err();
        assert_eq!(e.variable, "EPICS_CA_AUTO_ARRAY_BYTES");
    }
}
