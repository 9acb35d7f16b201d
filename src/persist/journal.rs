//! The journal: records appended by the engine as it changes state,
//! written and fsynced in batches by one thread (group commit), and a
//! durability mark requests wait on before they are answered.

use super::files::{self, Paths};
use super::record::{frame, write_durably, Object, Op};
use super::Settings;
use crate::engine::Engine;
use std::cell::Cell;
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard, Weak};
use std::thread::JoinHandle;
use tokio::sync::watch;

/// Appended records not yet written.
#[derive(Default)]
struct Queue {
    ops: Vec<Op>,
    /// Records appended since start, the last one's number.
    appended: u64,
    /// The writer sleeps and needs waking (so an append costs no system
    /// call while the writer is busy).
    idle: bool,
    stop: bool,
}

/// The journal of one state file.
pub struct Journal {
    paths: Paths,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// The number of the last record made durable.
    durable: watch::Sender<u64>,
    /// Accounts are numbered in the file; the next number.
    accounts: AtomicU64,
    settings: Settings,
    snapshot_bytes: AtomicU64,
    compacting: AtomicBool,
    generation: AtomicU64,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Held shared by every engine operation while it changes state, and
    /// briefly exclusive by the writer when it takes a batch (and by a
    /// snapshot when it marks where it ends): a batch, and a snapshot's
    /// cut, never falls inside an operation, so none is ever half on disk.
    gate: RwLock<()>,
    /// The state's lock, held while the journal lives.
    _lock: File,
}

thread_local! {
    /// How deep this thread is in operations: only the outermost takes the
    /// gate (a nested shared lock could wait behind the writer forever).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// One engine operation in progress (see [`Journal::operation`]).
pub struct Operation<'a> {
    _gate: Option<RwLockReadGuard<'a, ()>>,
}

impl Drop for Operation<'_> {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Where one account's changes are journaled.
#[derive(Clone)]
pub struct Sink {
    journal: Arc<Journal>,
    acct: u64,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sink({})", self.acct)
    }
}

impl Sink {
    pub fn acct(&self) -> u64 {
        self.acct
    }

    pub fn append(&self, op: Op) {
        self.journal.append(op);
    }

    /// [`Journal::operation`].
    pub fn operation(&self) -> Operation<'_> {
        self.journal.operation()
    }

    pub fn put(&self, object: Object) {
        self.journal.append(Op::Put {
            acct: self.acct,
            object,
        });
    }
}

fn file_len(file: &File) -> u64 {
    file.metadata()
        .map(|m| m.len())
        .unwrap_or_else(|e| fatal("cannot read the journal's length", e))
}

/// A failed write leaves no honest way on: answers would claim what the
/// file does not hold.
fn fatal(what: &str, e: std::io::Error) -> ! {
    log::error!("{what}: {e}");
    eprintln!("topups-mock: {what}: {e}; stopping, so that no answer outlives the state file");
    std::process::exit(1)
}

impl Journal {
    pub(super) fn new(
        paths: Paths,
        generation: u64,
        settings: Settings,
        lock: File,
    ) -> Arc<Journal> {
        let (durable, _) = watch::channel(0);
        Arc::new(Journal {
            paths,
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            durable,
            accounts: AtomicU64::new(0),
            settings,
            snapshot_bytes: AtomicU64::new(0),
            compacting: AtomicBool::new(false),
            generation: AtomicU64::new(generation),
            threads: Mutex::default(),
            gate: RwLock::new(()),
            _lock: lock,
        })
    }

    /// Marks an engine operation: every record it appends goes to disk in
    /// one batch. Taken before the operation takes any other lock.
    pub fn operation(&self) -> Operation<'_> {
        let depth = DEPTH.with(|d| {
            let depth = d.get();
            d.set(depth + 1);
            depth
        });
        Operation {
            _gate: (depth == 0).then(|| self.gate.read().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// Holds every operation off (a final snapshot).
    pub(super) fn exclusive(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of the last record appended by a finished operation,
    /// read while none is in progress.
    fn cut(&self) -> u64 {
        let _gate = self.exclusive();
        self.appended()
    }

    /// Blocks this (non-async) thread until record `n` is durable.
    fn wait_durable(&self, n: u64) {
        let rx = self.durable.subscribe();
        while *rx.borrow() < n {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// A sink for a new account, with a number of its own.
    pub fn sink(self: &Arc<Self>) -> Sink {
        let acct = self.accounts.fetch_add(1, Ordering::Relaxed);
        self.sink_for(acct)
    }

    /// The sink of the account numbered `acct` (read back from the file).
    pub fn sink_for(self: &Arc<Self>, acct: u64) -> Sink {
        self.accounts.fetch_max(acct + 1, Ordering::Relaxed);
        Sink {
            journal: self.clone(),
            acct,
        }
    }

    pub(super) fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn accounts_at_least(&self, n: u64) {
        self.accounts.fetch_max(n, Ordering::Relaxed);
    }

    pub fn accounts(&self) -> u64 {
        self.accounts.load(Ordering::Relaxed)
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a record; returns its number.
    pub fn append(&self, op: Op) -> u64 {
        let mut q = self.queue();
        q.ops.push(op);
        q.appended += 1;
        if q.idle {
            q.idle = false;
            self.wake.notify_one();
        }
        q.appended
    }

    /// The number of the last record appended.
    pub fn appended(&self) -> u64 {
        self.queue().appended
    }

    /// Waits until every record appended so far is on disk.
    pub async fn settled(&self) {
        let target = self.appended();
        if *self.durable.borrow() >= target {
            return;
        }
        let mut rx = self.durable.subscribe();
        // The sender lives as long as the journal, which outlives us.
        let _ = rx.wait_for(|d| *d >= target).await;
    }

    /// Starts the writer, appending to the journal file `file`.
    pub(super) fn start(self: &Arc<Self>, file: File, engine: Weak<Engine>) {
        let me = self.clone();
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || me.run(file, engine))
            .unwrap_or_else(|e| fatal("cannot start the journal writer", e));
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle);
    }

    fn run(self: Arc<Self>, mut file: File, engine: Weak<Engine>) {
        let mut buf = Vec::with_capacity(1 << 16);
        // Where the file's batches start, and where the next one does.
        let mut start = file_len(&file);
        let mut offset = start;
        loop {
            {
                let mut q = self.queue();
                while q.ops.is_empty() && !q.stop {
                    q.idle = true;
                    q = self.wake.wait(q).unwrap_or_else(PoisonError::into_inner);
                }
            }
            let (ops, upto, stop) = {
                // Between operations: the batch holds whole ones only.
                let _gate = self.exclusive();
                let mut q = self.queue();
                (std::mem::take(&mut q.ops), q.appended, q.stop)
            };
            buf.clear();
            for op in &ops {
                if let Err(e) = frame(&mut buf, op) {
                    fatal("cannot encode a journal record", e);
                }
            }
            drop(ops);
            // Ends the batch (a batch without it is dropped on load), with
            // the counters as they are now, which cover every id in it.
            let mut counters = match engine.upgrade() {
                Some(engine) => engine.counters(self.accounts()),
                None => Op::Counters {
                    ids: Vec::new(),
                    requests: 0,
                    accounts: self.accounts(),
                    batch: 0,
                },
            };
            if let Op::Counters { batch, .. } = &mut counters {
                *batch = offset;
            }
            if let Err(e) = frame(&mut buf, &counters) {
                fatal("cannot encode a journal record", e);
            }
            if !self.settings.write_delay.is_zero() {
                std::thread::sleep(self.settings.write_delay);
            }
            if let Err(e) = write_durably(&mut file, &buf) {
                fatal(&format!("cannot write {}", self.paths.journal.display()), e);
            }
            offset += buf.len() as u64;
            // Once stopped, nothing more is written: whoever still waits is
            // let go (a final snapshot, if any, holds what they changed).
            self.durable
                .send_replace(if stop { u64::MAX } else { upto });
            if stop {
                return;
            }
            let limit = self
                .settings
                .limit
                .max(self.snapshot_bytes.load(Ordering::Relaxed));
            if offset - start > limit && !self.compacting.load(Ordering::Acquire) {
                if let Some(engine) = engine.upgrade() {
                    file = self.begin_compaction(engine);
                    start = file_len(&file);
                    offset = start;
                }
            }
        }
    }

    /// Moves writing to the next generation's journal and writes a
    /// snapshot beside it, on a thread of its own: the snapshot holds at
    /// least everything before the switch, the new journal everything
    /// after, and replaying a record twice does no harm.
    fn begin_compaction(self: &Arc<Self>, engine: Arc<Engine>) -> File {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let file = files::new_journal(&self.paths.next, generation)
            .unwrap_or_else(|e| fatal("cannot start a new journal", e));
        self.compacting.store(true, Ordering::Release);
        let me = self.clone();
        self.reap();
        let handle = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                // Every operation the dump may have seen part of is in the
                // new journal; the snapshot replaces the old journal only
                // once those are on disk.
                let before_rename = || me.wait_durable(me.cut());
                match files::write_snapshot(&engine, &me.paths, generation, before_rename) {
                    Ok(bytes) => me.snapshot_bytes.store(bytes, Ordering::Relaxed),
                    Err(e) => fatal("cannot write a snapshot", e),
                }
                if let Err(e) = files::promote_next(&me.paths) {
                    fatal("cannot switch to the new journal", e);
                }
                log::info!(
                    "state compacted into {} (generation {generation})",
                    me.paths.snapshot.display()
                );
                me.compacting.store(false, Ordering::Release);
            })
            .unwrap_or_else(|e| fatal("cannot start a snapshot", e));
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle);
        file
    }

    /// Joins the snapshot threads that have finished.
    fn reap(&self) {
        let mut threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *threads)
            .into_iter()
            .partition(|t| t.is_finished());
        *threads = running;
        for t in done {
            let _ = t.join();
        }
    }

    /// Asks the writer to write what is queued and exit, without waiting
    /// (a server dropped without a stop).
    pub fn shutdown(&self) {
        let mut q = self.queue();
        q.stop = true;
        self.wake.notify_one();
    }

    pub(super) fn set_snapshot_bytes(&self, bytes: u64) {
        self.snapshot_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Writes what is queued, stops the writer and waits for any
    /// snapshot in progress. Returns the generation to compact into next.
    pub(super) fn stop(&self) -> u64 {
        self.shutdown();
        let mut threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter();
        // The writer first (it was started first): once it has written
        // what was queued, nothing more is written, and whoever still
        // waits (a snapshot in progress among them) is let go; the final
        // snapshot holds what they changed.
        if let Some(writer) = threads.next() {
            let _ = writer.join();
        }
        self.durable.send_replace(u64::MAX);
        for t in threads {
            let _ = t.join();
        }
        self.generation.load(Ordering::Acquire) + 1
    }
}
