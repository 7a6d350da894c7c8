//! Per-subscriber ordering with bounded queues.
//!
//! Every job names its subscriber; the subscriber's MSISDN is hashed to one
//! of `workers` workers, each with a bounded queue. A worker runs jobs of
//! different subscribers concurrently (a slow back-end call for one citizen
//! must not stall the others) but one subscriber's jobs strictly in arrival
//! order. Everything is bounded: the queue (`capacity`), the jobs running
//! (`capacity`) and the jobs parked behind a busy subscriber (`capacity`);
//! when all are full the worker stops pulling, the queue fills, and
//! [`Dispatch::reserve`] fails at once: the caller applies its policy
//! (USSD: "busy" end screen; SMS: ESME_RX_T_APPN).

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// One unit of work for one subscriber.
pub struct Job<J> {
    pub who: String,
    pub work: J,
}

/// Runs a job to completion.
pub type Handler<J> = Arc<dyn Fn(J) -> BoxFuture<'static, ()> + Send + Sync>;

/// The senders into the workers. Dropping every clone lets the workers
/// finish what they hold and stop.
pub struct Dispatch<J> {
    senders: Vec<mpsc::Sender<Job<J>>>,
}

impl<J> Clone for Dispatch<J> {
    fn clone(&self) -> Self {
        Dispatch {
            senders: self.senders.clone(),
        }
    }
}

/// The worker's queue is full (or the worker stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// A reserved slot in one worker's queue (owned: it may be held across
/// an await, e.g. while an SMS is journalled).
pub struct Slot<J>(mpsc::OwnedPermit<Job<J>>);

impl<J> Slot<J> {
    pub fn send(self, who: String, work: J) {
        self.0.send(Job { who, work });
    }
}

/// The worker a subscriber's jobs go to (stable for a given count).
pub fn worker_of(who: &str, workers: usize) -> usize {
    let mut h = DefaultHasher::new();
    who.hash(&mut h);
    (h.finish() % workers.max(1) as u64) as usize
}

/// A look at the workers' queues that does not keep them open (the
/// workers stop when the last `Dispatch` is dropped).
pub struct QueueView<J> {
    senders: Vec<mpsc::WeakSender<Job<J>>>,
}

impl<J> QueueView<J> {
    /// Jobs waiting in every worker's queue now.
    pub fn queued(&self) -> usize {
        self.senders
            .iter()
            .filter_map(mpsc::WeakSender::upgrade)
            .map(|s| s.max_capacity() - s.capacity())
            .sum()
    }
}

impl<J> Dispatch<J> {
    pub fn view(&self) -> QueueView<J> {
        QueueView {
            senders: self.senders.iter().map(mpsc::Sender::downgrade).collect(),
        }
    }
}

impl<J: Send + 'static> Dispatch<J> {
    /// Starts `workers` workers with queues of `capacity` jobs each.
    pub fn start(
        workers: usize,
        capacity: usize,
        handler: Handler<J>,
    ) -> (Dispatch<J>, JoinSet<()>) {
        let mut set = JoinSet::new();
        let mut senders = Vec::with_capacity(workers);
        for _ in 0..workers.max(1) {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            senders.push(tx);
            set.spawn(worker(rx, handler.clone(), capacity.max(1)));
        }
        (Dispatch { senders }, set)
    }

    /// Reserves a place for `who`'s next job without waiting.
    pub fn reserve(&self, who: &str) -> Result<Slot<J>, Full> {
        let i = worker_of(who, self.senders.len());
        self.senders[i]
            .clone()
            .try_reserve_owned()
            .map(Slot)
            .map_err(|_| Full)
    }

    /// Waits for room (journal replay at start, which may wait).
    pub async fn send(&self, who: String, work: J) -> Result<(), Full> {
        let i = worker_of(&who, self.senders.len());
        self.senders[i]
            .send(Job { who, work })
            .await
            .map_err(|_| Full)
    }
}

async fn worker<J: Send + 'static>(
    mut rx: mpsc::Receiver<Job<J>>,
    handler: Handler<J>,
    limit: usize,
) {
    let mut running: JoinSet<String> = JoinSet::new();
    // Subscribers with a job running -> their jobs waiting behind it.
    let mut busy: HashMap<String, VecDeque<J>> = HashMap::new();
    let mut parked = 0usize;
    let mut open = true;
    let spawn = |running: &mut JoinSet<String>, who: String, work: J| {
        let fut = handler(work);
        running.spawn(async move {
            // A panicking job is caught here, so its subscriber is still
            // released (one task per job: a nested spawn cost a second
            // task on every step).
            if let Err(panic) = AssertUnwindSafe(fut).catch_unwind().await {
                let error = panic_message(panic.as_ref());
                tracing::error!(error, "a conversation task panicked");
            }
            who
        });
    };
    loop {
        let room = running.len() < limit && parked < limit;
        tokio::select! {
            done = running.join_next(), if !running.is_empty() => {
                let Some(Ok(who)) = done else { continue };
                if let Entry::Occupied(mut e) = busy.entry(who) {
                    match e.get_mut().pop_front() {
                        Some(work) => {
                            parked -= 1;
                            let who = e.key().clone();
                            spawn(&mut running, who, work);
                        }
                        None => {
                            e.remove();
                        }
                    }
                }
            }
            job = rx.recv(), if open && room => match job {
                Some(Job { who, work }) => match busy.entry(who) {
                    Entry::Occupied(mut e) => {
                        e.get_mut().push_back(work);
                        parked += 1;
                    }
                    Entry::Vacant(e) => {
                        let who = e.key().clone();
                        e.insert(VecDeque::new());
                        spawn(&mut running, who, work);
                    }
                },
                None => open = false,
            },
            else => break,
        }
        if !open && running.is_empty() {
            break;
        }
    }
}

/// The text a panic carries, when it is one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    match panic.downcast_ref::<&str>() {
        Some(s) => s,
        None => panic
            .downcast_ref::<String>()
            .map_or("(no message)", String::as_str),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::sync::Notify;

    #[tokio::test]
    async fn one_subscriber_in_order_others_concurrently_and_full_is_refused() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Notify::new());
        let (l, g) = (log.clone(), gate.clone());
        let handler: Handler<(u32, bool)> = Arc::new(move |(n, wait)| {
            let (l, g) = (l.clone(), g.clone());
            Box::pin(async move {
                if wait {
                    g.notified().await;
                }
                l.lock().unwrap().push(n);
            })
        });
        let (d, mut set) = Dispatch::start(1, 2, handler);
        for (who, job) in [("a", (1, true)), ("a", (2, false)), ("b", (3, false))] {
            d.reserve(who).unwrap().send(who.into(), job);
            tokio::task::yield_now().await;
        }
        // b runs while a's first job waits; a's second waits behind it.
        while log.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(*log.lock().unwrap(), vec![3]);
        // Fill: running = a, parked = a#2 ... keep sending until refused.
        let mut accepted = 0;
        while d.reserve("a").is_ok() {
            d.reserve("a")
                .unwrap()
                .send("a".into(), (10 + accepted, false));
            accepted += 1;
            tokio::task::yield_now().await;
            assert!(accepted < 100, "never refused");
        }
        gate.notify_one();
        drop(d);
        while set.join_next().await.is_some() {}
        let got = log.lock().unwrap().clone();
        assert_eq!(got[..3], [3, 1, 2]);
        let rest: Vec<u32> = got[3..].to_vec();
        let mut sorted = rest.clone();
        sorted.sort();
        assert_eq!(rest, sorted, "one subscriber's jobs ran out of order");
    }

    /// A job that panics is contained: the worker lives on and the same
    /// subscriber's next job still runs.
    #[tokio::test]
    async fn a_panicking_job_releases_its_subscriber() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let handler: Handler<u32> = Arc::new(move |n| {
            let l = l.clone();
            Box::pin(async move {
                assert_ne!(n, 1, "job 1 panics");
                l.lock().unwrap().push(n);
            })
        });
        let (d, mut set) = Dispatch::start(1, 4, handler);
        for n in [1, 2, 3] {
            d.send("a".into(), n).await.unwrap();
        }
        drop(d);
        while set.join_next().await.is_some() {}
        assert_eq!(*log.lock().unwrap(), vec![2, 3]);
        assert_eq!(panic_message(&"text"), "text");
        assert_eq!(panic_message(&String::from("owned")), "owned");
    }

    #[test]
    fn hashing_is_stable_and_in_range() {
        for n in 1..8 {
            let w = worker_of("9647701234567", n);
            assert!(w < n);
            assert_eq!(w, worker_of("9647701234567", n));
        }
    }
}
