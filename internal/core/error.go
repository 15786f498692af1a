package core

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies an error independently of any transport.
type Code string

// Error codes. httpapi maps each to one HTTP status.
const (
	Invalid      Code = "invalid"      // bad parameter, illegal transition
	NotFound     Code = "not_found"    // unknown or invisible object
	Conflict     Code = "conflict"     // duplicate, state conflict
	Unauthorized Code = "unauthorized" // no or bad credentials
	Forbidden    Code = "forbidden"    // authenticated but not allowed
	Unavailable  Code = "unavailable"  // no capacity
	TooLarge     Code = "too_large"    // request body over the limit
	TooMany      Code = "too_many"     // rate limit exceeded
	Cancelled    Code = "cancelled"    // the caller went away before the answer
	Timeout      Code = "timeout"      // the call ran out of time (a busy database) and was not applied
	Internal     Code = "internal"     // anything else
)

// Error is an error with a code and a message safe to show to the caller.
type Error struct {
	Code    Code
	Message string
	Err     error // optional cause, never shown to callers
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message that keeps err as its cause.
func Wrap(code Code, err error, msg string) *Error {
	return &Error{Code: code, Message: msg, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, and "" for a nil error. An
// error that is otherwise Internal but comes of a context that ended is Cancelled (the caller
// went away) or Timeout (its deadline passed): a store or a wait gave up for the caller, not
// because the server failed.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Cancelled
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	return Internal
}

// ErrorMessage returns the caller-safe message of err: the message of its *Error, a fixed
// text for a call its context ended, or a generic text for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	switch ErrorCode(err) {
	case Cancelled:
		return "Request cancelled: the client closed the connection"
	case Timeout:
		return "The server could not finish the call in time (the database is busy); it was not applied: retry later"
	}
	return "Internal server error"
}

// IsNotFound reports whether err carries the NotFound code.
func IsNotFound(err error) bool { return ErrorCode(err) == NotFound }
