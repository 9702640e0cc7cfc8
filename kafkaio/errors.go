package kafkaio

import (
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// SummariseWriteError shortens kafka-go's per-message kafka.WriteErrors
// (one entry per message of a batch, often the same error thousands of
// times) to a count and the first distinct causes, so logs stay readable.
func SummariseWriteError(err error) error {
	var we kafka.WriteErrors
	if !errors.As(err, &we) {
		return err
	}
	seen := map[string]int{}
	var order []string
	for _, e := range we {
		if e == nil {
			continue
		}
		msg := e.Error()
		if seen[msg] == 0 {
			order = append(order, msg)
		}
		seen[msg]++
	}
	if len(order) == 0 {
		return nil
	}
	if len(order) > 3 {
		order = order[:3]
	}
	out := fmt.Sprintf("%d of %d messages failed", we.Count(), len(we))
	for _, msg := range order {
		out += fmt.Sprintf("; %dx %s", seen[msg], msg)
	}
	return errors.New(out)
}
