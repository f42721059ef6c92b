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
}

func newClient(userAgent string, timeout time.Duration, maxBody int64) (*client, error) {
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true}, // we identify, we do not trust
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
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
	return &client{http: hc, transport: tr, userAgent: userAgent, maxBody: maxBody}, nil
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody))
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
func classifyErr(err error) string {
	var tlsErr *tls.RecordHeaderError
	var netErr net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &tlsErr), strings.Contains(msg, "tls:"), strings.Contains(msg, "handshake"):
		return OutcomeTLSError
	case strings.Contains(msg, "connection refused"):
		return OutcomeRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout(), strings.Contains(msg, "timeout"):
		return OutcomeTimeout
	}
	return OutcomeNotHTTP
}
