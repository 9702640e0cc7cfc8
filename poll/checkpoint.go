package poll

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tripline/tripline/atomicfile"
)

// Checkpoint is where a source resumes: everything before it has been
// acknowledged by Kafka. One struct for all kinds; each uses its fields.
type Checkpoint struct {
	Source string `json:"source"`
	Name   string `json:"name"`
	MSP    string `json:"msp"`

	// NinjaOne. Every activity with an ID <= LastID is written. While a
	// sweep is under way (SweepBelow > 0), the activities with IDs in
	// [SweepBelow, SweepTop] are written too and (LastID, SweepBelow)
	// remains; at the sweep's end LastID becomes SweepTop.
	LastID     int64 `json:"last_id,omitempty"`
	SweepTop   int64 `json:"sweep_top,omitempty"`
	SweepBelow int64 `json:"sweep_below,omitempty"`

	// Time-cursor kinds. Since is the start of the current window (or of
	// the next, when Until is zero). While a window is paged, Until is its
	// end and Next the vendor's continuation token or next-page URL of the
	// page after the last one written.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	Next  string    `json:"next,omitempty"`

	// Written is when the checkpoint was written.
	Written time.Time `json:"written,omitzero"`
}

// checkpointFile is the path of a source's checkpoint.
func checkpointFile(dir, name string) string { return filepath.Join(dir, name+".checkpoint.json") }

// maxCheckpointBytes bounds a checkpoint file (a next-page URL is its
// largest field).
const maxCheckpointBytes = 64 << 10

// loadCheckpoint reads a source's checkpoint; ok is false when there is
// none yet. A checkpoint that cannot be read is an error, never a fresh
// start: starting over would re-send the whole retained history, and
// starting at now would lose what happened since.
func loadCheckpoint(path string) (cp Checkpoint, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("checkpoint: %w", err)
	}
	if len(b) > maxCheckpointBytes {
		return Checkpoint{}, false, fmt.Errorf("checkpoint %s: %d bytes, more than %d", path, len(b), maxCheckpointBytes)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return Checkpoint{}, false, fmt.Errorf("checkpoint %s: %w (fix or remove it; removing restarts the source from its lookback)", path, err)
	}
	return cp, true, nil
}

// saveCheckpoint replaces path with cp atomically and durably: a crash
// leaves either the old checkpoint or the new one, never a torn file, and
// once it returns the new one survives a power loss.
func saveCheckpoint(path string, cp Checkpoint) error {
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// lockCheckpoint takes an exclusive lock beside a checkpoint, so that two
// pollers of the same source (a second process started by mistake) do not
// both fetch and overwrite each other's checkpoint. The kernel drops the
// lock when the process dies, so a kill leaves nothing to clean up.
func lockCheckpoint(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("checkpoint lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("checkpoint %s is in use by another poller of the same source", path)
		}
		return nil, fmt.Errorf("checkpoint lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
