package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// CheckListen refuses a listening address the view must not use as asked: anything off
// loopback without a token (per-host data would be open to that network), a token too short
// to guess at, a --host that is not a name or an address.
func CheckListen(addr, token string, hosts []string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: want address:port", addr)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && token == "" {
		return fmt.Errorf("--listen %s is not loopback: per-host data would be open to that network; add --token", addr)
	}
	if token != "" && len(token) < 16 {
		return errors.New("--token: use at least 16 characters")
	}
	return checkHosts(hosts)
}

// Serve serves h on ln, with timeouts that keep a slow client from holding the server, until
// ctx ends (then it shuts down, giving requests in flight five seconds).
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
}
