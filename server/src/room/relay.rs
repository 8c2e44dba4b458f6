//! Hands each snapshot from the tick thread to the sessions' runtime.
//!
//! Publishing on a `watch` channel wakes every session waiting on it. Done on
//! the tick thread, that is thousands of cross-runtime wake-ups (each a push to
//! the other runtime's shared queue, and often a futex call to unpark a
//! worker) inside the tick's time budget. Instead the tick loop publishes to a
//! single relay task on the sessions' runtime, which republishes there: the
//! tick pays for one wake-up, and the fan-out runs where the sessions do. The
//! relay also encodes the snapshot's shared delta records before it wakes them.

use std::sync::Arc;

use tokio::sync::watch;

use super::Snapshot;

/// Starts the relay on `runtime`. Returns the sender the tick loop publishes on
/// and the receiver sessions subscribe to. The relay stops, and sessions see
/// the channel close, once the tick loop drops its sender.
pub fn spawn_relay(
    runtime: &tokio::runtime::Handle,
    first: Arc<Snapshot>,
) -> (watch::Sender<Arc<Snapshot>>, watch::Receiver<Arc<Snapshot>>) {
    let (tick_tx, mut tick_rx) = watch::channel(first.clone());
    let (session_tx, session_rx) = watch::channel(first);
    runtime.spawn(async move {
        while tick_rx.changed().await.is_ok() {
            let snapshot = tick_rx.borrow_and_update().clone();
            // The shared delta records, encoded here once before the sessions
            // wake, so that none of them waits on another's encoding.
            snapshot.records();
            session_tx.send_replace(snapshot);
        }
    });
    (tick_tx, session_rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(tick: u32) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            tick,
            ..Snapshot::default()
        })
    }

    #[tokio::test]
    async fn sessions_get_every_published_snapshot_and_see_the_end() {
        let (tx, mut rx) = spawn_relay(&tokio::runtime::Handle::current(), snapshot(0));
        assert_eq!(rx.borrow_and_update().tick, 0);
        for tick in 1..=3 {
            tx.send_replace(snapshot(tick));
            rx.changed().await.expect("relay alive");
            assert_eq!(rx.borrow_and_update().tick, tick);
        }
        drop(tx);
        assert!(rx.changed().await.is_err(), "the relay stops with the room");
    }
}
