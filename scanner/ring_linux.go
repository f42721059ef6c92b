//go:build linux

package scanner

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxRing is a TPACKET_V3 receive ring on the engine's packet socket. The kernel copies each
// answer the filter keeps into a block of memory shared with this process and hands a block
// over when it is full or ringRetireMs after its first answer; the reader walks the block with
// no system call per answer and waits (in the runtime's poller) only when no block is ready.
// With recvmmsg the reader woke for nearly every answer while the senders kept both cores busy,
// and each answer was queued, copied and freed on its own.
type rxRing struct {
	mem  []byte
	next int // the block the reader looks at next
}

// The kernel hands a block over when it is full or ringRetireMs after its first answer, so a
// block holds what arrives in that time, however large it is: many small blocks, not a few
// large ones, let the reader be away long at any rate. 256 blocks of 128 KiB (32 MiB) hold
// some 200,000 answers, or 2 s of them at up to 100,000 answers a second.
const (
	ringBlockSize = 128 << 10
	ringBlocks    = 256
	ringFrameSize = 256
	ringRetireMs  = 8
	// blockHdrOff is where struct tpacket_hdr_v1 starts in a block (after version, offset_to_priv).
	blockHdrOff = 8
)

// newRxRing maps a receive ring onto fd, an AF_PACKET socket with no ring yet. On an error
// the socket is as it was (PACKET_VERSION only shapes rings) and the caller reads it with
// recvmmsg instead.
func newRxRing(fd int) (*rxRing, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, err
	}
	req := unix.TpacketReq3{Block_size: ringBlockSize, Block_nr: ringBlocks, Frame_size: ringFrameSize,
		Frame_nr: ringBlockSize / ringFrameSize * ringBlocks, Retire_blk_tov: ringRetireMs}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, ringBlockSize*ringBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &unix.TpacketReq3{}) // no ring
		return nil, err
	}
	return &rxRing{mem: mem}, nil
}

// drain hands every answer of the blocks that are ready to each and gives the blocks back to
// the kernel; false: no block was ready.
func (r *rxRing) drain(each func([]byte)) (got bool) {
	for ; ; got = true {
		block := r.mem[r.next*ringBlockSize : (r.next+1)*ringBlockSize]
		hdr := (*unix.TpacketHdrV1)(unsafe.Pointer(&block[blockHdrOff]))
		if atomic.LoadUint32(&hdr.Block_status)&unix.TP_STATUS_USER == 0 {
			return got
		}
		walkBlock(block, hdr.Num_pkts, hdr.Offset_to_first_pkt, each)
		atomic.StoreUint32(&hdr.Block_status, unix.TP_STATUS_KERNEL)
		r.next = (r.next + 1) % ringBlocks
	}
}

// walkBlock hands each of a block's n packets to each: the captured bytes from the network
// header on (the socket is SOCK_DGRAM). The offsets are the kernel's; they are still checked
// against the block, so a bad one ends the block, never reads outside it.
func walkBlock(block []byte, n, first uint32, each func([]byte)) {
	off := uint64(first)
	for range n {
		if off+unix.SizeofTpacket3Hdr > uint64(len(block)) {
			return
		}
		ph := (*unix.Tpacket3Hdr)(unsafe.Pointer(&block[off]))
		start, end := off+uint64(ph.Net), off+uint64(ph.Net)+uint64(ph.Snaplen)
		if start > end || end > uint64(len(block)) {
			return
		}
		each(block[start:end])
		if ph.Next_offset == 0 {
			return
		}
		off += uint64(ph.Next_offset)
	}
}

// close unmaps the ring; the reader must have stopped.
func (r *rxRing) close() {
	unix.Munmap(r.mem)
}
