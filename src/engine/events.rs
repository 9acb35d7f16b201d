//! Emitting events: the one place an event is made and logged.

use super::watch::event_notice;
use super::Engine;
use crate::domain::event::{Cause, Event, EventType, Previous, Snapshot, RETENTION};
use crate::domain::ids::IdKind;
use crate::domain::time::{floor_seconds, Millis};
use crate::store::{Account, Target};
use std::sync::Arc;

impl Engine {
    /// Logs an event of `kind` carrying `object` as it is at `at`, and
    /// forgets events older than the retention period.
    pub(super) fn emit(
        &self,
        account: &Account,
        kind: EventType,
        object: Snapshot,
        cause: &Cause,
        at: Millis,
    ) -> Arc<str> {
        self.emit_change(account, kind, object, None, cause, at)
    }

    /// [`Engine::emit`] for an `*.updated` event, with what changed.
    pub(super) fn emit_change(
        &self,
        account: &Account,
        kind: EventType,
        object: Snapshot,
        previous: Option<Box<Previous>>,
        cause: &Cause,
        at: Millis,
    ) -> Arc<str> {
        let (seq, id) = self.next_id(IdKind::Event);
        let created = floor_seconds(at);
        let targets = self.targets(account, kind);
        // Made before the object moves into the log, sent once it is there.
        let notice = self
            .watched(account)
            .then(|| event_notice(&id, kind, account, &object, created));
        account.events.insert(Event {
            id: id.clone(),
            kind,
            created,
            seq,
            object,
            previous,
            request: cause.clone(),
            account: account.id.connected.clone(),
            api_version: self.api_version.clone(),
            pending: targets.iter().map(Target::name).collect(),
        });
        self.notify(account, || notice);
        self.send_all(account, &id, targets);
        let cutoff = floor_seconds(at.saturating_sub(RETENTION));
        account
            .events
            .remove_oldest_while(|(created, _)| created < cutoff);
        id
    }
}
