package chronycdiff

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
)

// chronycPath is the stock client every command runs through.
const chronycPath = "/usr/bin/chronyc"

// The test network: the upstream's namespace holds a bridge with its
// addresses; each client's namespace has one veth on that bridge.
const (
	upstream4 = "198.51.100.1"
	upstream6 = "2001:db8::1"
	// upstreamRefID is the reference ID of upstream4 as chronyc prints it.
	upstreamRefID = "C6336401"
	// cmdPort is the clients' unprivileged command port (each client has
	// its namespace, so the same number serves both).
	cmdPort = 10323
	// localStratum is the clients' "local stratum".
	localStratum = 10
	// localRefID is chronyd's reference ID of the local reference.
	localRefID = "7F7F0101"
)

// clientConfig is the configuration chronygo and the reference chronyd
// share; only the private folder dir differs.
func clientConfig(dir string) []string {
	return []string{
		"server " + upstream4 + " iburst minpoll 0 maxpoll 2",
		"local stratum " + strconv.Itoa(localStratum),
		"allow",
		"cmdport " + strconv.Itoa(cmdPort),
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"bindcmdaddress " + filepath.Join(dir, "chronyd.sock"),
		"driftfile " + filepath.Join(dir, "drift"),
		"dumpdir " + dir,
		"logdir " + dir,
	}
}

// upstreamConfig makes a stratum-1 server for everyone.
func upstreamConfig(dir string) []string {
	return []string{
		"local stratum 1",
		"allow",
		"cmdport 0",
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"bindcmdaddress " + filepath.Join(dir, "chronyd.sock"),
	}
}

// daemon is chronyd or chronygo running in a namespace with a private
// 0700 folder (configuration, pid file, command socket, dumps, logs).
type daemon struct {
	// name identifies it in messages ("chronygo").
	name string
	ns   *testutil.Netns
	bin  string
	dir  string
	// socket is the path of its command socket.
	socket string
	// addr4 and addr6 are its own addresses, masked in differential
	// comparisons since each daemon legitimately shows its own.
	addr4, addr6 string
	log          *testutil.SyncBuffer
	cmd          *exec.Cmd
	done         chan struct{}
}

// newDaemon writes the configuration lines of a daemon into a fresh
// private folder; the daemon is stopped at cleanup.
func newDaemon(t *testing.T, name, bin string, ns *testutil.Netns, config func(dir string) []string) *daemon {
	t.Helper()
	d := &daemon{name: name, ns: ns, bin: bin, dir: testutil.PrivateDir(t), log: &testutil.SyncBuffer{}}
	d.socket = filepath.Join(d.dir, "chronyd.sock")
	conf := filepath.Join(d.dir, "chrony.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(config(d.dir), "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("%s: writing %s: %v", name, conf, err)
	}
	t.Cleanup(d.stop)
	return d
}

// start runs the daemon in the foreground (-d), as root, without clock
// control (-x), and waits up to 10 s for its command socket.
func (d *daemon) start(t *testing.T) {
	t.Helper()
	cmd := d.ns.Command(d.bin, "-d", "-x", "-u", "root", "-f", filepath.Join(d.dir, "chrony.conf"))
	cmd.Stdout, cmd.Stderr = d.log, d.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: starting %s: %v", d.name, d.bin, err)
	}
	d.cmd, d.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(d.done)
	ok := testutil.WaitFor(10*time.Second, func() bool { return !d.running() || testutil.FileExists(d.socket) })
	if !d.running() {
		t.Fatalf("%s exited right after starting (%v); log:\n%s", d.name, cmd.ProcessState, d.log.String())
	}
	if !ok {
		t.Fatalf("%s did not open %s within 10 s; log:\n%s", d.name, d.socket, d.log.String())
	}
}

// running tells whether the daemon's process is alive.
func (d *daemon) running() bool {
	if d.done == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// waitExit waits up to timeout for the daemon to exit by itself.
func (d *daemon) waitExit(timeout time.Duration) bool {
	if d.done == nil {
		return true
	}
	select {
	case <-d.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// stop ends the daemon with SIGTERM, then SIGKILL after 5 s.
func (d *daemon) stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if !d.waitExit(5 * time.Second) {
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// transport is how chronyc reaches a daemon.
type transport int

const (
	viaUnix transport = iota
	viaUDP4
	viaUDP6
)

func (tr transport) String() string {
	return [...]string{"unix", "udp4", "udp6"}[tr]
}

// result is what one chronyc run printed (standard output, then standard
// error) and its exit status.
type result struct {
	out  string
	code int
}

// chronyc runs the stock chronyc with numeric addresses (-n) inside the
// daemon's namespace, bounded to 20 s, over the given transport.
func (d *daemon) chronyc(t *testing.T, via transport, args ...string) result {
	t.Helper()
	argv := []string{"-n"}
	switch via {
	case viaUnix:
		argv = append(argv, "-h", d.socket)
	case viaUDP4:
		argv = append(argv, "-h", "127.0.0.1", "-p", strconv.Itoa(cmdPort))
	case viaUDP6:
		argv = append(argv, "-h", "::1", "-p", strconv.Itoa(cmdPort))
	}
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", d.ns.Name, chronycPath}, argv...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chronyc %s against %s timed out", strings.Join(argv, " "), d.name)
	}
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running chronyc against %s: %v", d.name, err)
	}
	return result{out: stdout.String() + stderr.String(), code: code}
}

// fixture is the shared test network: the upstream, chronygo (system under
// test) and the reference chronyd, each in its namespace.
type fixture struct {
	upstream *daemon
	sut      *daemon
	ref      *daemon
}

// newFixture builds the network and starts the three daemons.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ip")
	chronyd := testutil.RequireTool(t, "chronyd")
	if _, err := os.Stat(chronycPath); err != nil {
		testutil.SkipOrFail(t, "needs %s: %v", chronycPath, err)
	}
	upNS := testutil.NewNetns(t, nsTag)
	upNS.IP(t, "link", "add", "br0", "type", "bridge")
	upNS.IP(t, "addr", "add", upstream4+"/24", "dev", "br0")
	upNS.IP(t, "addr", "add", upstream6+"/64", "dev", "br0", "nodad")
	upNS.IP(t, "link", "set", "br0", "up")

	f := &fixture{}
	f.upstream = newDaemon(t, "upstream chronyd", chronyd, upNS, upstreamConfig)
	f.upstream.addr4, f.upstream.addr6 = upstream4, upstream6
	for i, spec := range []struct {
		name string
		bin  string
		d    **daemon
	}{{"chronygo", chronygoBinary, &f.sut}, {"reference chronyd", chronyd, &f.ref}} {
		ns := testutil.NewNetns(t, nsTag)
		addr4, addr6 := fmt.Sprintf("198.51.100.%d", 2+i), fmt.Sprintf("2001:db8::%d", 2+i)
		attach(t, upNS, ns, fmt.Sprintf("up%d", i), addr4+"/24", addr6+"/64")
		d := newDaemon(t, spec.name, spec.bin, ns, clientConfig)
		d.addr4, d.addr6 = addr4, addr6
		*spec.d = d
	}
	f.upstream.start(t)
	f.sut.start(t)
	f.ref.start(t)
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range []*daemon{f.sut, f.ref, f.upstream} {
				t.Logf("log of %s:\n%s", d.name, d.log.String())
			}
		}
	})
	return f
}

// attach links client namespace ns to the bridge of hub with a veth
// (hub's end named hubIf) and gives ns's end the two addresses.
func attach(t *testing.T, hub, ns *testutil.Netns, hubIf, addr4, addr6 string) {
	t.Helper()
	testutil.CheckTestAddress(t, addr4)
	testutil.CheckTestAddress(t, addr6)
	hub.IP(t, "link", "add", hubIf, "type", "veth", "peer", "name", "eth0", "netns", ns.Name)
	hub.IP(t, "link", "set", hubIf, "master", "br0")
	hub.IP(t, "link", "set", hubIf, "up")
	ns.IP(t, "addr", "add", addr4, "dev", "eth0")
	ns.IP(t, "addr", "add", addr6, "dev", "eth0", "nodad")
	ns.IP(t, "link", "set", "eth0", "up")
}
