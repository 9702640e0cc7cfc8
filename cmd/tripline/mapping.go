package main

import (
	"context"
	"flag"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/ingest"
)

// mappingFlag registers the repeatable --mapping flag: user-defined
// mapping files (docs/sources.md), whose formats join the built-in ones.
func mappingFlag(fs *flag.FlagSet, reloads bool) *[]string {
	var files []string
	help := "mapping file (YAML, docs/sources.md \"User-defined mappings\"): its format is read like a built-in one; repeatable"
	if reloads {
		help += "; reloaded when it changes and on SIGHUP (an invalid edit is logged with file:line and the previous mapping keeps running)"
	}
	fs.Func("mapping", help, func(v string) error {
		files = append(files, v)
		return nil
	})
	return &files
}

// watchFormats serves the formats of files, reloading them until ctx is
// done; wg owns the watching goroutine. Without files it is the built-in
// set.
func watchFormats(ctx context.Context, wg *sync.WaitGroup, files []string, log zerolog.Logger, reg prometheus.Registerer) (adapt.FormatSet, error) {
	if len(files) == 0 {
		return (*adapt.Formats)(nil), nil
	}
	w, err := adapt.NewFormatsWatcher(adapt.WatchConfig{Files: files, Log: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	wg.Go(func() { w.Watch(ctx) })
	return w, nil
}

// parseTopicFormats reads ingest's --topic-format values against formats.
func parseTopicFormats(values []string, formats adapt.FormatSet) (map[string]ingest.TopicFormat, error) {
	out := map[string]ingest.TopicFormat{}
	for _, v := range values {
		topic, tf, err := ingest.ParseTopicFormat(v, formats)
		if err != nil {
			return nil, fmt.Errorf("--topic-format: %w", err)
		}
		out[topic] = tf
	}
	return out, nil
}
