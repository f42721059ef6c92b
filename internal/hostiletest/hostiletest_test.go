package hostiletest

import (
	"bufio"
	"io"
	"net"
	"testing"
)

func TestListenServesEachConnection(t *testing.T) {
	addr := Listen(t, AfterRequestLine(func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n") }))
	for i := range 3 {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\n")
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil || line != "HTTP/1.1 200 OK\r\n" {
			t.Errorf("connection %d: %q, %v", i, line, err)
		}
		// The server closes the connection when handle returns.
		if rest, err := io.ReadAll(r); err != nil || len(rest) != 2 {
			t.Errorf("connection %d: after the status line %q, %v; want the blank line, then EOF", i, rest, err)
		}
		c.Close()
	}
}
