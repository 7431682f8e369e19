//! End-to-end tests: the real `sluice` binary, real example MCP servers over stdio and
//! HTTP, real stdin/stdout and exit codes. One test binary (one link of the whole broker)
//! keeps build time and disk use down; each module is one area.

mod support;

mod approval;
mod audit_cli;
mod backend_faults;
mod backends;
mod call_policies;
mod demo;
mod detection_config;
mod echoes;
mod exec_cli;
mod flow_policy;
mod fronts_agree;
mod grpc_front;
mod leaks;
mod load;
mod mcp_front;
mod operator_errors;
mod policy_authoring;
mod replicas;
mod telemetry;
mod tls;
mod tokenize_cli;
mod vault_durability;
mod workspace_skills;
