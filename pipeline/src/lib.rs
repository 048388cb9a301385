//! The custody service: the HTTP API over the ledger, API tokens, and (in later work)
//! the offboarding pipeline. The binary is `custody`.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod engine;
pub mod sealing;
pub mod server;
