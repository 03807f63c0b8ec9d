package hostile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/procwatch"
	"github.com/chronygo/chronygo/internal/testutil"
)

// daemon is a chronygo started for one test.
type daemon struct {
	dir     string
	socket  string
	pidFile string
	port    int
	cmdPort int
	cmd     *exec.Cmd
	log     *testutil.SyncBuffer
	// args are extra command-line options (e.g. -r).
	args []string
	// watch follows the process once started.
	watch *procwatch.Watched
}

// notWired fails the test with msg: a feature the daemon lacks, or a
// defect, named precisely.
func notWired(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatal("not done: " + fmt.Sprintf(format, args...))
}

// startDaemon runs chronygo in the foreground without clock control, as
// root when root (so that the private 0700 socket folder is accepted), on
// free unprivileged ports with "local stratum 10", its own pid file and
// command socket, and the extra directives. It waits until the daemon
// answers NTP, and stops it at cleanup.
func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	d := newDaemon(t)
	d.launch(t, extra...)
	return d
}

// newDaemon chooses the daemon's files and ports without starting it.
func newDaemon(t *testing.T) *daemon {
	t.Helper()
	dir := testutil.PrivateDir(t)
	return &daemon{
		dir:     dir,
		socket:  filepath.Join(dir, "chronyd.sock"),
		pidFile: filepath.Join(dir, "chronyd.pid"),
		port:    testutil.FreeUDPPort(t, "127.0.0.1"),
		cmdPort: testutil.FreeUDPPortBoth(t),
		log:     &testutil.SyncBuffer{},
	}
}

// launch starts the daemon configured from its fields and the extra
// directives, and waits until it answers NTP.
func (d *daemon) launch(t *testing.T, extra ...string) {
	t.Helper()
	lines := append([]string{
		fmt.Sprintf("port %d", d.port),
		fmt.Sprintf("cmdport %d", d.cmdPort),
		"local stratum 10",
		"allow 127.0.0.1",
		"bindcmdaddress " + d.socket,
		"pidfile " + d.pidFile,
	}, extra...)
	d.start(t, lines)
	if !testutil.WaitFor(10*time.Second, func() bool {
		_, err := queryNTP(d.port, "127.0.0.1", 200*time.Millisecond)
		return err == nil
	}) {
		t.Fatalf("chronygo does not answer NTP on 127.0.0.1:%d within 10 s; log:\n%s", d.port, d.log.String())
	}
}

// start writes the configuration and starts the process.
func (d *daemon) start(t *testing.T, lines []string) {
	t.Helper()
	conf := filepath.Join(d.dir, "chrony.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("writing %s: %v", conf, err)
	}
	args := append([]string{"-x", "-d", "-f", conf}, d.args...)
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	} else {
		args = append(args, "-U")
	}
	d.cmd = exec.Command(chronygoBinary, args...)
	d.cmd.Stdout = d.log
	d.cmd.Stderr = d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting chronygo: %v", err)
	}
	d.watch = procwatch.Watch(d.cmd)
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("chronygo log:\n%s", d.log.String())
		}
	})
}

// stop ends the daemon with SIGTERM (SIGKILL after 5 s) and waits for it.
func (d *daemon) stop() { d.watch.Stop(5 * time.Second) }

// alive reports whether the process still runs.
func (d *daemon) alive() bool { return !d.watch.Exited() }

// requireDirectives skips (or fails in strict mode) when the daemon logged
// that one of the directives is not, or only partly, supported.
func (d *daemon) requireDirectives(t *testing.T, names ...string) {
	t.Helper()
	log := d.log.String()
	for _, n := range names {
		for _, phrase := range []string{"Directive " + n + " is not supported", "Directive " + n + " is only partly supported"} {
			if strings.Contains(log, phrase) {
				notWired(t, "chronygo logs %q", phrase)
			}
		}
	}
}

// vmRSS returns the daemon's resident memory in KiB.
func (d *daemon) vmRSS(t testing.TB) int {
	t.Helper()
	v, err := statusLine(d.cmd.Process.Pid, "VmRSS")
	if err != nil {
		t.Fatalf("reading VmRSS: %v", err)
	}
	kib, err := strconv.Atoi(strings.TrimSuffix(v, " kB"))
	if err != nil {
		t.Fatalf("parsing VmRSS %q: %v", v, err)
	}
	return kib
}

// chronyc runs the stock chronyc against the daemon's Unix socket (or
// "-h 127.0.0.1 -p CMDPORT" when udp is true) and returns its output.
func (d *daemon) chronyc(t *testing.T, udp bool, args ...string) (string, error) {
	t.Helper()
	bin := testutil.RequireTool(t, "chronyc")
	host := []string{"-h", d.socket}
	if udp {
		host = []string{"-h", "127.0.0.1", "-p", strconv.Itoa(d.cmdPort)}
	}
	cmd := exec.Command(bin, append(append(host, "-n", "-m"), args...)...)
	out, err := runBounded(cmd, 10*time.Second)
	return out, err
}

// runBounded runs cmd and kills it after limit.
func runBounded(cmd *exec.Cmd, limit time.Duration) (string, error) {
	var buf testutil.SyncBuffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		return buf.String(), fmt.Errorf("%s did not finish within %v", cmd.Path, limit)
	}
}

var statLine = regexp.MustCompile(`(?m)^([A-Za-z][A-Za-z -]*[a-z])\s*:\s*(\d+)\s*$`)

// serverStats returns "chronyc serverstats" as a map from label (e.g. "NTP
// packets dropped") to value.
func (d *daemon) serverStats(t *testing.T) map[string]int {
	t.Helper()
	out, err := d.chronyc(t, false, "serverstats")
	if err != nil {
		t.Fatalf("chronyc serverstats: %v: %s", err, out)
	}
	m := map[string]int{}
	for _, g := range statLine.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.Atoi(g[2])
		m[strings.TrimSpace(g[1])] = v
	}
	if _, ok := m["NTP packets received"]; !ok {
		t.Fatalf("unexpected serverstats output:\n%s", out)
	}
	return m
}
