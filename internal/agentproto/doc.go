// Package agentproto is the agent protocol (/hangar/agent/v1, wire types in api): the
// conversions between the wire and the hypervisor contract that both sides share, the
// derived operation ids, and the HTTP client `hangar agent` dials the control plane with.
package agentproto
