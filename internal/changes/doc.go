// Package changes tells the people watching machines (the web console's live views) which
// machines changed, once the change has committed.
//
// A Hub fans changes out to subscribers, each interested in one team. Track wraps the store
// so that every committed write of a machine row, by the service layer or by the engine, is
// published after its transaction commits; nothing is published while nothing is written, so
// an idle subscriber costs a parked goroutine and no work. With several replicas on one
// PostgreSQL database, package pgnotify relays the changes of every replica to the others
// (LISTEN/NOTIFY), so that a browser watching one replica sees what another's engine did.
//
//	service ─┐                                   ┌─► Sub (team A) ─► SSE client
//	engine  ─┴─► Track(store) ──commit──► Hub ───┼─► Sub (team A) ─► SSE client
//	                      (pgnotify relay) ◄───► └─► Sub (team B) ─► SSE client
package changes
