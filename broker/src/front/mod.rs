//! Fronts: the network faces of the broker. Each authenticates its callers into
//! principals and hands requests to [`crate::flow::Broker`]; none makes a policy decision.

pub mod grpc;
