// Command ntpload benchmarks chronygo side by side with chronyd 4.3 ("make
// bench"), and holds the helpers the benchmark runs as separate processes.
//
//	ntpload bench [flags]   run the benchmark, print the table, write JSON
//	ntpload echo -listen ADDR [-listen ADDR]...   batched UDP echo server
//	ntpload load -target ADDR [flags]   drive one NTP server and print counts
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/chronygo/chronygo/bench/echo"
	"github.com/chronygo/chronygo/bench/loadgen"
	"github.com/chronygo/chronygo/bench/suite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "bench"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "bench":
		err = runBench(ctx, args, stdout, stderr)
	case "echo":
		err = runEcho(ctx, args, stderr)
	case "load":
		err = runLoad(ctx, args, stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q (bench, echo, load)", cmd)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ntpload %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// addrList is a repeatable address flag.
type addrList []netip.AddrPort

func (a *addrList) String() string { return fmt.Sprint(*a) }
func (a *addrList) Set(s string) error {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return err
	}
	*a = append(*a, ap)
	return nil
}

func runEcho(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var addrs addrList
	fs.Var(&addrs, "listen", "address to listen on (repeatable)")
	workers := fs.Int("workers", 1, "sockets (goroutines) per address")
	batch := fs.Int("batch", 32, "datagrams per system call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := echo.Start(ctx, echo.Config{Addrs: addrs, Workers: *workers, Batch: *batch})
	if err != nil {
		return err
	}
	<-ctx.Done()
	srv.Close()
	srv.Wait()
	return nil
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "server address, e.g. 127.0.0.1:11123 (loopback only)")
	cfg := loadgen.Config{}
	fs.IntVar(&cfg.Sockets, "sockets", 4, "client sockets (source ports)")
	fs.IntVar(&cfg.Window, "window", 32, "requests in flight per socket")
	fs.IntVar(&cfg.Batch, "batch", 32, "datagrams per system call")
	fs.DurationVar(&cfg.Duration, "duration", 2*time.Second, "sending time")
	fs.DurationVar(&cfg.Timeout, "timeout", 100*time.Millisecond, "reply timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(*target)
	if err != nil {
		return fmt.Errorf("-target: %w", err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("-target %s: only loopback targets are allowed", ap)
	}
	cfg.Target = ap
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %d received %d lost %d stray %d in %v: %.0f replies/s\n",
		res.Sent, res.Received, res.Lost, res.Stray, res.Elapsed.Round(time.Millisecond), res.RepliesPerSecond())
	return nil
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := suite.Default()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Chronyd, "chronyd", cfg.Chronyd, "chronyd binary")
	fs.StringVar(&cfg.Chronygo, "chronygo", cfg.Chronygo, "chronygo binary")
	out := fs.String("out", "bench/results.json", "JSON results file")
	phases := fs.String("phases", "", "comma-separated phases (throughput,accuracy,footprint,cmdmon); empty: all")
	fs.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds of each throughput measurement")
	fs.DurationVar(&cfg.LoadDuration, "load-duration", cfg.LoadDuration, "length of one throughput measurement")
	fs.IntVar(&cfg.Load.Sockets, "sockets", cfg.Load.Sockets, "load generator sockets")
	fs.IntVar(&cfg.Load.Window, "window", cfg.Load.Window, "requests in flight per socket")
	fs.DurationVar(&cfg.WarmUp, "warmup", cfg.WarmUp, "accuracy warm-up")
	fs.DurationVar(&cfg.Measure, "measure", cfg.Measure, "accuracy measuring window")
	fs.DurationVar(&cfg.Idle, "idle", cfg.Idle, "idle period of the footprint phase")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "distinct client addresses for the client-log memory figure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *phases != "" {
		cfg.Phases = strings.Split(*phases, ",")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program: %w", err)
	}
	cfg.Self = self
	cfg.Log = stderr
	res, runErr := suite.Run(ctx, cfg)
	if res == nil {
		return runErr
	}
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	if err := res.WriteJSON(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", *out)
	return runErr
}
