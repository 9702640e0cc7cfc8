package faults

import "syscall"

// childAttr puts a worker in its own process group and has the kernel
// SIGKILL it if the test binary dies, so no worker outlives a killed test.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
