//! The custody service: the HTTP API over the ledger, API tokens, and (in later work)
//! the offboarding pipeline. The binary is `custody`.

pub mod agent;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod devices;
pub mod directory;
pub mod engine;
mod private_file;
pub mod providers;
pub mod sealing;
pub mod server;
