package cmdmon

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// udpEndpoint reads requests and sends replies on a UDP command socket. On
// a socket bound to the wildcard address it answers from the address the
// request was sent to (as chronyd does with IP_PKTINFO), so that replies on
// multi-homed hosts come from the address chronyc expects.
type udpEndpoint interface {
	read(b []byte) (n int, from netip.AddrPort, dst netip.Addr, ifIndex int, err error)
	write(b []byte, to netip.AddrPort, src netip.Addr, ifIndex int) error
}

// newUDPEndpoint wraps conn, asking for destination addresses when it is
// bound to the wildcard address.
func newUDPEndpoint(conn *net.UDPConn) udpEndpoint {
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
	if !local.IsUnspecified() {
		return plainUDP{conn}
	}
	if local.Is4() {
		pc := ipv4.NewPacketConn(conn)
		if pc.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true) == nil {
			return pktinfo4{pc}
		}
	} else {
		pc := ipv6.NewPacketConn(conn)
		if pc.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true) == nil {
			return pktinfo6{pc}
		}
	}
	return plainUDP{conn}
}

type plainUDP struct{ c *net.UDPConn }

func (p plainUDP) read(b []byte) (int, netip.AddrPort, netip.Addr, int, error) {
	n, from, err := p.c.ReadFromUDPAddrPort(b)
	return n, from, netip.Addr{}, 0, err
}

func (p plainUDP) write(b []byte, to netip.AddrPort, _ netip.Addr, _ int) error {
	_, err := p.c.WriteToUDPAddrPort(b, to)
	return err
}

type pktinfo4 struct{ c *ipv4.PacketConn }

func (p pktinfo4) read(b []byte) (int, netip.AddrPort, netip.Addr, int, error) {
	n, cm, src, err := p.c.ReadFrom(b)
	if err != nil {
		return 0, netip.AddrPort{}, netip.Addr{}, 0, err
	}
	var dst netip.Addr
	ifIndex := 0
	if cm != nil {
		dst, _ = netip.AddrFromSlice(cm.Dst.To4())
		ifIndex = cm.IfIndex
	}
	return n, udpAddrPort(src), dst, ifIndex, nil
}

func (p pktinfo4) write(b []byte, to netip.AddrPort, src netip.Addr, _ int) error {
	var cm *ipv4.ControlMessage
	if src.IsValid() {
		cm = &ipv4.ControlMessage{Src: src.AsSlice()}
	}
	_, err := p.c.WriteTo(b, cm, net.UDPAddrFromAddrPort(to))
	return err
}

type pktinfo6 struct{ c *ipv6.PacketConn }

func (p pktinfo6) read(b []byte) (int, netip.AddrPort, netip.Addr, int, error) {
	n, cm, src, err := p.c.ReadFrom(b)
	if err != nil {
		return 0, netip.AddrPort{}, netip.Addr{}, 0, err
	}
	var dst netip.Addr
	ifIndex := 0
	if cm != nil {
		dst, _ = netip.AddrFromSlice(cm.Dst)
		ifIndex = cm.IfIndex
	}
	return n, udpAddrPort(src), dst, ifIndex, nil
}

func (p pktinfo6) write(b []byte, to netip.AddrPort, src netip.Addr, ifIndex int) error {
	var cm *ipv6.ControlMessage
	if src.IsValid() {
		cm = &ipv6.ControlMessage{Src: src.AsSlice()}
		// Only replies to link-local clients must leave by the interface
		// the request came in on.
		if to.Addr().IsLinkLocalUnicast() {
			cm.IfIndex = ifIndex
		}
	}
	_, err := p.c.WriteTo(b, cm, net.UDPAddrFromAddrPort(to))
	return err
}

func udpAddrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	return netip.AddrPort{}
}
