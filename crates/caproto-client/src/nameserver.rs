//! Name resolution over TCP (`EPICS_CA_NAME_SERVERS`): one connection per
//! name server carrying SEARCH requests (libca `tcpiiu` in name-service
//! mode: `tcpiiu::searchMsg`; rsrv answers with `search_reply_tcp`, the
//! address field set to `~0` meaning "this server").

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use caproto_core::wire::{
    ClientMessage, Message, ServerMessage, StreamDecoder, ADDR_FROM_SENDER, DONT_REPLY,
};
use caproto_core::{Cid, CA_MINOR_VERSION};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::circuit::CircuitSettings;

/// Wait before connecting again to a name server that refused or dropped
/// the connection.
const RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// Largest message accepted from a name server (a search reply has no
/// payload; anything big is a fault).
const MAX_NS_PAYLOAD: u32 = 16384;

#[derive(Debug)]
pub(crate) enum NsCmd {
    Search(Cid, String),
    Cancel(Cid),
}

pub(crate) type NsTx = mpsc::UnboundedSender<NsCmd>;

pub(crate) fn spawn_name_server(server: SocketAddrV4, settings: Arc<CircuitSettings>) -> NsTx {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(server, settings, rx));
    tx
}

fn apply(outstanding: &mut HashMap<Cid, String>, cmd: NsCmd) -> Option<(Cid, String)> {
    match cmd {
        NsCmd::Search(cid, name) => {
            outstanding.insert(cid, name.clone());
            Some((cid, name))
        }
        NsCmd::Cancel(cid) => {
            outstanding.remove(&cid);
            None
        }
    }
}

fn search_message(cid: Cid, name: String, out: &mut Vec<u8>) {
    ClientMessage::Search {
        reply: DONT_REPLY,
        minor_version: CA_MINOR_VERSION,
        cid,
        name,
    }
    .encode(out);
}

async fn run(
    server: SocketAddrV4,
    settings: Arc<CircuitSettings>,
    mut rx: mpsc::UnboundedReceiver<NsCmd>,
) {
    let mut outstanding: HashMap<Cid, String> = HashMap::new();
    let mut shutdown = settings.shutdown.clone();
    loop {
        let conn = tokio::time::timeout(settings.connect_timeout, TcpStream::connect(server)).await;
        if let Ok(Ok(stream)) = conn {
            let _ = stream.set_nodelay(true);
            if !serve(
                server,
                &settings,
                stream,
                &mut rx,
                &mut outstanding,
                &mut shutdown,
            )
            .await
            {
                return;
            }
        } else {
            tracing::debug!(%server, "name server: cannot connect");
        }
        // Wait before reconnecting, still taking commands.
        let end = tokio::time::Instant::now() + RECONNECT_DELAY;
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => { apply(&mut outstanding, cmd); }
                    None => return,
                },
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep_until(end) => break,
            }
        }
    }
}

/// Serves one connection; returns false when the context is gone.
async fn serve(
    server: SocketAddrV4,
    settings: &CircuitSettings,
    stream: TcpStream,
    rx: &mut mpsc::UnboundedReceiver<NsCmd>,
    outstanding: &mut HashMap<Cid, String>,
    shutdown: &mut tokio::sync::watch::Receiver<()>,
) -> bool {
    let (mut rd, mut wr) = stream.into_split();
    let mut out = Vec::new();
    // The handshake of every libca circuit, then every name still wanted.
    ClientMessage::Version {
        priority: 0,
        minor_version: CA_MINOR_VERSION,
        sequence: 0,
    }
    .encode(&mut out);
    ClientMessage::ClientName {
        name: settings.circuit.client_name.clone(),
    }
    .encode(&mut out);
    ClientMessage::HostName {
        name: settings.circuit.host_name.clone(),
    }
    .encode(&mut out);
    for (cid, name) in outstanding.iter() {
        search_message(*cid, name.clone(), &mut out);
    }
    let mut decoder = StreamDecoder::new(MAX_NS_PAYLOAD);
    let mut buf = vec![0u8; 16384];
    loop {
        if !out.is_empty() {
            if wr.write_all(&out).await.is_err() {
                return true;
            }
            out.clear();
        }
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => {
                    if let Some((cid, name)) = apply(outstanding, cmd) {
                        search_message(cid, name, &mut out);
                    }
                    while let Ok(cmd) = rx.try_recv() {
                        if let Some((cid, name)) = apply(outstanding, cmd) {
                            search_message(cid, name, &mut out);
                        }
                    }
                }
                None => return false,
            },
            _ = shutdown.changed() => return false,
            r = rd.read(&mut buf) => {
                let n = match r {
                    Ok(0) | Err(_) => return true,
                    Ok(n) => n,
                };
                decoder.push(buf.get(..n).unwrap_or_default());
                loop {
                    match decoder.next_message::<ServerMessage>() {
                        Ok(Some(ServerMessage::SearchResponse { port, server_addr, cid, .. })) => {
                            if outstanding.remove(&cid).is_some() {
                                let ip = if server_addr == ADDR_FROM_SENDER || server_addr == 0 {
                                    *server.ip()
                                } else {
                                    Ipv4Addr::from(server_addr)
                                };
                                settings.internal.name_server_found(cid, SocketAddrV4::new(ip, port));
                            }
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(%server, "name server sent malformed input: {e}");
                            return true;
                        }
                    }
                }
            }
        }
    }
}
