package ctxsleep

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSleep: a wait that runs its course says nothing; one cut by its context says why, and
// does not wait on (an hour here).
func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("a whole wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled wait: %v, want context.Canceled", err)
	}
}
