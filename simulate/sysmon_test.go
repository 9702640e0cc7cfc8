package simulate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"
)

// The input of the `rules eval` whole-process measurement (README,
// Performance) is written on demand:
//
//	go test ./simulate/ -run TestWriteSysmon -sysmon-out /tmp/sysmon.jsonl -sysmon-events 100000
var (
	sysmonOut    = flag.String("sysmon-out", "", "write Sysmon process_creation events as JSON lines to this file")
	sysmonEventN = flag.Int("sysmon-events", 100000, "with -sysmon-out: how many events to write")
)

var sysmonStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func TestWriteSysmon(t *testing.T) {
	if *sysmonOut != "" {
		f, err := os.Create(*sysmonOut)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteSysmon(f, *sysmonEventN, sysmonStart); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	var buf bytes.Buffer
	if err := WriteSysmon(&buf, 25, sysmonStart); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if doc["EventID"] != 1.0 || doc["Image"] == "" || doc["UtcTime"] == "" {
			t.Fatalf("line %d: %v", n+1, doc)
		}
		n++
	}
	if n != 25 {
		t.Fatalf("%d lines, want 25", n)
	}
}
