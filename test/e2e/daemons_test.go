package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
)

// daemon is a long-running process of the test network (chronyd, chronygo
// or dnsmasq) that a scenario can stop and start again. Its output of all
// runs accumulates in log. It is always stopped at cleanup.
type daemon struct {
	// name identifies it in messages ("chronygo server cg-a").
	name string
	h    *host
	argv []string
	// dir is its private 0700 folder (config, pid file, command socket).
	dir string
	// socket is its command socket ("" when it has none); ready waits for it.
	socket string
	// readyFile is the file whose appearance tells the daemon is up.
	readyFile string
	// env is added to the inherited environment.
	env  []string
	log  *testutil.SyncBuffer
	cmd  *exec.Cmd
	done chan struct{}
}

// newDaemon prepares (but does not start) a daemon in h's namespace. The
// caller fills argv; dir is created now.
func newDaemon(t *testing.T, name string, h *host) *daemon {
	t.Helper()
	d := &daemon{name: name, h: h, dir: testutil.PrivateDir(t), log: &testutil.SyncBuffer{}}
	t.Cleanup(d.stop)
	return d
}

// start runs the daemon and waits up to 10 s for its ready file.
func (d *daemon) start(t *testing.T) {
	t.Helper()
	if d.cmd != nil {
		t.Fatalf("%s: already running", d.name)
	}
	if d.readyFile != "" {
		_ = os.Remove(d.readyFile)
	}
	cmd := d.h.ns.Command(d.argv[0], d.argv[1:]...)
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if d.env != nil {
		cmd.Env = append(os.Environ(), d.env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(d.log, "=== e2e: starting %s\n", strings.Join(d.argv, " "))
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: starting %s: %v", d.name, d.argv[0], err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	d.cmd, d.done = cmd, done
	if d.readyFile == "" {
		return
	}
	ok := testutil.WaitFor(10*time.Second, func() bool {
		select {
		case <-done:
			return true
		default:
		}
		return testutil.FileExists(d.readyFile)
	})
	select {
	case <-done:
		t.Fatalf("%s exited right after starting (%v); log:\n%s", d.name, cmd.ProcessState, d.log.String())
	default:
	}
	if !ok {
		t.Fatalf("%s did not create %s within 10 s; log:\n%s", d.name, d.readyFile, d.log.String())
	}
}

// stop ends the daemon with SIGTERM, then SIGKILL after 5 s. It does
// nothing when the daemon is not running.
func (d *daemon) stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	fmt.Fprintf(d.log, "=== e2e: stopped (%v)\n", d.cmd.ProcessState)
	d.cmd, d.done = nil, nil
}

// kill ends the daemon abruptly (SIGKILL), as a crash would.
func (d *daemon) kill() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.done
	fmt.Fprintf(d.log, "=== e2e: killed\n")
	d.cmd, d.done = nil, nil
}

// writeConfig writes lines as the daemon's chrony.conf and returns its path.
func (d *daemon) writeConfig(t *testing.T, lines []string) string {
	t.Helper()
	path := filepath.Join(d.dir, "chrony.conf")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("%s: writing %s: %v", d.name, path, err)
	}
	return path
}

// privateLines are the directives every chronyd or chronygo of the suite
// gets so that it never meets the system's files: its own pid file and
// command socket (Unix only, the UDP command port closed).
func (d *daemon) privateLines() []string {
	lines, socket := testutil.PrivateDirectives(d.dir)
	d.socket, d.readyFile = socket, socket
	return append(lines, "cmdport 0")
}

// implementation is the daemon under test or its reference.
type implementation string

const (
	chronyd  implementation = "chronyd"
	chronygo implementation = "chronygo"
)

// newTimeDaemon prepares chronyd or chronygo in h's namespace with the
// given configuration lines (the private lines are appended), in the
// foreground, as root, never touching the clock (-x).
func newTimeDaemon(t *testing.T, impl implementation, name string, h *host, lines []string) *daemon {
	t.Helper()
	d := newDaemon(t, fmt.Sprintf("%s %s", impl, name), h)
	conf := d.writeConfig(t, append(append([]string{}, lines...), d.privateLines()...))
	bin := chronygoBinary
	if impl == chronyd {
		bin = testutil.RequireTool(t, "chronyd")
	}
	d.argv = append([]string{bin}, testutil.SafeDaemonArgs(conf)...)
	return d
}

// newUpstream prepares a stratum-1 chronyd serving everyone, as the
// public pool servers would.
func newUpstream(t *testing.T, name string, h *host) *daemon {
	t.Helper()
	return newTimeDaemon(t, chronyd, name, h, []string{"local stratum 1", "allow"})
}

// dnsRecord is one name with the addresses dnsmasq returns for it.
type dnsRecord struct {
	name  string
	addrs []string
}

// newDNS prepares dnsmasq answering only the given records, on the
// host's main addresses.
func newDNS(t *testing.T, h *host, records []dnsRecord) *daemon {
	t.Helper()
	d := newDaemon(t, "dnsmasq", h)
	d.readyFile = filepath.Join(d.dir, "dnsmasq.pid")
	setDNSRecords(d, records)
	return d
}

// setDNSRecords sets the command line of the dnsmasq daemon d so that it
// answers records (taking effect at its next start).
func setDNSRecords(d *daemon, records []dnsRecord) {
	h := d.h
	d.argv = []string{
		"/usr/sbin/dnsmasq", "--keep-in-foreground", "--log-facility=-",
		"--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--user=root",
		"--pid-file=" + d.readyFile, "--bind-interfaces",
		"--listen-address=" + h.v4.String(), "--listen-address=" + h.v6.String(),
		"--local-ttl=1",
	}
	for _, r := range records {
		for _, a := range r.addrs {
			d.argv = append(d.argv, fmt.Sprintf("--host-record=%s,%s", r.name, a))
		}
	}
}
