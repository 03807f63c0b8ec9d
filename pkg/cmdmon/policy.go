package cmdmon

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
)

// DefaultOpenCommands is chronyd 4.8's default opencommands list: the
// monitoring commands answered over UDP. (chrony.conf's documentation lists
// serverstats instead of sourcestats; chronyd's code, followed here, opens
// sourcestats, matching the fixed list of chronyd 4.3.)
var DefaultOpenCommands = []string{"activity", "manual", "rtcdata", "smoothing",
	"sourcename", "sources", "sourcestats", "tracking"}

// openCommandRequests maps an opencommands name (chronyc's naming) to the
// requests it opens.
var openCommandRequests = map[string][]candm.Command{
	"activity":    {candm.ReqActivity},
	"authdata":    {candm.ReqNSources, candm.ReqAuthData},
	"clients":     {candm.ReqClientAccessesByIndex3},
	"manual":      {candm.ReqManualList},
	"ntpdata":     {candm.ReqNSources, candm.ReqNTPData},
	"rtcdata":     {candm.ReqRTCReport},
	"selectdata":  {candm.ReqNSources, candm.ReqSelectData},
	"serverstats": {candm.ReqServerStats},
	"smoothing":   {candm.ReqSmoothing},
	"sourcename":  {candm.ReqNTPSourceName},
	"sources":     {candm.ReqNSources, candm.ReqSourceData},
	"sourcestats": {candm.ReqNSources, candm.ReqSourceStats},
	"tracking":    {candm.ReqTracking},
}

// OpenCommandSet is the set of requests answered over UDP.
type OpenCommandSet map[candm.Command]bool

// ParseOpenCommands turns an opencommands list (names as chronyc's, case
// insensitive) into the set of requests it opens.
func ParseOpenCommands(names []string) (OpenCommandSet, error) {
	set := OpenCommandSet{}
	for _, n := range names {
		reqs, ok := openCommandRequests[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("opencommands: unknown command %q", n)
		}
		for _, r := range reqs {
			set[r] = true
		}
	}
	return set, nil
}

// readOnlyCommands are the requests chronyd handles in its read-only group:
// the only ones that can ever be answered over UDP (and then only if open;
// accheck and cmdaccheck never are).
var readOnlyCommands = map[candm.Command]bool{
	candm.ReqAcCheck: true, candm.ReqActivity: true, candm.ReqAuthData: true,
	candm.ReqClientAccessesByIndex3: true, candm.ReqCmdAcCheck: true,
	candm.ReqManualList: true, candm.ReqNTPData: true, candm.ReqNTPSourceName: true,
	candm.ReqNSources: true, candm.ReqRTCReport: true, candm.ReqSelectData: true,
	candm.ReqServerStats: true, candm.ReqSmoothing: true, candm.ReqSourceStats: true,
	candm.ReqSourceData: true, candm.ReqTracking: true,
}

// Channel says where a request came from.
type Channel struct {
	// Unix is true for the Unix domain socket, which has full access.
	Unix bool
	// Addr is the UDP client's address (unused for Unix).
	Addr netip.Addr
}

// isLocalhost reports whether a UDP client is the loopback address of its
// family (127.0.0.1 or ::1), which chronyd always admits and never limits.
func isLocalhost(a netip.Addr) bool {
	a = a.WithZone("")
	return a == netip.IPv6Loopback() || a == netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// permitted reports whether the command may be processed on the channel;
// chronyd answers UNAUTH otherwise.
func permitted(cmd candm.Command, ch Channel, open OpenCommandSet) bool {
	if ch.Unix {
		return true
	}
	return readOnlyCommands[cmd] && open[cmd]
}

// SubnetRule converts the subnet of an allow/deny/cmdallow/cmddeny request
// into an access rule, as chronyd validates it: an unspecified address
// needs 0 bits and means every address; otherwise the prefix length must fit
// the family. ok is false where chronyd answers BADSUBNET.
func SubnetRule(allow, all bool, s candm.Subnet) (rule access.Rule, ok bool) {
	rule = access.Rule{Allow: allow, All: all}
	switch s.IP.Family() {
	case candm.FamilyUnspec:
		if s.Bits != 0 {
			return rule, false
		}
		rule.Any = true
		return rule, true
	case candm.FamilyInet4, candm.FamilyInet6:
		if s.Bits < 0 || int(s.Bits) > s.IP.IP.BitLen() {
			return rule, false
		}
		p, err := s.IP.IP.Prefix(int(s.Bits))
		if err != nil {
			return rule, false
		}
		rule.Prefix = p
		return rule, true
	default:
		return rule, false
	}
}

// addrOf returns the IP of an IPAddr for an access check (invalid for an
// unspecified address or ID, which no table admits).
func addrOf(a candm.IPAddr) netip.Addr {
	if f := a.Family(); f == candm.FamilyInet4 || f == candm.FamilyInet6 {
		return a.IP
	}
	return netip.Addr{}
}
