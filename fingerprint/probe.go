package fingerprint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	pdhttpx "github.com/projectdiscovery/httpx/common/httpx"
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

// client sends probes with httpx's common/httpx client: no retries, no redirects, capped
// bodies, an honest User-Agent.
type client struct {
	hx        *pdhttpx.HTTPX
	userAgent string
	maxBody   int64
}

func newClient(userAgent string, timeout time.Duration, maxBody int64) (*client, error) {
	opts := pdhttpx.DefaultOptions
	opts.RandomAgent = false
	opts.DefaultUserAgent = userAgent
	opts.Timeout = timeout
	opts.RetryMax = 0
	opts.FollowRedirects = false
	opts.FollowHostRedirects = false
	opts.CdnCheck = "false"
	opts.MaxResponseBodySizeToRead = maxBody
	opts.MaxResponseBodySizeToSave = maxBody
	opts.Protocol = "http11"
	opts.TLSGrab = true // read from the handshake already made; sends nothing more
	hx, err := pdhttpx.New(&opts)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	return &client{hx: hx, userAgent: userAgent, maxBody: maxBody}, nil
}

func (c *client) close() {
	if c.hx != nil && c.hx.Dialer != nil {
		c.hx.Dialer.Close()
	}
}

func (c *client) do(ctx context.Context, scheme string, addr netip.AddrPort, p ProbeSpec) response {
	url := scheme + "://" + addr.String() + p.Path
	req, err := c.hx.NewRequestWithContext(ctx, p.Method, url)
	if err != nil {
		return response{Err: err}
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Del("Accept-Charset")
	req.Header.Set("Accept", "*/*")
	if p.Body != "" {
		req.Header.Set("Content-Type", "application/json")
		if err := req.SetBody([]byte(p.Body)); err != nil {
			return response{Err: err}
		}
	}
	resp, err := c.hx.Do(req, pdhttpx.UnsafeOptions{})
	if err != nil {
		return response{Err: err}
	}
	body := resp.Data
	if int64(len(body)) > c.maxBody {
		body = body[:c.maxBody]
	}
	r := response{Status: resp.StatusCode, Header: http.Header(resp.Headers), Body: body}
	if t := resp.TLSData; t != nil {
		r.TLS = &tlsInfo{Version: t.Version, Cipher: t.Cipher}
		if c := t.CertificateResponse; c != nil {
			r.TLS.SubjectCN, r.TLS.IssuerCN, r.TLS.SANs = c.SubjectCN, c.IssuerCN, c.SubjectAN
			r.TLS.SelfSigned, r.TLS.Expired = c.SelfSigned, c.Expired
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
