package core

import "time"

// AuditEntry records one state-changing API call. It never holds a secret: no key, password,
// token or request body, only who called, what they did to which object, and the outcome.
type AuditEntry struct {
	Seq        int64     // assigned by the store, increasing in insertion order
	Time       time.Time // when the answer was decided
	RequestID  string    // the request id (X-Request-Id), "" if none
	UserID     string    // the caller, "" when anonymous or not authenticated
	Role       Role      // the caller's role, "" when anonymous
	TeamID     string    // the caller's team, "" when anonymous
	Action     string    // what was called, e.g. "machines.create"
	Target     string    // the object acted on (machine, user, key, … id), "" if none
	Status     int       // the HTTP status of the answer
	Error      Code      // the error code of a failed call, "" on success
	ClientAddr string    // the client's IP address as the server saw it
}

// AuditQuery selects audit entries. Empty fields do not filter.
type AuditQuery struct {
	TeamID string
	UserID string
	Action string
	Since  time.Time // entries at or after Since (zero: no bound)
	Until  time.Time // entries before Until (zero: no bound)
	Limit  int       // at most this many, newest first (0: all)
}
