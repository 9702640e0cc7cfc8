package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go/sasl/plain"
)

func parseWorkerFlags(t *testing.T, args ...string) (*commonFlags, error) {
	t.Helper()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c commonFlags
	c.register(fs, true)
	return &c, parseFlags(fs, args)
}

// Secrets are never flags: there is no flag to pass one on the command
// line, where ps and shell history would show it.
func TestNoSecretFlags(t *testing.T) {
	for _, f := range []string{"--clickhouse-password", "--kafka-sasl-password", "--password"} {
		if _, err := parseWorkerFlags(t, f, "x"); err == nil {
			t.Errorf("%s is accepted as a flag", f)
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var c commonFlags
	c.register(fs, true)
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Name, "password") || strings.Contains(f.Name, "secret") {
			t.Errorf("flag --%s looks like a secret", f.Name)
		}
	})
}

func TestSecurityFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "sasl")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRIPLINE_KAFKA_SASL_MECHANISM", "PLAIN")
	t.Setenv("TRIPLINE_KAFKA_SASL_USER", "svc-tripline")
	t.Setenv("TRIPLINE_KAFKA_SASL_PASSWORD_FILE", pw)
	t.Setenv("TRIPLINE_KAFKA_TLS", "true")
	t.Setenv("TRIPLINE_CLICKHOUSE_TLS_INSECURE_SKIP_VERIFY", "true")
	t.Setenv("TRIPLINE_CLICKHOUSE_PASSWORD", "ch-pw")
	c, err := parseWorkerFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.kafka()
	if err != nil {
		t.Fatal(err)
	}
	if k.TLS == nil {
		t.Error("TRIPLINE_KAFKA_TLS=true did not enable TLS")
	}
	m, ok := k.SASL.(plain.Mechanism)
	if !ok || m.Username != "svc-tripline" || m.Password != "from-file" {
		t.Errorf("SASL = %#v, want PLAIN svc-tripline with the file's password", k.SASL)
	}
	s, err := c.storeConfig()
	if err != nil {
		t.Fatal(err)
	}
	if s.TLS == nil || !s.TLS.InsecureSkipVerify || s.Password != "ch-pw" {
		t.Errorf("store config TLS=%v password set=%v", s.TLS, s.Password != "")
	}
	if strings.Contains(s.String(), "ch-pw") {
		t.Errorf("store config prints its password: %s", s)
	}

	// A CA file that does not exist is an error naming the file, not a
	// silent fall-back to plain text.
	t.Setenv("TRIPLINE_CLICKHOUSE_TLS_CA", filepath.Join(dir, "missing.pem"))
	c, _ = parseWorkerFlags(t)
	if _, err := c.storeConfig(); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing CA file: %v", err)
	}
	t.Setenv("TRIPLINE_KAFKA_SASL_MECHANISM", "KERBEROS")
	c, _ = parseWorkerFlags(t)
	if _, err := c.kafka(); err == nil || strings.Contains(err.Error(), "from-file") {
		t.Errorf("unknown mechanism: %v", err)
	}
}

// TestSecretEnvAndFile: a secret is read from TRIPLINE_<NAME> or from the
// file TRIPLINE_<NAME>_FILE names; both at once is an error that names the
// variables and shows neither secret.
func TestSecretEnvAndFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("file-secret-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"CLICKHOUSE_PASSWORD", "KAFKA_SASL_PASSWORD", "WRITER_PASSWORD"} {
		for _, tt := range []struct {
			env, file bool
			want      string
			wantErr   bool
		}{
			{want: ""},
			{env: true, want: "env-secret-456"},
			{file: true, want: "file-secret-123"},
			{env: true, file: true, wantErr: true},
		} {
			t.Run(fmt.Sprintf("%s/env=%v,file=%v", name, tt.env, tt.file), func(t *testing.T) {
				if tt.env {
					t.Setenv("TRIPLINE_"+name, "env-secret-456")
				}
				if tt.file {
					t.Setenv("TRIPLINE_"+name+"_FILE", file)
				}
				got, err := secret(name)
				if tt.wantErr {
					if err == nil {
						t.Fatalf("both set: got %q, want an error", got)
					}
					msg := err.Error()
					if !strings.Contains(msg, "TRIPLINE_"+name) || !strings.Contains(msg, "_FILE") ||
						strings.Contains(msg, "secret-123") || strings.Contains(msg, "secret-456") {
						t.Errorf("error %q should name both variables and neither secret", msg)
					}
					return
				}
				if err != nil || got != tt.want {
					t.Fatalf("secret = %q, %v; want %q", got, err, tt.want)
				}
			})
		}
	}
}
