package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronygo/chronygo/internal/testutil"
)

// The test network: one "hub" namespace holds a bridge and routes between
// the subnets below; every host is a namespace with one veth on that
// bridge, dual-stack, its default routes pointing at the hub. All
// addresses come from the documentation ranges.
var (
	// gateways are the hub's addresses on the bridge, one per subnet.
	gateways = []string{
		"203.0.113.1/26", "2001:db8:1:1::1/64", // upstreams and DNS
		"203.0.113.65/26", "2001:db8:1:8000::1/64", // pools' spare addresses
		"198.51.100.1/24", "2001:db8:1:2::1/64", // servers and allowed clients
		"203.0.113.129/26", "2001:db8:1:4::1/64", // a subnet not allowed
	}
	gateway4 = "203.0.113.1"
	gateway6 = "2001:db8:1:1::1"
	// serverGateway4/6 are the gateways of the servers' subnet.
	serverGateway4 = "198.51.100.1"
	serverGateway6 = "2001:db8:1:2::1"
	// outsideGateway4/6 are the gateways of the subnet not allowed.
	outsideGateway4 = "203.0.113.129"
	outsideGateway6 = "2001:db8:1:4::1"
)

// The subnets the deployment's allow lines name in the test network.
const (
	allowedSubnet4 = "198.51.100.0/24"
	allowedSubnet6 = "2001:db8:1:2::/64"
)

// host is one dual-stack machine of the test network.
type host struct {
	// role names the host in messages ("upstream u1", "server cg-a").
	role string
	ns   *testutil.Netns
	// v4 and v6 are its main addresses.
	v4, v6 netip.Addr
}

// addrs returns the host's main addresses as strings, IPv4 first.
func (h *host) addrs() []string { return []string{h.v4.String(), h.v6.String()} }

// network is the hub and the hosts attached to it.
type network struct {
	hub    *testutil.Netns
	ifaces int
}

// newNetwork creates the hub namespace with its bridge and forwarding on.
func newNetwork(t *testing.T) *network {
	t.Helper()
	hub := testutil.NewNetns(t, nsPrefix)
	hub.IP(t, "link", "add", "br0", "type", "bridge")
	for _, g := range gateways {
		testutil.CheckTestAddress(t, g)
		args := []string{"addr", "add", g, "dev", "br0"}
		if strings.Contains(g, ":") {
			args = append(args, "nodad")
		}
		hub.IP(t, args...)
	}
	hub.IP(t, "link", "set", "br0", "up")
	for _, knob := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"} {
		if out, err := hub.Command("sysctl", "-q", "-w", knob).CombinedOutput(); err != nil {
			t.Fatalf("sysctl %s in %s: %v: %s", knob, hub, err, out)
		}
	}
	return &network{hub: hub}
}

// addHost creates a namespace attached to the bridge with the given
// addresses (with prefix lengths; the first IPv4 and the first IPv6 are the
// main ones) and default routes through gw4 and gw6.
func (n *network) addHost(t *testing.T, role, gw4, gw6 string, prefixes ...string) *host {
	t.Helper()
	ns := testutil.NewNetns(t, nsPrefix)
	n.ifaces++
	hubSide := fmt.Sprintf("e2p%d", n.ifaces)
	n.hub.IP(t, "link", "add", hubSide, "type", "veth", "peer", "name", "eth0", "netns", ns.Name)
	n.hub.IP(t, "link", "set", hubSide, "master", "br0", "up")
	h := &host{role: role, ns: ns}
	for _, p := range prefixes {
		pfx := testutil.CheckTestAddress(t, p)
		args := []string{"addr", "add", p, "dev", "eth0"}
		if pfx.Addr().Is6() {
			args = append(args, "nodad")
			if !h.v6.IsValid() {
				h.v6 = pfx.Addr()
			}
		} else if !h.v4.IsValid() {
			h.v4 = pfx.Addr()
		}
		ns.IP(t, args...)
	}
	ns.IP(t, "link", "set", "eth0", "up")
	ns.IP(t, "route", "add", "default", "via", gw4)
	ns.IP(t, "-6", "route", "add", "default", "via", gw6)
	return h
}

// useDNS makes programs started in h's namespace use server as their only
// resolver: ip netns exec bind-mounts /etc/netns/NAME/resolv.conf over
// /etc/resolv.conf. The folder is removed at cleanup.
func useDNS(t *testing.T, h *host, server string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", h.ns.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	conf := fmt.Sprintf("nameserver %s\noptions timeout:1 attempts:2\n", server)
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(conf), 0o644); err != nil {
		t.Fatalf("writing resolv.conf for %s: %v", h.role, err)
	}
}
