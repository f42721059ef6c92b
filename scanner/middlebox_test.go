//go:build linux

package scanner

import (
	"context"
	"hash/maphash"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestControlPorts: two distinct control ports per host:port, in 1024-65535, never the probed
// port, the same for the same key and host:port, different for another key.
func TestControlPorts(t *testing.T) {
	seed := maphash.MakeSeed()
	differ := 0
	for i := range 20000 {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 9, byte(i >> 8), byte(i)}), uint16(1024+i%3))
		c := controlPorts(seed, ap)
		if c != controlPorts(seed, ap) {
			t.Fatalf("%s: control ports not stable", ap)
		}
		if c != controlPorts(maphash.MakeSeed(), ap) {
			differ++
		}
		for _, p := range c {
			if p.Addr() != ap.Addr() || p.Port() < 1024 || p.Port() == ap.Port() {
				t.Fatalf("%s: control port %s", ap, p)
			}
		}
		if c[0] == c[1] {
			t.Fatalf("%s: both control ports %s", ap, c[0])
		}
	}
	if differ < 19990 {
		t.Errorf("another key picked the same control ports for %d of 20000", 20000-differ)
	}
}

// TestMiddleboxes sweeps three hosts, each listening on the probed port: one with another
// open port besides (a gateway host running something else too), one that answers on its
// control ports as well (what a box accepting every port looks like), one that answers on one
// control port only. Only the second is a middlebox, by SYN and by CONNECT.
func TestMiddleboxes(t *testing.T) {
	const port = 29791
	host := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{127, 9, 0, i}) }
	for _, method := range []string{MethodSYN, MethodConnect} {
		t.Run(method, func(t *testing.T) {
			listen := func(ap netip.AddrPort) {
				ln, err := net.Listen("tcp", ap.String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
			}
			if method == MethodSYN {
				needRawSockets(t)
			}
			scope, _ := ParseScope("127.9.0.0/29")
			sw, err := New(Config{Rate: 5000, Method: method, Retries: 1, Timeout: 300 * time.Millisecond, Blocklist: NewBlocklist(true), Scope: scope})
			if err != nil {
				t.Fatal(err)
			}
			defer sw.Close()
			gateway, box, half := netip.AddrPortFrom(host(1), port), netip.AddrPortFrom(host(2), port), netip.AddrPortFrom(host(3), port)
			for _, ap := range []netip.AddrPort{gateway, box, half} {
				listen(ap)
			}
			other := controlPorts(sw.ctlSeed, gateway)[0].Port() + 1 // an open port that is no control port
			listen(netip.AddrPortFrom(host(1), other))
			for _, c := range controlPorts(sw.ctlSeed, box) {
				listen(c)
			}
			listen(controlPorts(sw.ctlSeed, half)[1])

			open := make(chan Open, 16)
			errc := make(chan error, 1)
			plan := &Plan{Specs: []string{"127.9.0.0/29"}, Blocklist: NewBlocklist(true), Ports: []uint16{port}, Seed: 2}
			go func() { errc <- sw.Sweep(context.Background(), plan, open); close(open) }()
			got := map[netip.AddrPort]bool{}
			for o := range open {
				got[o.AddrPort] = o.Middlebox
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			want := map[netip.AddrPort]bool{gateway: false, box: true, half: false}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("open ports and middlebox verdicts (-want +got):\n%s", diff)
			}
			if st := sw.Stats(); st.Middleboxes != 1 || st.Open != 3 || st.Controls == 0 || st.Controls > 6 {
				t.Errorf("stats %+v: want 3 open, 1 middlebox, at most 6 control probes", st)
			}
		})
	}
}
