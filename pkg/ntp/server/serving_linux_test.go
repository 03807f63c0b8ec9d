//go:build linux

package server

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestKernelAtLeast(t *testing.T) {
	tests := []struct {
		release string
		want    bool
	}{
		{"6.18.44-fc-v657", true},
		{"4.7.0", true},
		{"4.19.0-25-amd64", true},
		{"4.6.7", false},
		{"3.10.0-1160.el7.x86_64", false},
		{"5", false},
		{"", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, kernelAtLeast(tc.release, 4, 7), tc.release)
	}
}

func TestPutTxRequest(t *testing.T) {
	b := make([]byte, oobSize)
	n := putPktinfo(b, true, netip.MustParseAddr("198.51.100.1"), 2)
	n += putTxRequest(b[n:])
	var got []int32
	forEachCmsg(b[:n], func(level, typ int32, data []byte) {
		got = append(got, level, typ)
		if level == unix.SOL_SOCKET {
			require.Len(t, data, 4)
			assert.Equal(t, uint32(unix.SOF_TIMESTAMPING_TX_SOFTWARE), binary.NativeEndian.Uint32(data))
		}
	})
	assert.Equal(t, []int32{unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SOL_SOCKET, unix.SO_TIMESTAMPING}, got)
}

func TestParseControlTimestamping(t *testing.T) {
	if unix.SizeofPtr != 8 {
		t.Skip("64-bit layout")
	}
	// scm_timestamping: software, (deprecated), hardware timespecs.
	data := make([]byte, 48)
	binary.NativeEndian.PutUint64(data[0:8], 1700000000)
	binary.NativeEndian.PutUint64(data[8:16], 123456789)
	hdr := cmsgAlign(unix.SizeofCmsghdr)
	b := make([]byte, hdr+len(data))
	binary.NativeEndian.PutUint64(b[0:8], uint64(len(b)))
	binary.NativeEndian.PutUint32(b[8:12], uint32(unix.SOL_SOCKET))
	binary.NativeEndian.PutUint32(b[12:16], uint32(unix.SCM_TIMESTAMPING))
	copy(b[hdr:], data)
	rx, src, _, _ := parseControl(b)
	assert.Equal(t, time.Unix(1700000000, 123456789), rx)
	assert.Equal(t, TimestampKernel, src)
	// An all-zero software timestamp (hardware only) is no timestamp.
	clear(b[hdr:])
	rx, _, _, _ = parseControl(b)
	assert.True(t, rx.IsZero())
}

// TestTxTimestampsOnlyForInterleavedCandidates checks that the kernel is
// asked for a transmit timestamp only for the responses whose transmit time
// an interleaved client may ask for, not for every response.
func TestTxTimestampsOnlyForInterleavedCandidates(t *testing.T) {
	srv := startLoopback(t, []string{"allow 127.0.0.1"}, nil)
	srv.mu.Lock()
	workers := append([]*worker(nil), srv.sockets[0]...)
	srv.mu.Unlock()
	require.NotEmpty(t, workers)
	if !workers[0].txPerPacket {
		t.Skip("kernel without per-datagram transmit timestamps")
	}
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), srv.LocalAddrs()[0].Port())
	const basic = 20
	for i := 0; i < basic; i++ {
		_, ok := exchange(t, target, request(reqOpts{tx: wire.Timestamp(1000 + i)}))
		require.True(t, ok)
	}
	// A request whose origin timestamp looks like one of our receive
	// timestamps is an interleaved candidate.
	p, ok := exchange(t, target, request(reqOpts{tx: wire.FromTime(time.Now())}))
	require.True(t, ok)
	_, ok = exchange(t, target, request(reqOpts{orig: wire.RxTime(&p), rx: 5, tx: wire.FromTime(time.Now())}))
	require.True(t, ok)
	srv.Close() // the workers have stopped: their fields can be read
	var stamped uint32
	for _, w := range workers {
		stamped += w.txNext
	}
	assert.Equal(t, uint32(1), stamped, "transmit timestamps requested")
}

// TestSteeringByClientAddress checks that with several workers all the
// requests of one client address reach the same worker, whatever its
// source port.
func TestSteeringByClientAddress(t *testing.T) {
	srv := startLoopback(t, []string{"allow 127.0.0.1", "allow ::1"}, nil)
	srv.mu.Lock()
	families := srv.sockets
	srv.mu.Unlock()
	for fam, host := range []string{"127.0.0.1", "::1"} {
		workers := families[fam]
		if len(workers) == 0 {
			continue
		}
		require.Len(t, workers, 2)
		target := netip.AddrPortFrom(netip.MustParseAddr(host), workers[0].local.Port())
		const ports = 12 // a new source port for each exchange
		for i := 0; i < ports; i++ {
			_, ok := exchange(t, target, request(reqOpts{tx: wire.Timestamp(i + 1)}))
			require.True(t, ok)
		}
		var served []uint64
		for _, w := range workers {
			served = append(served, w.resp.shard.responses.Load())
		}
		assert.ElementsMatch(t, []uint64{0, ports}, served, "%s: responses per worker", host)
	}
}

func TestSteeringProgram(t *testing.T) {
	for _, ipv4 := range []bool{true, false} {
		prog, err := steeringProgram(ipv4, 3)
		require.NoError(t, err)
		last := prog[len(prog)-1]
		assert.Equal(t, uint16(unix.BPF_RET|unix.BPF_A), last.Op, "returns the socket index")
		first := uint32(0xfff00008) // the IPv6 source address
		if ipv4 {
			first = 0xfff0000c
		}
		assert.Equal(t, first, prog[0].K, "first load: network header offset")
	}
}

func TestParseWorkers(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{"auto", 0, false},
		{" AUTO ", 0, false},
		{"1", 1, false},
		{"8", 8, false},
		{"0", 0, true},
		{"-2", 0, true},
		{"1025", 0, true},
		{"two", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseWorkers(tc.in)
		if tc.wantErr {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestDefaultWorkers(t *testing.T) {
	for ncpu, want := range map[int]int{0: 1, 1: 1, 2: 1, 3: 1, 4: 2, 16: 8} {
		assert.Equal(t, want, DefaultWorkers(ncpu), "%d CPUs", ncpu)
	}
}
