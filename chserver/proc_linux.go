package chserver

import "syscall"

// sysProcAttr puts the server in its own process group, so signals aimed at
// the test binary's group (Ctrl-C) do not race our own shutdown, and asks
// the kernel to SIGKILL it when its parent dies, so a crashed or timed-out
// test binary leaves no orphan.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
