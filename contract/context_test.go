package contract

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tripline/tripline/fields"
)

const withContext = `{"event_id":"e1","event_type":"session.start","time":"2026-11-20T10:00:00Z","msp":"m","tenant":"t","tool":"x","actor":{"user":"u"},` +
	`"context":{"tool_approved":false,"local_hour":0,"weekday":"fri","asset_tags":["election"],"from_a_newer_ingest":1}}`

// The decoder reads context back (normalised events), unless told to
// discard it (ingest, where producers must not set it).
func TestDecodeContext(t *testing.T) {
	ev, err := (&Decoder{}).Decode([]byte(withContext))
	if err != nil {
		t.Fatal(err)
	}
	if v := ev.Lookup("context.tool_approved"); v.Kind != fields.Bool || v.Bool {
		t.Errorf("context.tool_approved = %+v", v)
	}
	if v := ev.Lookup("context.local_hour"); v.Kind != fields.Number || v.Num != 0 {
		t.Errorf("context.local_hour = %+v, want 0 (present)", v)
	}
	if v := ev.Lookup("context.actor_known"); v.Kind != fields.Absent {
		t.Errorf("context.actor_known = %+v, want absent", v)
	}
	if len(ev.Attributes) != 0 {
		t.Errorf("context leaked into attributes: %v", ev.Attributes)
	}

	ev, err = (&Decoder{DiscardContext: true}).Decode([]byte(withContext))
	if err != nil || ev.Context != nil || len(ev.Attributes) != 0 {
		t.Fatalf("DiscardContext: context %+v, attributes %v, err %v", ev.Context, ev.Attributes, err)
	}
	// Discarded whatever its shape; read back, a malformed one is rejected.
	bad := strings.Replace(withContext, `"context":{`, `"context":"yes","x":{`, 1)
	if _, err := (&Decoder{DiscardContext: true}).Decode([]byte(bad)); err != nil {
		t.Errorf("discarded context of the wrong type rejected the event: %v", err)
	}
	if _, err := (&Decoder{}).Decode([]byte(bad)); err == nil || err.(*RejectError).Reason != ReasonWrongType {
		t.Errorf("context of the wrong type: err %v, want wrong_type", err)
	}
}

// AppendJSON and WithContext produce exactly encoding/json's bytes.
func TestContextJSON(t *testing.T) {
	yes, no, h := true, false, int64(23)
	for _, c := range []*Context{
		{},
		{MSPKnown: &no},
		{MSPKnown: &yes, TenantContracted: &yes, ToolApproved: &no, ActorKnown: &yes, ActorUsualCountry: &no, ActorOnShift: &yes,
			InMaintenanceWindow: &no, InWorkingHours: &yes, LocalHour: &h, Weekday: "sun", AssetTags: []string{"critical", "<b>&\"x\"", "ünï"}, UpdateSourceListed: &no},
		{MSPKnown: &yes, UpdateSourceListed: &yes},
	} {
		want, _ := json.Marshal(c)
		if got := c.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON %s, want %s", got, want)
		}
		ev, err := (&Decoder{}).Decode([]byte(`{"event_id":"e","event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`))
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := ev.MarshalJSON()
		ev.Context = c
		full, _ := ev.MarshalJSON()
		if got := WithContext(doc, c); string(got) != string(full) {
			t.Errorf("WithContext\n %s\nwant\n %s", got, full)
		}
	}
}
