//! End-to-end tests: start the real server binaries and talk to them with rmcp's client,
//! over stdio and over streamable HTTP on 127.0.0.1.

mod chat;
mod crm;
mod harness;
mod sheets;
