//go:build !linux

package cli

import "os"

// noEcho is only implemented on Linux; elsewhere a password is read from standard input
// as it comes, without a prompt.
func noEcho(*os.File) (restore func(), ok bool) { return nil, false }
