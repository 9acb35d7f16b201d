//! One kind of object: a map by id beside ordered indexes, so that a page
//! of a list, filtered by an indexed field or not, costs O(log n + page).
//!
//! Objects are shared (`Arc`): a read takes a reference and lets go of
//! the map at once, so rendering never holds a lock; a change copies the
//! object only if a reader still holds the old one.
//!
//! Lock order, to stay deadlock-free: an object's map shard may be held
//! while the index lock is taken (an update that moves the object between
//! indexes), never the reverse. A page walk copies ids out of the index in
//! chunks and looks objects up only after releasing it.

use super::by_id::ById;
use super::runs::Runs;
use crate::domain::list::{Cursor, PageRequest};
use crate::persist::{Object, Sink};
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// Ids are hashed on every request; foldhash is several times faster than
/// the default SipHash and still seeded per map.
pub type Hasher = foldhash::fast::RandomState;

/// Orders objects newest first: by `created`, ties broken by insertion.
pub type SortKey = (i64, u64);

/// The value of a secondary index key: a fixed name (a status, a type)
/// or a shared id (a parent, a source), compared by text.
#[derive(Debug, Clone)]
pub enum KeyValue {
    Static(&'static str),
    Shared(Arc<str>),
}

impl KeyValue {
    pub fn as_str(&self) -> &str {
        match self {
            KeyValue::Static(s) => s,
            KeyValue::Shared(s) => s,
        }
    }
}

impl std::hash::Hash for KeyValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq for KeyValue {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for KeyValue {}
impl PartialOrd for KeyValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for KeyValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// A secondary key an object is listed under: a filterable field's value,
/// or its parent (a transfer's reversals). `field` names the index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexKey {
    pub field: &'static str,
    pub value: KeyValue,
}

impl IndexKey {
    pub fn fixed(field: &'static str, value: &'static str) -> Self {
        IndexKey {
            field,
            value: KeyValue::Static(value),
        }
    }

    pub fn shared(field: &'static str, value: Arc<str>) -> Self {
        IndexKey {
            field,
            value: KeyValue::Shared(value),
        }
    }
}

/// The secondary keys of one object: at most [`Keys::MAX`], held inline
/// so that listing an object under them allocates nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    items: [Option<IndexKey>; Keys::MAX],
}

impl Keys {
    pub const MAX: usize = 4;

    pub fn of<const N: usize>(keys: [IndexKey; N]) -> Keys {
        let mut k = Keys::default();
        for (slot, key) in k.items.iter_mut().zip(keys) {
            *slot = Some(key);
        }
        k
    }

    pub fn push(&mut self, key: IndexKey) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(key);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &IndexKey> {
        self.items.iter().flatten()
    }

    fn contains(&self, key: &IndexKey) -> bool {
        self.iter().any(|k| k == key)
    }
}

/// Objects that live in a [`Collection`].
pub trait Record: Send + Sync + 'static {
    fn id(&self) -> &Arc<str>;
    fn sort_key(&self) -> SortKey;
    /// The secondary keys this object is listed under, in its current
    /// state. Most objects have none or one.
    fn index_keys(&self) -> Keys {
        Keys::default()
    }
    /// The object as a state file keeps it (`None`: not kept).
    fn journaled(_this: &Arc<Self>) -> Option<Object> {
        None
    }
}

#[derive(Default, Clone)]
struct Indexes {
    /// Every object, by sort key.
    all: Runs<SortKey, Arc<str>>,
    /// Every object under each of its secondary keys: one ordered index
    /// per key, at the key's number (so a key's text is compared once,
    /// when its number is looked up, and never on an insert or a walk).
    by_key: Vec<Runs<SortKey, Arc<str>>>,
    /// The number of each secondary key ever used.
    numbers: HashMap<IndexKey, u32, Hasher>,
}

impl Indexes {
    /// The index of `key`, made on its first use.
    fn index_of(&mut self, key: &IndexKey) -> &mut Runs<SortKey, Arc<str>> {
        let n = match self.numbers.get(key) {
            Some(&n) => n,
            None => {
                let n = self.by_key.len() as u32;
                self.numbers.insert(key.clone(), n);
                self.by_key.push(Runs::default());
                n
            }
        };
        &mut self.by_key[n as usize]
    }

    fn add(&mut self, key: &IndexKey, sort: SortKey, id: Arc<str>) {
        self.index_of(key).insert(sort, id);
    }

    fn drop_key(&mut self, key: &IndexKey, sort: SortKey) {
        if let Some(&n) = self.numbers.get(key) {
            self.by_key[n as usize].remove(&sort);
        }
    }
}

/// A map by id plus indexes by [`SortKey`].
pub struct Collection<T> {
    /// Objects by id: those the engine made in sorted runs by the number
    /// their id carries, any other in a hash map that grows a few
    /// thousand ids at a time, never all at once.
    map: ById<T>,
    indexes: RwLock<Indexes>,
    /// How many objects the index lists, and at most the `created` of the
    /// oldest: both written under the index's write lock and read
    /// without it, so the questions asked on every change (any webhook
    /// endpoints? any event past retention?) take no lock that the other
    /// workers' writes contend for.
    count: AtomicUsize,
    oldest: AtomicI64,
    /// Where changes are journaled, with `--state-file`.
    sink: OnceLock<Sink>,
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Collection {
            map: ById::default(),
            indexes: RwLock::new(Indexes::default()),
            count: AtomicUsize::new(0),
            oldest: AtomicI64::new(i64::MIN),
            sink: OnceLock::new(),
        }
    }
}

/// The cursor object of a list request does not exist.
#[derive(Debug)]
pub struct UnknownCursor;

/// Ids copied out of the index per lock, while walking a page.
const CHUNK: usize = 64;

impl<T: Record + Clone> Collection<T> {
    /// Inserts a new object; `false` if the id is taken.
    pub fn insert(&self, item: T) -> bool {
        self.insert_shared(Arc::new(item))
    }

    /// Inserts a new object that is also held elsewhere (an event's
    /// snapshot); `false` if the id is taken.
    pub fn insert_shared(&self, item: Arc<T>) -> bool {
        let id = item.id().clone();
        let sort = item.sort_key();
        let keys = item.index_keys();
        // Journaled under the object's lock, so its records are in the
        // order of its changes.
        let journal = |v: &Arc<T>| self.journal(v);
        if !self.map.insert_new_with(item, journal) {
            return false;
        }
        // The map entry exists before an index names it, so a list never
        // meets an id it cannot resolve (unless it was removed since).
        let mut ix = self.write();
        for k in keys.iter() {
            ix.add(k, sort, id.clone());
        }
        ix.all.insert(sort, id);
        self.count.store(ix.all.len(), Ordering::Relaxed);
        if sort.0 < self.oldest.load(Ordering::Relaxed) {
            self.oldest.store(sort.0, Ordering::Relaxed);
        }
        true
    }

    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        self.map.get(id)
    }

    /// Changes the object `id` under its lock, moving it between secondary
    /// indexes if its keys changed. `None` if there is no such object.
    pub fn update<R>(&self, id: &str, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.update_get(id, f).map(|(r, _)| r)
    }

    /// [`Collection::update`], also returning the object as it now is.
    pub fn update_get<R>(&self, id: &str, f: impl FnOnce(&mut T) -> R) -> Option<(R, Arc<T>)> {
        self.map.update(id, |slot| {
            let entry = Arc::make_mut(slot);
            let before = entry.index_keys();
            let result = f(entry);
            self.journal(slot);
            let entry = &**slot;
            let after = entry.index_keys();
            if before != after {
                let sort = entry.sort_key();
                let mut ix = self.write();
                for k in before.iter().filter(|k| !after.contains(k)) {
                    ix.drop_key(k, sort);
                }
                for k in after.iter().filter(|k| !before.contains(k)) {
                    ix.add(k, sort, entry.id().clone());
                }
            }
            (result, slot.clone())
        })
    }

    /// A copy that shares every object with this one (until either
    /// changes it): a forked account costs its indexes, not its objects.
    /// The caller keeps the collection from changing meanwhile (the
    /// index and the map are read one after the other, never both locked).
    pub fn fork(&self) -> Self {
        let indexes = self.read().clone();
        let map = ById::default();
        self.map.for_each(|v| {
            map.insert_new_with(v.clone(), |_| {});
        });
        Collection {
            map,
            count: AtomicUsize::new(indexes.all.len()),
            oldest: AtomicI64::new(self.oldest.load(Ordering::Relaxed)),
            indexes: RwLock::new(indexes),
            sink: OnceLock::new(),
        }
    }

    /// Calls `f` with every object, in no order (for small collections,
    /// such as an account's webhook endpoints).
    pub fn for_each(&self, mut f: impl FnMut(&T)) {
        // Walking an empty map still visits every shard; the index knows
        // at once (an account without webhook endpoints, on every event).
        if self.len() == 0 {
            return;
        }
        self.map.for_each(|v| f(v));
    }

    fn journal(&self, item: &Arc<T>) {
        if let Some(sink) = self.sink.get() {
            if let Some(object) = T::journaled(item) {
                sink.put(object);
            }
        }
    }

    /// Journals every change from now on into `sink`.
    pub fn attach(&self, sink: Sink) {
        let _ = self.sink.set(sink);
    }

    /// Every object (a copy of the list), in no order.
    pub fn snapshot(&self) -> Vec<Arc<T>> {
        let mut out = Vec::with_capacity(self.len());
        self.map.for_each(|v| out.push(v.clone()));
        out
    }

    /// Stores `item` as it is read back from a state file: inserted, or
    /// in place of the object with its id.
    pub fn put(&self, item: Arc<T>) {
        if self.map.get(item.id()).is_some() {
            self.update(&item.id().clone(), |slot| *slot = (*item).clone());
        } else {
            self.insert_shared(item);
        }
    }

    /// Removes the object `id`, returning it.
    pub fn remove(&self, id: &str) -> Option<T> {
        let item = self.map.remove(id)?;
        // No record of it can follow: ids are never used again, and a
        // change journals under the object's lock, before it was removed.
        if let (Some(sink), Some(object)) = (self.sink.get(), T::journaled(&item)) {
            sink.append(crate::persist::Op::Remove {
                acct: sink.acct(),
                kind: object.kind(),
                id: item.id().clone(),
            });
        }
        let sort = item.sort_key();
        let mut ix = self.write();
        for k in item.index_keys().iter() {
            ix.drop_key(k, sort);
        }
        ix.all.remove(&sort);
        self.count.store(ix.all.len(), Ordering::Relaxed);
        Some(Arc::unwrap_or_clone(item))
    }

    /// Removes the oldest objects while `old` says so (retention). `old`
    /// must hold for a prefix of the order (every key before one it holds
    /// for), so that when it does not hold at the lower bound on the
    /// oldest, nothing needs to be looked at.
    pub fn remove_oldest_while(&self, old: impl Fn(SortKey) -> bool) -> usize {
        if !old((self.oldest.load(Ordering::Relaxed), 0)) {
            return 0;
        }
        let mut removed = 0;
        loop {
            let id = {
                let ix = self.read();
                match ix.all.first() {
                    Some((k, id)) if old(*k) => id.clone(),
                    first => {
                        // Exact while the read lock keeps inserts out.
                        let oldest = first.map_or(i64::MAX, |(k, _)| k.0);
                        self.oldest.store(oldest, Ordering::Relaxed);
                        return removed;
                    }
                }
            };
            self.remove(&id);
            removed += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Indexes> {
        self.indexes.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Indexes> {
        self.indexes.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Walks one page, newest first: the objects listed under any of
    /// `keys` (every object when `keys` is empty), from the cursor and
    /// within `page.created`, offered to `pick` until it has accepted
    /// `limit + 1` (the extra one only tells `has_more`). `pick` returns
    /// what the page keeps of each object; no lock is held while it runs.
    pub fn page<R>(
        &self,
        page: &PageRequest,
        keys: &[IndexKey],
        mut pick: impl FnMut(Arc<T>) -> Option<R>,
    ) -> Result<(Vec<R>, bool), UnknownCursor> {
        let limit = page.limit.get();
        // Bounds of the created range, as sort keys.
        let mut lo = match page.created.min {
            Some(m) => Bound::Included((m, 0)),
            None => Bound::Unbounded,
        };
        let mut hi = match page.created.max {
            Some(m) => Bound::Included((m, u64::MAX)),
            None => Bound::Unbounded,
        };
        let cursor_key = |id: &str| self.get(id).map(|t| t.sort_key()).ok_or(UnknownCursor);
        let ascending = match &page.cursor {
            Cursor::Start => false,
            Cursor::StartingAfter(id) => {
                hi = tighter_hi(hi, cursor_key(id)?);
                false
            }
            Cursor::EndingBefore(id) => {
                lo = tighter_lo(lo, cursor_key(id)?);
                true
            }
        };
        let mut out = Vec::with_capacity(limit + 1);
        while out.len() <= limit && !is_empty_range(&lo, &hi) {
            let chunk = self.chunk(keys, lo, hi, ascending);
            let Some(&(last, _)) = chunk.last() else {
                break;
            };
            if ascending {
                lo = Bound::Excluded(last);
            } else {
                hi = Bound::Excluded(last);
            }
            let exhausted = chunk.len() < CHUNK;
            for (_, id) in chunk {
                if let Some(r) = self.get(&id).and_then(&mut pick) {
                    out.push(r);
                    if out.len() > limit {
                        break;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        let has_more = out.len() > limit;
        out.truncate(limit);
        if ascending {
            out.reverse();
        }
        Ok((out, has_more))
    }

    /// Up to [`CHUNK`] (sort key, id) pairs within the bounds, in walking
    /// order, merged across `keys`.
    fn chunk(
        &self,
        keys: &[IndexKey],
        lo: Bound<SortKey>,
        hi: Bound<SortKey>,
        ascending: bool,
    ) -> Vec<(SortKey, Arc<str>)> {
        let ix = self.read();
        let mut out: Vec<(SortKey, Arc<str>)> = Vec::with_capacity(CHUNK);
        let mut take = |iter: &mut dyn Iterator<Item = (SortKey, &Arc<str>)>| {
            for (k, id) in iter.take(CHUNK) {
                out.push((k, id.clone()));
            }
        };
        if keys.is_empty() {
            let range = ix.all.range(lo, hi).map(|(k, id)| (*k, id));
            if ascending {
                take(&mut range.into_iter());
            } else {
                take(&mut range.rev());
            }
        } else {
            // The first CHUNK of each key's walk; merged and cut below.
            for key in keys {
                // A key never used lists nothing.
                let Some(&n) = ix.numbers.get(key) else {
                    continue;
                };
                let range = ix.by_key[n as usize].range(lo, hi).map(|(k, id)| (*k, id));
                if ascending {
                    take(&mut range.into_iter());
                } else {
                    take(&mut range.rev());
                }
            }
        }
        drop(ix);
        if keys.len() > 1 {
            if ascending {
                out.sort_by_key(|e| e.0);
            } else {
                out.sort_by_key(|e| std::cmp::Reverse(e.0));
            }
            out.truncate(CHUNK);
        }
        out
    }
}

fn tighter_hi(hi: Bound<SortKey>, cursor: SortKey) -> Bound<SortKey> {
    match hi {
        Bound::Included(k) if k < cursor => Bound::Included(k),
        _ => Bound::Excluded(cursor),
    }
}

fn tighter_lo(lo: Bound<SortKey>, cursor: SortKey) -> Bound<SortKey> {
    match lo {
        Bound::Included(k) if k > cursor => Bound::Included(k),
        _ => Bound::Excluded(cursor),
    }
}

/// Whether the bounds leave nothing between them (the walk is done).
fn is_empty_range(lo: &Bound<SortKey>, hi: &Bound<SortKey>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::list::{Limit, Range};

    #[derive(Clone)]
    struct Item {
        id: Arc<str>,
        created: i64,
        seq: u64,
        color: &'static str,
    }

    impl Record for Item {
        fn id(&self) -> &Arc<str> {
            &self.id
        }
        fn sort_key(&self) -> SortKey {
            (self.created, self.seq)
        }
        fn index_keys(&self) -> Keys {
            Keys::of([IndexKey::fixed("color", self.color)])
        }
    }

    fn filled(n: u64) -> Collection<Item> {
        let c = Collection::default();
        for i in 0..n {
            c.insert(Item {
                id: Arc::from(format!("it_{i}")),
                created: (i / 3) as i64,
                seq: i,
                color: if i % 10 == 0 { "red" } else { "blue" },
            });
        }
        c
    }

    fn ids(page: &(Vec<String>, bool)) -> Vec<&str> {
        page.0.iter().map(String::as_str).collect()
    }

    fn walk(c: &Collection<Item>, page: PageRequest, keys: &[IndexKey]) -> (Vec<String>, bool) {
        c.page(&page, keys, |t| Some(t.id.to_string())).unwrap()
    }

    #[test]
    fn pages_by_index_across_chunks() {
        let c = filled(1000);
        let red = [IndexKey::fixed("color", "red")];
        let page = PageRequest {
            limit: Limit::parse(3).unwrap(),
            ..PageRequest::default()
        };
        let p = walk(&c, page.clone(), &red);
        assert_eq!(ids(&p), ["it_990", "it_980", "it_970"]);
        assert!(p.1);
        let after = PageRequest {
            cursor: Cursor::StartingAfter("it_20".into()),
            ..page.clone()
        };
        let p = walk(&c, after, &red);
        assert_eq!(ids(&p), ["it_10", "it_0"]);
        assert!(!p.1);
        let before = PageRequest {
            cursor: Cursor::EndingBefore("it_10".into()),
            ..page.clone()
        };
        assert_eq!(ids(&walk(&c, before, &red)), ["it_40", "it_30", "it_20"]);
        // Two keys merge in order; a filter in `pick` walks past chunks.
        let both = [red[0].clone(), IndexKey::fixed("color", "blue")];
        assert_eq!(
            ids(&walk(&c, page.clone(), &both)),
            ["it_999", "it_998", "it_997"]
        );
        let odd = c
            .page(&page, &[], |t| (t.seq < 5).then(|| t.id.to_string()))
            .unwrap();
        assert_eq!(ids(&odd), ["it_4", "it_3", "it_2"]);
        let created = PageRequest {
            created: Range::exact(0),
            ..page
        };
        assert_eq!(ids(&walk(&c, created, &[])), ["it_2", "it_1", "it_0"]);
    }

    #[test]
    fn updates_move_between_indexes_and_removal_forgets() {
        let c = filled(20);
        c.update("it_3", |t| t.color = "red");
        let red = [IndexKey::fixed("color", "red")];
        let p = walk(&c, PageRequest::default(), &red);
        assert_eq!(ids(&p), ["it_10", "it_3", "it_0"]);
        assert!(c.remove("it_10").is_some());
        assert_eq!(
            ids(&walk(&c, PageRequest::default(), &red)),
            ["it_3", "it_0"]
        );
        assert_eq!(c.remove_oldest_while(|(created, _)| created < 2), 6);
        assert_eq!(c.len(), 13);
        // Nothing older is left: the next sweep looks at nothing. An
        // older object inserted since is still found.
        assert_eq!(c.remove_oldest_while(|(created, _)| created < 2), 0);
        c.insert(Item {
            id: Arc::from("it_old"),
            created: 0,
            seq: 100,
            color: "blue",
        });
        assert_eq!(c.len(), 14);
        assert_eq!(c.remove_oldest_while(|(created, _)| created < 1), 1);
        assert_eq!(c.len(), 13);
        assert!(c
            .page(
                &PageRequest {
                    cursor: Cursor::StartingAfter("it_0".into()),
                    ..PageRequest::default()
                },
                &[],
                |_| Some(())
            )
            .is_err());
    }
}
