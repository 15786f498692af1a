package core

import (
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

// ErrorCode returns the code of the first *Error in err's chain, Internal otherwise,
// and "" for a nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the caller-safe message of err: the message of its *Error, or a
// generic text for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "Internal server error"
}

// IsNotFound reports whether err carries the NotFound code.
func IsNotFound(err error) bool { return ErrorCode(err) == NotFound }
