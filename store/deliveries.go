package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tripline/tripline/record"
)

// deliveryColumnNames is the INSERT column list of alert_deliveries; the
// order matches the columns built in InsertDeliveries.
var deliveryColumnNames = []string{
	"at_ns", "message_id", "alert_id", "kind", "route", "receiver", "receiver_type",
	"attempt", "result", "status_code", "error", "delay_ms",
}

// InsertDeliveries appends notify's delivery attempts to alert_deliveries
// and returns once ClickHouse has acknowledged them. The table is an
// append-only log (MergeTree): a batch retried after a failed insert may
// log an attempt twice, which is the price of never losing one.
func (s *Store) InsertDeliveries(ctx context.Context, ds []record.AlertDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	now := time.Now()
	var (
		at, delay                                            = make([]int64, n), make([]int64, n)
		msgID, alertID, kind, route, recv, recvType, res, er = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		attempt = make([]uint32, n)
		status  = make([]int32, n)
	)
	for i := range ds {
		d := &ds[i]
		t := d.At
		if t.IsZero() {
			t = now
		}
		at[i], delay[i] = t.UnixNano(), d.DelayMs
		msgID[i], alertID[i], kind[i], route[i] = d.MessageID, d.AlertID, d.Kind, d.Route
		recv[i], recvType[i], res[i], er[i] = d.Receiver, d.ReceiverType, d.Result, d.Error
		attempt[i], status[i] = d.Attempt, d.StatusCode
	}
	cols := []any{at, msgID, alertID, kind, route, recv, recvType, attempt, res, status, er, delay}
	err := s.sendBatch(ctx, "alert_deliveries", deliveryColumnNames, func(b driver.Batch) error {
		return appendColumns(b, deliveryColumnNames, cols)
	})
	if err != nil {
		return fmt.Errorf("insert alert deliveries: %d rows: %w", n, err)
	}
	return nil
}
