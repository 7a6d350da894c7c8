//! The requests one bind has in flight, by sequence number, with a
//! response deadline each. Pure: the caller passes deadlines and `now`.
//!
//! Only *counted* requests (submits) use window slots; enquire_link and
//! unbind are tracked here too (so their sequence numbers are never handed
//! out twice and their timers live in one place) but never take a slot.
//! Sequence numbers run 1..=0x7FFF_FFFF and wrap to 1; a number still in
//! flight is skipped, never reused.

use std::collections::{BTreeSet, HashMap};

use tokio::time::Instant;

/// The largest sequence number (SMPP 3.4 §2.7.3: 0x00000001..0x7FFFFFFF).
pub const MAX_SEQUENCE: u32 = 0x7FFF_FFFF;

#[derive(Debug)]
struct Entry<T> {
    value: T,
    deadline: Instant,
    counted: bool,
}

#[derive(Debug)]
pub struct Window<T> {
    capacity: usize,
    used: usize,
    next: u32,
    entries: HashMap<u32, Entry<T>>,
    deadlines: BTreeSet<(Instant, u32)>,
}

impl<T> Window<T> {
    /// A window of `capacity` slots (at least 1) whose first sequence
    /// number is `first` (clamped into 1..=MAX_SEQUENCE).
    pub fn new(capacity: usize, first: u32) -> Self {
        Window {
            capacity: capacity.max(1),
            used: 0,
            next: first.clamp(1, MAX_SEQUENCE),
            entries: HashMap::with_capacity(capacity + 2),
            deadlines: BTreeSet::new(),
        }
    }

    pub fn has_room(&self) -> bool {
        self.used < self.capacity
    }

    /// Counted requests in flight.
    pub fn used(&self) -> usize {
        self.used
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Every request in flight, counted or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn next_sequence(&mut self) -> u32 {
        loop {
            let seq = self.next;
            self.next = if seq >= MAX_SEQUENCE { 1 } else { seq + 1 };
            if !self.entries.contains_key(&seq) {
                return seq;
            }
        }
    }

    /// Puts a counted request in flight; `None` when the window is full.
    pub fn insert(&mut self, value: T, deadline: Instant) -> Option<u32> {
        if !self.has_room() {
            return None;
        }
        self.used += 1;
        Some(self.add(value, deadline, true))
    }

    /// Puts a request that takes no slot (enquire_link, unbind) in flight.
    pub fn insert_uncounted(&mut self, value: T, deadline: Instant) -> u32 {
        self.add(value, deadline, false)
    }

    fn add(&mut self, value: T, deadline: Instant, counted: bool) -> u32 {
        let seq = self.next_sequence();
        self.entries.insert(
            seq,
            Entry {
                value,
                deadline,
                counted,
            },
        );
        self.deadlines.insert((deadline, seq));
        seq
    }

    /// The request a response (or generic_nack) with this number answers.
    pub fn remove(&mut self, seq: u32) -> Option<T> {
        let e = self.entries.remove(&seq)?;
        self.deadlines.remove(&(e.deadline, seq));
        if e.counted {
            self.used -= 1;
        }
        Some(e.value)
    }

    pub fn get(&self, seq: u32) -> Option<&T> {
        self.entries.get(&seq).map(|e| &e.value)
    }

    pub fn get_mut(&mut self, seq: u32) -> Option<&mut T> {
        self.entries.get_mut(&seq).map(|e| &mut e.value)
    }

    /// The earliest response deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(d, _)| *d)
    }

    /// Removes and returns the first request whose deadline has passed.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(u32, T)> {
        let &(deadline, seq) = self.deadlines.first()?;
        if deadline > now {
            return None;
        }
        self.remove(seq).map(|v| (seq, v))
    }

    /// Removes every request (the link is gone).
    pub fn drain(&mut self) -> Vec<(u32, T)> {
        self.deadlines.clear();
        self.used = 0;
        let mut all: Vec<_> = self.entries.drain().map(|(s, e)| (s, e.value)).collect();
        all.sort_by_key(|(s, _)| *s);
        all
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn full_window_refuses_and_frees_on_response() {
        let now = Instant::now();
        let mut w = Window::new(3, 1);
        let seqs: Vec<_> = (0..3).map(|i| w.insert(i, now).unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert!(!w.has_room());
        assert_eq!(w.insert(9, now), None);
        // enquire_link never takes a slot, even when the window is full.
        assert_eq!(w.insert_uncounted(100, now), 4);
        assert_eq!(w.remove(2), Some(1));
        assert_eq!(w.remove(2), None, "a duplicate response frees nothing");
        assert_eq!(w.insert(3, now), Some(5));
        assert_eq!(w.used(), 3);
    }

    #[test]
    fn sequence_wraps_to_one_and_skips_numbers_in_flight() {
        let now = Instant::now();
        let mut w = Window::new(4, MAX_SEQUENCE - 1);
        let a = w.insert("a", now).unwrap();
        let b = w.insert("b", now).unwrap();
        let c = w.insert("c", now).unwrap();
        assert_eq!((a, b, c), (MAX_SEQUENCE - 1, MAX_SEQUENCE, 1));
        // Free the slot of `a`, keep `b` (MAX) and `c` (1) in flight, then
        // run the counter all the way round: 1 and MAX must be skipped.
        w.remove(a);
        w.next = MAX_SEQUENCE;
        let d = w.insert("d", now).unwrap();
        assert_eq!(d, 2, "MAX and 1 are still in flight");
        assert_eq!(Window::<()>::new(1, 0).next, 1);
    }

    #[test]
    fn never_more_counted_entries_than_capacity_under_random_use() {
        let now = Instant::now();
        let mut w = Window::new(10, MAX_SEQUENCE - 50);
        let mut live = Vec::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 != 0 {
                if let Some(s) = w.insert((), now) {
                    assert!(!live.contains(&s), "sequence {s} reused in flight");
                    live.push(s);
                }
            } else if !live.is_empty() {
                let s = live.swap_remove((x as usize / 3) % live.len());
                assert!(w.remove(s).is_some());
            }
            assert!(w.used() <= 10);
            assert_eq!(w.used(), live.len());
        }
    }

    #[test]
    fn expiry_in_deadline_order_and_drain_empties() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut w = Window::new(10, 1);
        w.insert("late", t0 + 3 * s);
        w.insert_uncounted("enquire_link", t0 + s);
        w.insert("early", t0 + 2 * s);
        assert_eq!(w.next_deadline(), Some(t0 + s));
        assert_eq!(w.pop_expired(t0), None);
        assert_eq!(w.pop_expired(t0 + 2 * s), Some((2, "enquire_link")));
        assert_eq!(w.pop_expired(t0 + 2 * s), Some((3, "early")));
        assert_eq!(w.pop_expired(t0 + 2 * s), None);
        assert_eq!(w.drain(), vec![(1, "late")]);
        assert!(w.is_empty() && w.has_room() && w.next_deadline().is_none());
    }
}
