package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// AllowedHost reports whether a request whose Host header is host may be answered by a view
// listening on listen (host:port; "" is loopback on any port) that also answers to the names
// in hosts (NAME or NAME:PORT). See Config.Listen.
func AllowedHost(listen string, hosts []string, host string) bool {
	name, port := splitHost(host)
	if name == "" {
		return false
	}
	for _, h := range hosts {
		if hn, hp := splitHost(h); strings.EqualFold(hn, name) && (hp == "" || hp == port) {
			return true
		}
	}
	lname, lport := splitHost(listen)
	if port != "" && lport != "" && port != lport {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(name)
	if err != nil {
		return lname != "" && strings.EqualFold(name, lname) // the listen address was a name
	}
	if a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	la, lerr := netip.ParseAddr(lname)
	switch {
	case lname == "" || strings.EqualFold(lname, "localhost"):
		return a.IsLoopback()
	case lerr != nil:
		return false
	case la.IsUnspecified():
		return true
	}
	return a == la.Unmap()
}

// splitHost splits host[:port] ("[v6]:port", "[v6]", "v6" too); the name is lowercased
// only by the callers' comparisons.
func splitHost(hostport string) (name, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		return hostport[1 : len(hostport)-1], ""
	}
	return hostport, ""
}

// crossSite reports whether r, which is not a plain top-level navigation, was made by a page
// of another origin: its Sec-Fetch-Site says so (same-site too: another port of this host is
// another program), or, from a browser that does not send Sec-Fetch-Site, its Origin is not
// this host. A navigation shows the page to the person only, so a link from elsewhere works;
// a request without either header is not from a browser's page.
func crossSite(r *http.Request) bool {
	dest := r.Header.Get("Sec-Fetch-Dest")
	if r.Header.Get("Sec-Fetch-Mode") == "navigate" && (dest == "document" || dest == "") &&
		(r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default:
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host)
}

var hostName = regexp.MustCompile(`^(?i:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.(?i:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?))*(:[0-9]{1,5})?$`)

// checkHosts refuses a --host that is not a DNS name or IP literal, with an optional port.
func checkHosts(hosts []string) error {
	for _, h := range hosts {
		name, _ := splitHost(h)
		if _, err := netip.ParseAddr(name); (err != nil || strings.Contains(name, "%")) && !hostName.MatchString(h) {
			return fmt.Errorf("--host %q: want a DNS name or an IP address, optionally with :PORT", h)
		}
	}
	return nil
}
