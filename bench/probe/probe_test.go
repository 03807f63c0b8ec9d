package probe

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNTPTimestampRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 18, 0, 0, 123456789, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2036, 2, 7, 6, 28, 15, 999999999, time.UTC),
	} {
		got := FromNTP(ToNTP(tm))
		assert.InDelta(t, 0, float64(got.Sub(tm)), 1, "%v", tm)
	}
	assert.Equal(t, uint64(2208988800)<<32, ToNTP(time.Unix(0, 0)))
}

func TestEvaluate(t *testing.T) {
	base := time.Unix(1000, 0)
	ms := time.Millisecond
	// Server 5 ms ahead, 1 ms each way, 2 ms processing.
	off, delay := Evaluate(base, base.Add(6*ms), base.Add(8*ms), base.Add(4*ms))
	assert.Equal(t, 5*ms, off)
	assert.Equal(t, 2*ms, delay)
}

func response(origin uint64, leap, stratum byte, t2, t3 time.Time) []byte {
	b := make([]byte, 48)
	b[0] = leap<<6 | 4<<3 | 4
	b[1] = stratum
	binary.BigEndian.PutUint32(b[12:16], 0x7f000001)
	binary.BigEndian.PutUint64(b[24:32], origin)
	binary.BigEndian.PutUint64(b[32:40], ToNTP(t2))
	binary.BigEndian.PutUint64(b[40:48], ToNTP(t3))
	return b
}

func TestParseResponse(t *testing.T) {
	now := time.Unix(2000, 0)
	tests := []struct {
		name    string
		pkt     []byte
		wantErr string
	}{
		{"good", response(42, 0, 2, now, now), ""},
		{"short", make([]byte, 47), "bytes"},
		{"wrong origin", response(43, 0, 2, now, now), "origin"},
		{"unsynchronised", response(42, 3, 0, now, now), "unsynchronised"},
		{"client mode", func() []byte { b := response(42, 0, 2, now, now); b[0] = 4<<3 | 3; return b }(), "mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t2, t3, s, err := ParseResponse(tc.pkt, 42)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, uint8(2), s.Stratum)
			assert.Equal(t, uint32(0x7f000001), s.RefID)
			assert.InDelta(t, 0, float64(t2.Sub(now)), 1)
			assert.InDelta(t, 0, float64(t3.Sub(now)), 1)
		})
	}
}

// fakeServer answers NTP requests with this host's clock plus offset.
func fakeServer(t *testing.T, offset time.Duration, leap, stratum byte) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			rx := time.Now().Add(offset)
			origin := binary.BigEndian.Uint64(buf[40:48])
			_, _ = c.WriteToUDPAddrPort(response(origin, leap, stratum, rx, time.Now().Add(offset)), from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestQueryMeasuresOffset(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration
	}{{"ahead", 30 * time.Millisecond}, {"behind", -12 * time.Millisecond}, {"exact", 0}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, tc.offset, 0, 1)
			s, err := QueryBest(addr, 3, time.Second)
			require.NoError(t, err)
			assert.InDelta(t, float64(tc.offset), float64(s.Offset), float64(2*time.Millisecond))
			assert.GreaterOrEqual(t, s.Delay, -time.Millisecond)
			assert.Equal(t, uint8(1), s.Stratum)
		})
	}
}

func TestQueryReportsUnsynchronisedServer(t *testing.T) {
	addr := fakeServer(t, 0, 3, 0)
	_, err := QueryBest(addr, 2, time.Second)
	assert.ErrorContains(t, err, "unsynchronised")
}

func TestQueryTimesOut(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = Query(c.LocalAddr().(*net.UDPAddr).AddrPort(), 50*time.Millisecond)
	assert.Error(t, err)
}

func TestTrackingSynchronised(t *testing.T) {
	tests := []struct {
		name string
		tr   Tracking
		want bool
	}{
		{"upstream", Tracking{RefID: 0x7f000001, Stratum: 2}, true},
		{"none", Tracking{Leap: 3}, false},
		{"local reference", Tracking{RefID: 0x7f7f0101, Stratum: 10}, false},
		{"reference but unsynchronised", Tracking{RefID: 0x7f000001, Leap: 3}, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.tr.Synchronised(), tc.name)
	}
}

func TestDialCmdmonMissingSocket(t *testing.T) {
	dir := t.TempDir()
	_, err := DialCmdmon(dir+"/none.sock", dir, time.Second)
	assert.Error(t, err)
}

func TestCmdmonTrackingAgainstChronyd(t *testing.T) {
	c := testutil.StartChronyd(t, nil, "local stratum 10", "cmdport 0", "port 0")
	var cm *Cmdmon
	require.True(t, testutil.WaitFor(5*time.Second, func() bool {
		var err error
		cm, err = DialCmdmon(c.Socket, c.Dir, time.Second)
		return err == nil
	}))
	defer cm.Close()
	var tr Tracking
	require.True(t, testutil.WaitFor(5*time.Second, func() bool {
		var err error
		tr, err = cm.Tracking()
		return err == nil && tr.RefID == 0x7f7f0101
	}), "tracking %+v", tr)
	assert.Equal(t, uint16(10), tr.Stratum)
	assert.False(t, tr.Synchronised(), "the local reference is not a synchronisation")
}
