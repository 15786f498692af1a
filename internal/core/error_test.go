package core

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestErrorCodeOfEndedContexts: an error that would be Internal but comes of an ended context
// is Cancelled or Timeout, with a fixed message; a coded error keeps its code and message.
func TestErrorCodeOfEndedContexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code Code
		msg  string
	}{
		{nil, "", ""},
		{errors.New("boom"), Internal, "Internal server error"},
		{context.Canceled, Cancelled, "Request cancelled: the client closed the connection"},
		{Wrap(Internal, fmt.Errorf("begin: %w", context.Canceled), "sqlite: begin write"), Cancelled,
			"Request cancelled: the client closed the connection"},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), Timeout,
			"The server could not finish the call in time (the database is busy); it was not applied: retry later"},
		{Wrap(NotFound, context.Canceled, "machine ps1 not found"), NotFound, "machine ps1 not found"},
		{Errorf(Timeout, "every hasher is busy"), Timeout, "every hasher is busy"},
	} {
		if got := ErrorCode(tc.err); got != tc.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if tc.err == nil {
			continue
		}
		if got := ErrorMessage(tc.err); got != tc.msg {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tc.err, got, tc.msg)
		}
	}
}
