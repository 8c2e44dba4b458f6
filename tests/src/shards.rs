//! The threads bots run on: one single-threaded tokio runtime per thread,
//! each driving its share of the bots (handed out in turn).
//!
//! A bot lives on one thread for good, so its socket, timer and task never
//! move: no work stealing, no waking of a parked worker on another core.
//! On a machine shared with the server under test, one thread is cheapest:
//! 1,000 wander bots on 2 cores cost about 20–22 µs of CPU per bot-snapshot
//! on one thread, 24–29 on two (or on tokio's two-worker runtime), as each
//! thread wakes for smaller batches of messages; and the bots then leave
//! at least one core to the server.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// Threads a swarm runs its bots on unless told: one (see the module docs;
/// more only when that thread cannot keep up).
pub fn default_threads() -> usize {
    1
}

/// Bot threads, each with its own single-threaded runtime. Dropping it stops
/// the runtimes (cancelling what still runs on them) and joins the threads.
#[derive(Debug)]
pub struct Shards {
    handles: Vec<Handle>,
    next: AtomicUsize,
    /// Ends a thread's runtime when sent to (or dropped).
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Shards {
    /// Starts `n` threads (at least one).
    pub fn start(n: usize) -> io::Result<Self> {
        let mut shards = Self {
            handles: Vec::new(),
            next: AtomicUsize::new(0),
            stops: Vec::new(),
            threads: Vec::new(),
        };
        for i in 0..n.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            shards.handles.push(runtime.handle().clone());
            shards.stops.push(stop_tx);
            let thread = std::thread::Builder::new()
                .name(format!("bots-{i}"))
                .spawn(move || {
                    // Spawned tasks run while the runtime blocks on this.
                    let _ = runtime.block_on(stop_rx);
                })?;
            shards.threads.push(thread);
        }
        Ok(shards)
    }

    /// Number of threads.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Always false: there is at least one thread.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The runtime of the thread whose turn it is to take the next bot.
    pub fn next(&self) -> &Handle {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        &self.handles[i]
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        self.stops.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn bots_are_dealt_to_every_thread_in_turn_and_each_stays_put() {
        let shards = Shards::start(3).expect("threads start");
        assert_eq!(shards.len(), 3);
        let (tx, rx) = mpsc::channel();
        for i in 0..6 {
            let tx = tx.clone();
            shards.next().spawn(async move {
                let before = std::thread::current().id();
                tokio::task::yield_now().await;
                let stayed = std::thread::current().id() == before;
                let name = std::thread::current().name().map(str::to_owned);
                let _ = tx.send((i, name, stayed));
            });
        }
        let mut got: Vec<_> = (0..6)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("task ran"))
            .collect();
        got.sort();
        let names: Vec<String> = got
            .iter()
            .map(|(_, name, stayed)| {
                assert!(stayed, "a task never moves");
                name.clone().expect("named thread")
            })
            .collect();
        assert_eq!(names[..3], ["bots-0", "bots-1", "bots-2"]);
        assert_eq!(names[..3], names[3..]);
        assert_eq!(names.iter().collect::<HashSet<_>>().len(), 3);
    }

    #[test]
    fn dropping_the_shards_cancels_what_still_runs() {
        let shards = Shards::start(0).expect("threads start");
        assert_eq!(shards.len(), 1, "at least one thread");
        let (tx, rx) = mpsc::channel::<()>();
        shards.next().spawn(async move {
            let _tx = tx; // dropped when the task is cancelled
            std::future::pending::<()>().await;
        });
        drop(shards);
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(mpsc::RecvTimeoutError::Disconnected),
            "the task was dropped"
        );
    }
}
