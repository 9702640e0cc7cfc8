package rules

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/fields"
)

// OfflineEvent is one input event of offline evaluation (rules eval, rule
// tests): a contract event when it is one, arbitrary JSON otherwise.
type OfflineEvent struct {
	Source fields.Source
	// ID is the event's event_id (derived for contract events), if any.
	ID string
	// Time is the event's time text, if any.
	Time string
	// Contract is set when the input was a valid contract event.
	Contract *contract.Event
	// ContractErr says why an input that declares a contract event_type was
	// not accepted as one (it is then evaluated as arbitrary JSON).
	ContractErr error
}

// ParseOfflineEvent decodes one JSON object. An object whose event_type is a
// contract event type is decoded and normalised through the contract, so
// MSP rules see it exactly as the detector would; anything else is evaluated
// as arbitrary JSON with the given logsource (zero: seen by all rules).
func ParseOfflineEvent(dec *contract.Decoder, raw []byte, ls fields.Logsource) (OfflineEvent, error) {
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return OfflineEvent{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if et, ok := doc["event_type"].(string); ok && contract.FamilyOf(et) != contract.FamilyUnknown {
		ev, err := dec.Decode(raw)
		if err == nil {
			return OfflineEvent{Source: &ev, ID: ev.EventID, Time: ev.TimeText(), Contract: &ev}, nil
		}
		out := mapEvent(doc, ls)
		out.ContractErr = err
		return out, nil
	}
	return mapEvent(doc, ls), nil
}

func mapEvent(doc map[string]any, ls fields.Logsource) OfflineEvent {
	out := OfflineEvent{Source: fields.Map{Doc: doc, Source: ls}}
	if id, ok := doc["event_id"].(string); ok {
		out.ID = id
	}
	for _, k := range []string{"time", "@timestamp", "timestamp", "UtcTime"} {
		if t, ok := doc[k].(string); ok {
			out.Time = t
			break
		}
	}
	return out
}
