package kafkaio

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanism names accepted by NewSASL (case-insensitive).
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// NewSASL returns kafka-go's mechanism for name ("" means no SASL). The
// password never appears in the returned error.
func NewSASL(name, user, password string) (sasl.Mechanism, error) {
	if name == "" {
		if user != "" {
			return nil, errors.New("kafka SASL: a user is set but no mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
		}
		return nil, nil
	}
	if user == "" {
		return nil, fmt.Errorf("kafka SASL %s: no user", name)
	}
	switch strings.ToUpper(name) {
	case SASLPlain:
		return plain.Mechanism{Username: user, Password: password}, nil
	case SASLScramSHA256, "SCRAM-SHA256":
		m, err := scram.Mechanism(scram.SHA256, user, password)
		if err != nil {
			return nil, errors.New("kafka SASL SCRAM-SHA-256: invalid user or password (SASLprep)")
		}
		return m, nil
	case SASLScramSHA512, "SCRAM-SHA512":
		m, err := scram.Mechanism(scram.SHA512, user, password)
		if err != nil {
			return nil, errors.New("kafka SASL SCRAM-SHA-512: invalid user or password (SASLprep)")
		}
		return m, nil
	default:
		return nil, fmt.Errorf("kafka SASL: unknown mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", name)
	}
}

// TLSFiles name the PEM files of a TLS client configuration. Paths are not
// secret; the key file's content is, and is never logged.
type TLSFiles struct {
	// CAFile verifies the server (empty: the system roots).
	CAFile string
	// CertFile and KeyFile are the client certificate (mutual TLS); both or
	// neither.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the server's certificate.
	ServerName string
	// InsecureSkipVerify disables verification: for tests only.
	InsecureSkipVerify bool
}

// Config builds the *tls.Config (TLS 1.2 or newer).
func (f TLSFiles) Config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA %s: no PEM certificate found", f.CAFile)
		}
		c.RootCAs = pool
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("TLS client certificate: need both the certificate and the key file")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			// LoadX509KeyPair's errors describe the PEM structure, never
			// the key material.
			return nil, fmt.Errorf("TLS client certificate %s: %w", f.CertFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
