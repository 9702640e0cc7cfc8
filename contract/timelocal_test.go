package contract

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The producer's offset survives normalisation as time_local (time stays
// UTC), so a rule can ask for the local hour without a registry.
func TestTimeLocal(t *testing.T) {
	const tmpl = `{"event_type":"script.run","time":"%s","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"}%s}`
	msg := func(tm, extra string) string {
		return strings.Replace(strings.Replace(tmpl, "%s", tm, 1), "%s", extra, 1)
	}
	tests := []struct {
		name      string
		producer  bool // ingest's decoder (DiscardContext), else a normalised document's reader
		raw       string
		wantLocal string
		wantAttr  string // attributes["time_local"]
		reason    Reason
	}{
		{"offset kept", true, msg("2026-11-22T03:10:00-07:00", ""), "2026-11-22T03:10:00-07:00", "", ""},
		{"half-hour offset", true, msg("2026-11-22T03:10:00.25+05:30", ""), "2026-11-22T03:10:00.25+05:30", "", ""},
		{"zero offset is known", true, msg("2026-11-22T03:10:00+00:00", ""), "2026-11-22T03:10:00+00:00", "", ""},
		{"Z is unknown", true, msg("2026-11-22T03:10:00Z", ""), "", "", ""},
		{"-00:00 is unknown", true, msg("2026-11-22T03:10:00-00:00", ""), "", "", ""},
		{"producer's time_local is an attribute", true, msg("2026-11-22T03:10:00Z", `,"time_local":"2026-11-22T04:10:00+01:00"`), "", "2026-11-22T04:10:00+01:00", ""},
		{"producer's time_local of any type", true, msg("2026-11-22T03:10:00-07:00", `,"time_local":5`), "2026-11-22T03:10:00-07:00", "5", ""},
		{"normalised document", false, msg("2026-11-22T10:10:00Z", `,"time_local":"2026-11-22T03:10:00-07:00"`), "2026-11-22T03:10:00-07:00", "", ""},
		{"normalised document, no offset", false, msg("2026-11-22T10:10:00Z", ""), "", "", ""},
		{"normalised: another instant", false, msg("2026-11-22T10:10:00Z", `,"time_local":"2026-11-22T03:10:00-06:00"`), "", "", ReasonInvalidValue},
		{"normalised: no local offset", false, msg("2026-11-22T10:10:00Z", `,"time_local":"2026-11-22T10:10:00Z"`), "", "", ReasonInvalidValue},
		{"normalised: not a time", false, msg("2026-11-22T10:10:00Z", `,"time_local":"03:10"`), "", "", ReasonInvalidValue},
		{"normalised: wrong type", false, msg("2026-11-22T10:10:00Z", `,"time_local":1`), "", "", ReasonWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decoder{Now: func() time.Time { return testNow }, DiscardContext: tt.producer}
			ev, doc, err := d.DecodeNormalised([]byte(tt.raw))
			if tt.reason != "" {
				var rej *RejectError
				if !errors.As(err, &rej) || rej.Reason != tt.reason || rej.Field != "time_local" {
					t.Fatalf("got %v, want %s on time_local", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.TimeLocal != tt.wantLocal {
				t.Errorf("time_local %q, want %q", ev.TimeLocal, tt.wantLocal)
			}
			if got := ev.Lookup("time_local").Str; got != tt.wantLocal {
				t.Errorf("Lookup(time_local) %q, want %q", got, tt.wantLocal)
			}
			if got := ev.Attributes["time_local"]; got != tt.wantAttr {
				t.Errorf("attributes.time_local %q, want %q", got, tt.wantAttr)
			}
			if ev.Time.Location() != time.UTC || !strings.HasSuffix(ev.TimeText(), "Z") {
				t.Errorf("time not UTC: %s", ev.TimeText())
			}
			// The document reads back to the same event, as the detector
			// reads tripline.events.
			back, err := (&Decoder{Now: d.Now}).Decode(doc)
			if err != nil {
				t.Fatalf("document rejected: %v\n%s", err, doc)
			}
			if back.TimeLocal != ev.TimeLocal || back.EventID != ev.EventID {
				t.Errorf("read back time_local %q id %s, want %q %s\n%s", back.TimeLocal, back.EventID, ev.TimeLocal, ev.EventID, doc)
			}
			again, _ := back.MarshalJSON()
			if string(again) != string(doc) {
				t.Errorf("document not canonical:\n%s\n%s", doc, again)
			}
		})
	}
}

// The offset is presentation, not identity: the same instant written in
// another offset derives the same ID, as before time_local existed.
func TestTimeLocalNotInDerivedID(t *testing.T) {
	d := Decoder{Now: func() time.Time { return testNow }, DiscardContext: true}
	ids := map[string]bool{}
	for _, tm := range []string{"2026-11-22T10:10:00Z", "2026-11-22T03:10:00-07:00", "2026-11-22T15:40:00+05:30"} {
		ev, doc, err := d.DecodeNormalised([]byte(`{"event_type":"script.run","time":"` + tm + `","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if DeriveID(&ev) != ev.EventID {
			t.Errorf("%s: DeriveID %s, decoder %s", tm, DeriveID(&ev), ev.EventID)
		}
		if ev.TimeLocal != "" && !strings.Contains(string(doc), `"time":"2026-11-22T10:10:00Z","time_local":"`+ev.TimeLocal+`"`) {
			t.Errorf("%s: time_local not after time: %s", tm, doc)
		}
		ids[ev.EventID] = true
	}
	if len(ids) != 1 {
		t.Errorf("one instant, %d IDs", len(ids))
	}
}
