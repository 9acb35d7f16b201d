//! An ordered map for keys that mostly arrive in order: sorted runs of at
//! most [`MAX_RUN`] entries, found by binary search over their first keys.
//!
//! An index's keys are sort keys (`created`, then insertion order), so
//! nearly every insert is an append. `BTreeMap` walks from its root to
//! its rightmost leaf for each one, comparing with every key on the way
//! (about 100 ns per insert at a million entries); here an append is one
//! comparison with the last key and a push. A key out of order (a fixture
//! from the past, an object moving between indexes) is inserted into its
//! run, which splits when full; a run that empties is dropped, and a
//! sparse one merges into its neighbour, so memory stays proportional to
//! the entries. A range is a walk over contiguous slices.

use std::ops::Bound;

/// Entries per run at most: moving half a run (an insert or removal
/// inside it) stays a short copy, and the directory stays small.
const MAX_RUN: usize = 512;

#[derive(Debug, Clone)]
pub struct Runs<K, V> {
    /// The first key of each run, for the binary search.
    firsts: Vec<K>,
    /// Each sorted, none empty.
    runs: Vec<Vec<(K, V)>>,
    len: usize,
}

impl<K, V> Default for Runs<K, V> {
    fn default() -> Self {
        Runs {
            firsts: Vec::new(),
            runs: Vec::new(),
            len: 0,
        }
    }
}

/// A place between entries: run and offset (the end is `(runs, 0)`).
type Pos = (usize, usize);

impl<K: Ord + Copy, V> Runs<K, V> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The run `key` belongs in: the last whose first key is not after it.
    fn run_of(&self, key: &K) -> usize {
        self.firsts.partition_point(|f| f <= key).saturating_sub(1)
    }

    /// Inserts, replacing (and returning) the value of an equal key.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        // The common case: after every key there is.
        if let Some(last) = self.runs.last_mut() {
            if last.last().is_some_and(|(k, _)| *k < key) {
                if last.len() < MAX_RUN {
                    last.push((key, value));
                } else {
                    self.firsts.push(key);
                    self.runs.push(vec![(key, value)]);
                }
                self.len += 1;
                return None;
            }
        } else {
            self.firsts.push(key);
            self.runs.push(vec![(key, value)]);
            self.len = 1;
            return None;
        }
        let r = self.run_of(&key);
        let run = &mut self.runs[r];
        match run.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut run[i].1, value)),
            Err(i) => {
                run.insert(i, (key, value));
                if i == 0 {
                    self.firsts[r] = key;
                }
                if run.len() > MAX_RUN {
                    let upper = run.split_off(run.len() / 2);
                    self.firsts.insert(r + 1, upper[0].0);
                    self.runs.insert(r + 1, upper);
                }
                self.len += 1;
                None
            }
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        if self.runs.is_empty() {
            return None;
        }
        let r = self.run_of(key);
        let run = &mut self.runs[r];
        let i = run.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        let (_, value) = run.remove(i);
        self.len -= 1;
        if run.is_empty() {
            self.firsts.remove(r);
            self.runs.remove(r);
        } else {
            if i == 0 {
                self.firsts[r] = run[0].0;
            }
            self.merge_if_sparse(r);
        }
        Some(value)
    }

    /// Merges run `r` into a neighbour when it has fallen to a quarter
    /// and both fit in one run.
    fn merge_if_sparse(&mut self, r: usize) {
        if self.runs[r].len() >= MAX_RUN / 4 {
            return;
        }
        let fits = |a: usize, b: usize| self.runs[a].len() + self.runs[b].len() <= MAX_RUN;
        let pair = if r + 1 < self.runs.len() && fits(r, r + 1) {
            Some(r)
        } else if r > 0 && fits(r - 1, r) {
            Some(r - 1)
        } else {
            None
        };
        if let Some(a) = pair {
            let b = self.runs.remove(a + 1);
            self.firsts.remove(a + 1);
            self.runs[a].extend(b);
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        let run = self.runs.get(self.run_of(key))?;
        let i = run.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        Some(&run[i].1)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let r = self.run_of(key);
        let run = self.runs.get_mut(r)?;
        let i = run.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        Some(&mut run[i].1)
    }

    pub fn first(&self) -> Option<(&K, &V)> {
        self.runs.first()?.first().map(|(k, v)| (k, v))
    }

    /// The first place whose key does not satisfy `before` (which holds
    /// for a prefix of the keys).
    fn seek(&self, before: impl Fn(&K) -> bool) -> Pos {
        let r = self.firsts.partition_point(|f| before(f));
        if r == 0 {
            return (0, 0);
        }
        let run = &self.runs[r - 1];
        match run.partition_point(|(k, _)| before(k)) {
            i if i == run.len() => (r, 0),
            i => (r - 1, i),
        }
    }

    /// The entries within the bounds, in order (and back).
    pub fn range(&self, lo: Bound<K>, hi: Bound<K>) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        let start = match lo {
            Bound::Included(k) => self.seek(|x| *x < k),
            Bound::Excluded(k) => self.seek(|x| *x <= k),
            Bound::Unbounded => (0, 0),
        };
        let end = match hi {
            Bound::Included(k) => self.seek(|x| *x <= k),
            Bound::Excluded(k) => self.seek(|x| *x < k),
            Bound::Unbounded => (self.runs.len(), 0),
        };
        // The runs that contribute: from the start's to the one before
        // the end when the end is at a run's first entry.
        let runs = &self.runs;
        let span = if start < end {
            start.0..end.0 + usize::from(end.1 > 0)
        } else {
            0..0
        };
        span.flat_map(move |r| {
            let run = &runs[r];
            let from = if r == start.0 { start.1 } else { 0 };
            let to = if r == end.0 { end.1 } else { run.len() };
            run[from..to].iter().map(|(k, v)| (k, v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every operation checked against `BTreeMap`, with appends, inserts
    /// out of order, replacements and removals at random.
    #[test]
    fn behaves_as_a_btree_map() {
        let mut runs: Runs<(i64, u64), u64> = Runs::default();
        let mut model: BTreeMap<(i64, u64), u64> = BTreeMap::new();
        let mut state = 7u64;
        let mut next = || {
            state = crate::domain::ids::splitmix64(state);
            state
        };
        let mut seq = 0u64;
        for step in 0..40_000u64 {
            let r = next();
            match r % 10 {
                // Mostly appends, as an index sees them.
                0..=5 => {
                    seq += 1;
                    let k = ((seq / 3) as i64, seq);
                    assert_eq!(runs.insert(k, step), model.insert(k, step));
                }
                // A key anywhere (new or existing).
                6 => {
                    let k = ((next() % (seq / 3 + 1)) as i64, next() % (seq + 1));
                    assert_eq!(runs.insert(k, step), model.insert(k, step));
                }
                // Removals, often of the oldest (retention), else anywhere.
                _ => {
                    let k = if r % 2 == 0 {
                        model.keys().next().copied()
                    } else {
                        model
                            .keys()
                            .nth((next() % (model.len() as u64 + 1)) as usize)
                            .copied()
                    };
                    if let Some(k) = k {
                        assert_eq!(runs.remove(&k), model.remove(&k));
                    }
                    assert_eq!(runs.remove(&(-1, 0)), None);
                }
            }
            assert_eq!(runs.len(), model.len());
            if step % 997 == 0 {
                check(&runs, &model, &mut next);
            }
        }
        check(&runs, &model, &mut next);
        // Memory follows the entries: no run is empty or much too sparse.
        assert!(runs.runs.iter().all(|r| !r.is_empty()));
        assert!(runs.runs.len() <= model.len() / (MAX_RUN / 4) + 2);
    }

    fn check(
        runs: &Runs<(i64, u64), u64>,
        model: &BTreeMap<(i64, u64), u64>,
        next: &mut impl FnMut() -> u64,
    ) {
        assert_eq!(runs.first(), model.first_key_value());
        for k in model.keys().step_by(37) {
            assert_eq!(runs.get(k), model.get(k));
        }
        assert_eq!(runs.get(&(-5, 0)), None);
        let all: Vec<_> = runs.range(Bound::Unbounded, Bound::Unbounded).collect();
        assert_eq!(all, model.iter().collect::<Vec<_>>());
        for _ in 0..50 {
            let span = model.keys().last().map_or(1, |k| k.0 + 2) as u64;
            let a = ((next() % span) as i64 - 1, next() % 4);
            let b = ((next() % span) as i64 - 1, next() % 4);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            for (l, h) in [
                (Bound::Included(lo), Bound::Included(hi)),
                (Bound::Excluded(lo), Bound::Included(hi)),
                (Bound::Included(lo), Bound::Excluded(hi)),
                (Bound::Unbounded, Bound::Excluded(hi)),
                (Bound::Excluded(lo), Bound::Unbounded),
            ] {
                if matches!((l, h), (Bound::Excluded(x), Bound::Excluded(y)) if x == y) {
                    continue;
                }
                let got: Vec<_> = runs.range(l, h).collect();
                let want: Vec<_> = model.range((l, h)).collect();
                assert_eq!(got, want, "{l:?}..{h:?}");
                let back: Vec<_> = runs.range(l, h).rev().collect();
                assert_eq!(back, model.range((l, h)).rev().collect::<Vec<_>>());
            }
        }
    }
}
