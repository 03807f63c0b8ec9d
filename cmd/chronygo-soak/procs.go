package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chronygo/chronygo/internal/procwatch"
)

// process is a daemon the soak started; stop ends it.
type process struct {
	name  string
	cmd   *exec.Cmd
	log   *os.File
	watch *procwatch.Watched
}

// startProcess runs bin with a configuration written to dir (a fresh 0700
// folder) and its output in dir/log. The child is killed if the soak dies.
func startProcess(name, bin, dir string, lines []string, args ...string) (*process, error) {
	conf := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("%s: writing %s: %w", name, conf, err)
	}
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd := exec.Command(bin, append(args, "-f", conf)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, log: log, watch: procwatch.Watch(cmd)}
	return p, nil
}

// alive reports whether the process still runs.
func (p *process) alive() bool { return !p.watch.Exited() }

// stop sends SIGTERM, then SIGKILL after 5 s.
func (p *process) stop() {
	p.watch.Stop(5 * time.Second)
	_ = p.log.Close()
}

// privateDir makes a 0700 folder under base.
func privateDir(base, name string) (string, error) {
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	return dir, nil
}

// freeUDPPort returns a UDP port free on 127.0.0.1 a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// sampleProcess reads the open fds, threads and VmRSS of pid from /proc.
func sampleProcess(pid int) (fds, threads, rssKiB int, err error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("listing fds of %d: %w", pid, err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("status of %d: %w", pid, err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		switch k {
		case "Threads":
			threads, _ = strconv.Atoi(fields[0])
		case "VmRSS":
			rssKiB, _ = strconv.Atoi(fields[0])
		}
	}
	return len(entries), threads, rssKiB, nil
}

// reachableSources counts the sources "chronyc sources" lists with a
// non-zero reach register, or -1 when chronyc cannot tell.
func reachableSources(chronyc, socket string) int {
	if chronyc == "" {
		return -1
	}
	cmd := exec.Command(chronyc, "-h", socket, "-n", "sources")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return -1
	}
	if err != nil {
		return -1
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[0], "^") && f[4] != "0" {
			n++
		}
	}
	return n
}
