package faults

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/fakentp"
	"github.com/chronygo/chronygo/internal/procwatch"
	"github.com/chronygo/chronygo/internal/testutil"
)

// The test network: the upstream namespace holds every NTP and DNS server
// on addresses of 203.0.113.0/24; the client namespace holds chronygo (and
// the reference chronyd) on clientAddr.
const (
	clientAddr = "203.0.113.100"
	dnsAddr    = "203.0.113.53"
)

// upstreamAddr returns the i-th upstream address (i from 1 to 49).
func upstreamAddr(i int) string { return fmt.Sprintf("203.0.113.%d", i) }

// bed is the network of one scenario.
type bed struct {
	up, client *testutil.Netns
	// upDev is the upstream namespace's veth, which carries extra addresses.
	upDev string
}

// newBed checks the prerequisites and builds the two namespaces joined by
// a veth pair.
func newBed(t *testing.T) *bed {
	t.Helper()
	testutil.RequireRoot(t)
	if env.busy != "" {
		testutil.SkipOrFail(t, "%s", env.busy)
	}
	for _, tool := range []string{"ip", "chronyd", "chronyc", "dnsmasq"} {
		testutil.RequireTool(t, tool)
	}
	if _, err := os.Stat(testutil.ChronycPath); err != nil {
		testutil.SkipOrFail(t, "needs %s: %v", testutil.ChronycPath, err)
	}
	b := &bed{up: testutil.NewNetns(t, nsPrefix), client: testutil.NewNetns(t, nsPrefix)}
	testutil.AddVeth(t, b.up, upstreamAddr(1)+"/24", b.client, clientAddr+"/24")
	fields := strings.Fields(b.up.IP(t, "-o", "addr", "show", "to", upstreamAddr(1)))
	if len(fields) < 2 {
		t.Fatalf("cannot find the veth holding %s in %s", upstreamAddr(1), b.up)
	}
	b.upDev = strings.Split(fields[1], "@")[0]
	return b
}

// addUpstreamAddr gives the upstream namespace one more address.
func (b *bed) addUpstreamAddr(t *testing.T, addr string) {
	t.Helper()
	testutil.CheckTestAddress(t, addr+"/32")
	b.up.IP(t, "addr", "add", addr+"/32", "dev", b.upDev)
}

// startFake serves a fake NTP server with behaviour bh on addr:123 in the
// upstream namespace (adding the address unless it is the veth's own).
func (b *bed) startFake(t *testing.T, addr string, bh fakentp.Behavior) *fakentp.Server {
	t.Helper()
	if addr != upstreamAddr(1) {
		b.addUpstreamAddr(t, addr)
	}
	conn, err := listenIn(b.up.Name, "udp4", addr+":123")
	if err != nil {
		t.Fatalf("fake NTP server: %v", err)
	}
	s := fakentp.Serve(conn, bh)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startUpstream starts a real stratum-1 chronyd serving on addr in the
// upstream namespace.
func (b *bed) startUpstream(t *testing.T, addr string) *testutil.Chronyd {
	t.Helper()
	if addr != upstreamAddr(1) {
		b.addUpstreamAddr(t, addr)
	}
	return testutil.StartChronyd(t, b.up, "local stratum 1", "allow", "cmdport 0", "bindaddress "+addr)
}

// useResolver points the client namespace's resolver at server, with the
// given resolv.conf options; ip netns exec bind-mounts the file over
// /etc/resolv.conf. The folder is removed at cleanup.
func (b *bed) useResolver(t *testing.T, server, options string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", b.client.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	conf := fmt.Sprintf("nameserver %s\noptions %s\n", server, options)
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(conf), 0o644); err != nil {
		t.Fatalf("writing resolv.conf: %v", err)
	}
}

// proc is a long-running process of a scenario (chronygo, chronyd or
// dnsmasq) started in a namespace; it is stopped at cleanup.
type proc struct {
	name string
	// socket is the command socket of a time daemon.
	socket string
	log    *testutil.SyncBuffer
	cmd    *exec.Cmd
	watch  *procwatch.Watched
}

// startProc runs argv in ns and waits up to 10 s for ready (when not
// empty) to exist.
func startProc(t *testing.T, name string, ns *testutil.Netns, ready string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: &testutil.SyncBuffer{}}
	p.cmd = ns.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: starting: %v", name, err)
	}
	p.watch = procwatch.Watch(p.cmd)
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("log of %s:\n%s", p.name, p.log.String())
		}
	})
	if ready == "" {
		return p
	}
	ok := testutil.WaitFor(10*time.Second, func() bool { return p.exited() || testutil.FileExists(ready) })
	if p.exited() {
		t.Fatalf("%s exited right after starting (%v); log:\n%s", name, p.cmd.ProcessState, p.log.String())
	}
	if !ok {
		t.Fatalf("%s did not create %s within 10 s; log:\n%s", name, ready, p.log.String())
	}
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool { return p.watch.Exited() }

// stop ends the process with SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() { p.watch.Stop(5 * time.Second) }

// startTimeDaemon runs chronygo (bin "") or the stock chronyd with lines
// plus a private pid file and command socket, in the foreground, as root,
// without clock control (-x).
func startTimeDaemon(t *testing.T, name, bin string, ns *testutil.Netns, lines ...string) *proc {
	t.Helper()
	if bin == "" {
		bin = env.chronygo
	}
	dir := testutil.PrivateDir(t)
	socket := filepath.Join(dir, "chronyd.sock")
	all := append(append([]string{}, lines...),
		"pidfile "+filepath.Join(dir, "chronyd.pid"), "bindcmdaddress "+socket, "cmdport 0")
	conf := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(all, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("%s: writing %s: %v", name, conf, err)
	}
	p := startProc(t, name, ns, socket, bin, "-d", "-x", "-u", "root", "-f", conf)
	p.socket = socket
	return p
}

// startChronygo runs chronygo in the client namespace.
func (b *bed) startChronygo(t *testing.T, lines ...string) *proc {
	t.Helper()
	return startTimeDaemon(t, "chronygo", "", b.client, lines...)
}

// startReference runs the stock chronyd in the client namespace as the
// reference client; it does not serve NTP (port 0) so that it can sit
// beside chronygo.
func (b *bed) startReference(t *testing.T, lines ...string) *proc {
	t.Helper()
	return startTimeDaemon(t, "reference chronyd", testutil.RequireTool(t, "chronyd"), b.client,
		append(append([]string{}, lines...), "port 0")...)
}

// chronyc runs the stock chronyc against p's command socket, bounded to
// limit, and returns its standard output.
func chronyc(p *proc, limit time.Duration, args ...string) (string, error) {
	out, err := testutil.ChronycWithin(limit, p.socket, args...)
	if err != nil {
		return out, fmt.Errorf("%s: %w", p.name, err)
	}
	return out, nil
}

// queryNTP sends one client request to server:123 from the upstream
// namespace and returns the reply's header fields, or an error when none
// came within 2 s.
func (b *bed) queryNTP(server string) (ntpReply, error) {
	conn, err := listenIn(b.up.Name, "udp4", upstreamAddr(1)+":0")
	if err != nil {
		return ntpReply{}, err
	}
	defer conn.Close()
	return exchange(conn, &net.UDPAddr{IP: net.ParseIP(server), Port: 123})
}
