package fingerprint

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/clawcensus/clawcensus/observation"
)

// response is one probe's answer, or why there was none.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
	TLS    *tlsInfo
}

// tlsInfo is what the handshake showed, read from the connection itself (no extra request).
type tlsInfo struct {
	Version, Cipher, SubjectCN, IssuerCN string
	SANs                                 []string
	SelfSigned, Expired                  bool
}

// maxHeaderBytes bounds a response's header block: a real gateway sends about 1 KiB; a hostile
// server's endless header line ends the probe instead of growing memory.
const maxHeaderBytes = 64 << 10

// client sends probes with net/http: HTTP/1.1 only, no proxy from the environment, no
// retries, no redirects followed, no decompression (a body is read as sent, capped), headers
// and bodies bounded, an honest User-Agent. It keeps nothing on disk.
type client struct {
	http      *http.Client
	transport *http.Transport
	userAgent string
	maxBody   int64
	bodies    *semaphore.Weighted // the body budget of all hosts in flight
}

// newClient makes the client; firstByte bounds each probe's connection, TLS handshake and
// wait for response headers.
func newClient(userAgent string, firstByte time.Duration, maxBody, bodyBudget int64) (*client, error) {
	dialer := &net.Dialer{Timeout: firstByte}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true}, // we identify, we do not trust
		TLSHandshakeTimeout:    firstByte,
		ResponseHeaderTimeout:  firstByte,
		MaxResponseHeaderBytes: maxHeaderBytes,
		DisableCompression:     true,
		// One host's probes share a connection where it keeps one open.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     5 * time.Second,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
	}
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return &client{http: hc, transport: tr, userAgent: userAgent, maxBody: maxBody,
		bodies: semaphore.NewWeighted(bodyBudget)}, nil
}

// bodyFirst is the body budget a host takes first: most pages fit (nginx's default page is
// 615 bytes, a gateway's Control UI page under 2 KiB); each later step doubles what it holds, up
// to bodyStep at a time.
const (
	bodyFirst = 4 << 10
	bodyStep  = 64 << 10
)

// hostBodies is the part of the body budget one host holds, released when it is done.
type hostBodies struct{ held int64 }

type hostBodiesKey struct{}

// hold returns a context that carries one host's share of the body budget, and the func that
// gives it back once the host's responses are no longer needed.
func (c *client) hold(ctx context.Context) (context.Context, func()) {
	h := &hostBodies{}
	return context.WithValue(ctx, hostBodiesKey{}, h), func() {
		if h.held > 0 {
			c.bodies.Release(h.held)
		}
	}
}

// readBody reads at most maxBody bytes, taking the body budget a step at a time ahead of the
// bytes: it waits while other hosts hold the budget, and gives up when ctx is done.
func (c *client) readBody(ctx context.Context, r io.Reader) ([]byte, error) {
	h, _ := ctx.Value(hostBodiesKey{}).(*hostBodies)
	var data []byte
	for int64(len(data)) < c.maxBody {
		if len(data) == cap(data) {
			grow := min(max(int64(bodyFirst), min(int64(cap(data)), bodyStep)), c.maxBody-int64(len(data)))
			if h != nil {
				if err := c.bodies.Acquire(ctx, grow); err != nil {
					return data, err
				}
				h.held += grow
			}
			// Exactly what was taken: append's growth would hold more than the budget says.
			data = append(make([]byte, 0, int64(len(data))+grow), data...)
		}
		n, err := r.Read(data[len(data):min(cap(data), int(c.maxBody))])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
	return data, nil
}

// silent reports whether a probe failed because the host, having accepted the connection,
// sent no response headers within the first-byte deadline.
func silent(err error) bool {
	return strings.Contains(err.Error(), "timeout awaiting response headers")
}

func (c *client) close() { c.transport.CloseIdleConnections() }

func (c *client) do(ctx context.Context, scheme string, addr netip.AddrPort, p ProbeSpec) response {
	url := scheme + "://" + addr.String() + p.Path
	var body io.Reader
	if p.Body != "" {
		body = strings.NewReader(p.Body)
	}
	req, err := http.NewRequestWithContext(ctx, p.Method, url, body)
	if err != nil {
		return response{Err: err}
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "*/*")
	if p.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{Err: err}
	}
	defer resp.Body.Close()
	data, err := c.readBody(ctx, resp.Body)
	if err != nil && len(data) == 0 && ctx.Err() != nil {
		return response{Err: err}
	}
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if cs := resp.TLS; cs != nil {
		r.TLS = &tlsInfo{Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite)}
		if len(cs.PeerCertificates) > 0 {
			cert := cs.PeerCertificates[0]
			r.TLS.SubjectCN, r.TLS.IssuerCN, r.TLS.SANs = cert.Subject.CommonName, cert.Issuer.CommonName, cert.DNSNames
			r.TLS.SelfSigned = bytes.Equal(cert.RawIssuer, cert.RawSubject) && cert.CheckSignatureFrom(cert) == nil
			r.TLS.Expired = time.Now().After(cert.NotAfter)
		}
	}
	return r
}

// classifyErr turns a transport error into an outcome.
func classifyErr(err error) observation.Outcome {
	var tlsErr *tls.RecordHeaderError
	var netErr net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &tlsErr), strings.Contains(msg, "tls:"), strings.Contains(msg, "handshake"):
		return observation.TLSError
	case strings.Contains(msg, "connection refused"):
		return observation.Refused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout(), strings.Contains(msg, "timeout"):
		return observation.Timeout
	}
	return observation.NotHTTP
}
