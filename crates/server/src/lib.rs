//! The `kiku` server: configuration, the application services, the HTTP API and the
//! operator CLI, wired over the domain, storage and blob crates.
// The OpenAPI examples on the handlers are large `json!` literals.
#![recursion_limit = "512"]

pub mod app;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod jobs;
pub mod serve;
pub mod ui;
