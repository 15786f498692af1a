//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// detach starts cmd in its own session, without a controlling terminal: the paperspace CLI's
// login prompt (readline-sync on /dev/tty) then fails at once instead of waiting for input.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
