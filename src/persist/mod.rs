//! `--state-file PATH`: the whole state survives a restart, and a crash
//! loses no request that was answered.
//!
//! Every change the engine stores is also appended to a journal as a
//! record of what the object now is. One thread writes the records in
//! batches and fsyncs each batch (group commit); a request is answered
//! only once everything appended before its answer is on disk, and a
//! webhook is sent only once its event is. On start the snapshot and the
//! journal are read back, what is derived (the ledger, the queue of due
//! jobs) is rebuilt from the objects, and a fresh snapshot is written. A
//! snapshot is also written when the journal outgrows it, and on a
//! graceful stop.

mod files;
mod journal;
mod record;

pub use journal::{Journal, Operation, Sink};
pub use record::{bytes_as_text, Kind, Object, Op, Origin};

use crate::engine::Engine;
use files::Paths;
use std::path::Path;
use std::sync::Arc;

/// Journal bytes after which a snapshot is written (or the snapshot's
/// own size, if larger), unless set otherwise.
pub const DEFAULT_JOURNAL_LIMIT: u64 = 64 << 20;

/// How the journal is kept.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Journal bytes after which a snapshot is written.
    pub limit: u64,
    /// Added before every journal write, as a slow disk would (to try what
    /// an app sees when persistence is slow, and that answers wait for it).
    pub write_delay: std::time::Duration,
}

/// A state file this server holds the lock of (and may read and write).
pub struct Locked {
    paths: Paths,
    lock: std::fs::File,
}

impl Locked {
    /// Takes the lock of the state at `path` (making its folder if need
    /// be), waiting up to 30 s for a server still writing it.
    pub fn take(path: &Path) -> Result<Locked, String> {
        let paths = Paths::new(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot make the folder {}: {e}", dir.display()))?;
        }
        let lock = files::lock(&paths, std::time::Duration::from_secs(30)).map_err(|r| r.0)?;
        Ok(Locked { paths, lock })
    }

    /// What the state says of the server that made it (its seed, when it
    /// started), read under the lock.
    pub fn origin(&self) -> Origin {
        files::origin(&self.paths.snapshot).unwrap_or_default()
    }
}

/// Loads the locked state into `engine` (a new engine, before it
/// serves), writes it back as a fresh snapshot and starts journaling.
/// Refuses, touching nothing, a file it cannot read whole.
pub fn open(engine: &Arc<Engine>, locked: Locked, settings: Settings) -> Result<(), String> {
    let Locked { paths, lock } = locked;
    let path = paths.snapshot.clone();
    let mut restoring = engine.restoring();
    let loaded =
        files::load(&paths, &mut |op| engine.restore_op(op, &mut restoring)).map_err(|r| r.0)?;
    restoring.fresh = loaded.fresh;
    let journal = Journal::new(paths.clone(), loaded.generation + 1, settings, lock);
    engine.restored(restoring, &journal);
    if let Some(torn) = &loaded.torn {
        log::warn!("{torn}");
        eprintln!("topups-mock: {torn}");
    }
    if loaded.fresh {
        log::info!("new state file {}", path.display());
    } else {
        log::info!(
            "state restored from {} ({} records)",
            path.display(),
            loaded.records
        );
    }
    let generation = loaded.generation + 1;
    let bytes = files::write_snapshot(engine, &paths, generation, || {})
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    journal.set_snapshot_bytes(bytes);
    let file = files::new_journal(&paths.next, generation)
        .and_then(|f| files::promote_next(&paths).map(|()| f))
        .map_err(|e| format!("cannot write {}: {e}", paths.journal.display()))?;
    journal.start(file, Arc::downgrade(engine));
    engine.set_journal(journal);
    Ok(())
}

/// Stops journaling and writes the state as a snapshot with an empty
/// journal (a graceful stop: the next start reads one file).
pub fn close(engine: &Engine) -> std::io::Result<()> {
    let Some(journal) = engine.journal() else {
        return Ok(());
    };
    let generation = journal.stop();
    let paths = journal.paths().clone();
    // Webhook tasks may still record attempts: none is caught half done.
    let _quiet = journal.exclusive();
    files::write_snapshot(engine, &paths, generation, || {})?;
    files::new_journal(&paths.next, generation)?;
    files::promote_next(&paths)
}
