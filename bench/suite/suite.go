// Package suite runs chronygo's side-by-side benchmark against chronyd
// 4.3: serving throughput and cost, served-time accuracy behind a delay
// relay, time to synchronise, memory and idle CPU, and chronyc round
// trips. Each phase records figures in a report.Results; a figure that
// chronygo (or chronyd) cannot produce yet is recorded as n/a with the
// reason, never guessed.
package suite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chronygo/chronygo/bench/daemon"
	"github.com/chronygo/chronygo/bench/loadgen"
	"github.com/chronygo/chronygo/bench/report"
)

// Config configures a benchmark run.
type Config struct {
	// Chronyd and Chronygo are the binaries to compare.
	Chronyd, Chronygo string
	// Self is this benchmark's own binary (run as "SELF echo ..." for
	// the echo server).
	Self string
	// Phases selects the phases by name (nil: all): throughput,
	// accuracy, footprint, cmdmon.
	Phases []string
	// Rounds is the number of rounds of each throughput measurement.
	Rounds int
	// LoadDuration is the length of one throughput measurement.
	LoadDuration time.Duration
	// Load is the load generator's shape (target and duration are set
	// per run).
	Load loadgen.Config
	// WarmUp and Measure are the accuracy phase's durations.
	WarmUp, Measure time.Duration
	// ProbeInterval is the accuracy probe's period.
	ProbeInterval time.Duration
	// Idle is the footprint phase's idle period.
	Idle time.Duration
	// Clients is the number of distinct client addresses for the client
	// log's memory.
	Clients int
	// CmdmonDuration is the length of the chronyc round-trip measurement.
	CmdmonDuration time.Duration
	// Log receives progress lines.
	Log io.Writer
}

// Default returns the settings of "make bench" (about 6 minutes on the
// 2-core machine).
func Default() Config {
	return Config{
		Chronyd:        "/usr/sbin/chronyd",
		Chronygo:       "bin/chronygo",
		Rounds:         5,
		LoadDuration:   2 * time.Second,
		Load:           loadgen.Config{Sockets: 4, Window: 32, Batch: 32, Timeout: 100 * time.Millisecond},
		WarmUp:         60 * time.Second,
		Measure:        120 * time.Second,
		ProbeInterval:  time.Second,
		Idle:           60 * time.Second,
		Clients:        100000,
		CmdmonDuration: 3 * time.Second,
	}
}

// wants reports whether phase is selected.
func (c *Config) wants(phase string) bool {
	return len(c.Phases) == 0 || slices.Contains(c.Phases, phase)
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
	}
}

// Run runs the selected phases and returns their figures. Processes it
// started are stopped before it returns.
func Run(ctx context.Context, cfg Config) (*report.Results, error) {
	res := &report.Results{
		Started:  time.Now().UTC(),
		Versions: map[string]string{"chronyd": version(cfg.Chronyd), "chronygo": version(cfg.Chronygo)},
		Settings: map[string]string{
			"rounds":          fmt.Sprint(cfg.Rounds),
			"load_duration":   cfg.LoadDuration.String(),
			"load_sockets":    fmt.Sprint(cfg.Load.Sockets),
			"load_window":     fmt.Sprintf("%d per socket", cfg.Load.Window),
			"load_batch":      fmt.Sprint(cfg.Load.Batch),
			"accuracy_warmup": cfg.WarmUp.String(),
			"accuracy_window": cfg.Measure.String(),
			"probe_interval":  cfg.ProbeInterval.String(),
			"idle":            cfg.Idle.String(),
			"clients":         fmt.Sprint(cfg.Clients),
		},
	}
	for _, bin := range []*string{&cfg.Chronyd, &cfg.Chronygo, &cfg.Self} {
		// The daemons run in their own folders: a relative path would
		// no longer name the binary.
		if abs, err := resolveBinary(*bin); err == nil {
			*bin = abs
		}
	}
	g, err := daemon.NewGroup()
	if err != nil {
		return nil, err
	}
	defer g.StopAll()
	r := &runner{cfg: cfg, g: g, res: res, ports: newPorts()}
	if cfg.wants("throughput") && ctx.Err() == nil {
		r.throughput(ctx)
	}
	if (cfg.wants("accuracy") || cfg.wants("footprint")) && ctx.Err() == nil {
		r.accuracyAndFootprint(ctx)
	}
	if cfg.wants("cmdmon") && ctx.Err() == nil {
		r.cmdmon(ctx)
	}
	res.Finished = time.Now().UTC()
	return res, ctx.Err()
}

// runner carries the state of one run.
type runner struct {
	cfg   Config
	g     *daemon.Group
	res   *report.Results
	ports *ports
	// twoWorkerCPU is chronygo's CPU per reply (µs) on IPv4 with the
	// client log, unpinned, for the scaling note.
	twoWorkerCPU *float64
	// chronydCPU4 is chronyd's CPU per reply (µs) in the same case.
	chronydCPU4 *float64
}

// resolveBinary returns the absolute path of a program named by a path
// (relative to the current folder) or by a name on PATH.
func resolveBinary(bin string) (string, error) {
	if bin == "" {
		return "", errors.New("no program")
	}
	if !strings.Contains(bin, "/") {
		return exec.LookPath(bin)
	}
	return filepath.Abs(bin)
}

// version returns the first line of "BINARY -v".
func version(bin string) string {
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// ports hands out unprivileged UDP ports (11000-11999) free on both
// loopback addresses.
type ports struct {
	next int
}

func newPorts() *ports { return &ports{next: 11000 + rand.IntN(500)} }

// get returns a port that was free a moment ago on 127.0.0.1 and ::1.
func (p *ports) get() int {
	for i := 0; i < 1000; i++ {
		port := p.next
		p.next++
		if p.next >= 12000 {
			p.next = 11000
		}
		if portFree("127.0.0.1", port) && portFree("::1", port) {
			return port
		}
	}
	return 0
}

func portFree(host string, port int) bool {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(host), uint16(port))))
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// answers reports whether an NTP server at addr replies to a request.
func answers(ctx context.Context, addr netip.AddrPort) bool {
	r, err := loadgen.Run(ctx, loadgen.Config{Target: addr, Sockets: 1, Window: 1, Count: 1, Timeout: 200 * time.Millisecond})
	return err == nil && r.Received == 1
}

// loopback4 and loopback6 are the loopback addresses.
const (
	loopback4Text = "127.0.0.1"
	loopback6Text = "::1"
)

func loopback4() netip.Addr { return netip.MustParseAddr(loopback4Text) }
func loopback6() netip.Addr { return netip.MustParseAddr(loopback6Text) }
