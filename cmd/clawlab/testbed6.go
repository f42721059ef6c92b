package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"
)

// testbed6Config is the IPv6 testbed's population (deploy/testbed/testbed6.sh): n seeded
// addresses of block, each in a /64 of its own, listen on port, the first gateways of them
// replaying real-gateway fixtures and the rest a recorded nginx page; every address of the
// aliased /64 reaches one more gateway replay (one box answering for the whole prefix). The
// hitlist written beside the truth names, in shuffled order and as TUM's files look, the open
// addresses, closed ones addresses of the same /64s (answered RST), inAliased addresses of the
// aliased /64, comments and a few lines that are not addresses.
type testbed6Config struct {
	block, aliased       netip.Prefix
	n, gateways          int
	closed, inAliased    int
	seed                 uint64
	port                 int
	truth, hitlist, list string
}

// testbedBlock6 is the only IPv6 space the testbed uses: the benchmarking block (RFC 5180).
var testbedBlock6 = netip.MustParsePrefix("2001:2::/48")

func runTestbed6(ctx context.Context, cfg testbed6Config, gatewayDir, negativeDir string) error {
	for _, p := range []netip.Prefix{cfg.block, cfg.aliased} {
		if !p.Addr().Is6() || p.Bits() < testbedBlock6.Bits() || !testbedBlock6.Contains(p.Addr()) {
			return fmt.Errorf("%s: the IPv6 testbed lives in %s only", p, testbedBlock6)
		}
	}
	if cfg.block.Bits() > 56 || cfg.aliased.Bits() != 64 || cfg.n <= 0 || cfg.gateways > cfg.n {
		return fmt.Errorf("-block6 %s (/56 or wider), -aliased6 %s (a /64), -hosts %d, -gateways %d", cfg.block, cfg.aliased, cfg.n, cfg.gateways)
	}
	gws, nginx, err := testbedFixtures(gatewayDir, negativeDir)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))
	base := cfg.block.Masked().Addr().As16()
	hostBits := 64 - cfg.block.Bits() // bits of the /64 number inside the block
	random := func(net64 uint64) netip.Addr {
		b := base
		binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(base[:8])|net64)
		binary.BigEndian.PutUint64(b[8:], rng.Uint64()|1)
		return netip.AddrFrom16(b)
	}
	aliasedNet := binary.BigEndian.Uint64(cfg.aliased.Addr().AsSlice()[:8])
	used := map[uint64]bool{aliasedNet: true}
	var lines []string
	roles := map[netip.AddrPort]func(net.Conn){}
	httpRole := func(h http.Handler) func(net.Conn) {
		ln := newChanListener()
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		return ln.hand
	}
	nginxRole, gatewayRoles := httpRole(nginx), map[string]func(net.Conn){}
	for _, f := range gws {
		gatewayRoles[f.Name] = httpRole(f)
	}
	truth, err := os.Create(cfg.truth)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(truth)
	for i := range cfg.n {
		var n64 uint64
		for used[binary.BigEndian.Uint64(base[:8])|n64] {
			n64 = rng.Uint64() & (1<<hostBits - 1)
		}
		used[binary.BigEndian.Uint64(base[:8])|n64] = true
		a := random(n64)
		ap := netip.AddrPortFrom(a, uint16(cfg.port))
		role := "nginx"
		roles[ap] = nginxRole
		if i < cfg.gateways {
			f := gws[i%len(gws)]
			role, roles[ap] = "gateway:"+f.Name, gatewayRoles[f.Name]
		}
		fmt.Fprintf(w, "%s\t%s\n", ap, role)
		lines = append(lines, a.String())
		for range cfg.closed / cfg.n {
			lines = append(lines, random(n64).String())
		}
	}
	aliasedGateway := gws[0]
	fmt.Fprintf(w, "%s\taliased:gateway:%s\n", cfg.aliased, aliasedGateway.Name)
	for range cfg.inAliased {
		b := cfg.aliased.Addr().As16()
		binary.BigEndian.PutUint64(b[8:], rng.Uint64())
		lines = append(lines, netip.AddrFrom16(b).String())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	truth.Close()
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	hl, err := os.Create(cfg.hitlist)
	if err != nil {
		return err
	}
	hw := bufio.NewWriter(hl)
	fmt.Fprintf(hw, "# responsive-addresses of the clawcensus IPv6 testbed (seed %d)\n# %d open, %d closed, %d in the aliased %s\n",
		cfg.seed, cfg.n, len(lines)-cfg.n-cfg.inAliased, cfg.inAliased, cfg.aliased)
	for i, l := range lines {
		if i%997 == 500 {
			fmt.Fprintln(hw, "not-an-address")
		}
		fmt.Fprintln(hw, l)
	}
	if err := hw.Flush(); err != nil {
		return err
	}
	hl.Close()
	if err := os.WriteFile(cfg.list, []byte("# aliased-prefixes\n"+cfg.aliased.String()+"\n"), 0o644); err != nil {
		return err
	}
	aliasedRole := httpRole(aliasedGateway)
	// One wildcard listener: the namespace holds the block on lo (an AnyIP route), and
	// testbed6.sh's nftables rule answers RST for every address that is neither open nor in
	// the aliased /64.
	ln, err := net.Listen("tcp6", fmt.Sprintf("[::]:%d", cfg.port))
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			local := c.LocalAddr().(*net.TCPAddr).AddrPort()
			switch role, ok := roles[local]; {
			case ok:
				role(c)
			case cfg.aliased.Contains(local.Addr()):
				aliasedRole(c)
			default:
				resetConn(c)
			}
		}
	}()
	fmt.Printf("testbed ready: %d hosts (%d gateways) of %s and the aliased %s on port %d; truth in %s, hitlist in %s\n",
		cfg.n, cfg.gateways, cfg.block, cfg.aliased, cfg.port, cfg.truth, cfg.hitlist)
	<-ctx.Done()
	return nil
}
