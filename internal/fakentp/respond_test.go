package fakentp

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientRequest returns a version-4 client request whose transmit
// timestamp is tx.
func clientRequest(tx time.Time) []byte {
	p := protocol.Packet{Settings: settings(0, version4, modeClient), Poll: 6}
	p.TxTimeSec, p.TxTimeFrac = protocol.Time(tx)
	b, err := p.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

func zeroes(b []byte) {
	for i := range b {
		b[i] = 0xEE
	}
}

func TestRespond(t *testing.T) {
	rx := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tx := rx.Add(time.Millisecond)
	sent := rx.Add(-time.Millisecond)
	req := clientRequest(sent)
	reqOrigin := binary.BigEndian.Uint64(req[40:48])
	tests := []struct {
		name     string
		b        Behavior
		answered int
		// wantNil: no reply at all.
		wantNil bool
		// wantLen is checked when the reply is not an NTP packet.
		wantLen  int
		leap     uint8
		mode     uint8
		stratum  uint8
		refID    string
		originOK bool
		offset   time.Duration
	}{
		{name: "good", b: Behavior{}, mode: modeServer, stratum: 1, refID: "FAKE", originOK: true},
		{name: "falseticker", b: Behavior{Offset: 5 * time.Second}, mode: modeServer, stratum: 1, refID: "FAKE", originOK: true, offset: 5 * time.Second},
		{name: "before the step", b: Behavior{StepAfter: 3, StepBy: 3 * time.Hour}, answered: 2, mode: modeServer, stratum: 1, refID: "FAKE", originOK: true},
		{name: "after the step", b: Behavior{StepAfter: 3, StepBy: 3 * time.Hour}, answered: 3, mode: modeServer, stratum: 1, refID: "FAKE", originOK: true, offset: 3 * time.Hour},
		{name: "silent", b: Behavior{Kind: Silent}, wantNil: true},
		{name: "garbage short", b: Behavior{Kind: Garbage}, answered: 0, wantLen: 13},
		{name: "garbage long", b: Behavior{Kind: Garbage}, answered: 2, wantLen: 200},
		{name: "wrong mode", b: Behavior{Kind: WrongMode}, mode: modeClient, stratum: 1, refID: "FAKE", originOK: true},
		{name: "wrong origin", b: Behavior{Kind: WrongOrigin}, mode: modeServer, stratum: 1, refID: "FAKE"},
		{name: "unsynchronised", b: Behavior{Kind: Unsynchronised}, leap: 3, mode: modeServer, stratum: 0, refID: "FAKE", originOK: true},
		{name: "KoD RATE", b: Behavior{Kind: KoDRate}, leap: 3, mode: modeServer, stratum: 0, refID: "RATE", originOK: true},
		{name: "KoD DENY", b: Behavior{Kind: KoDDeny}, leap: 3, mode: modeServer, stratum: 0, refID: "DENY", originOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Respond(tt.b, req, rx, tx, tt.answered, zeroes)
			if tt.wantNil {
				assert.Nil(t, out)
				return
			}
			if tt.wantLen != 0 {
				require.Len(t, out, tt.wantLen)
				assert.Equal(t, byte(0xEE), out[0])
				return
			}
			p, err := protocol.BytesToPacket(out)
			require.NoError(t, err)
			assert.Equal(t, tt.leap, p.Settings>>6, "leap")
			assert.Equal(t, uint8(version4), p.Settings>>3&7, "version")
			assert.Equal(t, tt.mode, p.Settings&7, "mode")
			assert.Equal(t, tt.stratum, p.Stratum)
			var id [4]byte
			binary.BigEndian.PutUint32(id[:], p.ReferenceID)
			assert.Equal(t, tt.refID, string(id[:]))
			origin := uint64(p.OrigTimeSec)<<32 | uint64(p.OrigTimeFrac)
			assert.Equal(t, tt.originOK, origin == reqOrigin, "origin echoes the request")
			assert.WithinDuration(t, rx.Add(tt.offset), protocol.Unix(p.RxTimeSec, p.RxTimeFrac), time.Microsecond)
			assert.WithinDuration(t, tx.Add(tt.offset), protocol.Unix(p.TxTimeSec, p.TxTimeFrac), time.Microsecond)
		})
	}
}

func TestRespondIgnoresWhatIsNotAClientRequest(t *testing.T) {
	now := time.Now()
	req := clientRequest(now)
	server := append([]byte{}, req...)
	server[0] = settings(0, version4, modeServer)
	for name, in := range map[string][]byte{"short": req[:47], "server mode": server, "empty": nil} {
		assert.Nil(t, Respond(Behavior{}, in, now, now, 0, zeroes), name)
	}
}

func TestServerOnLoopback(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	s := Serve(conn, Behavior{Offset: 2 * time.Second})
	defer s.Close()
	client, err := net.Dial("udp4", s.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	ask := func() *protocol.Packet {
		sent := time.Now()
		_, err := client.Write(clientRequest(sent))
		require.NoError(t, err)
		require.NoError(t, client.SetReadDeadline(time.Now().Add(2*time.Second)))
		buf := make([]byte, 512)
		n, err := client.Read(buf)
		require.NoError(t, err)
		p, err := protocol.BytesToPacket(buf[:n])
		require.NoError(t, err)
		return p
	}
	p := ask()
	got := protocol.Unix(p.TxTimeSec, p.TxTimeFrac)
	assert.InDelta(t, 2.0, time.Until(got).Seconds(), 0.5, "the fixed offset is applied")

	s.SetBehavior(Behavior{Kind: Silent})
	_, err = client.Write(clientRequest(time.Now()))
	require.NoError(t, err)
	require.NoError(t, client.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err = client.Read(make([]byte, 512))
	assert.Error(t, err, "a silent server does not answer")
	assert.Equal(t, int64(2), s.Requests())
}
