// Package hostiletest runs the peers a scanner must survive (hostile, slow, silent TCP
// servers) on loopback, for tests and benchmarks. It holds the accept loop only; what each
// peer does to a connection is the test's to say. Only tests import it.
package hostiletest

import (
	"bufio"
	"net"
	"net/netip"
	"testing"
)

// Serve accepts connections on ln until ln is closed, and runs handle on each in a
// goroutine of its own, closing the connection when handle returns. Like http.Serve it
// blocks: run it with go.
func Serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// AfterRequestLine is handle run once the peer has sent a line (an HTTP request line is
// enough to know the scanner has sent its probe).
func AfterRequestLine(handle func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		handle(c)
	}
}

// Listen serves handle on a fresh port of 127.0.0.1 until tb ends, and returns the address.
func Listen(tb testing.TB, handle func(net.Conn)) netip.AddrPort {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go Serve(ln, handle)
	return netip.MustParseAddrPort(ln.Addr().String())
}
