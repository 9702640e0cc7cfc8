package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/registry"
)

const convertUsage = `Usage: tripline convert --format FORMAT --msp MSP [--registry FILE] [FILE|-]

Converts vendor logs (one JSON value per line: a record, an array of records
or an API page) into contract v1 JSON lines on stdout, in input order.
Skips and errors go to stderr with their line numbers; the exit status is 1
if any record failed. With --registry, vendor client IDs the MSP registry
lists (vendor_ids) become the registry's tenants, as ingest maps them.
Formats: %s. See docs/sources.md.
`

// runConvert parses flags and wires adapt.Stream to stdin or a file.
func runConvert(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, convertUsage, strings.Join(adapt.Names(), ", ")); fs.PrintDefaults() }
	format := fs.String("format", "", "input format: "+strings.Join(adapt.Names(), ", "))
	msp := fs.String("msp", "", "MSP identifier written to every event")
	verbose := fs.Bool("v", false, "also report every skipped record")
	registryFile := fs.String("registry", "", "MSP relationship registry (docs/registry.md): map vendor client IDs to its tenants")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	a, ok := adapt.Get(*format)
	if !ok || strings.TrimSpace(*msp) == "" || fs.NArg() > 1 {
		if !ok && *format != "" {
			fmt.Fprintf(stderr, "unknown format %q\n", *format)
		}
		fs.Usage()
		return errUsage
	}
	var reg *registry.Registry
	if *registryFile != "" {
		var err error
		if reg, err = registry.Load(*registryFile); err != nil {
			return err
		}
	}
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
	var events, skipped, failed int
	err := adapt.Stream(a, in, *msp, func(l adapt.Line) error {
		switch {
		case l.Err != nil:
			failed++
			fmt.Fprintln(stderr, l)
		case l.Skip != "":
			skipped++
			if *verbose {
				fmt.Fprintln(stderr, l)
			}
		default:
			events++
			doc := l.JSON
			if reg.ResolveTenant(l.Event) {
				var err error
				if doc, err = adapt.Encode(l.Event); err != nil {
					return fmt.Errorf("line %d: %w", l.Line, err)
				}
			}
			out.Write(doc)
			return out.WriteByte('\n')
		}
		return nil
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "convert: %d events, %d skipped, %d failed\n", events, skipped, failed)
	if failed > 0 {
		return exitCode(1)
	}
	return nil
}
