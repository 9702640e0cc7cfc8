//go:build unix && !linux

package chserver

import "syscall"

// sysProcAttr puts the server in its own process group. Without Linux's
// Pdeathsig a killed test binary can orphan the server; Stop and the
// cleanup helpers remain the primary guard.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
