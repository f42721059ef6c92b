package scanner

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// The record formats of other sweepers' output, as ReadCandidates recognises them. Every
// reader returns the record's open TCP ports; a record about a closed port, a UDP port or a
// banner is a notOpen error: read past and counted, never a candidate, never a warning.

// notOpen says a record parsed but names no open TCP port.
type notOpen string

func (e notOpen) Error() string { return string(e) }

// csvColumns are the columns a CSV header names (-1: absent).
type csvColumns struct {
	addr, host, port, proto, success, class, repeat int
}

// csvHeader recognises a header line: one naming the address column (saddr, ip), as zmap -O
// csv and naabu -csv write.
func csvHeader(text string) (*csvColumns, bool) {
	if !strings.Contains(text, ",") && !strings.EqualFold(text, "saddr") && !strings.EqualFold(text, "ip") {
		return nil, false
	}
	fields, err := csvFields(text)
	if err != nil {
		return nil, false
	}
	c := &csvColumns{-1, -1, -1, -1, -1, -1, -1}
	for i, f := range fields {
		name := strings.ToLower(strings.TrimSpace(f))
		if _, err := netip.ParseAddr(name); err == nil {
			return nil, false // a data line
		}
		set := func(p *int) {
			if *p < 0 {
				*p = i
			}
		}
		switch name {
		case "saddr", "ip":
			set(&c.addr)
		case "host":
			set(&c.host)
		case "sport", "port":
			set(&c.port)
		case "protocol", "proto":
			set(&c.proto)
		case "success":
			set(&c.success)
		case "classification":
			set(&c.class)
		case "repeat":
			set(&c.repeat)
		}
	}
	if c.addr < 0 && c.host < 0 {
		return nil, false
	}
	return c, true
}

func csvFields(text string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.LazyQuotes, r.FieldsPerRecord = true, -1
	return r.Read()
}

// parseHeaderlessCSV reads a CSV line without a header (naabu -csv -o writes none): the first
// field that is an address, and the field after it as the port when it is one.
func parseHeaderlessCSV(text string, defaultPort uint16) ([]netip.AddrPort, error) {
	fields, err := csvFields(text)
	if err != nil {
		return nil, fmt.Errorf("CSV line %q: %v", text, err)
	}
	for i, f := range fields {
		a, err := parseAddr(f)
		if err != nil {
			continue
		}
		p := defaultPort
		if i+1 < len(fields) {
			if n, err := parsePort(fields[i+1]); err == nil {
				p = n
				if i+2 < len(fields) && strings.EqualFold(strings.TrimSpace(fields[i+2]), "udp") {
					return nil, fmt.Errorf("CSV line %q: %w", text, notOpen("not TCP (udp)"))
				}
			}
		}
		return []netip.AddrPort{netip.AddrPortFrom(a, p)}, nil
	}
	return nil, fmt.Errorf("CSV line %q: no field is an address", text)
}

// parse reads one data line under the header.
func (c *csvColumns) parse(text string, defaultPort uint16) ([]netip.AddrPort, error) {
	fields, err := csvFields(text)
	if err != nil {
		return nil, fmt.Errorf("CSV line %q: %v", text, err)
	}
	get := func(i int) string {
		if i < 0 || i >= len(fields) {
			return ""
		}
		return strings.TrimSpace(fields[i])
	}
	if c.addr >= len(fields) && c.host >= len(fields) {
		return nil, fmt.Errorf("CSV line %q has too few fields", text)
	}
	if err := answerState(get(c.success), get(c.class), get(c.proto)); err != nil {
		return nil, fmt.Errorf("CSV line %q: %w", text, err)
	}
	if truthy(get(c.repeat)) {
		return nil, nil // zmap's repeated answer: the first one was the record
	}
	a, err := recordAddr(get(c.addr), get(c.host))
	if err != nil {
		return nil, fmt.Errorf("CSV line %q: %v", text, err)
	}
	p := defaultPort
	if s := get(c.port); c.port >= 0 {
		if p, err = parsePort(s); err != nil {
			return nil, fmt.Errorf("CSV line %q: %v", text, err)
		}
	}
	return []netip.AddrPort{netip.AddrPortFrom(a, p)}, nil
}

// answerState refuses records that say the port is not open: zmap's success and
// classification, a protocol other than TCP.
func answerState(success, class, proto string) error {
	if success != "" && !truthy(success) {
		return notOpen("not open (success " + success + ")")
	}
	switch strings.ToLower(class) {
	case "", "synack", "open":
	default:
		return notOpen("not open (" + class + ")")
	}
	if proto != "" && !strings.EqualFold(proto, "tcp") {
		return notOpen("not TCP (" + proto + ")")
	}
	return nil
}

func truthy(s string) bool {
	switch strings.ToLower(strings.Trim(s, `" `)) {
	case "1", "true", "t", "yes":
		return true
	}
	return false
}

// recordAddr takes the address column, or a host column that holds an address (naabu names
// the host only when it differs from the IP).
func recordAddr(addr, host string) (netip.Addr, error) {
	if addr != "" {
		a, err := parseAddr(addr)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("bad address %q", addr)
		}
		return a, nil
	}
	a, err := parseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("no address (host %q is not one)", host)
	}
	return a, nil
}

// jsonRecord holds the fields of the JSON line formats: zmap's saddr/sport/success, naabu's
// ip/port/protocol, masscan -oJ's ip and ports list, masscan -oD's rec_type and data.
type jsonRecord struct {
	IP             string          `json:"ip"`
	Saddr          string          `json:"saddr"`
	Host           string          `json:"host"`
	Port           json.RawMessage `json:"port"`
	Sport          json.RawMessage `json:"sport"`
	Protocol       string          `json:"protocol"`
	Proto          string          `json:"proto"`
	RecType        string          `json:"rec_type"` // masscan -oD: status or banner
	Data           json.RawMessage `json:"data"`
	Success        json.RawMessage `json:"success"`
	Classification string          `json:"classification"`
	Repeat         json.RawMessage `json:"repeat"`
	Ports          []struct {
		Port    json.RawMessage `json:"port"`
		Proto   string          `json:"proto"`
		Status  string          `json:"status"`
		Service json.RawMessage `json:"service"`
	} `json:"ports"`
}

// parseJSONCandidate reads one JSON object, with the commas of a JSON array around it.
func parseJSONCandidate(text string, defaultPort uint16) ([]netip.AddrPort, error) {
	obj := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.TrimLeft(text, ", ")), ","))
	var rec jsonRecord
	if err := json.Unmarshal([]byte(obj), &rec); err != nil {
		return nil, fmt.Errorf("JSON line %q: %v", text, err)
	}
	proto := rec.Protocol
	if proto == "" {
		proto = rec.Proto
	}
	if err := answerState(jsonScalar(rec.Success), rec.Classification, proto); err != nil {
		return nil, fmt.Errorf("JSON line %q: %w", text, err)
	}
	switch rec.RecType {
	case "", "status":
		var data struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(rec.Data, &data) == nil && data.Status != "" && !strings.EqualFold(data.Status, "open") {
			return nil, fmt.Errorf("JSON line %q: %w", text, notOpen("not open ("+data.Status+")"))
		}
	case "banner":
		return nil, fmt.Errorf("JSON line %q: %w", text, notOpen("a banner, not a port"))
	default:
		return nil, fmt.Errorf("JSON line %q: %w", text, notOpen("a "+rec.RecType+" record, not a port"))
	}
	if truthy(jsonScalar(rec.Repeat)) {
		return nil, nil
	}
	addr := rec.IP
	if addr == "" {
		addr = rec.Saddr
	}
	a, err := recordAddr(addr, rec.Host)
	if err != nil {
		return nil, fmt.Errorf("JSON line %q: %v", text, err)
	}
	if rec.Ports != nil {
		var out []netip.AddrPort
		why := "no ports"
		for _, p := range rec.Ports {
			switch {
			case p.Status == "" && len(p.Service) > 0:
				why = "a banner, not a port"
				continue
			case p.Status != "" && !strings.EqualFold(p.Status, "open"):
				why = "not open (" + p.Status + ")"
				continue
			case p.Proto != "" && !strings.EqualFold(p.Proto, "tcp"):
				why = "not TCP (" + p.Proto + ")"
				continue
			}
			n, err := parsePort(jsonScalar(p.Port))
			if err != nil {
				return nil, fmt.Errorf("JSON line %q: %v", text, err)
			}
			out = append(out, netip.AddrPortFrom(a, n))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("JSON line %q: %w", text, notOpen(why))
		}
		return out, nil
	}
	port := jsonScalar(rec.Port)
	if port == "" {
		port = jsonScalar(rec.Sport)
	}
	if port == "" {
		return []netip.AddrPort{netip.AddrPortFrom(a, defaultPort)}, nil
	}
	n, err := parsePort(port)
	if err != nil {
		return nil, fmt.Errorf("JSON line %q: %v", text, err)
	}
	return []netip.AddrPort{netip.AddrPortFrom(a, n)}, nil
}

// jsonScalar is a JSON number, string or boolean as text ("" when absent or null).
func jsonScalar(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "null" {
		return ""
	}
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// parseGrepable reads one line of nmap's or masscan's grepable output:
// "Host: IP (name)<TAB>Ports: PORT/STATE/PROTO/..., ...". A host line without ports (nmap's
// "Status: Up") is no record.
func parseGrepable(text string) ([]netip.AddrPort, error) {
	_, host, ok := strings.Cut(text, "Host:")
	if !ok {
		return nil, fmt.Errorf("grepable line %q: no Host field", text)
	}
	f := strings.Fields(host)
	if len(f) == 0 {
		return nil, fmt.Errorf("grepable line %q: no address", text)
	}
	a, err := parseAddr(f[0])
	if err != nil {
		return nil, fmt.Errorf("grepable line %q: bad address", text)
	}
	_, ports, ok := strings.Cut(text, "Ports:")
	if !ok {
		return nil, nil
	}
	ports, _, _ = strings.Cut(ports, "\t")
	ports, _, _ = strings.Cut(ports, "Ignored State:")
	var out []netip.AddrPort
	why := "no ports"
	for _, entry := range strings.Split(ports, ",") {
		parts := strings.Split(strings.TrimSpace(entry), "/")
		if len(parts) < 3 {
			continue
		}
		if !strings.EqualFold(parts[1], "open") {
			why = "not open (" + parts[1] + ")"
			continue
		}
		if !strings.EqualFold(parts[2], "tcp") {
			why = "not TCP (" + parts[2] + ")"
			continue
		}
		p, err := parsePort(parts[0])
		if err != nil {
			return nil, fmt.Errorf("grepable line %q: %v", text, err)
		}
		out = append(out, netip.AddrPortFrom(a, p))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("grepable line %q: %w", text, notOpen(why))
	}
	return out, nil
}

// readXMLCandidates reads nmap -oX or masscan -oX: each <host> element's address and its open
// TCP <port> elements. A file that ends early or breaks yields what came before and one skip.
func readXMLCandidates(r io.Reader, emit func(int, string, []netip.AddrPort) error, skipped func(CandidateSkip)) error {
	dec := xml.NewDecoder(r)
	dec.Strict = false // nmap's DOCTYPE and stylesheet, HTML entities in script output
	var (
		inHost, inPort      bool
		hostLine            int
		addr                netip.Addr
		addrErr             string
		ports               []uint16
		portID, proto, stat string
		why                 string
		hosts               int
	)
	attr := func(se xml.StartElement, name string) string {
		for _, a := range se.Attr {
			if a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			skipped(CandidateSkip{Line: line, Reason: fmt.Sprintf("the XML breaks here (%v): the hosts before it were read", err)})
			return nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "host":
				inHost, inPort = true, false
				hostLine, _ = dec.InputPos()
				addr, addrErr, ports, why = netip.Addr{}, "", nil, "no ports"
			case "address":
				if !inHost {
					continue
				}
				switch kind := attr(t, "addrtype"); kind {
				case "", "ipv4", "ipv6":
					if addr.IsValid() {
						continue
					}
					a, err := parseAddr(attr(t, "addr"))
					if err != nil {
						addrErr = fmt.Sprintf("bad address %q", attr(t, "addr"))
						continue
					}
					addr = a
				}
			case "port":
				if inHost {
					inPort, portID, proto, stat = true, attr(t, "portid"), attr(t, "protocol"), ""
				}
			case "state":
				if inPort {
					stat = attr(t, "state")
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "port":
				if !inPort {
					continue
				}
				inPort = false
				switch {
				case !strings.EqualFold(stat, "open"):
					why = "not open (" + stat + ")"
				case proto != "" && !strings.EqualFold(proto, "tcp"):
					why = "not TCP (" + proto + ")"
				default:
					p, err := parsePort(portID)
					if err != nil {
						why = err.Error()
						continue
					}
					ports = append(ports, p)
				}
			case "host":
				if !inHost {
					continue
				}
				inHost = false
				hosts++
				text := "<host> " + addr.String()
				switch {
				case !addr.IsValid() && addrErr != "":
					skipped(CandidateSkip{Line: hostLine, Text: text, Reason: addrErr})
				case !addr.IsValid():
					skipped(CandidateSkip{Line: hostLine, Text: text, Reason: "no IP address"})
				case len(ports) == 0:
					skipped(CandidateSkip{Line: hostLine, Text: text, Reason: why, NotOpen: true})
				default:
					aps := make([]netip.AddrPort, len(ports))
					for i, p := range ports {
						aps[i] = netip.AddrPortFrom(addr, p)
					}
					if err := emit(hostLine, text, aps); err != nil {
						return callerError{err}
					}
				}
			}
		}
	}
	if hosts == 0 {
		skipped(CandidateSkip{Line: 1, Reason: "an XML file without <host> elements: not nmap or masscan output"})
	}
	return nil
}
