//! State shared between the user's handles and the I/O tasks, and the
//! messages they exchange.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use caproto_core::circuit::{ChannelInfo, DbrPayload};
use caproto_core::dbr::DbrType;
use caproto_core::wire::EventMask;
use caproto_core::Cid;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::OpError;

/// Where a channel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Never connected yet: the name is being searched for.
    Searching,
    /// Connected to a server.
    Connected,
    /// Was connected; the server went away or the circuit is unresponsive.
    /// The client searches again and reconnects by itself.
    Disconnected,
}

/// A snapshot of a channel's connection, as published on
/// [`crate::Channel::connection`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionState {
    /// Searching, connected or disconnected.
    pub status: ConnectionStatus,
    /// Native type, count, access rights and server id: those of the current
    /// connection, or of the last one while disconnected.
    pub info: Option<ChannelInfo>,
    /// The server's address (current or last).
    pub server: Option<SocketAddrV4>,
    /// How many times the channel has connected: 1 after the first
    /// connection, 2 after the first reconnection, ...
    pub connections: u32,
}

impl ConnectionState {
    /// True when connected.
    pub fn is_connected(&self) -> bool {
        self.status == ConnectionStatus::Connected
    }
}

pub(crate) type CircuitTx = mpsc::UnboundedSender<CircuitCmd>;

/// One channel, shared by its user handles, the context task and the
/// circuit task it is on.
#[derive(Debug)]
pub(crate) struct ChanState {
    pub(crate) cid: Cid,
    pub(crate) name: String,
    pub(crate) state: watch::Sender<ConnectionState>,
    pub(crate) inner: Mutex<ChanInner>,
}

#[derive(Debug, Default)]
pub(crate) struct ChanInner {
    /// The circuit the channel is connected on.
    pub(crate) circuit: Option<CircuitTx>,
    /// Subscriptions of the user, kept across reconnections.
    pub(crate) subs: HashMap<u64, SubReg>,
    pub(crate) next_key: u64,
}

/// A subscription as the user asked for it.
#[derive(Debug, Clone)]
pub(crate) struct SubReg {
    pub(crate) data_type: DbrType,
    pub(crate) count: u32,
    pub(crate) mask: EventMask,
    pub(crate) queue: Arc<SubQueue>,
}

impl ChanState {
    pub(crate) fn new(cid: Cid, name: String) -> ChanState {
        let (state, _) = watch::channel(ConnectionState {
            status: ConnectionStatus::Searching,
            info: None,
            server: None,
            connections: 0,
        });
        ChanState {
            cid,
            name,
            state,
            inner: Mutex::new(ChanInner::default()),
        }
    }

    /// The lock never poisons the client: a panic elsewhere leaves data
    /// that is still consistent (every update is a single assignment).
    pub(crate) fn lock(&self) -> MutexGuard<'_, ChanInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the channel disconnected (keeping the last info).
    pub(crate) fn set_disconnected(&self) {
        self.lock().circuit = None;
        self.state.send_modify(|s| {
            if s.status == ConnectionStatus::Connected {
                s.status = ConnectionStatus::Disconnected;
            }
        });
    }
}

/// Commands to a circuit task.
#[derive(Debug)]
pub(crate) enum CircuitCmd {
    /// Create this channel on the circuit.
    Attach(Arc<ChanState>),
    /// Clear it.
    Detach(Cid),
    Read {
        cid: Cid,
        data_type: DbrType,
        count: u32,
        reply: oneshot::Sender<Result<DbrPayload, OpError>>,
    },
    Write {
        cid: Cid,
        data_type: DbrType,
        count: u32,
        data: Vec<u8>,
        notify: bool,
        reply: oneshot::Sender<Result<(), OpError>>,
    },
    Subscribe {
        cid: Cid,
        key: u64,
    },
    Unsubscribe {
        cid: Cid,
        key: u64,
    },
    /// A beacon of this circuit's server arrived.
    Beacon,
}

/// What a subscription queue holds.
#[derive(Debug)]
pub(crate) enum SubItem {
    Data(DbrPayload),
    Failed(OpError),
}

/// The bounded queue between a circuit task and one subscription stream.
///
/// When the consumer falls behind and the queue is full, the newest update
/// replaces the last one queued, as libca does when its event queue is
/// full (`ca_client_context` flow control keeps the latest value), so
/// memory stays bounded and the latest value is never lost.
#[derive(Debug)]
pub(crate) struct SubQueue {
    inner: Mutex<SubQueueInner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct SubQueueInner {
    items: VecDeque<SubItem>,
    waker: Option<Waker>,
    dropped: u64,
}

impl SubQueue {
    pub(crate) fn new(capacity: usize) -> SubQueue {
        SubQueue {
            inner: Mutex::new(SubQueueInner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SubQueueInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, item: SubItem) {
        let mut q = self.lock();
        if q.items.len() >= self.capacity {
            q.items.pop_back();
            q.dropped += 1;
        }
        q.items.push_back(item);
        if let Some(w) = q.waker.take() {
            w.wake();
        }
    }

    pub(crate) fn poll_pop(&self, cx: &mut std::task::Context<'_>) -> Option<SubItem> {
        let mut q = self.lock();
        match q.items.pop_front() {
            Some(item) => Some(item),
            None => {
                q.waker = Some(cx.waker().clone());
                None
            }
        }
    }

    pub(crate) fn try_pop(&self) -> Option<SubItem> {
        self.lock().items.pop_front()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caproto_core::dbr::DbrType;

    fn item(n: u8) -> SubItem {
        SubItem::Data(DbrPayload {
            data_type: DbrType::Char,
            count: 1,
            data: vec![n],
        })
    }

    #[test]
    fn full_queue_keeps_the_newest_update() {
        let q = SubQueue::new(2);
        for n in 0..5 {
            q.push(item(n));
        }
        let got: Vec<u8> = std::iter::from_fn(|| q.try_pop())
            .map(|i| match i {
                SubItem::Data(p) => p.data.first().copied().unwrap_or(255),
                SubItem::Failed(_) => 255,
            })
            .collect();
        assert_eq!(got, vec![0, 4]);
        assert_eq!(q.dropped(), 3);
    }
}
