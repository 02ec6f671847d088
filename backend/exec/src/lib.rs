//! ferrite's execution engine.
//!
//! * [`GuestCpu`]: what a frontend's CPU provides to the run loop.
//! * [`Engine`]: the run loop. Blocks are translated on first use and interpreted; blocks that
//!   run often are compiled by Cranelift on a background thread and then run compiled, linked
//!   to each other within a guest page and through the jump cache across pages.
//! * [`BlockCache`]: blocks by (physical PC, virtual PC, mode), dropped when their page is
//!   written.
//! * Debug runs ([`Engine::run_debug`]): breakpoints, single steps, watchpoint stops.

mod cache;
mod compiler;
mod debug;
mod engine;
mod region;
mod stats;

pub use cache::{BlockCache, Code, Tb, TbId};
pub use debug::{DebugStop, Resume};
pub use engine::{Engine, EngineConfig, EngineError, Stop};
pub use ferrite_ir::GuestCpu;
pub use stats::Stats;
