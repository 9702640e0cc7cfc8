package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/registry"
)

const convertUsage = `Usage: tripline convert --format FORMAT --msp MSP [--mapping FILE] [--registry FILE] [FILE|-]

Converts vendor logs (one JSON value per line: a record, an array of records
or an API page) into contract v1 JSON lines on stdout, in input order.
Skips and errors go to stderr with their line numbers; the exit status is 1
if any record failed. With --registry, vendor client IDs the MSP registry
lists (vendor_ids) become the registry's tenants, as ingest maps them.
With --mapping, a user-defined mapping file's format is one more format.
Formats: %s. See docs/sources.md.
`

// runConvert parses flags and wires convertStream to stdin or a file.
func runConvert(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, convertUsage, strings.Join(adapt.Names(), ", ")); fs.PrintDefaults() }
	format := fs.String("format", "", "input format: "+strings.Join(adapt.Names(), ", ")+", or a --mapping file's")
	msp := fs.String("msp", "", "MSP identifier written to every event")
	verbose := fs.Bool("v", false, "also report every skipped record")
	registryFile := fs.String("registry", "", "MSP relationship registry (docs/registry.md): map vendor client IDs to its tenants")
	mappings := mappingFlag(fs, false)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	c, err := newConverter(*format, *msp, *mappings, *registryFile, stderr)
	if err != nil || fs.NArg() > 1 {
		if err == errUsage || fs.NArg() > 1 {
			fs.Usage()
			return errUsage
		}
		return err
	}
	c.verbose = *verbose
	in := io.Reader(os.Stdin)
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	err = c.stream(in, func(_ int, doc []byte) error {
		out.Write(doc)
		return out.WriteByte('\n')
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "convert: %d events, %d skipped, %d failed\n", c.events, c.skipped, c.failed)
	if c.failed > 0 {
		return exitCode(1)
	}
	return nil
}

// converter is the conversion of tripline convert and of rules eval
// --format: one implementation, so what eval evaluates is what convert
// prints (and what ingest stores).
type converter struct {
	a   adapt.Adapter
	msp string
	reg *registry.Registry
	// prefix starts every stderr line ("" or "FILE:").
	prefix  string
	stderr  io.Writer
	verbose bool

	events, skipped, failed int
}

// newConverter checks --format, --msp, --mapping and --registry; errUsage
// for a missing or unknown format or msp (said on stderr).
func newConverter(format, msp string, mappings []string, registryFile string, stderr io.Writer) (*converter, error) {
	formats, err := adapt.LoadFormats(mappings...)
	if err != nil {
		return nil, err
	}
	a, ok := formats.Get(format)
	if !ok || strings.TrimSpace(msp) == "" {
		if !ok && format != "" {
			fmt.Fprintf(stderr, "unknown format %q (known: %s)\n", format, formats)
		}
		if strings.TrimSpace(msp) == "" {
			fmt.Fprintln(stderr, "--msp is required with --format")
		}
		return nil, errUsage
	}
	c := &converter{a: a, msp: msp, stderr: stderr}
	if registryFile != "" {
		if c.reg, err = registry.Load(registryFile); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// stream converts in and calls fn with each event's contract v1 JSON and
// the input line it came from; skips (with verbose) and errors go to
// stderr with their line numbers.
func (c *converter) stream(in io.Reader, fn func(line int, doc []byte) error) error {
	return adapt.Stream(c.a, in, c.msp, func(l adapt.Line) error {
		switch {
		case l.Err != nil:
			c.failed++
			fmt.Fprintln(c.stderr, c.prefix+l.String())
		case l.Skip != "":
			c.skipped++
			if c.verbose {
				fmt.Fprintln(c.stderr, c.prefix+l.String())
			}
		default:
			c.events++
			doc := l.JSON
			if c.reg.Resolve(l.Event) {
				var err error
				if doc, err = adapt.Encode(l.Event); err != nil {
					return fmt.Errorf("line %d: %w", l.Line, err)
				}
			}
			return fn(l.Line, doc)
		}
		return nil
	})
}

// pipe converts in on a goroutine into contract v1 JSON lines, for a
// reader of JSON lines (rules eval). lineOf maps a line of the output to
// the input line it came from. wait closes the pipe and waits for the
// goroutine; call it once reading is done, whatever the outcome.
func (c *converter) pipe(in io.Reader) (out io.Reader, lineOf func(int) int, wait func() error) {
	pr, pw := io.Pipe()
	var mu sync.Mutex
	var lines []int
	lineOf = func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		if n >= 1 && n <= len(lines) {
			return lines[n-1]
		}
		return n
	}
	var wg sync.WaitGroup
	var err error
	wg.Go(func() {
		err = c.stream(in, func(line int, doc []byte) error {
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
			if _, err := pw.Write(doc); err != nil {
				return err
			}
			_, err := pw.Write([]byte{'\n'})
			return err
		})
		pw.CloseWithError(err)
	})
	wait = func() error {
		// A reader that stopped early unblocks the writer.
		pr.CloseWithError(io.ErrClosedPipe)
		wg.Wait()
		if err == io.ErrClosedPipe {
			return nil
		}
		return err
	}
	return pr, lineOf, wait
}

// lockedWriter serialises writes from the converting goroutine and its
// reader (both report on stderr).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
