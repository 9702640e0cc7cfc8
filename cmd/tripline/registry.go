package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tripline/tripline/registry"
)

const registryUsage = `Usage:
  tripline registry lint FILE...
`

func runRegistry(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "lint" {
		fmt.Fprint(stderr, registryUsage)
		return errUsage
	}
	files := args[1:]
	if len(files) == 0 {
		fmt.Fprint(stderr, registryUsage)
		return errUsage
	}
	failed := 0
	for _, f := range files {
		r, err := registry.Load(f)
		if err != nil {
			failed++
			var es registry.Errors
			if errors.As(err, &es) {
				for _, e := range es {
					fmt.Fprintf(stdout, "%s\n", e)
				}
			} else {
				fmt.Fprintln(stdout, err)
			}
			continue
		}
		fmt.Fprintf(stderr, "%s: ok (%d MSPs, %d tenants)\n", f, r.MSPs(), r.Tenants())
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d of %d registry files invalid\n", failed, len(files))
		return exitCode(1)
	}
	return nil
}
