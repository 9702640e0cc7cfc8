package rules

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadLines(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		limit    int
		want     []string // "n:raw" or "n:!error"
	}{
		{name: "lines", in: "a\nbb\n", limit: 10, want: []string{"1:a", "2:bb"}},
		{name: "no final newline", in: "a\nbb", limit: 10, want: []string{"1:a", "2:bb"}},
		{name: "crlf", in: "a\r\nbb\r\n", limit: 10, want: []string{"1:a", "2:bb"}},
		{name: "empty lines are passed on", in: "\n\na\n", limit: 10, want: []string{"1:", "2:", "3:a"}},
		{name: "empty input", in: "", limit: 10},
		{name: "exactly the limit", in: "0123456789\n0123456789\r\n0123456789", limit: 10,
			want: []string{"1:0123456789", "2:0123456789", "3:0123456789"}},
		{name: "one byte over", in: "a\n0123456789X\nb\n", limit: 10,
			want: []string{"1:a", "2:!line of 11 bytes exceeds the 10-byte limit", "3:b"}},
		{name: "over at the end", in: "a\n0123456789X\r\n", limit: 10,
			want: []string{"1:a", "2:!line of 11 bytes exceeds the 10-byte limit"}},
		{name: "long line past the read buffer", in: "a\n" + strings.Repeat("x", 200<<10) + "\nb\n", limit: 64 << 10,
			want: []string{"1:a", "2:!line of 204800 bytes exceeds the 64 KiB limit", "3:b"}},
		{name: "long final line", in: "a\n" + strings.Repeat("x", 3<<20), limit: 1 << 20,
			want: []string{"1:a", "2:!line of 3145728 bytes exceeds the 1 MiB limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			// OneByteReader: lines arrive in pieces, as from a pipe.
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got = got[:0]
				err := ReadLines(r, tc.limit, func(line int, raw []byte, err error) error {
					if err != nil {
						var long *LineTooLongError
						if !errors.As(err, &long) || raw != nil {
							t.Errorf("line %d: error %T %v with %d bytes", line, err, err, len(raw))
						}
						got = append(got, fmt.Sprintf("%d:!%v", line, err))
						return nil
					}
					got = append(got, fmt.Sprintf("%d:%s", line, raw))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestReadLinesStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ReadLines(strings.NewReader("a\nb\nc\n"), 10, func(line int, _ []byte, _ error) error {
		n = line
		if line == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("err %v after line %d, want the callback's error after line 2", err, n)
	}
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom))
	err = ReadLines(r, 10, func(int, []byte, error) error { return nil })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "line 2: boom") {
		t.Fatalf("err %v, want the read error at line 2", err)
	}
}

// TestReadLinesLongLineMemory: a 64 MiB line is counted, not buffered.
func TestReadLinesLongLineMemory(t *testing.T) {
	in := io.MultiReader(strings.NewReader("{}\n"), io.LimitReader(zeros{}, 64<<20), strings.NewReader("\n{}\n"))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var lines []string
	err := ReadLines(in, 1<<20, func(line int, raw []byte, err error) error {
		lines = append(lines, fmt.Sprintf("%d|%s|%v", line, raw, err))
		return nil
	})
	runtime.ReadMemStats(&after)
	if err != nil || len(lines) != 3 || lines[1] != "2||line of 67108864 bytes exceeds the 1 MiB limit" || lines[2] != "3|{}|<nil>" {
		t.Fatalf("lines %q, err %v", lines, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("reading a 64 MiB line allocated %d MiB", alloc>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}
