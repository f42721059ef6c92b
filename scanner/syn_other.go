//go:build !linux

package scanner

import (
	"errors"
	"net/netip"
)

var errSYNLinuxOnly = errors.New("SYN sweeps need Linux (raw and packet sockets)")

type synEngine struct{ Invalid atomicCounter }

type atomicCounter struct{}

func (atomicCounter) Load() uint64 { return 0 }

type synBatcher struct{ Sent, Dropped uint64 }

type route4 struct{ link bool }

const (
	batchIPv4 = iota
	batchIPv6
	batchLink
)

func openSYN() (*synEngine, error)                           { return nil, errSYNLinuxOnly }
func synAvailable() (bool, string)                           { return false, errSYNLinuxOnly.Error() }
func (e *synEngine) attach(func(netip.AddrPort, bool, bool)) {}
func (e *synEngine) newBatcher(int) *synBatcher              { return &synBatcher{} }
func (e *synEngine) route4(netip.Addr) (route4, error)       { return route4{}, errSYNLinuxOnly }
func (e *synEngine) close()                                  {}
func (e *synEngine) drops() uint64                           { return 0 }
func (b *synBatcher) add(netip.AddrPort, route4, bool) (bool, error) {
	return false, errSYNLinuxOnly
}
func (b *synBatcher) flush() error { return nil }
