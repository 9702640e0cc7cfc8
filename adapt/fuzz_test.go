package adapt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tripline/tripline/contract"
)

// fuzzAdapter seeds with the format's golden inputs and checks that Convert
// never panics and that every event it emits encodes and decodes with the
// contract decoder.
func fuzzAdapter(f *testing.F, name string) {
	a, _ := Get(name)
	fuzzConvert(f, a, name)
}

// fuzzConvert fuzzes a's Convert, seeded with testdata/NAME.jsonl.
func fuzzConvert(f *testing.F, a Adapter, name string) {
	input, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(input, []byte("\n")) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var dec contract.Decoder
		_ = a.Convert(raw, testMSP, func(o Out) error {
			n := 0
			if o.Event != nil {
				n++
			}
			if o.Skip != "" {
				n++
			}
			if o.Err != nil {
				n++
			}
			if n != 1 {
				t.Fatalf("result %+v has %d of Event, Skip, Err", o, n)
			}
			checkEvent(t, &dec, a.Name(), o)
			return nil
		})
	})
}

func FuzzNinjaOne(f *testing.F)      { fuzzAdapter(f, "ninjaone") }
func FuzzScreenConnect(f *testing.F) { fuzzAdapter(f, "screenconnect") }
func FuzzTeamViewer(f *testing.F)    { fuzzAdapter(f, "teamviewer") }
func FuzzEntraSignIn(f *testing.F)   { fuzzAdapter(f, "entra-signin") }
func FuzzM365Audit(f *testing.F)     { fuzzAdapter(f, "m365-audit") }
func FuzzDattoRMM(f *testing.F)      { fuzzAdapter(f, "datto-rmm") }
func FuzzOCSF(f *testing.F)          { fuzzAdapter(f, "ocsf") }

// FuzzMapping fuzzes the example mapping (docs/mappings/kaseya-vsa.yaml)
// on records, as the built-in adapters are.
func FuzzMapping(f *testing.F) {
	m, err := LoadMapping(exampleMapping)
	if err != nil {
		f.Fatal(err)
	}
	fuzzConvert(f, m, "kaseya-vsa")
}

// FuzzMappingFile fuzzes mapping files: ParseMapping never panics, every
// error it reports names the file, and a file it accepts converts the
// sample records without panicking into events that decode.
func FuzzMappingFile(f *testing.F) {
	for _, file := range []string{exampleMapping, "testdata/datto-like.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("format: a\ntime: {path: t, layouts: [epoch_ms, \"2006-01-02\"], zone: UTC}\nrules:\n  - {when: {path: k, prefix: x}, type: {path: k, values: {xa: auth.login}, match: prefix, default: auth.failure}}\n"))
	f.Add([]byte(pathMapping))
	var samples [][]byte
	for _, name := range []string{"kaseya-vsa", "datto-rmm"} {
		input, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		samples = append(samples, bytes.Split(input, []byte("\n"))...)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMapping(data, "fuzz.yaml")
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte("fuzz.yaml")) {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		var dec contract.Decoder
		for _, s := range samples {
			_ = m.Convert(s, testMSP, func(o Out) error {
				checkEvent(t, &dec, m.Name(), o)
				return nil
			})
		}
	})
}

// checkEvent holds an emitted event to the contract: it encodes, decodes,
// and encodes as MarshalJSON does; Out.JSON is Encode's.
func checkEvent(t *testing.T, dec *contract.Decoder, format string, o Out) {
	t.Helper()
	if o.Event == nil {
		return
	}
	doc, err := Encode(o.Event)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if !bytes.Equal(o.JSON, doc) {
		t.Fatalf("Out.JSON differs from Encode\n got: %s\nwant: %s", o.JSON, doc)
	}
	if _, err := dec.Decode(doc); err != nil {
		t.Fatalf("emitted event does not decode: %v\n%s", err, doc)
	}
	if want, _ := o.Event.MarshalJSON(); !bytes.Equal(doc, want) {
		t.Fatalf("Encode differs from MarshalJSON\n got: %s\nwant: %s", doc, want)
	}
	if err := derivedIDIsContracts(format, o.Event); err != nil {
		t.Fatal(err)
	}
}

// derivedIDIsContracts checks the event_id of an event whose record had no
// vendor id (no "<format>.record_id" attribute): it is derived from the
// adapter's own encoding, and must be "<format>:" and contract.DeriveID's
// (the ID ingest would derive), which ignores event_id.
func derivedIDIsContracts(format string, ev *contract.Event) error {
	if ev.Attributes[recordIDKey(format)] != "" {
		return nil
	}
	if want := format + ":" + contract.DeriveID(ev); ev.EventID != want {
		return fmt.Errorf("derived event_id %s, want %s (contract.DeriveID)", ev.EventID, want)
	}
	return nil
}
