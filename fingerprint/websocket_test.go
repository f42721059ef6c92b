package fingerprint

import (
	"bytes"
	"strings"
	"testing"
)

// TestWebSocketFrameIsBounded: a first frame is read only when it is one unmasked text frame
// of at most wsFrameCap bytes; a frame announcing 2^62 bytes, a masked, fragmented or binary
// frame, or a short one is an error, and nothing is allocated for what was only announced.
func TestWebSocketFrameIsBounded(t *testing.T) {
	ok := append([]byte{0x81, 5}, "hello"...)
	if got, err := readTextFrame(bytes.NewReader(ok)); err != nil || string(got) != "hello" {
		t.Fatalf("a good frame: %q, %v", got, err)
	}
	for name, frame := range map[string][]byte{
		"huge":       {0x81, 127, 0x40, 0, 0, 0, 0, 0, 0, 0},
		"over cap":   {0x81, 126, 0x10, 0x01},
		"masked":     {0x81, 0x85, 1, 2, 3, 4},
		"fragmented": {0x01, 5},
		"binary":     {0x82, 5},
		"short":      append([]byte{0x81, 10}, "abc"...),
	} {
		if _, err := readTextFrame(bytes.NewReader(frame)); err == nil {
			t.Errorf("%s frame accepted", name)
		}
	}
	if _, err := readTextFrame(strings.NewReader("")); err == nil {
		t.Error("an empty stream gave a frame")
	}
}
