package conf

import (
	"fmt"
	"net/netip"
	"strings"
)

// AccessRule is one allow, deny, cmdallow or cmddeny directive.
//
// chronyd's forms: no argument (every IPv4 and IPv6 address), an address,
// an address with "/bits", a shortened IPv4 network of one to three numbers
// ("10", "192.168", "1.2.3", optionally with "/bits"), or a host name; each
// optionally preceded by "all", which makes the rule override earlier, more
// specific rules.
type AccessRule struct {
	Allow bool // allow/cmdallow (true) or deny/cmddeny (false)
	All   bool // the "all" keyword was given
	// Subnet is the address, network or host name as written; empty for
	// the form without argument.
	Subnet string
	// Host is set when Subnet is a host name, which the daemon resolves
	// (chronyd resolves it while parsing; a name that does not resolve makes
	// chronyd reject the line).
	Host bool
	// Bits is the prefix length chronyd uses: 0 for the empty form, the
	// written "/bits", else 32 or 128 for an address, 8 per number for a
	// shortened IPv4 network, -1 for a host name (32/128 once resolved).
	// chronyd accepts any bits >= 0 while parsing and refuses lengths longer
	// than the address when it sets the rules up ("Bad subnet").
	Bits int
	// Addr is the address as written (not masked), invalid for the empty
	// form and host names. chronyd reports an oversized Bits as
	// "Bad subnet in ADDR/BITS".
	Addr netip.Addr
	// Prefix is the network for address forms when Bits fits the address;
	// invalid for the empty form, host names and oversized Bits.
	Prefix netip.Prefix

	// Directive, File and Line say where the rule was written (Directive as
	// spelt there), for the daemon's messages about it.
	Directive string
	File      string
	Line      int
}

// ResolveError is the error chronyd reports when the host name of a rule
// does not resolve: "Could not parse allow directive at line N in file F".
func (r AccessRule) ResolveError() *Error {
	return &Error{File: r.File, Line: r.Line, Msg: fmt.Sprintf("Could not parse %s directive", r.Directive)}
}

// parseIP is inet_pton for IPv4 then IPv6 (no zones).
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseAccessRule parses the arguments of an allow-type directive.
func parseAccessRule(args string, allow bool) (AccessRule, bool) {
	r := AccessRule{Allow: allow}
	first, rest := splitWord(args)
	net := first
	if first == "all" {
		r.All = true
		net, rest = splitWord(rest)
	}
	if rest != "" {
		return r, false
	}
	r.Subnet = net
	if net == "" {
		return r, true
	}
	bits := -1
	if i := strings.IndexByte(net, '/'); i >= 0 {
		b, n, ok := scanInt(net[i+1:])
		if !ok || i+1+n != len(net) || b < 0 {
			return r, false
		}
		bits = int(b)
		net = net[:i]
	}
	if a, ok := parseIP(net); ok {
		if bits < 0 {
			bits = a.BitLen()
		}
		r.Bits, r.Addr = bits, a
		r.Prefix = prefix(a, bits)
		return r, true
	}
	if a, n, ok := parseShortIPv4(net); ok {
		if bits < 0 {
			bits = 8 * n
		}
		r.Bits, r.Addr = bits, a
		r.Prefix = prefix(a, bits)
		return r, true
	} else if n > 0 {
		return r, false
	}
	if bits < 0 && looksLikeHostName(net) {
		r.Host, r.Bits = true, -1
		return r, true
	}
	return r, false
}

func prefix(a netip.Addr, bits int) netip.Prefix {
	if bits > a.BitLen() {
		return netip.Prefix{}
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// parseShortIPv4 reads the 1 to 3 number IPv4 network notation as chronyd
// does (sscanf "%u.%u.%u"). It returns ok when the whole text was read and
// every number fits a byte; n > 0 with !ok means chronyd rejects the rule
// outright (whole text read but a number is too large).
func parseShortIPv4(s string) (netip.Addr, int, bool) {
	var parts [3]uint32
	count, used := 0, 0
	pos := 0
	for count < 3 {
		if count > 0 {
			if pos >= len(s) || s[pos] != '.' {
				break
			}
			pos++
		}
		v, n, ok := scanUint32(s[pos:])
		if !ok {
			break
		}
		pos += n
		parts[count] = v
		count++
		used = pos
	}
	if count == 0 || used != len(s) {
		return netip.Addr{}, 0, false
	}
	for _, v := range parts {
		if v > 255 {
			return netip.Addr{}, count, false
		}
	}
	return netip.AddrFrom4([4]byte{byte(parts[0]), byte(parts[1]), byte(parts[2]), 0}), count, true
}

// looksLikeHostName accepts names a resolver could know: letters, digits,
// '-', '_' and '.', not made only of digits and dots.
func looksLikeHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	numeric := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
			numeric = false
		case isDigit(c), c == '.':
		default:
			return false
		}
	}
	return !numeric
}

func parseAccess(p *parser, args string, rules *[]AccessRule, allow bool) error {
	r, ok := parseAccessRule(args, allow)
	if !ok {
		return p.parseError()
	}
	r.Directive, r.File, r.Line = p.command, p.file, p.line
	*rules = append(*rules, r)
	return nil
}
