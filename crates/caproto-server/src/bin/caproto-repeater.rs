//! `caproto-repeater`: the CA repeater daemon, like EPICS base's
//! `caRepeater` (libca `repeater.cpp`), driving `caproto-core`'s
//! [`Repeater`] state machine over a UDP socket.
//!
//! It binds `EPICS_CA_REPEATER_PORT` (default 5065) on all interfaces;
//! clients on this host register, get a REPEATER_CONFIRM, and from then on
//! receive every beacon that arrives. Dead clients are noticed as libca
//! does: when a client's port can be bound again, the client is gone. If
//! the port is already taken (another repeater runs) it exits at once with
//! status 0, as `caRepeater` does.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};

use caproto_core::config::ClientConfig;
use caproto_core::udp::{Repeater, RepeaterConfig, RepeaterEvent};
use caproto_core::wire::MAX_UDP_RECV;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "caproto-repeater: the Channel Access repeater (like caRepeater).\n\
             Listens on EPICS_CA_REPEATER_PORT (default 5065) and forwards\n\
             beacons to the CA clients of this host. Options: -v (log clients)."
        );
        return;
    }
    let verbose = args.iter().any(|a| a == "-v");
    let config = match ClientConfig::from_lookup(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("caproto-repeater: {e}");
            std::process::exit(1);
        }
    };
    let port = config.repeater_port;
    let sock = match UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if verbose {
                eprintln!("caproto-repeater: port {port} in use: a repeater already runs");
            }
            return;
        }
        Err(e) => {
            eprintln!("caproto-repeater: cannot bind port {port}: {e}");
            std::process::exit(1);
        }
    };
    let mut rc = RepeaterConfig::default();
    rc.local_addrs = if_addrs::get_if_addrs()
        .map(|ifs| {
            ifs.into_iter()
                .filter_map(|i| match i.addr {
                    if_addrs::IfAddr::V4(v4) => Some(v4.ip),
                    if_addrs::IfAddr::V6(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut repeater = Repeater::new(rc);
    println!("caproto-repeater listening on port {port}");
    let mut buf = vec![0u8; MAX_UDP_RECV];
    let mut out = Vec::new();
    loop {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            // ICMP port unreachable from a dead client surfaces here.
            Err(_) => {
                prune(&mut repeater, verbose);
                continue;
            }
        };
        let SocketAddr::V4(from) = from else {
            continue;
        };
        repeater.handle_datagram(from, buf.get(..n).unwrap_or_default());
        let mut failed = false;
        while let Some(dest) = repeater.poll_transmit(&mut out) {
            failed |= sock.send_to(&out, dest).is_err();
        }
        let mut probe = failed;
        while let Some(ev) = repeater.poll_event() {
            match ev {
                RepeaterEvent::ClientAdded(c) => {
                    probe = true;
                    if verbose {
                        eprintln!("caproto-repeater: client {c} registered");
                    }
                }
                RepeaterEvent::ClientRefused { from, reason } if verbose => {
                    eprintln!("caproto-repeater: refused {from}: {reason}");
                }
                _ => {}
            }
        }
        if probe {
            prune(&mut repeater, verbose);
        }
    }
}

/// Removes the clients whose port can be bound: nobody uses it any more
/// (libca `repeaterClient::verify`).
fn prune(repeater: &mut Repeater, verbose: bool) {
    let dead: Vec<SocketAddrV4> = repeater
        .clients()
        .filter(|c| UdpSocket::bind(*c).is_ok())
        .collect();
    for c in dead {
        repeater.remove_client(c);
        if verbose {
            eprintln!("caproto-repeater: client {c} gone");
        }
    }
}
