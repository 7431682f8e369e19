//! Sluice: a policy-enforcing data-flow broker for MCP agents that work in code mode.
//!
//! Data flows one way: a front (the CLI, [`front::mcp`] over stdio and HTTP, or [`front::grpc`]) hands a program to the
//! [`flow::Broker`], which runs it in the [`sandbox_host`] sandbox and routes every tool
//! call the program makes through itself to the backends. See `docs/architecture.md`.

#![deny(missing_docs)]

pub mod audit;
pub mod auth;
pub mod backends;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod demo;
pub mod flow;
pub mod front;
pub mod load;
pub mod metrics;
pub mod policy;
pub mod resources;
pub mod setup;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod vault;
