package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clawcensus/clawcensus/scanner"
)

// listenMetrics takes the metrics port before the run starts, so a busy port is a usage
// error rather than a run left half-begun.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, usagef("--metrics-addr %q: want ip:port, e.g. 127.0.0.1:9464", addr)
	}
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		return nil, usagef("--metrics-addr: %v", err)
	}
	return ln, nil
}

// serveMetrics exposes a running scan's counters for Prometheus on ln until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, sw *scanner.Sweeper, p *pipeline, runID int64) {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"run": fmt.Sprint(runID)}
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
	gauge("clawcensus_probes_sent", "Probes sent by the sweep, retries included.", func() float64 {
		if sw == nil {
			return 0
		}
		return float64(sw.Stats().Sent)
	})
	gauge("clawcensus_open_ports", "Open host:ports found.", func() float64 { return float64(p.seen.Load()) })
	gauge("clawcensus_gateways_detected", "Gateways identified.", func() float64 { return float64(p.detected.Load()) })
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Warn("metrics server stopped", "err", err)
		}
	}()
	slog.Info("metrics", "addr", ln.Addr().String())
}
