package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// SecurityProtocol is a Kafka security protocol name.
type SecurityProtocol string

// The security protocols Kafka defines, in Kafka's enum order.
const (
	ProtocolPlaintext     SecurityProtocol = "PLAINTEXT"
	ProtocolSSL           SecurityProtocol = "SSL"
	ProtocolSASLPlaintext SecurityProtocol = "SASL_PLAINTEXT"
	ProtocolSASLSSL       SecurityProtocol = "SASL_SSL"
)

var securityProtocols = []SecurityProtocol{ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL}

// TLS reports whether connections using the protocol are encrypted.
func (p SecurityProtocol) TLS() bool { return p == ProtocolSSL || p == ProtocolSASLSSL }

// SASL reports whether connections using the protocol authenticate with SASL.
func (p SecurityProtocol) SASL() bool { return p == ProtocolSASLPlaintext || p == ProtocolSASLSSL }

// ParseSecurityProtocol parses a protocol name case-insensitively, as Kafka's
// SecurityProtocol.forName(value.toUpperCase) does.
func ParseSecurityProtocol(s string) (SecurityProtocol, error) {
	p := SecurityProtocol(strings.ToUpper(strings.TrimSpace(s)))
	for _, known := range securityProtocols {
		if p == known {
			return p, nil
		}
	}
	return "", fmt.Errorf("Unknown security protocol %q; expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", s)
}

// Listener is one endpoint of listeners or advertised.listeners.
type Listener struct {
	// Name is the listener name, upper-cased as Kafka normalises it.
	Name string
	// Host is the host or IP; "" binds every interface (Kafka's
	// "PLAINTEXT://:9092"). IPv6 literals are stored without brackets.
	Host string
	// Port is the TCP port; 0 lets the OS choose (tests), after which the
	// server must put the bound port into the advertised listener.
	Port int
	// SecurityProtocol is resolved through listener.security.protocol.map;
	// it is empty in the output of ParseListeners.
	SecurityProtocol SecurityProtocol
}

// Addr returns host:port for net.Listen / net.Dial (IPv6 bracketed).
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// String returns the listener in Kafka's NAME://host:port form.
func (l Listener) String() string { return l.Name + "://" + l.Addr() }

// listenerRE is Kafka's EndPoint uriParseExp, anchored at both ends as a
// Scala pattern match is.
var listenerRE = regexp.MustCompile(`^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$`)

// ParseListener parses one NAME://host:port endpoint.
func ParseListener(s string) (Listener, error) {
	m := listenerRE.FindStringSubmatch(s)
	if m == nil || m[1] == "" {
		return Listener{}, fmt.Errorf("Unable to parse %q to a listener: expected NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092", s)
	}
	port, err := strconv.Atoi(m[3])
	if err != nil || port < 0 || port > 65535 {
		return Listener{}, fmt.Errorf("Invalid port in listener %q: must be between 0 and 65535", s)
	}
	return Listener{Name: strings.ToUpper(m[1]), Host: m[2], Port: port}, nil
}

// ParseListeners parses a comma-separated listener list, rejecting duplicate
// names and two listeners on one non-zero port, as Kafka's
// listenerListToEndPoints does. An empty string gives an empty list.
func ParseListeners(s string) ([]Listener, error) {
	var out []Listener
	for _, part := range csv(s) {
		l, err := ParseListener(part)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	names := map[string]bool{}
	for _, l := range out {
		if names[l.Name] {
			return nil, fmt.Errorf("Each listener must have a different name, listeners: %s", s)
		}
		names[l.Name] = true
	}
	for i, a := range out {
		for _, b := range out[i+1:] {
			if a.Port != 0 && a.Port == b.Port && !ipv4AndIPv6(a.Host, b.Host) {
				return nil, fmt.Errorf("Each listener must have a different port unless exactly one listener has an IPv4 address and the other IPv6 address, listeners: %s", s)
			}
		}
	}
	return out, nil
}

func ipv4AndIPv6(a, b string) bool {
	ia, ib := net.ParseIP(a), net.ParseIP(b)
	if ia == nil || ib == nil {
		return false
	}
	return (ia.To4() != nil) != (ib.To4() != nil)
}

// ParseSecurityProtocolMap parses listener.security.protocol.map
// ("NAME:PROTOCOL,..."); names are upper-cased and must be unique.
func ParseSecurityProtocolMap(s string) (map[string]SecurityProtocol, error) {
	out := map[string]SecurityProtocol{}
	for _, part := range csv(s) {
		name, proto, ok := strings.Cut(part, ":")
		name = strings.ToUpper(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, fmt.Errorf("Error parsing listener.security.protocol.map entry %q: expected LISTENER_NAME:SECURITY_PROTOCOL", part)
		}
		p, err := ParseSecurityProtocol(proto)
		if err != nil {
			return nil, fmt.Errorf("Error parsing listener.security.protocol.map entry %q: %v", part, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("Error parsing listener.security.protocol.map: listener %s appears twice", name)
		}
		out[name] = p
	}
	return out, nil
}

// QuorumVoter is one entry of controller.quorum.voters.
type QuorumVoter struct {
	ID   int32
	Host string
	Port int
}

// Addr returns host:port.
func (v QuorumVoter) Addr() string { return net.JoinHostPort(v.Host, strconv.Itoa(v.Port)) }

// ParseQuorumVoters parses controller.quorum.voters entries "{id}@{host}:{port}".
func ParseQuorumVoters(entries []string) ([]QuorumVoter, error) {
	var out []QuorumVoter
	ids := map[int32]bool{}
	for _, e := range entries {
		idStr, hp, ok := strings.Cut(e, "@")
		if !ok {
			return nil, fmt.Errorf("Invalid controller.quorum.voters entry %q: expected {id}@{host}:{port}", e)
		}
		id, err := strconv.ParseInt(idStr, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("Invalid controller.quorum.voters entry %q: the id must be a non-negative integer", e)
		}
		host, port, err := splitHostPort(hp)
		if err != nil {
			return nil, fmt.Errorf("Invalid controller.quorum.voters entry %q: %v", e, err)
		}
		if ids[int32(id)] {
			return nil, fmt.Errorf("Invalid controller.quorum.voters: id %d appears twice", id)
		}
		ids[int32(id)] = true
		out = append(out, QuorumVoter{ID: int32(id), Host: host, Port: port})
	}
	return out, nil
}

func splitHostPort(s string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", 0, fmt.Errorf("Invalid address %q: expected host:port", s)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("Invalid port in %q: must be between 0 and 65535", s)
	}
	return host, port, nil
}

// csv splits as Kafka's Csv.parseCsvList: on commas, trimming whitespace and
// dropping empty entries.
func csv(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
