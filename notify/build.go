package notify

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Receivers are a config's senders by receiver name, built with resolved
// secrets.
type Receivers struct {
	byName  map[string]Sender
	secrets secrets
}

// Sender returns the sender of the receiver called name.
func (r *Receivers) Sender(name string) Sender { return r.byName[name] }

// Redact replaces every secret value in s (an error from a receiver may
// quote its URL, and a Slack URL is the credential).
func (r *Receivers) Redact(s string) string { return r.secrets.redact(s) }

// BuildReceivers resolves every secret of cfg and builds its senders. It
// fails, naming every reference that cannot be resolved (never a value),
// so that notify refuses to start rather than fail at the first alert.
func BuildReceivers(cfg *Config, client *http.Client) (*Receivers, error) {
	if client == nil {
		client = HTTPClient()
	}
	out := &Receivers{byName: make(map[string]Sender, len(cfg.Receivers))}
	var errs []error
	resolve := func(ref *SecretRef) string {
		if ref == nil {
			return ""
		}
		v, err := ref.Resolve()
		if err != nil {
			errs = append(errs, err)
			return ""
		}
		out.secrets = append(out.secrets, v)
		return v
	}
	for i := range cfg.Receivers {
		r := &cfg.Receivers[i]
		where := fmt.Sprintf("%s:%d: receiver %q", cfg.File, r.Line, r.Name)
		var s Sender
		switch r.Type {
		case TypeWebhook:
			secret := resolve(r.Secret)
			if secret == "" {
				continue
			}
			w, err := NewWebhook(r.URL, secret, client)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: secret (%s): %w", where, r.Secret, err))
				continue
			}
			s = w
		case TypeSlack, TypeTeams:
			u := resolve(r.URLRef)
			if u == "" {
				continue
			}
			if err := checkEndpoint(u); err != nil {
				errs = append(errs, fmt.Errorf("%s: url (%s): %w", where, r.URLRef, err))
				continue
			}
			if r.Type == TypeSlack {
				s = &Slack{URL: u, Client: client}
			} else {
				s = &Teams{URL: u, Client: client}
			}
			// A URL's path and query are the credential too.
			if pu, err := url.Parse(u); err == nil && pu.Path != "" && pu.Path != "/" {
				out.secrets = append(out.secrets, pu.Path)
			}
		case TypePagerDuty:
			key := resolve(r.RoutingKey)
			if key == "" {
				continue
			}
			s = &PagerDuty{URL: r.URL, routingKey: key, Client: client}
		case TypeEmail:
			pw := resolve(r.Password)
			if r.Password != nil && pw == "" {
				continue
			}
			e, err := NewEmail(r, pw, cfg.Retry.Timeout)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			s = e
		default:
			errs = append(errs, fmt.Errorf("%s: unknown type %q", where, r.Type))
			continue
		}
		out.byName[r.Name] = s
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err // each names its file:line
	}
	return out, nil
}
