// Package vendor sends simulated traffic the way MSPs' own tools log it:
// each event a format can express (adapt.EncodeRecord: the tool's own
// activity, of a type the vendor logs) becomes that vendor's record on the
// raw vendor topic, written exactly as tripline receive and tripline poll
// write what they take in (receive.Messages: key msp, tripline-format and
// tripline-msp headers); every other event stays contract v1 on its
// contract topic. Ingest then converts the records with the same adapters
// real ones go through, so `tripline simulate --format` and the demo show
// the adapters working on the simulator's attacks.
//
// A vendor record carries less than the simulator's event (NinjaOne logs
// no country or ASN, ScreenConnect no hashes: docs/sources.md lists what
// each format drops); what is left is what a real deployment fed by that
// vendor would see.
package vendor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/receive"
	"github.com/tripline/tripline/simulate"
)

// DefaultMaxMessageBytes is the message limit assumed when Config leaves
// it unset: Kafka's default max.message.bytes.
const DefaultMaxMessageBytes = 1048588

// All is every format the simulator writes, in the order Config.Formats
// tries them, which decides who logs an event several vendors could:
// people's console logins are Entra ID sign-ins (the simulated MSPs sign
// their technicians in to every console through their Entra tenant, which
// logs the address, its country and network, and the second factor) and
// changes to console accounts the MSP's Microsoft 365 audit log; the rest
// is each tool's own log (NinjaOne, ScreenConnect, TeamViewer, Datto RMM).
// OCSF comes last: it is not an RMM's format but a SIEM forwarder's, which
// the MSPs whose RMM has no format here (Kaseya VSA, N-able) send their
// tools' remaining activity through (simulate.Generator.VendorClientID):
// a script run on one device with its command line and hash, an install,
// an API key's login, an account change the audit log does not say.
// Put a tool's format first to have it log its own logins instead (what
// it loses is in docs/sources.md).
func All() []string {
	return []string{"entra-signin", "m365-audit", "ninjaone", "screenconnect", "teamviewer", "datto-rmm", "ocsf"}
}

// ParseFormats reads a --format list: comma-separated names, "all" for
// All, "" or "none" for none.
func ParseFormats(list string) ([]string, error) {
	var out []string
	add := func(f string) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, f := range strings.Split(list, ",") {
		switch f = strings.TrimSpace(f); f {
		case "", "none":
		case "all":
			for _, a := range All() {
				add(a)
			}
		default:
			if !slices.Contains(adapt.RecordFormats(), f) {
				return nil, fmt.Errorf("format %q: the simulator writes %s (or all, none)", f, strings.Join(adapt.RecordFormats(), ", "))
			}
			add(f)
		}
	}
	return out, nil
}

// Config says which formats to write and where.
type Config struct {
	// Formats are tried in order for each event (adapt.RecordFormats).
	Formats []string
	// Clients gives a tenant's id in a format (simulate.Generator's
	// VendorClientID); an event of a tenant without one stays contract v1.
	// For an event of no tenant it says whether the MSP has the tool at
	// all, and gives the MSP's own id where the format has one (its Entra
	// tenant).
	Clients func(format, msp, tenant string) (string, bool)
	// Topic is the raw vendor topic (default receive.DefaultTopic).
	Topic string
	// MaxMessageBytes is the writer's per-message limit
	// (default DefaultMaxMessageBytes).
	MaxMessageBytes int
}

// Converter rewrites a simulator's messages. It is not safe for
// concurrent use.
type Converter struct {
	cfg     Config
	dec     contract.Decoder
	seq     map[string]uint64 // by format and msp
	records map[string]int
	kept    int
	err     error
}

// New checks cfg and returns a Converter.
func New(cfg Config) (*Converter, error) {
	if len(cfg.Formats) == 0 {
		return nil, errors.New("no formats")
	}
	for _, f := range cfg.Formats {
		if !slices.Contains(adapt.RecordFormats(), f) {
			return nil, fmt.Errorf("format %q: the simulator writes %v", f, adapt.RecordFormats())
		}
	}
	if cfg.Clients == nil {
		return nil, errors.New("no client ids")
	}
	if cfg.Topic == "" {
		cfg.Topic = receive.DefaultTopic
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	// The simulator's own events: its clock, not the wall clock, says
	// when they are (a --start in the future is ingest's to refuse).
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Converter{cfg: cfg, dec: contract.Decoder{Now: func() time.Time { return far }},
		seq: map[string]uint64{}, records: map[string]int{}}, nil
}

// Wrap returns next with every event a format expresses replaced by its
// vendor record. It stops (returns false) at the first error, which Err
// then returns.
func (c *Converter) Wrap(next func() (simulate.Message, bool)) func() (simulate.Message, bool) {
	return func() (simulate.Message, bool) {
		if c.err != nil {
			return simulate.Message{}, false
		}
		m, ok := next()
		if !ok {
			return m, false
		}
		out, err := c.Convert(m)
		if err != nil {
			c.err = err
			return simulate.Message{}, false
		}
		return out, true
	}
}

// Convert returns m as a vendor record if one of the formats expresses
// it, else m unchanged.
func (c *Converter) Convert(m simulate.Message) (simulate.Message, error) {
	ev, err := c.dec.Decode(m.Value)
	if err != nil {
		return m, fmt.Errorf("simulated event: %w", err)
	}
	for _, f := range c.cfg.Formats {
		client, ok := c.cfg.Clients(f, ev.MSP, ev.Tenant)
		if !ok {
			continue
		}
		// Each MSP runs its own instance of each tool, whose record ids
		// count from 1: two MSPs' records share ids, as real ones do, and
		// ingest's event IDs must still tell them apart.
		seq := f + "\x00" + ev.MSP
		rec, err := adapt.EncodeRecord(f, &ev, client, c.seq[seq]+1)
		if errors.Is(err, adapt.ErrInexpressible) {
			continue
		}
		if err != nil {
			return m, err
		}
		c.seq[seq]++
		// One record, which receive counts as one (by the format's page
		// key, not the record's own arrays): a record the adapter would
		// read as a page of several is refused here.
		msgs, _, err := receive.Messages(c.cfg.Topic, f, ev.MSP, m.Time, rec.Value, c.cfg.MaxMessageBytes, 1)
		if err != nil {
			return m, fmt.Errorf("%s record: %w", f, err)
		}
		if len(msgs) != 1 {
			return m, fmt.Errorf("%s record: %d messages", f, len(msgs))
		}
		c.records[f]++
		km := msgs[0]
		return simulate.Message{Topic: km.Topic, Key: km.Key, Value: km.Value, Headers: km.Headers, Scenario: m.Scenario, Time: m.Time}, nil
	}
	c.kept++
	return m, nil
}

// Err is the error that stopped Wrap's function, if any.
func (c *Converter) Err() error { return c.err }

// Records counts the vendor records written, by format.
func (c *Converter) Records() map[string]int { return c.records }

// Kept counts the events left as contract v1.
func (c *Converter) Kept() int { return c.kept }
