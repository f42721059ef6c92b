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
	roles := cfg.gateways + cfg.host + cfg.silent + cfg.slow + cfg.reset + cfg.everyPort
	if cfg.n <= 0 || cfg.n > size-2 || roles > cfg.n || min(cfg.gateways, cfg.host, cfg.silent, cfg.slow, cfg.reset, cfg.everyPort) < 0 {
		return fmt.Errorf("-hosts %d: the roles (%d) out of range for %s", cfg.n, roles, cfg.block)
	}
	gws, err := fixture.Load(gatewayDir)
	if err != nil {
		return err
	}
	negs, err := fixture.Load(negativeDir)
	if err != nil {
		return err
	}
	var nginx *fixture.Fixture
	for _, f := range negs {
		if f.Name == "nginx-default" {
			nginx = f
		}
	}
	if nginx == nil || len(gws) == 0 {
		return fmt.Errorf("need gateway fixtures and nginx-default")
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
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for i, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(cfg.port))
		ln, err := net.Listen("tcp", ap.String())
		if err != nil {
			return fmt.Errorf("listen %s: %w (is the block routed to lo in this namespace?)", ap, err)
		}
		role := "nginx"
		at := i - cfg.gateways - cfg.host // the index among the Internet's kinds
		switch {
		case i < cfg.gateways:
			f := gws[i%len(gws)]
			role = "gateway:" + f.Name
			srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
			go srv.Serve(ln)
			closers = append(closers, func() { srv.Close() })
			if i%5 == 0 { // a gateway host running another service too
				other, err := net.Listen("tcp", netip.AddrPortFrom(a, 8080).String())
				if err != nil {
					return err
				}
				go acceptAll(other, silentServe)
				closers = append(closers, func() { other.Close() })
			}
		case i < cfg.gateways+cfg.host:
			kind := hostileKinds[(i-cfg.gateways)%len(hostileKinds)]
			role = "hostile:" + kind.name
			go acceptAll(ln, kind.serve)
			closers = append(closers, func() { ln.Close() })
		case at < cfg.silent:
			role = "silent"
			go acceptAll(ln, silentServe)
			closers = append(closers, func() { ln.Close() })
		case at < cfg.silent+cfg.slow:
			delay := time.Duration(100+rng.IntN(401)) * time.Millisecond
			role = fmt.Sprintf("slow:%dms", delay.Milliseconds())
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(delay)
				nginx.ServeHTTP(w, r)
			}), ReadHeaderTimeout: 5 * time.Second}
			go srv.Serve(ln)
			closers = append(closers, func() { srv.Close() })
		case at < cfg.silent+cfg.slow+cfg.reset:
			role = "reset"
			go resetAll(ln)
			closers = append(closers, func() { ln.Close() })
		case at < cfg.silent+cfg.slow+cfg.reset+cfg.everyPort:
			role = "everyport"
			go acceptAll(ln, silentServe)
			closers = append(closers, func() { ln.Close() })
		default:
			srv := &http.Server{Handler: nginx, ReadHeaderTimeout: 5 * time.Second}
			go srv.Serve(ln)
			closers = append(closers, func() { srv.Close() })
		}
		fmt.Fprintf(w, "%s\t%s\n", ap, role)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	truth.Close()
	fmt.Printf("testbed ready: %d hosts (%d gateways, %d hostile) of %s on port %d; truth in %s\n", cfg.n, cfg.gateways, cfg.host, cfg.block, cfg.port, cfg.truth)
	<-ctx.Done()
	return nil
}

func acceptAll(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			bufio.NewReader(c).ReadString('\n')
			serve(c)
		}()
	}
}

// silentServe holds a connection without a byte in answer, as most "open" ports on the
// Internet do (acceptAll closes it after 30 s).
func silentServe(c net.Conn) { c.Read(make([]byte, 1)) }

// resetAll resets every connection right after the handshake (SO_LINGER 0).
func resetAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

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
