package triage

import (
	"errors"
	"testing"

	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store"
)

func TestBulk(t *testing.T) {
	st, ctx := open(t, "t_triage_bulk")
	var as []record.Alert
	for _, id := range []string{"b-1", "b-2", "b-3"} {
		a := testAlert()
		a.AlertID = id
		as = append(as, a)
	}
	other := testAlert()
	other.AlertID, other.MSP = "x-1", "msp-b"
	if err := st.InsertAlerts(ctx, append(as, other)); err != nil {
		t.Fatal(err)
	}
	svc := New(st)
	scope := store.OnlyMSP("msp-a")
	if _, err := svc.Bulk(ctx, scope, []string{"b-1"}, store.ActionNote, "ana", "", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("bulk note: %v", err)
	}
	if _, err := svc.Bulk(ctx, scope, []string{"b-1"}, store.ActionClose, "ana", "whatever", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("bulk close without a valid reason: %v", err)
	}
	if _, err := svc.Bulk(ctx, scope, nil, store.ActionAck, "ana", "", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("bulk of nothing: %v", err)
	}
	if _, err := svc.Ack(ctx, scope, "b-3", "ana", ""); err != nil {
		t.Fatal(err)
	}
	outs, err := svc.Bulk(ctx, scope, []string{"b-1", "b-2", "b-1", "b-3", "x-1"}, store.ActionAck, "ana", "", "bulk")
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 4 {
		t.Fatalf("outcomes %d, want 4 (b-1 once)", len(outs))
	}
	for _, o := range outs {
		switch o.AlertID {
		case "b-1", "b-2":
			if o.Err != nil || o.Result.Alert.Status != store.StatusAcknowledged || o.Result.Action.Actor != "ana" {
				t.Errorf("%s: %+v", o.AlertID, o)
			}
		case "b-3":
			if !errors.Is(o.Err, ErrConflict) {
				t.Errorf("b-3 (already acknowledged): %v", o.Err)
			}
		case "x-1":
			if !errors.Is(o.Err, store.ErrNotFound) {
				t.Errorf("x-1 (another MSP): %v", o.Err)
			}
		}
	}
	outs, err = svc.Bulk(ctx, scope, []string{"b-1", "b-2", "b-3"}, store.ActionClose, "ana", ReasonBenignAuthorized, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Err != nil || o.Result.Alert.Status != store.StatusClosed {
			t.Errorf("close %s: %v", o.AlertID, o.Err)
		}
	}
	acts, err := st.AlertActions(ctx, scope, "b-1")
	if err != nil || len(acts) != 2 {
		t.Errorf("b-1 actions: %d %v", len(acts), err)
	}
}
