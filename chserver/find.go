package chserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// EnvBinary names the environment variable that overrides where Find looks:
// the path of clickhouse-server or of the single clickhouse binary.
const EnvBinary = "TRIPLINE_CLICKHOUSE_SERVER"

// InstallHint tells a user how to get a server binary.
const InstallHint = "install it with: apt-get install -y clickhouse-server clickhouse-client " +
	"(Debian/Ubuntu; the system service is not needed), or see https://clickhouse.com/docs/install; " +
	"set " + EnvBinary + " to use a binary outside PATH"

// ErrNotFound is returned (wrapped) by Find and Start when no ClickHouse
// server binary exists on this machine.
var ErrNotFound = errors.New("clickhouse-server not found")

// Find returns the path of a ClickHouse server binary: clickhouse-server, or
// the single clickhouse binary that takes "server" as a subcommand.
func Find() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s=%q is not an executable file; %s", ErrNotFound, EnvBinary, p, InstallHint)
	}
	// The dedicated clickhouse-server name wins over the multi-tool: a
	// machine with both got the latter from some unrelated package.
	for _, name := range []string{"clickhouse-server", "clickhouse"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		// sbin is often missing from a non-root PATH, which is exactly where
		// Debian puts clickhouse-server.
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin"} {
			if p := filepath.Join(dir, name); isExecutable(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w in PATH, /usr/sbin, /usr/bin or /usr/local/bin; %s", ErrNotFound, InstallHint)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// serverArgs is the argument list that runs the binary at path as a server.
func serverArgs(path, configFile string) []string {
	args := []string{"--config-file=" + configFile}
	if filepath.Base(path) == "clickhouse" {
		return append([]string{"server"}, args...)
	}
	return args
}
