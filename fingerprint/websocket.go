package fingerprint

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// wsFrameCap bounds the one frame we read.
const wsFrameCap = 4096

// challenge is the gateway's first WebSocket frame. Every version speaks first with it; 9.x
// adds capabilities. It carries no version.
type challenge struct {
	Type    string `json:"type"`
	Event   string `json:"event"`
	Payload struct {
		Capabilities []string `json:"capabilities"`
	} `json:"payload"`
}

// firstFrame opens a WebSocket on path, reads the server's first text frame and closes. It
// sends nothing but the upgrade request and a close frame: never a method call, never a token.
func firstFrame(ctx context.Context, scheme string, addr netip.AddrPort, path, userAgent string) (challenge, error) {
	var ch challenge
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return ch, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return ch, err
	}
	if scheme == "https" {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) // we identify, we do not trust
		if err := tc.HandshakeContext(ctx); err != nil {
			return ch, err
		}
		conn = tc
	}
	var key [16]byte
	rand.Read(key[:])
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, userAgent, base64.StdEncoding.EncodeToString(key[:]))
	if _, err := io.WriteString(conn, req); err != nil {
		return ch, err
	}
	br := bufio.NewReaderSize(io.LimitReader(conn, 64<<10), 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return ch, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return ch, fmt.Errorf("websocket upgrade answered %d", resp.StatusCode)
	}
	payload, err := readTextFrame(br)
	// Close politely whatever we read: a masked close frame with no payload.
	conn.Write([]byte{0x88, 0x80, 0, 0, 0, 0})
	if err != nil {
		return ch, err
	}
	if err := json.Unmarshal(payload, &ch); err != nil {
		return ch, fmt.Errorf("first frame is not JSON: %w", err)
	}
	return ch, nil
}

// readTextFrame reads one unfragmented, unmasked server text frame of at most wsFrameCap bytes.
func readTextFrame(r io.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if h[0]&0x0f != 1 || h[0]&0x80 == 0 {
		return nil, fmt.Errorf("first frame: opcode %d, fin %v; want one text frame", h[0]&0x0f, h[0]&0x80 != 0)
	}
	if h[1]&0x80 != 0 {
		return nil, fmt.Errorf("first frame is masked: servers must not mask")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > wsFrameCap {
		return nil, fmt.Errorf("first frame of %d bytes is over the %d-byte cap", n, wsFrameCap)
	}
	buf := make([]byte, n)
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// describe says what the frame shows, for evidence.
func (c challenge) describe() string {
	s := "websocket first frame: " + textsafe.Clean(c.Type+" "+c.Event, 60)
	if len(c.Payload.Capabilities) > 0 {
		caps := make([]string, 0, len(c.Payload.Capabilities))
		for _, cp := range c.Payload.Capabilities[:min(len(c.Payload.Capabilities), 8)] {
			caps = append(caps, textsafe.Clean(cp, 40))
		}
		s += " (capabilities " + strings.Join(caps, ",") + ")"
	}
	return s
}
