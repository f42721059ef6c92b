// Command clawlab serves a loopback lab for demos and end-to-end tests: each recorded host in
// a fixture folder (real gateways, recorded by deploy/lab/record-fixture.sh, and negatives)
// is replayed on its own loopback address, and one more address keeps the port closed.
//
// It only ever binds loopback (127.0.0.0/8) or the benchmarking blocks 198.18.0.0/15 and
// 2001:2::/48 that the namespace testbeds (deploy/lab/netns-lab.sh, deploy/testbed/testbed.sh,
// deploy/testbed/testbed6.sh) use; it refuses any other address.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

func main() {
	dirs := flag.String("fixtures", "fingerprint/testdata/gateways,fingerprint/testdata/negatives", "comma-separated fixture folders")
	base := flag.String("base", "127.0.0.10", "first loopback address; one address per fixture after it")
	port := flag.Int("port", 18789, "port every host listens on")
	block := flag.String("block", "", "testbed mode: listen on -hosts seeded addresses of this 198.18.0.0/15 block")
	hosts := flag.Int("hosts", 1000, "testbed mode: open hosts")
	gateways := flag.Int("gateways", 20, "testbed mode: hosts replaying real-gateway fixtures")
	hostile := flag.Int("hostile", 0, "testbed mode: hostile hosts")
	silent := flag.Int("silent", 0, "testbed mode: hosts that accept and never answer")
	slow := flag.Int("slow", 0, "testbed mode: hosts that answer a page after 100-500 ms")
	reset := flag.Int("reset", 0, "testbed mode: hosts that reset the connection after the handshake")
	everyPort := flag.Int("everyport", 0, "testbed mode: silent hosts that accept on every port (testbed.sh sends their other ports to this one)")
	seed := flag.Uint64("seed", 1, "testbed mode: which addresses are open")
	truth := flag.String("truth", "testbed-truth.tsv", "testbed mode: where to write the open hosts and their roles")
	block6 := flag.String("block6", "", "IPv6 testbed mode: seeded hosts of this 2001:2::/48 block, a /64 each")
	aliased6 := flag.String("aliased6", "2001:2:0:a::/64", "IPv6 testbed mode: the aliased /64 (one gateway answers for all of it)")
	closed := flag.Int("closed", 1000, "IPv6 testbed mode: closed addresses in the hitlist")
	inAliased := flag.Int("inaliased", 100, "IPv6 testbed mode: addresses of the aliased /64 in the hitlist")
	hitlist := flag.String("hitlist", "testbed-hitlist.txt", "IPv6 testbed mode: where to write the hitlist")
	aliasedList := flag.String("aliased-list", "testbed-aliased.txt", "IPv6 testbed mode: where to write the aliased-prefixes file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *block6 != "" {
		b, berr := netip.ParsePrefix(*block6)
		a, aerr := netip.ParsePrefix(*aliased6)
		dirList := strings.Split(*dirs, ",")
		if berr != nil || aerr != nil || len(dirList) != 2 {
			fmt.Fprintln(os.Stderr, "clawlab: -block6 and -aliased6 take prefixes, -fixtures GATEWAYS,NEGATIVES")
			os.Exit(2)
		}
		err = runTestbed6(ctx, testbed6Config{block: b, aliased: a, n: *hosts, gateways: *gateways, closed: *closed, inAliased: *inAliased,
			seed: *seed, port: *port, truth: *truth, hitlist: *hitlist, list: *aliasedList}, dirList[0], dirList[1])
	} else if *block != "" {
		p, perr := netip.ParsePrefix(*block)
		if perr != nil {
			fmt.Fprintln(os.Stderr, "clawlab: -block:", perr)
			os.Exit(2)
		}
		dirList := strings.Split(*dirs, ",")
		if len(dirList) != 2 {
			fmt.Fprintln(os.Stderr, "clawlab: testbed mode takes -fixtures GATEWAYS,NEGATIVES")
			os.Exit(2)
		}
		err = runTestbed(ctx, testbedConfig{block: p, n: *hosts, gateways: *gateways, host: *hostile,
			silent: *silent, slow: *slow, reset: *reset, everyPort: *everyPort, seed: *seed, port: *port, truth: *truth},
			dirList[0], dirList[1])
	} else {
		err = run(ctx, *dirs, *base, *port)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clawlab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dirs, base string, port int) error {
	addr, err := netip.ParseAddr(base)
	if err != nil || !addr.Is4() || !(netip.MustParsePrefix("127.0.0.0/8").Contains(addr) || netip.MustParsePrefix("198.18.0.0/15").Contains(addr)) {
		return fmt.Errorf("-base %q: the lab binds 127.0.0.0/8 or 198.18.0.0/15 only", base)
	}
	var fixtures []*fixture.Fixture
	for _, dir := range strings.Split(dirs, ",") {
		if dir == "" {
			continue
		}
		fs, err := fixture.Load(dir)
		if err != nil {
			return err
		}
		fixtures = append(fixtures, fs...)
	}
	if len(fixtures) == 0 {
		return errors.New("no fixtures found")
	}
	var servers []*http.Server
	for _, f := range fixtures {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, uint16(port)).String())
		if err != nil {
			return fmt.Errorf("listen for %s: %w", f.Name, err)
		}
		srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go srv.Serve(ln)
		fmt.Printf("%s:%d\t%s\texpect product=%s version=%s auth=%s\n", addr, port, f.Name,
			orNone(f.Meta["product"]), f.Meta["version"], f.Meta["auth"])
		addr = addr.Next()
	}
	fmt.Printf("%s:%d\tclosed-port\tnothing listens\n", addr, port)
	fmt.Println("lab ready")
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(shutdown)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
