package chronyc

import (
	"crypto/md5"
	"encoding/binary"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// nameStyle says how a report column shows a source.
type nameStyle struct {
	// trunc is the column width at which a resolved name is cut with '>'
	// (0: never).
	trunc int
	// ref shows refID as text instead of an address (reference clocks).
	ref   bool
	refID uint32
	// source allows -N to ask the daemon for the configured name.
	source bool
}

// sourceName asks the daemon for the name a source was configured with; it
// fails quietly (chronyc then shows "?").
func (s *Session) configuredName(ip candm.IPAddr) (string, bool) {
	rep, ok := s.call(candm.ReqNTPSourceName, candm.Address{IP: ip}, false, candm.RpyNTPSourceName)
	if !ok {
		return "", false
	}
	name := rep.Body.(candm.SourceName).Name
	if name == "" || len(name) >= 256 {
		return "", false
	}
	for i := range len(name) {
		if name[i] <= ' ' || name[i] >= 0x7f {
			return "", false
		}
	}
	return name, true
}

// formatName returns a source or client as chronyc shows it: a reference
// clock's ID text, the configured name (-N), the address (-n or CSV) or
// the reverse-resolved name cut to the column.
func (s *Session) formatName(ip candm.IPAddr, st nameStyle) string {
	switch {
	case st.ref:
		return RefIDText(st.refID)
	case st.source && s.opts.SourceNames:
		if n, ok := s.configuredName(ip); ok {
			return n
		}
		return "?"
	case s.opts.NoDNS || s.opts.CSV || s.opts.JSON:
		return ip.String()
	}
	name := ip.String()
	if ip.Family() == candm.FamilyInet4 || ip.Family() == candm.FamilyInet6 {
		if s.res != nil {
			if n, ok := s.res.LookupAddr(ip.IP); ok && n != "" {
				name = n
			}
		}
	}
	return TruncateName(name, st.trunc)
}

// TruncateName cuts a name longer than width to width characters, the last
// one replaced by '>' (width 0 keeps it whole).
func TruncateName(name string, width int) string {
	if width > 0 && len(name) > width {
		return name[:width-1] + ">"
	}
	return name
}

// AddrRefID returns the reference ID of an address: an IPv4 address itself,
// the first four bytes of the MD5 digest of an IPv6 address, else 0.
func AddrRefID(ip candm.IPAddr) uint32 {
	switch ip.Family() {
	case candm.FamilyInet4:
		b := ip.IP.As4()
		return binary.BigEndian.Uint32(b[:])
	case candm.FamilyInet6:
		b := ip.IP.As16()
		sum := md5.Sum(b[:])
		return binary.BigEndian.Uint32(sum[:4])
	}
	return 0
}
