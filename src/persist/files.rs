//! The files of a state file `PATH`: the snapshot `PATH`, its journal
//! `PATH.journal`, and while a compaction runs `PATH.journal-next` (the
//! next generation's journal) and `PATH.tmp` (the snapshot being
//! written). Every switch is a rename, so a crash at any moment leaves a
//! set of files that loads.

use super::record::{
    file_start, frame, write_durably, FileKind, Header, Next, Op, Origin, Reader, FORMAT, MAGIC,
};
use crate::engine::Engine;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    pub snapshot: PathBuf,
    pub journal: PathBuf,
    pub next: PathBuf,
    pub tmp: PathBuf,
    /// Held locked by the one server using the state.
    pub lock: PathBuf,
}

impl Paths {
    pub fn new(path: &Path) -> Paths {
        let with = |suffix: &str| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        };
        Paths {
            snapshot: path.to_path_buf(),
            journal: with(".journal"),
            next: with(".journal-next"),
            tmp: with(".tmp"),
            lock: with(".lock"),
        }
    }

    fn dir(&self) -> PathBuf {
        match self.snapshot.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// Takes the state's lock, waiting up to `patience` for a server that is
/// still writing its last snapshot (a restart right after a stop); the
/// lock is held as long as the returned file is open.
pub fn lock(paths: &Paths, patience: std::time::Duration) -> Result<File, Refused> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)
        .map_err(|e| refuse(&paths.lock, format_args!("cannot be opened: {e}")))?;
    let deadline = std::time::Instant::now() + patience;
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                if !said {
                    eprintln!(
                        "topups-mock: waiting for the other server using {} to finish",
                        paths.snapshot.display()
                    );
                    said = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Refused(format!(
                    "{} is in use by another topups-mock (it holds {}): one server per state file.",
                    paths.snapshot.display(),
                    paths.lock.display()
                )))
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(refuse(&paths.lock, format_args!("cannot be locked: {e}")))
            }
        }
    }
}

/// Makes a rename in the directory durable.
fn sync_dir(paths: &Paths) -> io::Result<()> {
    File::open(paths.dir())?.sync_all()
}

/// Creates (or empties) a journal file of `generation`, durably, open
/// for appending.
pub fn new_journal(path: &Path, generation: u64) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    write_durably(
        &mut file,
        &file_start(FileKind::Journal, generation, Origin::default())?,
    )?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(file)
}

/// Writes the engine's whole state as the snapshot of `generation`: to
/// `PATH.tmp`, fsynced, then renamed over `PATH`. Returns its size.
/// `before_rename` runs once the snapshot is on disk, before it replaces
/// the old one.
pub fn write_snapshot(
    engine: &Engine,
    paths: &Paths,
    generation: u64,
    before_rename: impl FnOnce(),
) -> io::Result<u64> {
    let mut file = File::create(&paths.tmp)?;
    let origin = Origin {
        seed: Some(engine.seed()),
        started: Some(engine.started()),
    };
    let mut buf = file_start(FileKind::Snapshot, generation, origin)?;
    let mut bytes = 0u64;
    engine.dump(&mut |op: &Op| {
        frame(&mut buf, op)?;
        if buf.len() >= 1 << 20 {
            file.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
        }
        Ok(())
    })?;
    bytes += buf.len() as u64;
    write_durably(&mut file, &buf)?;
    file.sync_all()?;
    drop(file);
    before_rename();
    fs::rename(&paths.tmp, &paths.snapshot)?;
    sync_dir(paths)?;
    Ok(bytes)
}

/// The next generation's journal becomes the journal.
pub fn promote_next(paths: &Paths) -> io::Result<()> {
    fs::rename(&paths.next, &paths.journal)?;
    sync_dir(paths)
}

/// Why a state file cannot be loaded. The files are left as they are.
#[derive(Debug)]
pub struct Refused(pub String);

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The latest generation read (0 when starting afresh).
    pub generation: u64,
    pub records: u64,
    /// A record cut short at the end of the journal, dropped.
    pub torn: Option<String>,
    pub fresh: bool,
}

fn refuse(path: &Path, why: impl std::fmt::Display) -> Refused {
    Refused(format!(
        "{} {why}. The state is left as it is: fix or move it away to start afresh.",
        path.display()
    ))
}

/// Reads one file's records into `apply`. A torn last record is allowed
/// (and reported) only where `may_tear`.
fn read_file(
    path: &Path,
    expect: FileKind,
    may_tear: bool,
    apply: &mut dyn FnMut(Op),
    loaded: &mut Loaded,
) -> Result<Header, Refused> {
    let io = |e: io::Error| refuse(path, format_args!("cannot be read: {e}"));
    let file = File::open(path).map_err(io)?;
    let mut r = Reader::new(BufReader::with_capacity(1 << 20, file));
    if !r.magic().map_err(io)? {
        return Err(refuse(path, "is not a topups-mock state file"));
    }
    let header: Header = match r.next().map_err(io)? {
        Next::Record(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| refuse(path, format_args!("has an unreadable header: {e}")))?,
        _ => return Err(refuse(path, "has a damaged header")),
    };
    if header.format > FORMAT {
        return Err(refuse(
            path,
            format_args!(
                "was written by a newer topups-mock (state format {}; this build reads format {FORMAT} and older)",
                header.format
            ),
        ));
    }
    if header.kind != expect {
        return Err(refuse(
            path,
            format_args!("is a {:?} where a {expect:?} belongs", header.kind),
        ));
    }
    // A journal's records count once the batch they are in is complete
    // (it ends with the counters): a batch holds whole operations only.
    let batched = expect == FileKind::Journal;
    let mut batch: Vec<Op> = Vec::new();
    let cut_short = |torn: Option<String>, batch: Vec<Op>, loaded: &mut Loaded| {
        let mut said: Vec<String> = torn.into_iter().collect();
        if !batch.is_empty() {
            said.push(format!(
                "{} ends inside a batch ({} whole records after the last complete batch)",
                path.display(),
                batch.len()
            ));
        }
        if !said.is_empty() {
            loaded.torn = Some(format!(
                "{}: a write cut short, dropped (no request that wrote it was answered)",
                said.join("; ")
            ));
        }
    };
    loop {
        let at = r.offset;
        let next = r.next().map_err(io)?;
        // What a crash in the middle of the last batch leaves (a record cut
        // short, a hole, a bad checksum) is told from damage by what
        // follows: damage is followed by a complete batch's end mark, an
        // unfinished batch by nothing that is one.
        let problem = match next {
            Next::End => {
                cut_short(None, batch, loaded);
                return Ok(header);
            }
            Next::Record(bytes) => match serde_json::from_slice::<Op>(&bytes) {
                Ok(op) => {
                    if !batched {
                        loaded.records += 1;
                        apply(op);
                    } else if matches!(op, Op::Counters { .. }) {
                        loaded.records += batch.len() as u64 + 1;
                        batch.drain(..).for_each(&mut *apply);
                        apply(op);
                    } else {
                        batch.push(op);
                    }
                    continue;
                }
                Err(e) => format!("the record at byte {at} is unreadable ({e})"),
            },
            Next::Torn { bytes } => format!("it ends inside a record ({bytes} bytes at byte {at})"),
            Next::Damaged { offset } => format!("the record at byte {offset} fails its checksum"),
        };
        if may_tear && !commit_follows(path, at).map_err(io)? {
            cut_short(
                Some(format!("{}: {problem}", path.display())),
                batch,
                loaded,
            );
            return Ok(header);
        }
        let what = if problem.starts_with("it ends") {
            "is truncated"
        } else {
            "is damaged"
        };
        return Err(refuse(path, format_args!("{what}: {problem}")));
    }
}

/// Whether a whole batch's end mark (a counters record with a good
/// checksum) starts anywhere after byte `at` of `path`.
fn commit_follows(path: &Path, at: u64) -> io::Result<bool> {
    use std::io::Seek;
    let mut file = File::open(path)?;
    file.seek(io::SeekFrom::Start(at + 1))?;
    let mut rest = Vec::new();
    file.read_to_end(&mut rest)?;
    const MARK: &[u8] = b"{\"Counters\"";
    Ok((0..rest.len()).any(|i| {
        let frame = &rest[i..];
        // Only where a counters record could start is a frame read.
        frame.get(8..).is_some_and(|p| p.starts_with(MARK))
            && matches!(Reader::new(frame).next(), Ok(Next::Record(p))
                // The end of a batch that began after `at`: not the end of
                // the unfinished batch `at` is in.
                if matches!(serde_json::from_slice(&p), Ok(Op::Counters { batch, .. }) if batch > at))
    }))
}

/// What a state file's start says.
enum Head {
    Header(Header),
    /// Cut short before its header was whole: a journal whose creation a
    /// crash interrupted, so it holds nothing.
    Unfinished,
    /// Not a state file (reading it refuses with the reason).
    Unreadable,
}

fn head(path: &Path) -> Head {
    let read = File::open(path).and_then(|f| {
        let mut start = Vec::new();
        f.take(4096).read_to_end(&mut start).map(|_| start)
    });
    let Ok(bytes) = read else {
        return Head::Unreadable;
    };
    if bytes.len() < MAGIC.len() {
        return if MAGIC.starts_with(&bytes) {
            Head::Unfinished
        } else {
            Head::Unreadable
        };
    }
    let mut r = Reader::new(&bytes[..]);
    match (r.magic(), r.next()) {
        (Ok(true), Ok(Next::Record(h))) => {
            serde_json::from_slice::<Header>(&h).map_or(Head::Unreadable, Head::Header)
        }
        (Ok(true), Ok(Next::Torn { .. } | Next::End)) => Head::Unfinished,
        _ => Head::Unreadable,
    }
}

/// What the snapshot at `path` says of its server, if it can be read.
pub fn origin(path: &Path) -> Option<Origin> {
    match head(path) {
        Head::Header(h) => Some(Origin {
            seed: h.seed,
            started: h.started,
        }),
        _ => None,
    }
}

/// Reads the snapshot and the journals that follow it, in order, into
/// `apply`.
pub fn load(paths: &Paths, apply: &mut dyn FnMut(Op)) -> Result<Loaded, Refused> {
    let mut loaded = Loaded::default();
    let snapshot = paths.snapshot.exists();
    let journals: Vec<&PathBuf> = [&paths.journal, &paths.next]
        .into_iter()
        .filter(|p| p.exists())
        .collect();
    if !snapshot {
        if let Some(j) = journals.first() {
            return Err(refuse(
                j,
                format_args!("exists without its snapshot {}", paths.snapshot.display()),
            ));
        }
        loaded.fresh = true;
        return Ok(loaded);
    }
    let header = read_file(
        &paths.snapshot,
        FileKind::Snapshot,
        false,
        apply,
        &mut loaded,
    )?;
    loaded.generation = header.generation;
    // A journal older than the snapshot was left by a compaction that
    // finished its snapshot but not its rename: the snapshot holds it.
    let mut follow: Vec<(u64, &PathBuf)> = Vec::new();
    for j in journals {
        match head(j) {
            Head::Header(h) if h.generation < header.generation => {}
            Head::Header(h) => follow.push((h.generation, j)),
            Head::Unfinished => log::warn!("{} holds no whole header: ignored", j.display()),
            // Reading it says why.
            Head::Unreadable => follow.push((u64::MAX, j)),
        }
    }
    follow.sort();
    let last = follow.len().saturating_sub(1);
    for (i, (_, j)) in follow.into_iter().enumerate() {
        let h = read_file(j, FileKind::Journal, i == last, apply, &mut loaded)?;
        // What is written next outranks every file read, so a leftover
        // journal is never read again after the state it led to.
        loaded.generation = loaded.generation.max(h.generation);
    }
    Ok(loaded)
}
