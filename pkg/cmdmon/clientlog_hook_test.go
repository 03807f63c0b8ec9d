package cmdmon

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
)

// fakeCommandLog records the logged requests and answers pass.
type fakeCommandLog struct {
	pass   bool
	logged []netip.Addr
}

func (f *fakeCommandLog) LogCommand(addr netip.Addr, _ time.Time) bool {
	f.logged = append(f.logged, addr)
	return f.pass
}

func TestCommandLog(t *testing.T) {
	tracking := encode(t, candm.ReqTracking, nil)
	tests := []struct {
		name   string
		ch     Channel
		pass   bool
		pkt    []byte
		logged []netip.Addr
		answer bool
		drops  uint64
	}{
		{name: "localhost over UDP is logged", ch: local4, pass: true, pkt: tracking,
			logged: []netip.Addr{local4.Addr}, answer: true},
		{name: "IPv6 localhost is logged", ch: local6, pass: true, pkt: tracking,
			logged: []netip.Addr{local6.Addr}, answer: true},
		{name: "localhost is answered over the limit", ch: local4, pass: false, pkt: tracking,
			logged: []netip.Addr{local4.Addr}, answer: true},
		{name: "allowed remote host is logged", ch: remote, pass: true, pkt: tracking,
			logged: []netip.Addr{remote.Addr}, answer: true},
		{name: "mapped address is logged unmapped", ch: mapped, pass: true, pkt: tracking,
			logged: []netip.Addr{remote.Addr}, answer: true},
		{name: "remote host over the limit is dropped", ch: remote, pass: false, pkt: tracking,
			logged: []netip.Addr{remote.Addr}, drops: 1},
		{name: "Unix socket is not logged", ch: unixCh, pass: false, pkt: tracking, answer: true},
		{name: "unauthorised host is not logged", ch: remote6, pass: true, pkt: tracking},
		{name: "malformed datagram is not logged", ch: local4, pass: true, pkt: tracking[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &fakeCommandLog{pass: tt.pass}
			d := newTestDispatcher(t, &fixture{}, DispatcherConfig{
				CommandLog: log,
				CmdRules:   []access.Rule{{Allow: true, Prefix: netip.MustParsePrefix("203.0.113.0/24")}},
			})
			_, answered := exchange(t, d, tt.ch, tt.pkt)
			assert.Equal(t, tt.answer, answered)
			assert.Equal(t, tt.logged, log.logged)
			_, drops := d.CommandStats()
			assert.Equal(t, tt.drops, drops)
		})
	}
}

// TestCommandLogReplacesLimiter: with a command log its decision counts,
// not the dispatcher's own cmdratelimit.
func TestCommandLogReplacesLimiter(t *testing.T) {
	log := &fakeCommandLog{pass: true}
	d := newTestDispatcher(t, &fixture{}, DispatcherConfig{
		CommandLog: log,
		CmdRules:   []access.Rule{{Allow: true, Any: true}},
		RateLimit:  RateLimit{Enabled: true, Interval: 4, Burst: 1},
	})
	pkt := encode(t, candm.ReqTracking, nil)
	for i := range 5 {
		_, ok := exchange(t, d, remote, pkt)
		require.True(t, ok, "request %d answered", i)
	}
	assert.Len(t, log.logged, 5)
}
