//! What every request handler shares.

use crate::clock::Clock;
use crate::domain::ids::IdGenerator;
use crate::domain::outcome::Planner;
use crate::scheduler::Scheduler;
use crate::store::Store;
use std::sync::Arc;

pub struct AppState {
    pub store: Store,
    pub clock: Arc<Clock>,
    pub scheduler: Arc<Scheduler>,
    pub ids: IdGenerator,
    pub planner: Planner,
}
