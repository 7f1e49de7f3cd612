//! [`Subscription`]: a stream of monitor updates.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use caproto_core::dbr::{self, DbrData};

use crate::channel::Channel;
use crate::error::Error;
use crate::shared::{CircuitCmd, SubItem, SubQueue};

/// A monitor (EVENT_ADD) on a channel: a [`futures_core::Stream`] of
/// decoded updates. It survives reconnections (the client renews it on the
/// new circuit) and is cancelled (EVENT_CANCEL) when dropped.
///
/// Items are `Err` when the server reports a failed update (e.g.
/// [`Error::NoReadAccess`] after read access was lost). A consumer that
/// falls behind by more than the context's monitor queue loses intermediate
/// updates, never the newest one ([`Subscription::dropped`] counts them).
#[derive(Debug)]
pub struct Subscription {
    channel: Channel,
    key: u64,
    queue: Arc<SubQueue>,
}

impl Subscription {
    pub(crate) fn new(channel: Channel, key: u64, queue: Arc<SubQueue>) -> Subscription {
        Subscription {
            channel,
            key,
            queue,
        }
    }

    /// The channel.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The next update (waits for it; never ends while the context lives).
    pub async fn next(&mut self) -> Option<Result<DbrData, Error>> {
        std::future::poll_fn(|cx| self.poll_update(cx)).await
    }

    /// An update already received, without waiting.
    pub fn try_next(&mut self) -> Option<Result<DbrData, Error>> {
        self.queue.try_pop().map(|i| self.decode(i))
    }

    /// Updates replaced by newer ones because the consumer was behind.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }

    fn decode(&self, item: SubItem) -> Result<DbrData, Error> {
        let name = self.channel.name();
        match item {
            SubItem::Data(p) => {
                dbr::decode(p.data_type, p.count, &p.data).map_err(|error| Error::Protocol {
                    name: name.to_owned(),
                    error,
                })
            }
            SubItem::Failed(e) => Err(e.named(name)),
        }
    }

    fn poll_update(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Result<DbrData, Error>>> {
        match self.queue.poll_pop(cx) {
            Some(item) => Poll::Ready(Some(self.decode(item))),
            None => Poll::Pending,
        }
    }
}

impl futures_core::Stream for Subscription {
    type Item = Result<DbrData, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_update(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let state = &self.channel.owner.state;
        let mut inner = state.lock();
        inner.subs.remove(&self.key);
        if let Some(tx) = inner.circuit.as_ref() {
            let _ = tx.send(CircuitCmd::Unsubscribe {
                cid: state.cid,
                key: self.key,
            });
        }
    }
}
