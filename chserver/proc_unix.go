//go:build unix

package chserver

import (
	"os"
	"syscall"
)

// signalGroup signals the server's whole process group, catching any helper
// process it may have forked.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		p.Signal(sig)
	}
}
