// Command chronygo-soak runs chronygo for a long time under a steady load
// ("make soak") and reports whether its open files, threads and memory
// stay flat.
//
// It starts a few chronyd upstreams on loopback ports ("local stratum 1",
// -x so that no clock is touched), configures chronygo with up to 20
// "server 127.0.0.N port P" sources over them, then runs thousands of NTP
// clients, each with its own 127.2.x.y source address, polling chronygo
// like real clients. Every interval it samples /proc/PID/fd, Threads and
// VmRSS of chronygo, the share of client requests answered and the number
// of reachable sources ("chronyc sources", -1 when unknown), prints one
// line, and at the end judges the trend (exit status 1 when anything
// grows, a process dies, or clients go unanswered).
//
//	chronygo-soak -daemon bin/chronygo [-seconds 600] [-clients 10000]
//	              [-sources 20] [-upstreams 4] [-interval 10s]
//
// It needs root (the upstreams run "-u root" with private socket folders,
// and 10 000 sockets need a raised file limit).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	daemon, chronyd    string
	chronyc            string
	seconds            int
	clients            int
	sources, upstreams int
	interval, poll     time.Duration
	warmup             time.Duration
	keep               bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("chronygo-soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.daemon, "daemon", "bin/chronygo", "chronygo binary under test")
	fs.StringVar(&o.chronyd, "chronyd", "/usr/sbin/chronyd", "chronyd binary for the upstreams")
	fs.StringVar(&o.chronyc, "chronyc", "/usr/bin/chronyc", "chronyc used to count reachable sources (empty: do not count)")
	fs.IntVar(&o.seconds, "seconds", 600, "length of the soak in seconds")
	fs.IntVar(&o.clients, "clients", 10000, "number of NTP clients, each with its own 127.2.x.y address")
	fs.IntVar(&o.sources, "sources", 20, "number of server lines in chronygo's configuration (127.0.0.1 upwards)")
	fs.IntVar(&o.upstreams, "upstreams", 4, "number of chronyd upstreams")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "sampling interval")
	fs.DurationVar(&o.poll, "poll", 16*time.Second, "mean polling interval of each client")
	fs.DurationVar(&o.warmup, "warmup", 60*time.Second, "time before the baseline is taken")
	fs.BoolVar(&o.keep, "keep", false, "keep the working folder (configurations and logs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := soak(ctx, o, stdout); err != nil {
		fmt.Fprintf(stderr, "chronygo-soak: %v\n", err)
		return 1
	}
	return 0
}

func soak(ctx context.Context, o options, out io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("needs root (upstream chronyd with -u root, raised file limit)")
	}
	if o.upstreams < 1 || o.sources < 1 || o.sources > 250 {
		return fmt.Errorf("need at least one upstream and 1 to 250 sources (sources %d, upstreams %d)", o.sources, o.upstreams)
	}
	if _, err := exec.LookPath(o.daemon); err != nil {
		return fmt.Errorf("daemon binary: %w", err)
	}
	if err := raiseFileLimit(uint64(o.clients) + 1024); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "chronygo-soak-")
	if err != nil {
		return fmt.Errorf("working folder: %w", err)
	}
	// Runs last: keep the configurations and logs when asked or on failure.
	defer func() {
		if o.keep || err != nil {
			fmt.Fprintf(out, "working folder kept: %s\n", work)
			return
		}
		_ = os.RemoveAll(work)
	}()

	var procs []*process
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	var ports []int
	for u := 0; u < o.upstreams; u++ {
		dir, err := privateDir(work, fmt.Sprintf("upstream%d", u))
		if err != nil {
			return err
		}
		port, err := freeUDPPort()
		if err != nil {
			return err
		}
		p, err := startProcess(fmt.Sprintf("upstream %d", u), o.chronyd, dir, []string{
			fmt.Sprintf("port %d", port), "cmdport 0", "local stratum 1",
			"allow 127.0.0.0/8", "bindcmdaddress " + filepath.Join(dir, "chronyd.sock"),
			"pidfile " + filepath.Join(dir, "chronyd.pid"),
		}, "-x", "-d", "-u", "root")
		if err != nil {
			return err
		}
		procs = append(procs, p)
		ports = append(ports, port)
	}
	// chronyd (and chronygo) refuse two sources on one address, even on
	// different ports: source i is 127.0.0.(i+1), served by upstream i mod n
	// (every upstream answers on all loopback addresses).
	var servers []string
	for i := 0; i < o.sources; i++ {
		servers = append(servers, fmt.Sprintf("server 127.0.0.%d port %d minpoll 0 maxpoll 4 iburst",
			i+1, ports[i%len(ports)]))
	}
	dir, err := privateDir(work, "chronygo")
	if err != nil {
		return err
	}
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	socket := filepath.Join(dir, "chronyd.sock")
	lines := append([]string{
		fmt.Sprintf("port %d", port), "cmdport 0", "local stratum 10",
		"allow 127.0.0.0/8", "clientloglimit 1048576",
		"bindcmdaddress " + socket,
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"driftfile " + filepath.Join(dir, "drift"),
	}, servers...)
	daemon, err := startProcess("chronygo", o.daemon, dir, lines, "-x", "-d", "-u", "root")
	if err != nil {
		return err
	}
	procs = append(procs, daemon)
	fmt.Fprintf(out, "chronygo pid %d on 127.0.0.1:%d with %d sources over %d chronyd upstreams; log %s\n",
		daemon.cmd.Process.Pid, port, len(servers), o.upstreams, filepath.Join(dir, "log"))
	time.Sleep(time.Second)

	ctx, cancel := context.WithTimeout(ctx, time.Duration(o.seconds)*time.Second)
	defer cancel()
	start := time.Now()
	clients, err := startLoad(ctx, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, o.clients, o.poll)
	if err != nil {
		return fmt.Errorf("opening %d client sockets: %w", o.clients, err)
	}
	fmt.Fprintf(out, "%d clients polling every %v; sampling every %v for %d s\n", o.clients, o.poll, o.interval, o.seconds)
	fmt.Fprintf(out, "%8s %6s %8s %10s %11s %8s\n", "time_s", "fds", "threads", "rss_kib", "served", "sources")

	var samples []Sample
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
		}
		for _, p := range procs {
			if !p.alive() {
				return fmt.Errorf("%s exited during the soak (log in %s)", p.name, work)
			}
		}
		fds, threads, rss, err := sampleProcess(daemon.cmd.Process.Pid)
		if err != nil {
			return err
		}
		served, attempted := clients.take()
		s := Sample{At: time.Since(start), FDs: fds, Threads: threads, RSSKiB: rss, Served: served, Attempted: attempted}
		samples = append(samples, s)
		fmt.Fprintf(out, "%8.0f %6d %8d %10d %5d/%-5d %8d\n", s.At.Seconds(), fds, threads, rss, served, attempted,
			reachableSources(o.chronyc, socket))
	}
	clients.wg.Wait()
	flat, report := Verdict(samples, o.warmup, DefaultLimits())
	fmt.Fprint(out, report)
	if !flat {
		return errors.New("resources grew or clients went unanswered during the soak")
	}
	fmt.Fprintln(out, "soak: flat")
	return nil
}

// raiseFileLimit lets the soak open one socket per client.
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("reading the file limit: %w", err)
	}
	if lim.Cur >= n {
		return nil
	}
	lim.Cur = n
	if lim.Max < n {
		lim.Max = n
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raising the file limit to %d: %w", n, err)
	}
	return nil
}
