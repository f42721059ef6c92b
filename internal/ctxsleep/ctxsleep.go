// Package ctxsleep waits for a duration or a context's end, whichever comes first: the one
// wait of the pacers, the rate budget and the recurring planner.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends: then it returns ctx's error at once.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
