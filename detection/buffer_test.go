package detection

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestBufferOrder pushes keys in orders from sorted to shuffled, with
// duplicates and pops interleaved, and checks every pop is the smallest
// key held.
func TestBufferOrder(t *testing.T) {
	base := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		disturb float64 // share of events moved out of order
	}{{"sorted", 0}, {"mostly sorted", 0.05}, {"interleaved", 0.5}, {"shuffled", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var keys []Key
			for i := range 2000 {
				k := Key{Time: base.Add(time.Duration(i/3) * time.Second), ID: strconv.Itoa(i % 7)}
				keys = append(keys, k)
				if rng.IntN(10) == 0 {
					keys = append(keys, k) // a redelivery
				}
			}
			for i := range keys {
				if rng.Float64() < tc.disturb {
					j := rng.IntN(len(keys))
					keys[i], keys[j] = keys[j], keys[i]
				}
			}
			var b buffer
			var inBuf []Key
			check := func() {
				h := b.pop()
				i := slices.IndexFunc(inBuf, func(k Key) bool { return k == h.key })
				if i < 0 {
					t.Fatalf("popped %v, which was not held", h.key)
				}
				for _, k := range inBuf {
					if k.Before(h.key) {
						t.Fatalf("popped %v while %v was held", h.key, k)
					}
				}
				inBuf = slices.Delete(inBuf, i, i+1)
			}
			for i, k := range keys {
				b.push(&held{key: k, ns: unixNanos(k.Time)})
				inBuf = append(inBuf, k)
				if i%5 == 4 {
					check()
				}
				if b.len() != len(inBuf) {
					t.Fatalf("len %d, want %d", b.len(), len(inBuf))
				}
			}
			for len(inBuf) > 0 {
				check()
			}
			if b.peek() != nil {
				t.Fatal("empty buffer peeks an event")
			}
		})
	}
}

func TestUnixNanosClamps(t *testing.T) {
	var zero time.Time
	if unixNanos(zero) >= unixNanos(time.Unix(0, 0)) {
		t.Error("the zero time orders after 1970")
	}
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if unixNanos(far) <= unixNanos(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("the year 3000 orders before 2200")
	}
}
