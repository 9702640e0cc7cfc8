//go:build !unix

package chserver

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup can only kill outright where there are no process groups or
// SIGTERM.
func signalGroup(p *os.Process, _ syscall.Signal) { p.Kill() }
