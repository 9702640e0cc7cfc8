package contract

import (
	stdjson "encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// TestMarshalJSONIsEncodingJSON: MarshalJSON writes exactly the bytes
// encoding/json writes for the Event's fields (derived IDs hash them), for
// random events with every field set or not, strings that need escaping
// (HTML characters, controls, invalid UTF-8, U+2028), empty but non-nil
// lists and maps, and times RFC 3339 cannot write.
func TestMarshalJSONIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	pieces := []string{"", "a", "msp-a", " x ", "<b>&</b>", `q"uote\`, "\n\t\r\b\f\x01\x1f", "é", "\u2028\u2029", "\xff", "日本", "\x7f", "z"}
	str := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		s := ""
		for range 1 + rng.IntN(3) {
			s += pieces[rng.IntN(len(pieces))]
		}
		return s
	}
	intp := func() *int64 {
		if rng.IntN(2) == 0 {
			return nil
		}
		v := rng.Int64N(1<<40) - 1<<39
		return &v
	}
	boolp := func() *bool {
		if rng.IntN(2) == 0 {
			return nil
		}
		v := rng.IntN(2) == 0
		return &v
	}
	strs := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+rng.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	times := []time.Time{{}, time.Date(2026, 11, 20, 9, 0, 0, 500000000, time.UTC), time.Date(2026, 11, 20, 9, 0, 0, 0, time.FixedZone("", 3600)),
		time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 1).UTC()}
	for i := range 20000 {
		e := Event{
			EventID: str(), EventType: str(), Time: times[rng.IntN(len(times))], TimeLocal: str(), MSP: str(), Tenant: str(), Tool: str(),
			Actor:      Actor{User: str(), IP: str(), Country: str(), ASN: intp(), MFA: boolp(), Role: str()},
			Target:     Target{Host: str(), HostCount: intp(), OS: str(), Tags: strs()},
			Session:    Session{ID: str(), DurationS: intp(), AuthMethod: str()},
			Credential: Credential{Name: str(), Privileged: boolp()},
			Package:    Package{Name: str(), Version: str(), SHA256: str(), Signer: str(), Signed: boolp()},
			Script:     Script{Name: str(), SHA256: str(), Interpreter: str(), Command: str()},
			Source:     Source{URL: str()}, Outcome: str(), Reason: str(), Change: Change{Ticket: str()},
		}
		if rng.IntN(4) == 0 {
			// Most events have few fields: empty groups are omitted.
			e.Actor, e.Target, e.Session, e.Credential, e.Package, e.Script, e.Source, e.Change = Actor{}, Target{}, Session{}, Credential{}, Package{}, Script{}, Source{}, Change{}
		}
		switch rng.IntN(3) {
		case 1:
			e.Attributes = map[string]string{}
		case 2:
			e.Attributes = map[string]string{str(): str(), str(): str(), "b": str(), "a<": str()}
		}
		if rng.IntN(3) == 0 {
			e.Context = &Context{MSPKnown: boolp(), LocalHour: intp(), Weekday: str(), AssetTags: strs(), UpdateSourceListed: boolp()}
		}
		type plain Event
		want, wantErr := stdjson.Marshal(plain(e))
		got, err := e.MarshalJSON()
		if string(got) != string(want) || (err == nil) != (wantErr == nil) {
			t.Fatalf("event %d: MarshalJSON\n %s (%v)\nencoding/json\n %s (%v)", i, got, err, want, wantErr)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	ev := normalisedPush(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
