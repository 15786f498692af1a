// Package apibench holds handler-level micro-benchmarks of Hangar's Paperspace API: the
// real httpapi.Server, service and SQLite store wired as `hangar serve` wires them, driven
// through ServeHTTP with an httptest.ResponseRecorder (no sockets), next to a bare handler
// that writes the same bytes. Run them with
//
//	go test -run '^$' -bench . -benchmem ./bench/apibench
//
// The load benchmark over real connections is bench/cmd/hangarbench (see BENCHMARKS.md).
package apibench
