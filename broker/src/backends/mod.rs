//! The backend MCP servers behind the broker, by name.
//!
//! What exists today is the routing table from the config; connecting to the servers (rmcp
//! clients over stdio and streamable HTTP) is not built yet, so a call to a configured
//! server fails with an error saying exactly that.

use std::collections::BTreeMap;

use sandbox_host::ToolError;
use serde_json::Value;

use crate::config::ServerConfig;
use crate::flow::unknown_server;

/// The configured backends.
#[derive(Debug, Default)]
pub struct Backends {
    servers: BTreeMap<String, ServerConfig>,
}

impl Backends {
    /// The backends named in the config.
    pub fn from_config(servers: &BTreeMap<String, ServerConfig>) -> Self {
        Backends {
            servers: servers.clone(),
        }
    }

    /// Names of the configured servers, sorted.
    pub fn names(&self) -> Vec<String> {
        self.servers.keys().cloned().collect()
    }

    /// Calls `tool` on `server`.
    pub async fn call(&self, server: &str, tool: &str, _args: Value) -> Result<Value, ToolError> {
        if !self.servers.contains_key(server) {
            return Err(unknown_server(server, &self.names()));
        }
        Err(ToolError::tool(format!(
            "server '{server}' is configured but this build of Sluice cannot connect to backends yet; tools.{server}.{tool} was not called"
        )))
    }
}
