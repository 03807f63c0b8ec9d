//go:build linux

package clientio

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// connectedPair returns a connected UDP socket on loopback and the
// unconnected socket it is connected to.
func connectedPair(t *testing.T) (*net.UDPConn, *net.UDPConn) {
	t.Helper()
	remote, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { remote.Close() })
	conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, remote.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn, remote
}

func TestTimestampedConnUsesKernelTimestamps(t *testing.T) {
	// The fake clock is years off the real one, so a timestamp near the
	// real time can only have come from the kernel.
	fake := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	now := func() time.Time { return fake }
	tests := []struct {
		name     string
		kernelTx bool
		wantTx   source.TimestampSource
	}{
		{"kernel TX timestamps", true, source.TimestampKernel},
		{"daemon TX timestamps", false, source.TimestampDaemon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, remote := connectedPair(t)
			tc, err := NewTimestampedConn(conn, tt.kernelTx, now)
			require.NoError(t, err)

			// Several sends: each gets its own timestamp, none left over.
			for i := range 3 {
				start := time.Now()
				sent, src, err := tc.Write([]byte("ping"))
				require.NoError(t, err)
				assert.Equal(t, tt.wantTx, src, "send %d", i)
				if tt.wantTx == source.TimestampKernel {
					assert.WithinDuration(t, start, sent, 2*time.Second, "kernel time, not the fake clock")
					assert.False(t, sent.Before(start.Add(-time.Millisecond)), "not an earlier send's timestamp")
				} else {
					assert.Equal(t, fake, sent)
				}
			}

			buf := make([]byte, 64)
			require.NoError(t, remote.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, from, err := remote.ReadFromUDPAddrPort(buf)
			require.NoError(t, err)

			before := time.Now()
			_, err = remote.WriteToUDPAddrPort([]byte("pong"), from)
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			n, info, err := tc.Read(buf)
			require.NoError(t, err)
			assert.Equal(t, "pong", string(buf[:n]))
			assert.Equal(t, source.TimestampKernel, info.Source, "RX timestamp from the control message")
			assert.WithinDuration(t, before, info.Time, 2*time.Second, "kernel time, not the fake clock")
			assert.Equal(t, netip.MustParseAddr("127.0.0.1"), info.Local)
		})
	}
}

func TestTimestampedConnRxInfo(t *testing.T) {
	fake := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	kernel := time.Date(2026, 1, 2, 3, 4, 5, 678, time.UTC)
	c := &TimestampedConn{now: func() time.Time { return fake }, local: netip.MustParseAddr("127.0.0.1")}
	tests := []struct {
		name string
		oob  []byte
		want source.RxInfo
	}{
		{"no control data", nil,
			source.RxInfo{Time: fake, Source: source.TimestampDaemon, Local: netip.MustParseAddr("127.0.0.1")}},
		{"SCM_TIMESTAMPNS", timestampCmsg(kernel),
			source.RxInfo{Time: kernel, Source: source.TimestampKernel, Local: netip.MustParseAddr("127.0.0.1")}},
		{"SCM_TIMESTAMPNS and IP_PKTINFO", append(timestampCmsg(kernel), pktinfoCmsg([4]byte{198, 51, 100, 7})...),
			source.RxInfo{Time: kernel, Source: source.TimestampKernel, Local: netip.MustParseAddr("198.51.100.7")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.rxInfo(tt.oob)
			assert.True(t, tt.want.Time.Equal(got.Time), "time %v, want %v", got.Time, tt.want.Time)
			got.Time = tt.want.Time
			assert.Equal(t, tt.want, got)
		})
	}
}

// cmsg builds one control message with the given level, type and data.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

// timestampCmsg is an SCM_TIMESTAMPNS message carrying t.
func timestampCmsg(t time.Time) []byte {
	data := make([]byte, 16)
	binary.NativeEndian.PutUint64(data, uint64(t.Unix()))
	binary.NativeEndian.PutUint64(data[8:], uint64(t.Nanosecond()))
	return cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, data)
}

// pktinfoCmsg is an IP_PKTINFO message with destination address dst.
func pktinfoCmsg(dst [4]byte) []byte {
	data := make([]byte, 12)
	copy(data[8:], dst[:])
	return cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, data)
}
