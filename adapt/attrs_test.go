package adapt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
)

// TestAttrsEncodeAsMap holds the encoding from an event's tracked writes
// to the encoding from its map (and to encoding/json's): key order,
// overwritten keys, more attributes than the sort's stack buffer, and
// writes that went around the list.
func TestAttrsEncodeAsMap(t *testing.T) {
	many := func(n int, prefix string) func(a *attrs) {
		return func(a *attrs) {
			for i := range n {
				// Out of order, and every third written twice.
				k := fmt.Sprintf("%s%03d", prefix, (i*7)%n)
				a.put(k, "first")
				if i%3 == 0 {
					a.put(k, fmt.Sprintf("v%d", i))
				}
			}
		}
	}
	for _, tc := range []struct {
		name   string
		writes func(a *attrs)
		// tracked: the encoder may use the list (false: it must find the
		// map walk necessary).
		tracked bool
	}{
		{"none", func(a *attrs) {}, true},
		{"one", func(a *attrs) { a.put("k", "v") }, true},
		{"order", func(a *attrs) {
			for _, k := range []string{"b", "a", "ab", "a.b", "A", "aaaaaaaaa", "aaaaaaaab", "aaaaaaaa", "é", "Z"} {
				a.put(k, "v-"+k)
			}
		}, true},
		{"overwritten", func(a *attrs) {
			a.put("account", "first")
			a.put("change", "role")
			a.put("account", "second")
			a.set("account", "")
			a.set("change", "policy")
		}, true},
		{"escapes", func(a *attrs) { a.put("a<b", "x\"y\\z\u2028&"); a.put("\t", "\x01") }, true},
		{"32 keys", many(32, "k"), true},
		{"33 keys", many(33, "k"), true},
		{"100 keys", many(100, "key.with.a.long.prefix."), true},
		{"written around the list", func(a *attrs) {
			a.put("a", "1")
			a.m["b"] = "2"
		}, false},
		{"written around the list, 40 keys", func(a *attrs) {
			many(40, "k")(a)
			a.m["zz"] = "2"
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ar := &arena{}
			ev := ar.event()
			ev.EventID, ev.EventType, ev.MSP, ev.Tool = "x:1", contract.TypeAuthLogin, "msp", "tool"
			ev.Time = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
			at := ar.attrsOf(ev)
			tc.writes(at)
			var order [32]uint8
			if ok := at.sorted(&order); ok != tc.tracked {
				t.Fatalf("sorted: ok = %v, want %v", ok, tc.tracked)
			}
			var long string
			got := appendEvent(nil, ev, at, &long)
			want := appendEvent(nil, ev, nil, nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("from the list:\n%s\nfrom the map:\n%s", got, want)
			}
			if m, _ := ev.MarshalJSON(); !bytes.Equal(got, m) {
				t.Fatalf("from the list:\n%s\nencoding/json:\n%s", got, m)
			}
			// Encoding twice (a derived ID encodes, then splices) gives
			// the same.
			if again := appendEvent(nil, ev, at, nil); !bytes.Equal(again, got) {
				t.Fatalf("second encoding differs:\n%s\n%s", again, got)
			}
		})
	}
}

// TestAttrsLongKey: a key longer than the contract allows is reported
// from the list as from the map.
func TestAttrsLongKey(t *testing.T) {
	ar := &arena{}
	ev := ar.event()
	ev.Time = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	at := ar.attrsOf(ev)
	key := string(bytes.Repeat([]byte("k"), contract.MaxIdentifierBytes+1))
	at.put("short", "v")
	at.put(key, "v")
	var fromList, fromMap string
	appendEvent(nil, ev, at, &fromList)
	appendEvent(nil, ev, nil, &fromMap)
	if fromList != key || fromMap != key {
		t.Fatalf("long key: from the list %q, from the map %q", short(fromList), short(fromMap))
	}
}

// TestCloneKeepsAttrs: a second event from the same record (clone) has
// the first's attributes, tracked, and its own writes stay its own.
func TestCloneKeepsAttrs(t *testing.T) {
	ar := &arena{}
	r := ar.rec(nil, "")
	ev := r.newEvent("x:1", contract.TypeAuthLogin, "msp", "tool")
	ev.Time = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	r.attrsOf(ev).put("a", "1")
	c := r.clone(ev)
	r.attrsOf(c).put("b", "2")
	r.attrsOf(ev).put("a", "3")
	for _, e := range []*contract.Event{ev, c} {
		at := r.attrsOf(e)
		var order [32]uint8
		if !at.sorted(&order) {
			t.Fatalf("%v: not tracked", e.Attributes)
		}
		if got, want := appendEvent(nil, e, at, nil), appendEvent(nil, e, nil, nil); !bytes.Equal(got, want) {
			t.Fatalf("from the list:\n%s\nfrom the map:\n%s", got, want)
		}
	}
	if len(c.Attributes) != 2 || c.Attributes["a"] != "1" || len(ev.Attributes) != 1 || ev.Attributes["a"] != "3" {
		t.Fatalf("event %v, clone %v", ev.Attributes, c.Attributes)
	}
}

// TestAdaptersTrackAttrs: every event the adapters emit from their golden
// inputs is encoded from its tracked writes, not by walking its map (a
// write straight to the map would still encode right, slower: this is
// what notices).
func TestAdaptersTrackAttrs(t *testing.T) {
	kaseya, err := LoadMapping(exampleMapping)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		keys []string
		conv converter
	}{
		{"datto-rmm", dattoPageKeys, dattoRMM{}.record},
		{"entra-signin", entraPageKeys, entraSignIn{}.record},
		{"m365-audit", m365PageKeys, m365Audit{}.record},
		{"ninjaone", ninjaPageKeys, ninjaOne{}.record},
		{"ocsf", ocsfPageKeys, ocsf{}.record},
		{"screenconnect", screenConnectPageKeys, screenConnect{}.record},
		{"teamviewer", teamViewerPageKeys, teamViewer{}.record},
		{"kaseya-vsa", kaseya.listKeys, kaseya.record},
	}
	// A format added later must be added here too.
	if len(cases) != len(Names())+1 {
		t.Fatalf("%d cases for the %d built-in formats and the mapping", len(cases), len(Names()))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join("testdata", c.name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			var ar *arena
			conv := func(r *rec, msp string) ([]*contract.Event, string, error) {
				ar = r.arena
				return c.conv(r, msp)
			}
			events := 0
			for _, l := range bytes.Split(input, []byte("\n")) {
				if len(bytes.TrimSpace(l)) == 0 {
					continue
				}
				_ = run(c.name, l, testMSP, c.keys, conv, func(o Out) error {
					if o.Event == nil {
						return nil
					}
					events++
					var order [32]uint8
					if !ar.attrsOf(o.Event).sorted(&order) {
						t.Errorf("%s: %s encoded from its map", c.name, o.Event.EventID)
					}
					return nil
				})
			}
			if events == 0 {
				t.Fatal("no events")
			}
		})
	}
}
