package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testNetworks are the only networks tests may address (documentation
// ranges, RFC 5737 and RFC 3849).
var testNetworks = []netip.Prefix{
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// CheckTestAddress fails unless prefix (an address with /bits) lies in a
// documentation network that tests may use.
func CheckTestAddress(t testing.TB, prefix string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		t.Fatalf("bad test address %q: %v", prefix, err)
	}
	for _, n := range testNetworks {
		if n.Contains(p.Addr()) {
			return p
		}
	}
	t.Fatalf("test address %s is outside 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32", prefix)
	return p
}

// Netns is a network namespace created for one test.
type Netns struct {
	// Name is the namespace's name (tag plus a random suffix).
	Name string
	ip   string
}

// randomSuffix returns n random hex characters.
func randomSuffix(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// NewNetns creates a network namespace named tag plus a random suffix, with
// its loopback up. It needs root and iproute2 (skipping otherwise, failing
// under CI). At cleanup every process left in it is killed and the
// namespace, with its veths, is deleted.
func NewNetns(t testing.TB, tag string) *Netns {
	t.Helper()
	RequireRoot(t)
	ip := RequireTool(t, "ip")
	n := &Netns{Name: tag + randomSuffix(8), ip: ip}
	if out, err := exec.Command(ip, "netns", "add", n.Name).CombinedOutput(); err != nil {
		SkipOrFail(t, "cannot create network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { n.remove(t) })
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// remove kills the namespace's processes and deletes it.
func (n *Netns) remove(t testing.TB) {
	KillNetnsProcesses(n.ip, n.Name)
	if out, err := exec.Command(n.ip, "netns", "del", n.Name).CombinedOutput(); err != nil {
		t.Errorf("deleting network namespace %s: %v: %s", n.Name, err, out)
	}
}

// KillNetnsProcesses sends SIGKILL to every process inside the network
// namespace name (ip is the path of the ip command) until none is left,
// trying at most 50 times 20 ms apart. It also serves TestMain functions
// sweeping the namespaces a crashed earlier run left.
func KillNetnsProcesses(ip, name string) {
	for i := 0; i < 50; i++ {
		out, _ := exec.Command(ip, "netns", "pids", name).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// IP runs "ip -n NAME args..." and fails the test on error.
func (n *Netns) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(n.ip, append([]string{"-n", n.Name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command returns a command that runs name with args inside the namespace.
func (n *Netns) Command(name string, args ...string) *exec.Cmd {
	return exec.Command(n.ip, append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// CommandContext is Command killed when ctx ends ("ip netns exec" replaces
// itself with the program, so the kill reaches the program).
func (n *Netns) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, n.ip, append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// AddVeth connects namespaces a and b with a veth pair and gives each end
// an address (with prefix length, e.g. "198.51.100.1/24"), which must lie
// in a documentation network. The pair disappears with the namespaces.
func AddVeth(t testing.TB, a *Netns, addrA string, b *Netns, addrB string) {
	t.Helper()
	pa, pb := CheckTestAddress(t, addrA), CheckTestAddress(t, addrB)
	suffix := randomSuffix(6)
	ifA, ifB := "va"+suffix, "vb"+suffix
	a.IP(t, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b.Name)
	for _, e := range []struct {
		ns   *Netns
		name string
		p    netip.Prefix
	}{{a, ifA, pa}, {b, ifB, pb}} {
		args := []string{"addr", "add", e.p.String(), "dev", e.name}
		if e.p.Addr().Is6() {
			args = append(args, "nodad")
		}
		e.ns.IP(t, args...)
		e.ns.IP(t, "link", "set", e.name, "up")
	}
}

// String names the namespace.
func (n *Netns) String() string { return fmt.Sprintf("netns %s", n.Name) }
