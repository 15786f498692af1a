// Package client is a Go client for the Hangar operator API (/hangar/v1/…): teams, users,
// API keys, templates, private networks, hosts and sim faults. It speaks the wire types of
// package api and reports non-2xx replies as *Error.
package client
