//go:build linux

package scanner

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// putFrame writes a tpacket3_hdr at off whose packet (data, from the network header) starts
// net bytes after it and whose next frame is next bytes on.
func putFrame(block []byte, off, next, net int, data []byte) {
	binary.NativeEndian.PutUint32(block[off:], uint32(next))
	binary.NativeEndian.PutUint32(block[off+12:], uint32(len(data)))
	binary.NativeEndian.PutUint16(block[off+26:], uint16(net))
	copy(block[off+net:], data)
}

// TestRingBlockWalk reads a block as the kernel lays it out, and one whose offsets point
// outside it: what is inside is read, nothing outside.
func TestRingBlockWalk(t *testing.T) {
	if unix.SizeofTpacket3Hdr != 48 {
		t.Fatalf("tpacket3_hdr is %d bytes", unix.SizeofTpacket3Hdr)
	}
	block := make([]byte, 4096)
	putFrame(block, 64, 160, 64, []byte("first"))
	putFrame(block, 224, 160, 64, []byte("second"))
	putFrame(block, 384, 0, 64, []byte("third"))
	var got []string
	walkBlock(block, 3, 64, func(p []byte) { got = append(got, string(p)) })
	if fmt.Sprint(got) != "[first second third]" {
		t.Errorf("read %q", got)
	}

	for name, c := range map[string]struct {
		n, first uint32
		frame    func([]byte)
		want     string
	}{
		"first header past the end": {1, 4090, func([]byte) {}, "[]"},
		"packet past the end":       {2, 64, func(b []byte) { putFrame(b, 64, 0, 64, nil); binary.NativeEndian.PutUint32(b[64+12:], 5000) }, "[]"},
		"next past the end":         {2, 64, func(b []byte) { putFrame(b, 64, 1<<30, 64, []byte("only")) }, "[only]"},
		"more packets than frames":  {9, 64, func(b []byte) { putFrame(b, 64, 0, 64, []byte("one")) }, "[one]"},
	} {
		b := make([]byte, 4096)
		c.frame(b)
		got = nil
		walkBlock(b, c.n, c.first, func(p []byte) { got = append(got, string(p)) })
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: read %q, want %s", name, got, c.want)
		}
	}
}
