//! The server's answer to search datagrams: [`SearchResponder`].

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::config::ServerConfig;
use crate::error::ProtocolError;
use crate::wire::{
    datagram_frames, ClientMessage, Command, Header, Message, ADDR_FROM_SENDER, DO_REPLY,
    MAX_UDP_RECV, MAX_UDP_SEND,
};
use crate::CA_MINOR_VERSION;

use super::SEQUENCE_NO_IS_VALID;

/// Oldest client minor version a server answers (`caProto.h`
/// `CA_MINIMUM_SUPPORTED_VERSION`, rsrv `camessage.c` `CA_VSUPPORTED`).
const MIN_SUPPORTED_MINOR: u16 = 4;

/// Client minor version from which the VERSION message of a search
/// datagram carries a sequence number to echo (`caProto.h` `CA_V411`).
const MINOR_WITH_SEQUENCE: u16 = 11;

/// Size of a SEARCH reply: header plus the 2-byte minor version padded to
/// 8 (rsrv `camessage.c` `search_reply_udp`).
const SEARCH_REPLY_LEN: usize = 24;

/// Answers search datagrams the way rsrv does (`camessage.c`
/// `search_reply_udp`, `udp_version_action`; `caserverio.c`
/// `cas_send_dg_msg`).
///
/// It holds no state between datagrams: call
/// [`respond`](Self::respond) for each datagram received on the server's
/// UDP port and send every returned datagram back to the sender.
///
/// The reply, for a client of minor version 11 or later, is
/// `VERSION data_type=1 count=13 p1=<request sequence> p2=0`, then one
/// `SEARCH payload=8 data_type=<TCP port> count=0 p1=<address> p2=<cid>`
/// with payload `00 0d 00 00 00 00 00 00` per name the server has, where
/// the address is [`ADDR_FROM_SENDER`] unless one was configured. A
/// DO_REPLY search for an unknown name gets a NOT_FOUND echoing the
/// request's fields (CA protocol spec, CA_PROTO_NOT_FOUND; rsrv sends it on
/// TCP only and stays silent on UDP). Reply datagrams are at most
/// [`MAX_UDP_SEND`] bytes, each with its own VERSION message, as rsrv's.
///
/// Differences from rsrv: rsrv drops a datagram whose searches are not
/// preceded by a VERSION message; here they are answered (without a
/// VERSION message, as rsrv does for clients older than 4.11). rsrv logs
/// and skips an empty name; here any malformed message, an empty name
/// included, refuses the whole datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResponder {
    server_port: u16,
    server_addr: Option<Ipv4Addr>,
    ignore: Vec<Ipv4Addr>,
}

impl SearchResponder {
    /// A responder for a server listening on TCP port `server_port`,
    /// answering with [`ADDR_FROM_SENDER`].
    pub fn new(server_port: u16) -> Self {
        SearchResponder {
            server_port,
            server_addr: None,
            ignore: Vec::new(),
        }
    }

    /// A responder for `config`'s server port that ignores the numeric
    /// addresses of `EPICS_CAS_IGNORE_ADDR_LIST` (host names in that list
    /// must be resolved by the front-end and added with
    /// [`with_ignored`](Self::with_ignored)).
    pub fn from_config(config: &ServerConfig) -> Self {
        SearchResponder::new(config.server_port)
            .with_ignored(config.ignore_addr_list.iter().filter_map(|e| e.ip()))
    }

    /// Answers with this IPv4 address instead of [`ADDR_FROM_SENDER`] (for
    /// a server reached through a different address than the one its
    /// replies come from).
    pub fn with_server_addr(mut self, addr: Ipv4Addr) -> Self {
        self.server_addr = Some(addr);
        self
    }

    /// Never answers datagrams from these addresses
    /// (`EPICS_CAS_IGNORE_ADDR_LIST`, rsrv `cast_server.c`).
    pub fn with_ignored(mut self, addrs: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        self.ignore.extend(addrs);
        self
    }

    /// The TCP port announced in replies.
    pub fn server_port(&self) -> u16 {
        self.server_port
    }

    /// Builds the reply to `request`, a datagram received from `from`.
    /// `has(name)` says whether this server serves `name`.
    ///
    /// Returns the datagrams to send back to `from`: none when nothing is
    /// to be said (no name found and no DO_REPLY miss, an ignored sender, a
    /// client older than CA 4.4), usually one. A malformed datagram
    /// (truncated message, empty or unterminated name, a command that is
    /// not VERSION or SEARCH) is refused with a [`ProtocolError`] and gets
    /// no reply; `has` is not called.
    pub fn respond(
        &self,
        from: SocketAddrV4,
        request: &[u8],
        mut has: impl FnMut(&str) -> bool,
    ) -> Result<Vec<Vec<u8>>, ProtocolError> {
        if self.ignore.contains(from.ip()) {
            return Ok(Vec::new());
        }
        // Parse the whole datagram first: it is answered whole or not at all.
        let mut requests = Vec::new();
        for frame in datagram_frames(request, MAX_UDP_RECV as u32) {
            let (header, payload) = frame?;
            match ClientMessage::decode(&header, payload)? {
                ClientMessage::Version {
                    minor_version,
                    sequence,
                    ..
                } => requests.push(Request::Version {
                    minor_version,
                    sequence,
                }),
                ClientMessage::Search {
                    reply,
                    minor_version,
                    name,
                    ..
                } => requests.push(Request::Search {
                    header,
                    reply,
                    minor_version,
                    name,
                }),
                _ => {
                    return Err(ProtocolError::UnexpectedCommand {
                        command: header.command,
                        context: "a server's UDP port accepts only VERSION and SEARCH",
                    })
                }
            }
        }

        let mut out = Replies {
            datagrams: Vec::new(),
            current: Vec::new(),
            sequence: None,
        };
        for r in requests {
            match r {
                Request::Version {
                    minor_version,
                    sequence,
                } => {
                    if minor_version < MIN_SUPPORTED_MINOR {
                        break; // rsrv udp_version_action: ignore old clients
                    }
                    out.sequence = (minor_version >= MINOR_WITH_SEQUENCE).then_some(sequence);
                }
                Request::Search {
                    header,
                    reply,
                    minor_version,
                    name,
                } => {
                    if minor_version < MIN_SUPPORTED_MINOR {
                        break; // rsrv search_reply_udp: RSRV_ERROR ends the datagram
                    }
                    if has(&name) {
                        out.push(SEARCH_REPLY_LEN, |buf| {
                            Header {
                                command: Command::SEARCH,
                                payload_size: 8,
                                data_type: self.server_port,
                                data_count: 0,
                                parameter1: self.server_addr.map_or(ADDR_FROM_SENDER, u32::from),
                                parameter2: header.parameter2,
                            }
                            .encode(buf);
                            buf.extend_from_slice(&CA_MINOR_VERSION.to_be_bytes());
                            buf.extend_from_slice(&[0; 6]);
                        });
                    } else if reply == DO_REPLY {
                        out.push(crate::wire::HEADER_SIZE, |buf| {
                            Header {
                                command: Command::NOT_FOUND,
                                payload_size: 0,
                                data_type: reply,
                                data_count: u32::from(minor_version),
                                parameter1: header.parameter1,
                                parameter2: header.parameter2,
                            }
                            .encode(buf);
                        });
                    }
                }
            }
        }
        out.flush();
        Ok(out.datagrams)
    }
}

enum Request {
    Version {
        minor_version: u16,
        sequence: u32,
    },
    Search {
        header: Header,
        reply: u16,
        minor_version: u16,
        name: String,
    },
}

/// Reply datagrams being built.
struct Replies {
    datagrams: Vec<Vec<u8>>,
    current: Vec<u8>,
    /// The sequence number to echo, for clients of CA 4.11 or later.
    sequence: Option<u32>,
}

impl Replies {
    /// Appends a message of `len` bytes written by `write`, starting a new
    /// datagram when it would not fit.
    fn push(&mut self, len: usize, write: impl FnOnce(&mut Vec<u8>)) {
        if !self.current.is_empty() && self.current.len() + len > MAX_UDP_SEND {
            self.flush();
        }
        if self.current.is_empty() {
            if let Some(seq) = self.sequence {
                // rsrv rsrv_version_reply + cas_send_dg_msg.
                Header {
                    command: Command::VERSION,
                    payload_size: 0,
                    data_type: SEQUENCE_NO_IS_VALID,
                    data_count: u32::from(CA_MINOR_VERSION),
                    parameter1: seq,
                    parameter2: 0,
                }
                .encode(&mut self.current);
            }
        }
        write(&mut self.current);
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            self.datagrams.push(std::mem::take(&mut self.current));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ids::Cid;
    use crate::wire::DONT_REPLY;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 34818);

    fn search(reply: u16, cid: u32, name: &str) -> Vec<u8> {
        let mut v = Vec::new();
        ClientMessage::Search {
            reply,
            minor_version: 13,
            cid: Cid(cid),
            name: name.into(),
        }
        .encode(&mut v);
        v
    }

    fn version(seq: u32) -> Vec<u8> {
        let mut v = Vec::new();
        ClientMessage::Version {
            priority: 1,
            minor_version: 13,
            sequence: seq,
        }
        .encode(&mut v);
        v
    }

    #[test]
    fn reply_matches_the_rsrv_capture() {
        // get-native.pcap: caget's 11-name search and softIoc's reply.
        let request = hex("000000000001000d0000000100000000\
             000600080005000d0000000100000001743a616f00000000\
             000600080005000d0000000200000002743a616900000000\
             000600080005000d0000000300000003743a626f00000000\
             000600080005000d0000000400000004743a6d62626f0000\
             000600080005000d0000000500000005743a737472000000\
             000600080005000d0000000600000006743a6c6f6e670000\
             000600080005000d0000000700000007743a73686f727400\
             000600080005000d0000000800000008743a666c6f617400\
             000600080005000d0000000900000009743a636861720000\
             000600080005000d0000000a0000000a743a776600000000\
             000600080005000d0000000b0000000b743a637766000000");
        let mut reply = hex("000000000001000d0000000100000000");
        for cid in 1..=11u8 {
            reply.extend_from_slice(&hex(&format!(
                "0006000861e80000ffffffff000000{cid:02x}000d000000000000"
            )));
        }
        let r = SearchResponder::new(25064);
        let mut asked = Vec::new();
        let out = r
            .respond(CLIENT, &request, |n| {
                asked.push(n.to_string());
                n.starts_with("t:")
            })
            .unwrap();
        assert_eq!(out, vec![reply]);
        assert_eq!(asked.len(), 11);
        assert_eq!(asked[3], "t:mbbo");
    }

    #[test]
    fn misses_are_silent_unless_do_reply() {
        let r = SearchResponder::new(5064);
        let mut d = version(7);
        d.extend(search(DONT_REPLY, 1, "nope"));
        assert!(r.respond(CLIENT, &d, |_| false).unwrap().is_empty());

        let mut d = version(7);
        d.extend(search(DO_REPLY, 3, "nope"));
        d.extend(search(DONT_REPLY, 4, "nope2"));
        d.extend(search(DONT_REPLY, 5, "yes"));
        let out = r.respond(CLIENT, &d, |n| n == "yes").unwrap();
        assert_eq!(
            out,
            vec![hex("000000000001000d0000000700000000\
                 000e0000000a000d0000000300000003\
                 0006000813c80000ffffffff00000005000d000000000000")]
        );
    }

    #[test]
    fn configured_address_replaces_addr_from_sender() {
        let r = SearchResponder::new(5064).with_server_addr(Ipv4Addr::new(10, 0, 0, 9));
        let mut d = version(1);
        d.extend(search(DONT_REPLY, 42, "pv"));
        let out = r.respond(CLIENT, &d, |_| true).unwrap();
        assert_eq!(
            out[0][16..],
            hex("0006000813c800000a0000090000002a000d000000000000")[..]
        );
    }

    #[test]
    fn empty_names_and_malformed_datagrams_are_refused() {
        let r = SearchResponder::new(5064);
        let mut called = false;
        // An empty name (payload of NULs).
        let mut d = version(1);
        d.extend(hex("000600080005000d0000000100000001 0000000000000000"));
        assert!(matches!(
            r.respond(CLIENT, &d, |_| {
                called = true;
                true
            }),
            Err(ProtocolError::BadName { .. })
        ));
        // A SEARCH with no payload at all.
        let d = hex("000600000005000d0000000100000001");
        assert!(matches!(
            r.respond(CLIENT, &d, |_| true),
            Err(ProtocolError::BadName { .. })
        ));
        // Truncated in the middle of the name.
        let mut d = version(1);
        d.extend(&search(DONT_REPLY, 1, "abcdefgh")[..20]);
        assert!(matches!(
            r.respond(CLIENT, &d, |_| true),
            Err(ProtocolError::TruncatedDatagram { .. })
        ));
        // A short header, garbage, a TCP-only command.
        for bad in [
            hex("0000"),
            hex("ffff0000000000000000000000000000"),
            hex("000f0000000e00010000000100000001"),
        ] {
            assert!(r.respond(CLIENT, &bad, |_| true).is_err(), "{bad:02x?}");
        }
        // A payload size bigger than any datagram.
        let d = hex("0006ffff0005000000000001000000010000fff00000000d");
        assert!(r.respond(CLIENT, &d, |_| true).is_err());
        assert!(!called);
        // Nothing at all is not an error, and gets no reply.
        assert!(r.respond(CLIENT, &[], |_| true).unwrap().is_empty());
    }

    #[test]
    fn old_clients_and_ignored_senders_get_nothing() {
        let r = SearchResponder::new(5064).with_ignored([Ipv4Addr::new(127, 0, 0, 1)]);
        let mut d = version(1);
        d.extend(search(DONT_REPLY, 1, "pv"));
        assert!(r.respond(CLIENT, &d, |_| true).unwrap().is_empty());

        let r = SearchResponder::new(5064);
        let mut old = Vec::new();
        ClientMessage::Version {
            priority: 0,
            minor_version: 3,
            sequence: 0,
        }
        .encode(&mut old);
        old.extend(search(DONT_REPLY, 1, "pv"));
        assert!(r.respond(CLIENT, &old, |_| true).unwrap().is_empty());
    }

    #[test]
    fn clients_before_4_11_get_no_version_message() {
        let r = SearchResponder::new(5064);
        let mut d = Vec::new();
        ClientMessage::Version {
            priority: 0,
            minor_version: 10,
            sequence: 99,
        }
        .encode(&mut d);
        d.extend(search(DONT_REPLY, 1, "pv"));
        let out = r.respond(CLIENT, &d, |_| true).unwrap();
        assert_eq!(
            out,
            vec![hex("0006000813c80000ffffffff00000001000d000000000000")]
        );
        // No VERSION at all: answered the same way.
        let out = r
            .respond(CLIENT, &search(DONT_REPLY, 1, "pv"), |_| true)
            .unwrap();
        assert_eq!(
            out,
            vec![hex("0006000813c80000ffffffff00000001000d000000000000")]
        );
    }

    #[test]
    fn large_requests_split_into_datagrams_of_at_most_1024_bytes() {
        let r = SearchResponder::new(5064);
        let mut d = version(5);
        for cid in 0..200 {
            d.extend(search(DONT_REPLY, cid, "a"));
        }
        let out = r.respond(CLIENT, &d, |_| true).unwrap();
        // (1024 - 16) / 24 = 42 replies per datagram.
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|dg| dg.len() <= MAX_UDP_SEND));
        assert!(out.iter().all(|dg| dg[..16] == version_reply(5)[..]));
        assert_eq!(out[0].len(), 16 + 42 * 24);
        let replies: usize = out.iter().map(|dg| (dg.len() - 16) / 24).sum();
        assert_eq!(replies, 200);
    }

    fn version_reply(seq: u32) -> Vec<u8> {
        let mut v = hex("000000000001000d");
        v.extend(seq.to_be_bytes());
        v.extend([0, 0, 0, 0]);
        v
    }

    #[test]
    fn from_config_uses_port_and_ignore_list() {
        let cfg = ServerConfig::from_lookup(|k| match k {
            "EPICS_CAS_SERVER_PORT" => Some("25064".into()),
            "EPICS_CAS_IGNORE_ADDR_LIST" => Some("10.0.0.1".into()),
            _ => None,
        })
        .unwrap();
        let r = SearchResponder::from_config(&cfg);
        assert_eq!(r.server_port(), 25064);
        let mut d = version(1);
        d.extend(search(DONT_REPLY, 1, "pv"));
        let ignored = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 4000);
        assert!(r.respond(ignored, &d, |_| true).unwrap().is_empty());
        assert_eq!(r.respond(CLIENT, &d, |_| true).unwrap().len(), 1);
    }
}
