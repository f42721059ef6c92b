//go:build linux

package scanner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The SYN engine is stateless, ZMap's way: a probe's source port and sequence number are a
// keyed hash of its destination, so an answer is validated by recomputing the hash, with no
// per-probe state. Probes leave in batches (sendmmsg), built in place from a template: as
// Ethernet frames on a packet socket where the route goes through a known gateway (route4),
// through raw IP sockets otherwise; answers arrive on an AF_PACKET socket whose kernel BPF filter keeps only
// SYN-ACKs and RSTs to our source ports, 96 bytes of each, read from a receive ring shared
// with the kernel (ring_linux.go; recvmmsg where the kernel gives no ring) on a goroutine of
// their own. Nothing depends on GSO/TSO or on receive checksums: the filter and
// the parser read headers only, and validation is the cookie.

// Source ports: above Linux's default ephemeral range (32768-60999), so the probes never share
// a 4-tuple with the fingerprinter's connections.
const (
	synPortBase  = 61000
	synPortCount = 4535
	synBatch     = 64
	synSnap      = 96
	tcpHeaderLen = 24 // 20 + the MSS option
)

// synEngine holds what the engine needs from the kernel, opened before anything is read from
// the network, so the process may drop its privileges afterwards.
type synEngine struct {
	seed  maphash.Seed
	send4 int     // AF_INET, SOCK_RAW, IPPROTO_RAW (IP_HDRINCL)
	send6 int     // AF_INET6, SOCK_RAW, IPPROTO_TCP, the kernel sums the TCP checksum
	sendL int     // AF_PACKET, SOCK_RAW, protocol 0 (sends only): Ethernet frames to a gateway
	recv  int     // AF_PACKET, SOCK_DGRAM, ETH_P_ALL, with the BPF filter
	ring  *rxRing // recv's receive ring; nil: recv is read with recvmmsg
	// recvF, when set, owns recv; recvC, when the runtime's poller takes the socket, is how
	// the reader waits for answers without holding a thread and a P in a blocking call (nil:
	// a blocking poll or recvmmsg with a 20 ms timeout).
	recvF *os.File
	recvC syscall.RawConn

	mu     sync.RWMutex       // routes: read per probe by every sender
	routes map[[2]byte]route4 // per destination /16

	closed atomic.Bool
	// done is closed when the reader returns; nil until it is started.
	done    chan struct{}
	handler atomic.Pointer[func(ap netip.AddrPort, open, control bool)] // the sweep answers go to
	// Invalid counts answers to our ports whose cookie does not match (forged, unsolicited or
	// stale); Truncated, packets too short to parse.
	Invalid, Truncated atomic.Uint64
}

// openSYN opens the engine's sockets. Without CAP_NET_RAW it fails with EPERM.
func openSYN() (*synEngine, error) {
	e := &synEngine{seed: maphash.MakeSeed(), send4: -1, send6: -1, sendL: -1, recv: -1, routes: map[[2]byte]route4{}}
	var err error
	if e.send4, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
		return nil, fmt.Errorf("raw IPv4 socket: %w", err)
	}
	if e.send6, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP); err != nil {
		e.close()
		return nil, fmt.Errorf("raw IPv6 socket: %w", err)
	}
	if err := unix.SetsockoptInt(e.send6, unix.IPPROTO_IPV6, unix.IPV6_CHECKSUM, 16); err != nil {
		e.close()
		return nil, fmt.Errorf("IPV6_CHECKSUM: %w", err)
	}
	// A raw IPv6 TCP socket also receives a copy of every incoming TCP segment: it sends only,
	// so its filter drops them all.
	none := []unix.SockFilter{{Code: 0x06, K: 0}} // ret #0
	if err := unix.SetsockoptSockFprog(e.send6, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: 1, Filter: &none[0]}); err != nil {
		e.close()
		return nil, fmt.Errorf("attach BPF filter: %w", err)
	}
	// A large send buffer lets a batch leave in one call; the receive buffer holds bursts of
	// answers while the reader is descheduled (SO_*BUFFORCE needs CAP_NET_ADMIN; the plain
	// option is the fallback, capped by net.core.rmem_max).
	for _, fd := range []int{e.send4, e.send6} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
		}
	}
	// Frames to a gateway skip the IP output path and, where the kernel allows, the qdisc. If
	// the socket cannot be had, probes take the raw IP socket.
	if fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err == nil {
		e.sendL = fd
		unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
		}
	}
	if e.recv, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL))); err != nil {
		e.close()
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if unix.SetsockoptInt(e.recv, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20) != nil {
		unix.SetsockoptInt(e.recv, unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<20)
	}
	prog, err := synFilter()
	if err != nil {
		e.close()
		return nil, err
	}
	if err := unix.SetsockoptSockFprog(e.recv, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
		e.close()
		return nil, fmt.Errorf("attach BPF filter: %w", err)
	}
	tv := unix.NsecToTimeval((20 * time.Millisecond).Nanoseconds()) // how soon the reader sees close
	if err := unix.SetsockoptTimeval(e.recv, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		e.close()
		return nil, err
	}
	if r, err := newRxRing(e.recv); err == nil {
		e.ring = r
	}
	e.pollable()
	e.done = make(chan struct{})
	go e.receive()
	return e, nil
}

// pollable hands recv to the runtime's poller. A reader in a blocking system call keeps its
// P until the runtime's monitor takes it back, which it does late or not at all when it sees
// idle Ps: with two Ps, the reader's wait for answers took one of the two senders' Ps for up
// to its 20 ms timeout. Where the poller does not take the socket, recv stays blocking.
func (e *synEngine) pollable() {
	if unix.SetNonblock(e.recv, true) != nil {
		return
	}
	e.recvF = os.NewFile(uintptr(e.recv), "packet socket")
	if e.recvF.SetReadDeadline(time.Time{}) != nil { // not in the poller
		unix.SetNonblock(e.recv, false)
		return
	}
	if c, err := e.recvF.SyscallConn(); err == nil {
		e.recvC = c
	} else {
		unix.SetNonblock(e.recv, false)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// synFilter keeps, of everything the host receives, the IPv4 or IPv6 TCP segments (no IPv4
// fragments, no IPv6 extension headers) to our source ports that are a SYN-ACK or carry RST,
// and cuts each to synSnap bytes. Outgoing packets (our own, and loopback's first copy) go.
func synFilter() (*unix.SockFprog, error) {
	const drop, v4, v6, ports4, flags4 = "drop", "v4", "v6", "tcp", "flags"
	type step struct {
		ins    bpf.Instruction
		jt, jf string // labels of conditional jumps ("" falls through)
		label  string
	}
	lo, hi := uint32(synPortBase), uint32(synPortBase+synPortCount)
	steps := []step{
		{ins: bpf.LoadExtension{Num: bpf.ExtType}},
		{ins: bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING}, jt: drop},
		{ins: bpf.LoadExtension{Num: bpf.ExtProto}},
		{ins: bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IP}, jt: v4},
		{ins: bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IPV6}, jt: v6, jf: drop},
		// IPv4: TCP, not a fragment; X = header length.
		{label: v4, ins: bpf.LoadAbsolute{Off: 9, Size: 1}},
		{ins: bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_TCP}, jf: drop},
		{ins: bpf.LoadAbsolute{Off: 6, Size: 2}},
		{ins: bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff}, jt: drop},
		{ins: bpf.LoadMemShift{Off: 0}},
		{ins: bpf.Jump{}, jt: ports4},
		// IPv6: the next header is TCP; the TCP header follows the fixed 40 bytes.
		{label: v6, ins: bpf.LoadAbsolute{Off: 6, Size: 1}},
		{ins: bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_TCP}, jf: drop},
		{ins: bpf.LoadConstant{Dst: bpf.RegX, Val: 40}},
		// Both: X is the TCP header's offset.
		{label: ports4, ins: bpf.LoadIndirect{Off: 2, Size: 2}},
		{ins: bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: lo}, jf: drop},
		{ins: bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: hi}, jt: drop},
		{label: flags4, ins: bpf.LoadIndirect{Off: 13, Size: 1}},
		{ins: bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x04}, jt: "accept"},
		{ins: bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x12}},
		{ins: bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x12}, jt: "accept", jf: drop},
		{label: "accept", ins: bpf.RetConstant{Val: synSnap}},
		{label: drop, ins: bpf.RetConstant{Val: 0}},
	}
	at := map[string]int{}
	for i, s := range steps {
		if s.label != "" {
			at[s.label] = i
		}
	}
	skip := func(from int, label string) (uint8, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := at[label]
		if !ok || to <= from {
			return 0, fmt.Errorf("bpf: bad jump to %q", label)
		}
		return uint8(to - from - 1), nil
	}
	var prog []bpf.Instruction
	for i, s := range steps {
		switch ins := s.ins.(type) {
		case bpf.JumpIf:
			var err1, err2 error
			ins.SkipTrue, err1 = skip(i, s.jt)
			ins.SkipFalse, err2 = skip(i, s.jf)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			prog = append(prog, ins)
		case bpf.Jump:
			n, err := skip(i, s.jt)
			if err != nil {
				return nil, err
			}
			prog = append(prog, bpf.Jump{Skip: uint32(n)})
		default:
			prog = append(prog, s.ins)
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("bpf: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}, nil
}

// cookie is the keyed hash of a destination: its low 32 bits are the probe's sequence number,
// the next bits pick its source port. A control probe (see middlebox.go) hashes its
// destination with another key, so its answer is told from a plan probe's by the cookie alone.
func (e *synEngine) cookie(ap netip.AddrPort) (seq uint32, sport uint16) {
	return cookieBits(maphash.Comparable(e.seed, ap))
}

func (e *synEngine) controlCookie(ap netip.AddrPort) (seq uint32, sport uint16) {
	return cookieBits(maphash.Comparable(e.seed, controlKey{ap: ap, control: true}))
}

// controlKey is hashed with another layout than a bare netip.AddrPort: a struct of one field
// would hash as that field and give the plan probe's cookie.
type controlKey struct {
	ap      netip.AddrPort
	control bool
}

func cookieBits(h uint64) (seq uint32, sport uint16) {
	return uint32(h), synPortBase + uint16((h>>32)%synPortCount)
}

// valid reports whether an answer from ap to our port dport acknowledging ack answers a probe
// of ours.
func (e *synEngine) valid(ap netip.AddrPort, dport uint16, ack uint32) bool {
	seq, sport := e.cookie(ap)
	return dport == sport && acknowledges(ack, seq)
}

// validControl is valid for control probes.
func (e *synEngine) validControl(ap netip.AddrPort, dport uint16, ack uint32) bool {
	seq, sport := e.controlCookie(ap)
	return dport == sport && acknowledges(ack, seq)
}

// acknowledges reports whether ack acknowledges a SYN sent with seq (seq+1, modulo 2^32).
func acknowledges(ack, seq uint32) bool { return ack == seq+1 }

// receive reads answers until the engine is closed.
func (e *synEngine) receive() {
	defer close(e.done)
	// batch reads what is ready and reports whether there was anything.
	var batch func(fd uintptr) bool
	if e.ring != nil {
		batch = func(uintptr) bool { return e.ring.drain(e.parse) }
	} else {
		batch = e.recvmmsgBatch()
	}
	poller := e.recvC != nil
	for !e.closed.Load() {
		if poller {
			// Read returns once batch has read something, at the deadline (a kernel before 4.8
			// wakes no poller when a ring block is retired by its timer), or when close wakes it.
			e.recvF.SetReadDeadline(time.Now().Add(readerDeadline))
			err := e.recvC.Read(batch)
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || e.closed.Load() {
				continue
			}
			// The poller gave up on the socket: the reader waits in poll(2) from now on, as
			// where the poller never took it, and goes on reading.
			poller = false
		}
		if !batch(uintptr(e.recv)) {
			fds := []unix.PollFd{{Fd: int32(e.recv), Events: unix.POLLIN | unix.POLLERR}}
			unix.Poll(fds, 20) // 20 ms: how soon the reader sees close; EINTR or a timeout: look again
		}
	}
}

// readerDeadline bounds one wait of the reader in the poller.
const readerDeadline = 100 * time.Millisecond

// recvmmsgBatch returns the reader's batch where the kernel gives no receive ring: one
// recvmmsg of up to synBatch answers; false: nothing to read (EAGAIN, or the 20 ms timeout
// of a blocking socket).
func (e *synEngine) recvmmsgBatch() func(fd uintptr) bool {
	var (
		bufs [synBatch][128]byte
		iov  [synBatch]unix.Iovec
		msgs [synBatch]mmsghdr
	)
	for i := range msgs {
		iov[i].Base = &bufs[i][0]
		iov[i].SetLen(len(bufs[i]))
		msgs[i].hdr.Iov = &iov[i]
		msgs[i].hdr.SetIovlen(1)
	}
	return func(fd uintptr) bool {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), synBatch, 0, 0, 0)
		switch {
		case errno == unix.EAGAIN:
			return false
		case errno == unix.EINTR:
			return true
		case errno != 0:
			if !e.closed.Load() {
				time.Sleep(10 * time.Millisecond) // a transient error (ENOBUFS, ENOMEM): keep reading
			}
			return true
		}
		for i := 0; i < int(n); i++ {
			e.parse(bufs[i][:min(int(msgs[i].len), len(bufs[i]))])
		}
		return true
	}
}

// parse reads one IPv4 or IPv6 TCP answer (the filter let only those through) and reports it
// when its cookie matches.
func (e *synEngine) parse(p []byte) {
	if len(p) < 1 {
		e.Truncated.Add(1)
		return
	}
	var src netip.Addr
	var tcp []byte
	switch p[0] >> 4 {
	case 4:
		ihl := int(p[0]&0x0f) * 4
		if ihl < 20 || len(p) < ihl+14 {
			e.Truncated.Add(1)
			return
		}
		src = netip.AddrFrom4([4]byte(p[12:16]))
		tcp = p[ihl:]
	case 6:
		if len(p) < 40+14 {
			e.Truncated.Add(1)
			return
		}
		src = netip.AddrFrom16([16]byte(p[8:24]))
		tcp = p[40:]
	default:
		e.Truncated.Add(1)
		return
	}
	sport, dport := binary.BigEndian.Uint16(tcp[0:2]), binary.BigEndian.Uint16(tcp[2:4])
	ack := binary.BigEndian.Uint32(tcp[8:12])
	flags := tcp[13]
	ap := netip.AddrPortFrom(src, sport)
	control := false
	if !e.valid(ap, dport, ack) {
		if control = e.validControl(ap, dport, ack); !control {
			e.Invalid.Add(1)
			return
		}
	}
	if h := e.handler.Load(); h != nil {
		(*h)(ap, flags&0x12 == 0x12 && flags&0x04 == 0, control)
	}
}

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// synBatcher holds the packets of one sendmmsg call, built in place: no allocation per probe.
type synBatcher struct {
	e     *synEngine
	fd    int
	v6    bool
	link  bool // Ethernet frames on the packet socket
	n     int
	pkts  [synBatch][64]byte
	names [synBatch]unix.RawSockaddrInet6 // large enough for either family
	iov   [synBatch]unix.Iovec
	msgs  [synBatch]mmsghdr
	// Sent counts probes the kernel accepted; Dropped, those refused after retrying.
	Sent, Dropped uint64
}

// Kinds of batch.
const (
	batchIPv4 = iota
	batchIPv6
	batchLink
)

func (e *synEngine) newBatcher(kind int) *synBatcher {
	b := &synBatcher{e: e, fd: e.send4, v6: kind == batchIPv6, link: kind == batchLink}
	switch kind {
	case batchIPv6:
		b.fd = e.send6
	case batchLink:
		b.fd = e.sendL
	}
	for i := range b.msgs {
		b.iov[i].Base = &b.pkts[i][0]
		b.msgs[i].hdr.Iov = &b.iov[i]
		b.msgs[i].hdr.SetIovlen(1)
		b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	}
	return b
}

// add builds the probe to ap (IPv4: along r) in the next slot, a control probe when control
// is set; full reports that the batch must be sent.
func (b *synBatcher) add(ap netip.AddrPort, r route4, control bool) (full bool, err error) {
	seq, sport := b.e.cookie(ap)
	if control {
		seq, sport = b.e.controlCookie(ap)
	}
	i := b.n
	pkt := b.pkts[i][:]
	if b.link {
		copy(pkt[0:6], r.dstMAC[:])
		copy(pkt[6:12], r.srcMAC[:])
		pkt[12], pkt[13] = 0x08, 0x00
		ip := pkt[14 : 14+20]
		writeIPv4(ip, r.src.As4(), ap.Addr().As4(), 20+tcpHeaderLen, uint16(seq>>16))
		tcp := pkt[34 : 34+tcpHeaderLen]
		writeTCP(tcp, sport, ap.Port(), seq)
		sum := pseudoSum4(r.src.As4(), ap.Addr().As4(), tcpHeaderLen)
		binary.BigEndian.PutUint16(tcp[16:18], finish(sum+sumBytes(tcp)))
		sa := (*unix.RawSockaddrLinklayer)(unsafe.Pointer(&b.names[i]))
		*sa = unix.RawSockaddrLinklayer{Family: unix.AF_PACKET, Protocol: htons(unix.ETH_P_IP), Ifindex: int32(r.ifindex), Halen: 6}
		copy(sa.Addr[:], r.dstMAC[:])
		b.msgs[i].hdr.Namelen = unix.SizeofSockaddrLinklayer
		b.iov[i].SetLen(14 + 20 + tcpHeaderLen)
		b.n++
		return b.n == synBatch, nil
	}
	if b.v6 {
		writeTCP(pkt[:tcpHeaderLen], sport, ap.Port(), seq)
		sa := &b.names[i]
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
		b.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		b.iov[i].SetLen(tcpHeaderLen)
	} else {
		src := r.src
		writeIPv4(pkt[:20], src.As4(), ap.Addr().As4(), 20+tcpHeaderLen, uint16(seq>>16))
		tcp := pkt[20 : 20+tcpHeaderLen]
		writeTCP(tcp, sport, ap.Port(), seq)
		sum := pseudoSum4(src.As4(), ap.Addr().As4(), tcpHeaderLen)
		binary.BigEndian.PutUint16(tcp[16:18], finish(sum+sumBytes(tcp)))
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().As4()}
		b.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		b.iov[i].SetLen(20 + tcpHeaderLen)
	}
	b.n++
	return b.n == synBatch, nil
}

// flush sends the batch. A full send buffer (ENOBUFS, EAGAIN) is waited out; a probe the
// kernel still refuses after that is counted as dropped, never as sent.
func (b *synBatcher) flush() error {
	off := 0
	stalls := 0
	for off < b.n {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(b.fd), uintptr(unsafe.Pointer(&b.msgs[off])), uintptr(b.n-off), 0, 0, 0)
		switch errno {
		case 0:
			off += int(n)
			b.Sent += uint64(n)
			stalls = 0
			continue
		case unix.EINTR:
			continue
		case unix.ENOBUFS, unix.EAGAIN:
			if stalls++; stalls < 100 {
				time.Sleep(50 * time.Microsecond)
				continue
			}
		case unix.EPERM, unix.EACCES:
			// A firewall refused this one probe: skip it, not the batch.
		default:
			b.n = 0
			return fmt.Errorf("send probes: %w", errno)
		}
		b.Dropped++
		off++
		stalls = 0
	}
	b.n = 0
	return nil
}

// route4 is how probes to dst leave (looked up once per /16, see lookupRoute4); without the
// packet socket every route is the raw IP socket's.
func (e *synEngine) route4(dst netip.Addr) (route4, error) {
	b := dst.As4()
	key := [2]byte{b[0], b[1]}
	e.mu.RLock()
	r, ok := e.routes[key]
	e.mu.RUnlock()
	if ok {
		return r, nil
	}
	r, err := lookupRoute4(dst)
	if err != nil {
		return route4{}, err
	}
	r.link = r.link && e.sendL >= 0
	e.mu.Lock()
	e.routes[key] = r
	e.mu.Unlock()
	return r, nil
}

func (e *synEngine) close() {
	if e.closed.Swap(true) {
		return
	}
	if e.recvF != nil {
		e.recvF.SetReadDeadline(time.Now()) // wakes a reader waiting in the poller
	}
	if e.done != nil { // the reader was started
		select {
		case <-e.done:
			if e.ring != nil {
				e.ring.close()
			}
		case <-time.After(time.Second): // a reader still in the ring keeps it mapped
		}
	}
	if e.recvF != nil {
		e.recvF.Close() // recv, which it owns
	} else if e.recv >= 0 {
		unix.Close(e.recv)
	}
	for _, fd := range []int{e.send4, e.send6, e.sendL} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func writeIPv4(h []byte, src, dst [4]byte, total int, id uint16) {
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:4], uint16(total))
	binary.BigEndian.PutUint16(h[4:6], id)
	h[6], h[7] = 0, 0 // no DF, like ZMap: a SYN is never fragmented anyway
	h[8], h[9] = 64, unix.IPPROTO_TCP
	h[10], h[11] = 0, 0
	copy(h[12:16], src[:])
	copy(h[16:20], dst[:])
	binary.BigEndian.PutUint16(h[10:12], finish(sumBytes(h)))
}

func writeTCP(t []byte, sport, dport uint16, seq uint32) {
	binary.BigEndian.PutUint16(t[0:2], sport)
	binary.BigEndian.PutUint16(t[2:4], dport)
	binary.BigEndian.PutUint32(t[4:8], seq)
	binary.BigEndian.PutUint32(t[8:12], 0)
	t[12] = (tcpHeaderLen / 4) << 4
	t[13] = 0x02 // SYN
	binary.BigEndian.PutUint16(t[14:16], 65535)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
	t[20], t[21] = 2, 4 // MSS 1460: what real stacks send, so middleboxes treat it as one
	binary.BigEndian.PutUint16(t[22:24], 1460)
}

func pseudoSum4(src, dst [4]byte, tcpLen int) uint32 {
	return uint32(binary.BigEndian.Uint16(src[0:2])) + uint32(binary.BigEndian.Uint16(src[2:4])) +
		uint32(binary.BigEndian.Uint16(dst[0:2])) + uint32(binary.BigEndian.Uint16(dst[2:4])) +
		unix.IPPROTO_TCP + uint32(tcpLen)
}

func sumBytes(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func finish(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// synAvailable opens and closes a raw socket to learn whether SYN sweeps are possible here.
func synAvailable() (bool, string) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return false, explainRaw(err).Error()
	}
	unix.Close(fd)
	return true, ""
}

// drops returns how many answers the kernel dropped since the last call because the packet
// socket's receive queue was full (PACKET_STATISTICS resets as it is read).
func (e *synEngine) drops() uint64 {
	st, err := unix.GetsockoptTpacketStats(e.recv, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return uint64(st.Drops)
}

// attach sends the answers the reader validates to h (nil: dropped).
func (e *synEngine) attach(h func(ap netip.AddrPort, open, control bool)) {
	if h == nil {
		e.handler.Store(nil)
		return
	}
	e.handler.Store(&h)
}
