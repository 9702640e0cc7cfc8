package adapt

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tripline/tripline/contract"
)

// The record encoders are the adapters' inverse: a contract event to the
// record a vendor would have logged for it. The simulator uses them to
// send traffic in vendor formats (tripline simulate --format), so the demo
// goes through the adapters as an MSP's real tools would. They live beside
// the adapters and use the adapters' own tables, so the two directions
// cannot drift apart; TestRecordRoundTrip holds each encoder to its
// adapter.

// ErrInexpressible is wrapped by EncodeRecord's errors for an event the
// format has no record for: another tool's activity, an event type the
// vendor does not log, or a value its record cannot say (a push to many
// hosts where the vendor logs one install request per device). Such an
// event stays contract v1.
var ErrInexpressible = errors.New("not expressible in the format")

// Record is one vendor record an event became.
type Record struct {
	// Value is the record's JSON, as the vendor writes it.
	Value []byte
	// Event is what the record says, in contract form: the event without
	// the fields the vendor does not log (docs/sources.md names them per
	// format), with the values the vendor's vocabulary gives (a NinjaOne
	// failed login's reason is "login_failed"), and the adapter's own
	// unnamespaced attributes (remote_tool, account, change). Converting
	// Value with the format's adapter gives Event, except event_id (from
	// the record's id), the tenant (the vendor's client id, which the
	// registry's vendor_ids map back) and the attributes under the
	// format's name ("ninjaone.status_code").
	Event *contract.Event
}

// recordEncoder renders one event; seq makes the record's id.
type recordEncoder func(ev *contract.Event, client string, seq uint64) (Record, error)

// recordEncoders are the formats with an encoder, by name.
var recordEncoders = map[string]recordEncoder{
	"datto-rmm":     encodeDattoRMM,
	"entra-signin":  encodeEntraSignIn,
	"m365-audit":    encodeM365Audit,
	"ninjaone":      encodeNinjaOne,
	"ocsf":          encodeOCSF,
	"screenconnect": encodeScreenConnect,
	"teamviewer":    encodeTeamViewer,
}

// RecordFormats lists the formats EncodeRecord writes, sorted.
func RecordFormats() []string {
	names := make([]string, 0, len(recordEncoders))
	for n := range recordEncoders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// EncodeRecord returns the record of format that the vendor would have
// logged for ev. client is the vendor's id of ev's tenant (a NinjaOne
// organization id, a ScreenConnect company name: what the registry's
// vendor_ids list without the "format:kind:" prefix); seq, unique per
// format and MSP, makes the record's id, which becomes the event_id. An
// event the format cannot express is an error wrapping ErrInexpressible.
func EncodeRecord(format string, ev *contract.Event, client string, seq uint64) (Record, error) {
	enc, ok := recordEncoders[format]
	if !ok {
		return Record{}, fmt.Errorf("format %q has no record encoder (have %v)", format, RecordFormats())
	}
	return enc(ev, client, seq)
}

func inexpressible(format, why string) error {
	return fmt.Errorf("%w: %s: %s", ErrInexpressible, format, why)
}

// said starts the contract form of a record: what every record carries.
func said(ev *contract.Event, tenant string) *contract.Event {
	return &contract.Event{EventType: ev.EventType, Time: ev.Time.UTC(), MSP: ev.MSP, Tool: ev.Tool, Tenant: tenant, Attributes: map[string]string{}}
}

// obj is a JSON object under construction: members in the order set.
type obj []member

type member struct {
	k string
	v any
}

func (o *obj) put(k string, v any) {
	if s, ok := v.(string); ok && s == "" {
		return
	}
	*o = append(*o, member{k, v})
}

func (o obj) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.k)
		b = append(b, ':')
		v, err := json.Marshal(m.v)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// epochSeconds writes t as NinjaOne's activityTime: seconds since 1970
// with the milliseconds as a fraction.
func epochSeconds(t time.Time) json.Number {
	ms := t.UnixMilli()
	s := strconv.FormatInt(ms/1000, 10)
	if f := ms % 1000; f != 0 {
		s += "." + fmt.Sprintf("%03d", f)
	}
	return json.Number(s)
}
