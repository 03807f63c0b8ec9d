//go:build linux

package server

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/bench/loadgen"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// BenchmarkServeLoopback drives the real server sockets over loopback with
// the benchmark's batched load generator (4 sockets, 32 requests in flight
// each) and reports replies per second. Profile it with -cpuprofile; the
// server's share is under (*worker).run.
func BenchmarkServeLoopback(b *testing.B) {
	for _, workers := range []int{1, 2} {
		for _, clientLog := range []bool{true, false} {
			name := fmt.Sprintf("workers=%d/clientlog=%v", workers, clientLog)
			b.Run(name, func(b *testing.B) {
				tab := access.NewTable()
				require.NoError(b, tab.Apply(access.Rule{Allow: true, All: true, Any: true}))
				srv, err := Start(context.Background(), Config{
					Port:        -1,
					Workers:     workers,
					DisableIPv6: true,
					Access:      tab,
					Reference:   StaticReference(*localSnapshot(10)),
					ClientLog:   ClientLogConfig{Disabled: !clientLog},
				})
				require.NoError(b, err)
				b.Cleanup(srv.Close)
				target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), srv.LocalAddrs()[0].Port())
				const sockets = 4
				var before, after unix.Rusage
				require.NoError(b, unix.Getrusage(unix.RUSAGE_SELF, &before))
				b.ResetTimer()
				res, err := loadgen.Run(context.Background(), loadgen.Config{
					Target:   target,
					Sockets:  sockets,
					Window:   32,
					Batch:    32,
					Count:    uint64(b.N/sockets + 1),
					Duration: 30 * time.Second,
				})
				b.StopTimer()
				require.NoError(b, err)
				require.NoError(b, unix.Getrusage(unix.RUSAGE_SELF, &after))
				cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
				// Both ends: the server and the load generator.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(max(res.Received, 1)), "cpu-ns/reply")
				b.ReportMetric(res.RepliesPerSecond(), "replies/s")
				b.ReportMetric(res.LossRatio()*100, "loss%")
			})
		}
	}
}
