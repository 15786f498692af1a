// Package core holds Hangar's domain types: accounts, machines, templates, networks,
// scripts, hosts and their typed states, plus the one error type every layer uses.
//
// core imports only the standard library. Adapters (store, httpapi, hypervisor) translate
// their own errors into core errors at their edge.
package core
