package kafkaio_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tripline/tripline/kafkaio"
)

func loopback(network, address string) (net.Listener, error) {
	host, port, _ := net.SplitHostPort(address)
	if host == "" {
		address = net.JoinHostPort("127.0.0.1", port)
	}
	return net.Listen(network, address)
}

// roundTrip creates a topic, writes to it and reads it back as a group:
// every code path the workers use (admin client, writer, group reader).
func roundTrip(cfg kafkaio.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cfg.EnsureTopics(ctx, []kafkaio.TopicSpec{{Name: "secure", Partitions: 1}}); err != nil {
		return err
	}
	w := cfg.NewWriter()
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Topic: "secure", Value: []byte("hello")}); err != nil {
		return kafkaio.SummariseWriteError(err)
	}
	r, err := cfg.NewGroupReader("secure-group", []string{"secure"}, kafkaio.ReaderOptions{})
	if err != nil {
		return err
	}
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return err
	}
	if string(m.Value) != "hello" {
		return fmt.Errorf("read back %q, want hello", m.Value)
	}
	return r.CommitMessages(ctx, m)
}

// TestSASL authenticates with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
// against a broker that requires SASL, and checks that a wrong password is
// refused without appearing in the error.
func TestSASL(t *testing.T) {
	for _, mech := range []string{kafkaio.SASLPlain, kafkaio.SASLScramSHA256, kafkaio.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			const user, pass = "tripline", "pa55-w0rd-correct"
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, user, pass), kfake.ListenFn(loopback))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			m, err := kafkaio.NewSASL(strings.ToLower(mech), user, pass)
			if err != nil {
				t.Fatal(err)
			}
			if err := roundTrip(kafkaio.Config{Brokers: c.ListenAddrs(), SASL: m}); err != nil {
				t.Fatalf("%s: %v", mech, err)
			}

			const wrong = "wr0ng-secret-value"
			m, _ = kafkaio.NewSASL(mech, user, wrong)
			cfg := kafkaio.Config{Brokers: c.ListenAddrs(), SASL: m}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = cfg.Ping(ctx)
			if err == nil {
				t.Fatalf("%s: a wrong password was accepted", mech)
			}
			if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pass) {
				t.Fatalf("%s: the error reveals a password: %v", mech, err)
			}
			if _, err := cfg.GroupLag(ctx, "g", []string{"secure"}); err == nil || strings.Contains(err.Error(), wrong) {
				t.Fatalf("%s: lag with a wrong password: %v", mech, err)
			}
		})
	}
	if _, err := kafkaio.NewSASL("GSSAPI", "u", "p"); err == nil {
		t.Error("an unsupported mechanism was accepted")
	}
	if _, err := kafkaio.NewSASL("", "u", ""); err == nil {
		t.Error("a SASL user without a mechanism was accepted")
	}
}

// TestTLS connects over mutual TLS: the broker's certificate is verified
// against the CA file and the client presents its own certificate.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "tripline test CA", true)
	srv, srvKey := newCert(t, ca, caKey, "127.0.0.1", false)
	cli, cliKey := newCert(t, ca, caKey, "tripline-client", false)
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	certFile := writePEM(t, dir, "client.pem", "CERTIFICATE", cli.Raw)
	keyDER, _ := x509.MarshalECPrivateKey(cliKey)
	keyFile := writePEM(t, dir, "client-key.pem", "EC PRIVATE KEY", keyDER)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	serverTLS := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(serverTLS), kfake.ListenFn(loopback))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	tc, err := kafkaio.TLSFiles{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(kafkaio.Config{Brokers: c.ListenAddrs(), TLS: tc}); err != nil {
		t.Fatalf("mutual TLS: %v", err)
	}

	// Without the client certificate the broker refuses.
	tc, _ = kafkaio.TLSFiles{CAFile: caFile}.Config()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := (kafkaio.Config{Brokers: c.ListenAddrs(), TLS: tc}).GroupLag(ctx, "g", []string{"x"}); err == nil {
		t.Error("the broker accepted a client without a certificate")
	}
	// Without the CA the client refuses the broker.
	tc, _ = kafkaio.TLSFiles{CertFile: certFile, KeyFile: keyFile}.Config()
	if err := (kafkaio.Config{Brokers: c.ListenAddrs(), TLS: tc}).Ping(ctx); err == nil {
		t.Error("an unknown server certificate was accepted")
	}
	if _, err := (kafkaio.TLSFiles{CertFile: certFile}).Config(); err == nil {
		t.Error("a certificate without its key was accepted")
	}
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  isCA,
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
