package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

// testbedConfig is the benchmark testbed's host population (deploy/testbed/testbed.sh): n
// seeded addresses of block listen on port; the first gateways of them replay real-gateway
// fixtures (every fifth also has another open port, 8080, that accepts and stays silent), the
// next hostile misbehave (tarpit, drip, garbage, endless headers), then the Internet's
// commonest kinds of "open" port: silent (accept, never answer), slow (a page after
// 100-500 ms, the delay made here: the kernel has no netem), reset (RST after the handshake)
// and every-port (silent, and testbed.sh sends all their other ports here); the rest serve a
// recorded nginx page. Every other address of the block answers RST: the namespace holds the
// whole block on lo (an AnyIP route).
type testbedConfig struct {
	block                          netip.Prefix
	n, gateways, host              int
	silent, slow, reset, everyPort int
	seed                           uint64
	port                           int
	truth                          string
}

func runTestbed(ctx context.Context, cfg testbedConfig, gatewayDir, negativeDir string) error {
	if !netip.MustParsePrefix("198.18.0.0/15").Contains(cfg.block.Addr()) || cfg.block.Bits() < 15 {
		return fmt.Errorf("-block %s: the testbed lives in 198.18.0.0/15 only", cfg.block)
	}
	size := 1 << (32 - cfg.block.Bits())
	assigned := cfg.gateways + cfg.host + cfg.silent + cfg.slow + cfg.reset + cfg.everyPort
	if cfg.n <= 0 || cfg.n > size-2 || assigned > cfg.n || min(cfg.gateways, cfg.host, cfg.silent, cfg.slow, cfg.reset, cfg.everyPort) < 0 {
		return fmt.Errorf("-hosts %d: the roles (%d) out of range for %s", cfg.n, assigned, cfg.block)
	}
	gws, nginx, err := testbedFixtures(gatewayDir, negativeDir)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))
	base := cfg.block.Masked().Addr().As4()
	first := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	picked := map[uint32]bool{}
	var addrs []netip.Addr
	for len(addrs) < cfg.n {
		off := uint32(1 + rng.IntN(size-2))
		if picked[off] {
			continue
		}
		picked[off] = true
		v := first + off
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	truth, err := os.Create(cfg.truth)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(truth)
	// Each connection is handed to the role of the host:port it reached.
	roles := map[netip.AddrPort]func(net.Conn){}
	httpRole := func(h http.Handler) func(net.Conn) {
		ln := newChanListener()
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		return ln.hand
	}
	nginxRole := httpRole(nginx)
	gatewayRoles := map[string]func(net.Conn){}
	for _, f := range gws {
		gatewayRoles[f.Name] = httpRole(f)
	}
	for i, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(cfg.port))
		role := "nginx"
		roles[ap] = nginxRole
		at := i - cfg.gateways - cfg.host // the index among the Internet's kinds
		switch {
		case i < cfg.gateways:
			f := gws[i%len(gws)]
			role = "gateway:" + f.Name
			roles[ap] = gatewayRoles[f.Name]
			if i%5 == 0 { // a gateway host running another service too
				extra := netip.AddrPortFrom(a, extraPort)
				roles[extra] = held(silentServe)
				fmt.Fprintf(w, "%s\textra\n", extra)
			}
		case i < cfg.gateways+cfg.host:
			kind := hostileKinds[(i-cfg.gateways)%len(hostileKinds)]
			role = "hostile:" + kind.name
			roles[ap] = held(kind.serve)
		case at < cfg.silent:
			role = "silent"
			roles[ap] = held(silentServe)
		case at < cfg.silent+cfg.slow:
			delay := time.Duration(100+rng.IntN(401)) * time.Millisecond
			role = fmt.Sprintf("slow:%dms", delay.Milliseconds())
			roles[ap] = httpRole(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(delay)
				nginx.ServeHTTP(w, r)
			}))
		case at < cfg.silent+cfg.slow+cfg.reset:
			role = "reset"
			roles[ap] = resetConn
		case at < cfg.silent+cfg.slow+cfg.reset+cfg.everyPort:
			role = "everyport"
			roles[ap] = held(silentServe)
		}
		fmt.Fprintf(w, "%s\t%s\n", ap, role)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	truth.Close()
	// A listener per open host:port while the descriptors allow: the kernel answers every
	// other address RST, as the Internet's closed ports do, at the cost of a closed port. Past
	// that, one wildcard listener per port, and testbed.sh's nftables rule answers RST for the
	// addresses that are not open (a dearer path: the growth table says which rows used it).
	var listen []string
	mode := "per-address"
	if len(roles) <= perAddressLimit {
		for ap := range roles {
			listen = append(listen, ap.String())
		}
	} else {
		mode = "wildcard"
		listen = []string{fmt.Sprintf("0.0.0.0:%d", cfg.port), fmt.Sprintf("0.0.0.0:%d", extraPort)}
	}
	for _, addr := range listen {
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w (is the block routed to lo in this namespace?)", addr, err)
		}
		defer ln.Close()
		go dispatch(ln, roles)
	}
	fmt.Printf("testbed ready: %d hosts (%d gateways, %d hostile) of %s on port %d, listening %s; truth in %s\n",
		cfg.n, cfg.gateways, cfg.host, cfg.block, cfg.port, mode, cfg.truth)
	<-ctx.Done()
	return nil
}

// extraPort is the other open port of every fifth gateway host.
const extraPort = 8080

// perAddressLimit is the most open host:ports given a listener each (the descriptor limit here
// is 20,000, and held connections need theirs).
const perAddressLimit = 12000

// dispatch hands every connection to the role of the address and port it reached; one that
// reached no open host:port (testbed.sh's nftables rule answers those with RST) is reset.
func dispatch(ln net.Listener, roles map[netip.AddrPort]func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		local := c.LocalAddr().(*net.TCPAddr).AddrPort()
		role, ok := roles[netip.AddrPortFrom(local.Addr().Unmap(), local.Port())]
		if !ok {
			role = resetConn
		}
		role(c)
	}
}

// chanListener is a net.Listener fed by dispatch: an http.Server serves what it is handed.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn, 1024), done: make(chan struct{})}
}

func (l *chanListener) hand(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// held serves each connection on its own goroutine after reading the request line, and
// closes it after 30 s at most.
func held(serve func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			bufio.NewReader(c).ReadString('\n')
			serve(c)
		}()
	}
}

// resetConn resets a connection right after the handshake (SO_LINGER 0).
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// silentServe holds a connection without a byte in answer, as most "open" ports on the
// Internet do (held closes it after 30 s).
func silentServe(c net.Conn) { c.Read(make([]byte, 1)) }

// hostileKinds are the testbed's misbehaving servers (the scanner's own tests have more).
var hostileKinds = []struct {
	name  string
	serve func(net.Conn)
}{
	{"tarpit", func(c net.Conn) { time.Sleep(20 * time.Second) }},
	{"drip", func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"))
		for range 20 {
			time.Sleep(time.Second)
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}},
	{"garbage", func(c net.Conn) { c.Write(slices.Repeat([]byte{0xff, 0, 0x1b, '['}, 4096)) }},
	{"header-bomb", func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nX-Bomb: "))
		chunk := slices.Repeat([]byte("A"), 64<<10)
		for range 144 { // 9 MiB
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}},
}

// testbedFixtures are the real-gateway replays and the plain page (nginx-default) a testbed
// serves.
func testbedFixtures(gatewayDir, negativeDir string) (gws []*fixture.Fixture, nginx *fixture.Fixture, err error) {
	if gws, err = fixture.Load(gatewayDir); err != nil {
		return nil, nil, err
	}
	negs, err := fixture.Load(negativeDir)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range negs {
		if f.Name == "nginx-default" {
			nginx = f
		}
	}
	if nginx == nil || len(gws) == 0 {
		return nil, nil, fmt.Errorf("need gateway fixtures and nginx-default")
	}
	return gws, nginx, nil
}
