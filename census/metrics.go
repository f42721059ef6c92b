package census

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
)

// ListenMetrics takes the metrics port (ip:port) before the run starts, so a busy port is the
// caller's mistake rather than a run left half-begun. An empty addr means no metrics.
func ListenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q: want ip:port, e.g. 127.0.0.1:9464", addr)
	}
	return net.Listen("tcp", ap.String())
}

// serveMetrics exposes a running scan's counters for Prometheus on ln until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, st *Stats, runID int64) {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"run": fmt.Sprint(runID)}
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
	gauge("clawcensus_probes_sent", "Probes sent by the sweep, retries included.", func() float64 { return float64(st.Sent.Load()) })
	gauge("clawcensus_open_ports", "Open host:ports found.", func() float64 { return float64(st.Open.Load()) })
	gauge("clawcensus_gateways_detected", "Gateways identified, probable honeypots aside.", func() float64 { return float64(st.Detected.Load()) })
	gauge("clawcensus_probable_honeypots", "Hosts that answer like a gateway but contradict a real one: counted apart.",
		func() float64 { return float64(st.Honeypots.Load()) })
	gauge("clawcensus_units_done", "Work units this process finished.", func() float64 { return float64(st.UnitsDone.Load()) })
	gauge("clawcensus_observations_spooled", "Observations written to the local spool while the database was away.",
		func() float64 { return float64(st.Spooled.Load()) })
	gauge("clawcensus_answers_lost", "Answers the sweep could not keep: dropped by the kernel's full receive queue, or after the wait for late answers.",
		func() float64 { return float64(st.Lost.Load()) })
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
