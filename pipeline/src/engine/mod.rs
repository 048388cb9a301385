//! The offboarding engine: a durable state machine over custody cases.
//!
//! Every step's outcome is a custody node; the tables of the engine only say which steps
//! are due and who is working on them.

pub mod plan;
