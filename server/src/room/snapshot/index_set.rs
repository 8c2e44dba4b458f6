//! A reusable set of entity indices, read back in ascending order.

/// A bitset of indices, walked in ascending order by [`IndexSet::drain`],
/// which also empties it. Views use it to list their entities in id order
/// (a snapshot's entity index order) without sorting; keep one per thread,
/// since it grows to the largest snapshot seen.
#[derive(Debug, Default)]
pub struct IndexSet {
    words: Vec<u64>,
    /// Lowest and highest words that may hold bits (`lo > hi` when empty).
    lo: usize,
    hi: usize,
}

impl IndexSet {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            words: Vec::new(),
            lo: usize::MAX,
            hi: 0,
        }
    }

    /// Adds `i`.
    #[inline]
    pub fn insert(&mut self, i: u32) {
        let w = i as usize / 64;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << (i % 64);
        self.lo = self.lo.min(w);
        self.hi = self.hi.max(w);
    }

    /// Calls `f` with every index in ascending order, and empties the set.
    pub fn drain(&mut self, mut f: impl FnMut(u32)) {
        if self.lo <= self.hi {
            for (w, word) in self.words[self.lo..=self.hi].iter_mut().enumerate() {
                let base = ((self.lo + w) * 64) as u32;
                let mut bits = std::mem::take(word);
                while bits != 0 {
                    f(base + bits.trailing_zeros());
                    bits &= bits - 1;
                }
            }
        }
        self.lo = usize::MAX;
        self.hi = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn drains_what_was_inserted_in_order_once_and_is_reusable() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut set = IndexSet::new();
        for round in 0..50 {
            let n = rng.random_range(0..300);
            let inserted: Vec<u32> = (0..n).map(|_| rng.random_range(0..5000)).collect();
            inserted.iter().for_each(|&i| set.insert(i));
            let mut expected = inserted.clone();
            expected.sort_unstable();
            expected.dedup();
            let mut got = Vec::new();
            set.drain(|i| got.push(i));
            assert_eq!(got, expected, "round {round}");
            set.drain(|i| panic!("{i} left after a drain"));
        }
    }
}
