//go:build linux

package scanner

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// route4 is how probes to one IPv4 destination leave: from src, and, when link is set,
// straight onto the interface ifindex as Ethernet frames to the next hop's MAC (the path ZMap
// takes, which skips the kernel's IP output: routing, netfilter, neighbour lookups per
// packet). Without a gateway whose MAC the neighbour table holds — loopback, an on-link
// subnet, a tunnel — probes go through the raw IP socket instead.
type route4 struct {
	src     netip.Addr
	link    bool
	ifindex int
	dstMAC  [6]byte
	srcMAC  [6]byte
}

// lookupRoute4 asks the kernel for dst's source address (by connecting a UDP socket, which
// sends nothing) and reads this network namespace's main routing table and neighbour table
// (/proc/net/route, /proc/net/arp) for its interface and next hop.
func lookupRoute4(dst netip.Addr) (route4, error) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return route4{}, fmt.Errorf("no route to %s: %w", dst, err)
	}
	r := route4{src: c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()}
	c.Close()
	iface, gateway, ok := mainRoute(dst)
	if !ok || iface == "lo" || !gateway.IsValid() {
		return r, nil
	}
	mac, ok := neighbourMAC(gateway, iface)
	if !ok {
		return r, nil
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil || len(ifi.HardwareAddr) != 6 || ifi.Flags&net.FlagUp == 0 || !hasAddr(ifi, r.src) {
		// The kernel's choice of source says the packet leaves elsewhere (a local address, a
		// rule of another table): let the kernel route it.
		return r, nil
	}
	r.link, r.ifindex, r.dstMAC = true, ifi.Index, mac
	copy(r.srcMAC[:], ifi.HardwareAddr)
	return r, nil
}

// mainRoute finds dst's longest-prefix route in /proc/net/route: its interface and, for a
// route through a gateway, the gateway.
func mainRoute(dst netip.Addr) (iface string, gateway netip.Addr, ok bool) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return "", netip.Addr{}, false
	}
	defer f.Close()
	d := binary.BigEndian.Uint32(dst.AsSlice())
	best := -1
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 8 {
			continue
		}
		dest, err1 := hexLE(fl[1])
		gw, err2 := hexLE(fl[2])
		flags, err3 := strconv.ParseUint(fl[3], 16, 32)
		mask, err4 := hexLE(fl[7])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || flags&0x1 == 0 || d&mask != dest {
			continue
		}
		if bits := onesCount(mask); bits > best {
			best, iface = bits, fl[0]
			gateway = netip.Addr{}
			if flags&0x2 != 0 { // RTF_GATEWAY
				gateway = netip.AddrFrom4([4]byte{byte(gw >> 24), byte(gw >> 16), byte(gw >> 8), byte(gw)})
			}
		}
	}
	return iface, gateway, best >= 0
}

// hexLE reads an address as /proc/net/route writes it (little-endian hex) into host order.
func hexLE(s string) (uint32, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return 0, fmt.Errorf("bad route field %q", s)
	}
	return binary.BigEndian.Uint32([]byte{b[3], b[2], b[1], b[0]}), nil
}

func onesCount(m uint32) int {
	n := 0
	for ; m != 0; m <<= 1 {
		if m&0x80000000 == 0 {
			return -1 // not a prefix mask
		}
		n++
	}
	return n
}

// neighbourMAC reads the next hop's hardware address from /proc/net/arp, if resolved.
func neighbourMAC(ip netip.Addr, iface string) ([6]byte, bool) {
	f, err := os.Open("/proc/net/arp")
	if err != nil {
		return [6]byte{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 6 || fl[0] != ip.String() || fl[5] != iface {
			continue
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(fl[2], "0x"), 16, 32)
		hw, herr := net.ParseMAC(fl[3])
		if err != nil || herr != nil || flags&0x2 == 0 || len(hw) != 6 { // ATF_COM: resolved
			return [6]byte{}, false
		}
		return [6]byte(hw), true
	}
	return [6]byte{}, false
}

// hasAddr reports whether ifi carries a.
func hasAddr(ifi *net.Interface, a netip.Addr) bool {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr().Unmap() == a {
			return true
		}
	}
	return false
}
