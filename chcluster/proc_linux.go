package chcluster

import (
	"os"
	"syscall"
)

// sysProcAttr matches chserver's: own process group, and SIGKILL from the
// kernel when the test binary dies, so no JVM outlives a killed test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the child's whole process group.
func killGroup(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		p.Kill()
	}
}
