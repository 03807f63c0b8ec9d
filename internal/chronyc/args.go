package chronyc

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
)

// argError is a command-line syntax error with chronyc's message.
type argError string

func (e argError) Error() string { return string(e) }

// Messages chronyc prints for bad arguments.
const (
	errHostname     = argError("Could not get address for hostname")
	errMaskAddress  = argError("Invalid syntax for mask/address")
	errAddressValue = argError("Invalid syntax for address value")
	errReadAddress  = argError("Could not read address")
	errInvalidValue = argError("Invalid value")
)

// Resolver turns host names into addresses and addresses into names.
type Resolver interface {
	// LookupHost returns the addresses of a name, of the given family
	// (4, 6 or 0 for both), in the resolver's order.
	LookupHost(name string, family int) ([]netip.Addr, error)
	// LookupAddr returns the name of an address (ok false if none).
	LookupAddr(ip netip.Addr) (string, bool)
}

// parseIP reads a numeric IPv4 or IPv6 address (no zone).
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseIDAddress reads chronyc's ID#NNNN form of an unresolved source.
func parseIDAddress(s string) (candm.IPAddr, bool) {
	rest, ok := strings.CutPrefix(s, "ID#")
	if !ok {
		return candm.IPAddr{}, false
	}
	id, ok := scanUint(rest)
	if !ok || strings.HasPrefix(trimLeftSpace(rest), "-") {
		return candm.IPAddr{}, false
	}
	return candm.AddrFromID(id), true
}

// resolveOne returns the first address of a name or numeric address.
func (s *Session) resolveOne(name string) (netip.Addr, bool) {
	if a, ok := parseIP(name); ok {
		if (s.opts.Family == 4 && !a.Is4()) || (s.opts.Family == 6 && !a.Is6()) {
			return netip.Addr{}, false
		}
		return a, true
	}
	if s.res == nil || name == "" {
		return netip.Addr{}, false
	}
	addrs, err := s.res.LookupHost(name, s.opts.Family)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, false
	}
	return addrs[0], true
}

// sourceAddress reads a source given as ID#N, an address or a host name.
func (s *Session) sourceAddress(word string) (candm.IPAddr, bool) {
	if a, ok := parseIDAddress(word); ok {
		return a, true
	}
	if a, ok := s.resolveOne(word); ok {
		return candm.AddrFrom(a), true
	}
	return candm.IPAddr{}, false
}

// sourceOrRefID reads a source address (no host names, to avoid clashes)
// or a reference ID of up to four characters.
func sourceOrRefID(word string) (candm.IPAddr, uint32, bool) {
	if a, ok := parseIDAddress(word); ok {
		return a, 0, true
	}
	if a, ok := parseIP(word); ok {
		return candm.AddrFrom(a), 0, true
	}
	if word == "" || len(word) > 4 {
		return candm.IPAddr{}, 0, false
	}
	var id uint32
	for i := range len(word) {
		id |= uint32(word[i]) << uint(24-8*i)
	}
	return candm.IPAddr{}, id, true
}

// maskFromBits builds the mask of a prefix length in the family of addr
// (out-of-range lengths mean the full mask; an ID has no mask).
func maskFromBits(bits int, addr candm.IPAddr) candm.IPAddr {
	switch addr.Family() {
	case candm.FamilyInet4:
		if bits < 0 || bits > 32 {
			bits = 32
		}
		var b [4]byte
		fillMask(b[:], bits)
		return candm.AddrFrom(netip.AddrFrom4(b))
	case candm.FamilyInet6:
		if bits < 0 || bits > 128 {
			bits = 128
		}
		var b [16]byte
		fillMask(b[:], bits)
		return candm.AddrFrom(netip.AddrFrom16(b))
	}
	return candm.IPAddr{}
}

func fillMask(b []byte, bits int) {
	for i := range b {
		switch {
		case bits >= 8:
			b[i] = 0xff
			bits -= 8
		case bits > 0:
			b[i] = byte(0xff << uint(8-bits))
			bits = 0
		}
	}
}

// maskAddress reads [[MASK/]ADDRESS] or ADDRESS/BITS (online, offline,
// burst): an empty argument selects all sources.
func (s *Session) maskAddress(arg string) (mask, addr candm.IPAddr, err error) {
	if arg == "" {
		return candm.IPAddr{}, candm.IPAddr{}, nil
	}
	if first, second, ok := strings.Cut(arg, "/"); ok {
		m, ok := parseIP(first)
		if !ok {
			return mask, addr, errMaskAddress
		}
		if a, ok := parseIP(second); ok {
			if a.Is4() != m.Is4() {
				return mask, addr, errMaskAddress
			}
			return candm.AddrFrom(m), candm.AddrFrom(a), nil
		}
		if bits, ok := scanUint(second); ok {
			a := candm.AddrFrom(m)
			return maskFromBits(int(int32(bits)), a), a, nil
		}
		return mask, addr, errMaskAddress
	}
	a, ok := s.sourceAddress(arg)
	if !ok {
		return mask, addr, errHostname
	}
	return maskFromBits(-1, a), a, nil
}

// addressInt reads "ADDRESS VALUE" with an integer value.
func (s *Session) addressInt(arg string) (candm.IPAddr, int32, error) {
	host, rest := splitWord(arg)
	v, ok := scanInt(rest)
	if !ok {
		return candm.IPAddr{}, 0, errAddressValue
	}
	a, ok := s.sourceAddress(host)
	if !ok {
		return candm.IPAddr{}, 0, errHostname
	}
	return a, int32(v), nil
}

// addressFloat reads "ADDRESS VALUE" with a floating-point value.
func (s *Session) addressFloat(arg string) (candm.IPAddr, float64, error) {
	host, rest := splitWord(arg)
	v, ok := scanFloat(rest)
	if !ok {
		return candm.IPAddr{}, 0, errAddressValue
	}
	a, ok := s.sourceAddress(host)
	if !ok {
		return candm.IPAddr{}, 0, errHostname
	}
	return a, v, nil
}

// allowDeny reads the argument of allow/deny/cmdallow/cmddeny:
// [all] [SUBNET], where SUBNET is an address with an optional /BITS, a
// shortened IPv4 network (1, 1.2 or 1.2.3) or a host name.
func (s *Session) allowDeny(arg string) (all bool, subnet candm.Subnet, ok bool) {
	first, rest := splitWord(arg)
	net := first
	if first == "all" {
		all = true
		net, rest = splitWord(rest)
	}
	if rest != "" {
		return false, subnet, false
	}
	if net == "" {
		return all, candm.Subnet{}, true
	}
	bits := -1
	if before, after, found := strings.Cut(net, "/"); found {
		b, ok := scanInt(after)
		if !ok || b < 0 || !isDecimal(after) {
			return false, subnet, false
		}
		bits, net = int(b), before
	}
	if a, ok := parseIP(net); ok {
		if bits < 0 {
			bits = 32
			if a.Is6() {
				bits = 128
			}
		}
		return all, candm.Subnet{IP: candm.AddrFrom(a), Bits: int32(bits)}, true
	}
	if a, n, ok := shortIPv4(net); ok {
		if bits < 0 {
			bits = n * 8
		}
		return all, candm.Subnet{IP: candm.AddrFrom(a), Bits: int32(bits)}, true
	}
	if bits < 0 {
		if a, ok := s.resolveOne(net); ok {
			bits = 32
			if a.Is6() {
				bits = 128
			}
			return all, candm.Subnet{IP: candm.AddrFrom(a), Bits: int32(bits)}, true
		}
	}
	return false, subnet, false
}

// isDecimal reports whether s is an optionally signed run of digits.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// shortIPv4 reads 1 to 3 dot-separated decimal numbers as an IPv4 network
// and returns it with the number of parts.
func shortIPv4(s string) (netip.Addr, int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return netip.Addr{}, 0, false
	}
	var b [4]byte
	for i, p := range parts {
		if !isDecimal(p) || strings.ContainsAny(p, "+-") {
			return netip.Addr{}, 0, false
		}
		v, ok := scanInt(p)
		if !ok || v > 255 {
			return netip.Addr{}, 0, false
		}
		b[i] = byte(v)
	}
	return netip.AddrFrom4(b), len(parts), true
}

// parseLocal reads the options of the local command (chronyd's defaults:
// stratum 10, distance 1, waitunsynced 300 with orphan).
func parseLocal(arg string) (candm.Local, bool) {
	l := candm.Local{On: true, Stratum: 10, Distance: 1, WaitUnsynced: -1}
	for rest := arg; rest != ""; {
		var opt string
		opt, rest = splitWord(rest)
		var val string
		switch strings.ToLower(opt) {
		case "orphan":
			l.Orphan = true
			continue
		case "stratum":
			val, rest = splitWord(rest)
			v, ok := scanInt(val)
			if !ok || v < 1 || v > 15 {
				return l, false
			}
			l.Stratum = int32(v)
			continue
		case "distance", "activate", "waitsynced", "waitunsynced":
		default:
			return l, false
		}
		val, rest = splitWord(rest)
		v, ok := scanFloat(val)
		if !ok {
			return l, false
		}
		switch strings.ToLower(opt) {
		case "distance":
			l.Distance = v
		case "activate":
			l.Activate = v
		case "waitsynced":
			l.WaitSynced = v
		default:
			l.WaitUnsynced = v
		}
	}
	if l.WaitUnsynced < 0 {
		l.WaitUnsynced = 0
		if l.Orphan {
			l.WaitUnsynced = 300
		}
	}
	return l, true
}

// selectOption maps a selection option name to its SelectOption bit.
func selectOption(name string) uint32 {
	switch strings.ToLower(name) {
	case "noselect":
		return candm.SelectOptionNoselect
	case "prefer":
		return candm.SelectOptionPrefer
	case "trust":
		return candm.SelectOptionTrust
	case "require":
		return candm.SelectOptionRequire
	}
	return 0
}

// selectOptionsToAddSrc converts SelectOption bits to ADD_SOURCE flags.
func selectOptionsToAddSrc(o uint32) uint32 {
	var f uint32
	for _, m := range [...][2]uint32{{candm.SelectOptionNoselect, candm.AddSrcNoselect},
		{candm.SelectOptionPrefer, candm.AddSrcPrefer}, {candm.SelectOptionTrust, candm.AddSrcTrust},
		{candm.SelectOptionRequire, candm.AddSrcRequire}} {
		if o&m[0] != 0 {
			f |= m[1]
		}
	}
	return f
}

// parseAddSource reads "server|pool|peer NAME [options]" with the option
// language of chrony.conf; the message is chronyc's on failure.
func (s *Session) parseAddSource(arg string) (candm.AddSource, error) {
	kind, rest := splitWord(arg)
	var typ uint32
	switch strings.ToLower(kind) {
	case "server":
		typ = candm.SourceTypeServer
	case "peer":
		typ = candm.SourceTypePeer
	case "pool":
		typ = candm.SourceTypePool
	default:
		return candm.AddSource{}, argError("Invalid syntax for add command")
	}
	cfg, err := conf.Parse(strings.NewReader(strings.ToLower(kind)+" "+rest+"\n"), "chronyc")
	if err != nil {
		var ce *conf.Error
		msg := err.Error()
		if errors.As(err, &ce) {
			msg = ce.Msg
		}
		switch {
		case strings.HasPrefix(msg, "Invalid option"):
			return candm.AddSource{}, argError("Invalid option in add command")
		case strings.HasPrefix(msg, "Invalid value"):
			return candm.AddSource{}, argError("Invalid value in add command")
		}
		return candm.AddSource{}, argError("Invalid syntax for add command")
	}
	if len(cfg.Sources) != 1 {
		return candm.AddSource{}, argError("Invalid syntax for add command")
	}
	src := cfg.Sources[0]
	if len(src.Name) >= 256 {
		return candm.AddSource{}, argError("Invalid host/IP address")
	}
	if _, ok := s.resolveOne(src.Name); !ok {
		return candm.AddSource{}, argError("Invalid host/IP address")
	}
	o := src.Options
	b := candm.AddSource{
		Type: typ, Name: src.Name, Port: uint32(src.Port),
		Minpoll: int32(o.MinPoll), Maxpoll: int32(o.MaxPoll), PresendMinpoll: int32(o.Presend),
		MinStratum: uint32(o.MinStratum), PollTarget: uint32(o.PollTarget), Version: uint32(o.Version),
		MaxSources: uint32(o.MaxSources), MinSamples: int32(o.MinSamples), MaxSamples: int32(o.MaxSamples),
		AuthKey: o.Key, NTSPort: uint32(o.NTSPort), MaxDelay: o.MaxDelay, MaxDelayRatio: o.MaxDelayRatio,
		MaxDelayDevRatio: o.MaxDelayDevRatio, MinDelay: o.MinDelay, Asymmetry: o.Asymmetry,
		Offset: o.Offset, FilterLength: int32(o.Filter), CertSet: o.CertSet,
		MaxDelayQuant: o.MaxDelayQuant, MaxUnreach: int32(o.MaxUnreach),
	}
	flags := map[uint32]bool{
		candm.AddSrcOnline: !o.Offline, candm.AddSrcAutoOffline: o.AutoOffline,
		candm.AddSrcIburst: o.IBurst, candm.AddSrcInterleaved: o.XLeave, candm.AddSrcBurst: o.Burst,
		candm.AddSrcNTS: o.NTS, candm.AddSrcCopy: o.Copy,
		candm.AddSrcExtFieldMonoRoot: o.ExtFieldMonoRoot, candm.AddSrcExtFieldNetCorrection: o.ExtFieldNetCorr,
		candm.AddSrcIPv4: src.Family == conf.FamilyIPv4, candm.AddSrcIPv6: src.Family == conf.FamilyIPv6,
		candm.AddSrcPrefer: o.Prefer, candm.AddSrcNoselect: o.NoSelect, candm.AddSrcTrust: o.Trust,
		candm.AddSrcRequire: o.Require,
	}
	for bit, on := range flags {
		if on {
			b.Flags |= bit
		}
	}
	return b, nil
}
