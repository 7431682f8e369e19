//! Example MCP servers for the Sluice demo.
