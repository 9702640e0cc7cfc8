package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Email sends one message per notification over SMTP, with STARTTLS
// required (a server that does not offer it is an error, not a reason to
// send in clear text) and authentication when a username is set.
type Email struct {
	Host     string
	Port     int
	Username string
	password string
	From     string
	To       []string
	// TLS verifies the server (RootCAs from ca_file, or the system's).
	TLS     *tls.Config
	Timeout time.Duration
}

// NewEmail returns an email receiver for r; password is resolved.
func NewEmail(r *ReceiverConfig, password string, timeout time.Duration) (*Email, error) {
	t := &tls.Config{ServerName: r.SMTPHost, MinVersion: tls.VersionTLS12}
	if r.CAFile != "" {
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate", r.CAFile)
		}
		t.RootCAs = pool
	}
	return &Email{Host: r.SMTPHost, Port: r.SMTPPort, Username: r.Username, password: password, From: r.From, To: r.To, TLS: t, Timeout: timeout}, nil
}

// Groups implements Sender.
func (e *Email) Groups() bool { return true }

// Type implements Sender.
func (e *Email) Type() string { return TypeEmail }

// Send implements Sender. The status is 250 (SMTP's OK) on success.
func (e *Email) Send(ctx context.Context, n *Notification) (int, error) {
	msg, err := e.message(n)
	if err != nil {
		return 0, Permanent(err)
	}
	opts := []mail.Option{
		mail.WithPort(e.Port),
		mail.WithTLSPolicy(mail.TLSMandatory),
		mail.WithTLSConfig(e.TLS),
		mail.WithTimeout(e.Timeout),
	}
	if e.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(e.Username), mail.WithPassword(e.password))
	}
	c, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		return 0, Permanent(fmt.Errorf("smtp client: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.Reason != mail.ErrConnCheck && se.Reason != mail.ErrSMTPMailFrom {
			// 5xx on a recipient or the content: the server refuses it.
			return 0, Permanent(fmt.Errorf("smtp: %w", err))
		}
		return 0, fmt.Errorf("smtp: %w", err)
	}
	return 250, nil
}

func (e *Email) message(n *Notification) (*mail.Msg, error) {
	m := mail.NewMsg()
	if err := m.From(e.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.To(e.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	subject := title(&n.Messages[0], n.Repeat)
	if len(n.Messages) > 1 {
		subject = fmt.Sprintf("%d alerts (%s)", len(n.Messages), n.Route)
	}
	m.Subject("[tripline] " + subject)
	// The notification ID makes a retried email the same message to
	// mail systems that deduplicate on Message-ID.
	m.SetMessageIDWithValue(n.ID + "@tripline")
	m.SetGenHeader("X-Tripline-Notification-Id", n.ID)
	m.SetDate()
	var b strings.Builder
	for i := range n.Messages {
		msg := &n.Messages[i]
		fmt.Fprintf(&b, "%s\n", title(msg, n.Repeat))
		if msg.Alert.Summary != "" {
			fmt.Fprintf(&b, "%s\n", msg.Alert.Summary)
		}
		for _, f := range facts(msg) {
			fmt.Fprintf(&b, "  %-12s %s\n", f[0]+":", f[1])
		}
		b.WriteString("\n")
	}
	m.SetBodyString(mail.TypeTextPlain, b.String())
	return m, nil
}
