// Package storetest is the conformance suite of the store contract. Every store.Store
// implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTestDB(t) })
//	}
//
// The suite covers every Tx method (round-trips of every field, error codes, ordering and
// filtering), the Write contract (rollback, isolation between concurrent writers, serialisable
// read-modify-write) and the consistency of Read.
package storetest
