package cmdmon

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	fbchrony "github.com/facebook/time/ntp/chrony"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFacebookClient reads the monitoring reports with
// github.com/facebook/time/ntp/chrony's client over the Unix socket.
func TestFacebookClient(t *testing.T) {
	_, sock, _ := testServer(t, &fixture{}, DispatcherConfig{})
	local := filepath.Join(filepath.Dir(sock), "fbclient.sock")
	conn, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"},
		&net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	client := &fbchrony.Client{Connection: conn}

	resp, err := client.Communicate(fbchrony.NewTrackingPacket())
	require.NoError(t, err)
	tr := resp.(*fbchrony.ReplyTracking)
	assert.Equal(t, uint32(0xC6336407), tr.RefID)
	assert.Equal(t, "198.51.100.7", tr.IPAddr.String())
	assert.Equal(t, uint16(3), tr.Stratum)
	assert.True(t, fixtureRef.Equal(tr.RefTime))
	assert.InDelta(t, -12.345, tr.FreqPPM, 1e-5)
	assert.InDelta(t, 64.5, tr.LastUpdateInterval, 1e-6)

	resp, err = client.Communicate(fbchrony.NewSourcesPacket())
	require.NoError(t, err)
	assert.Equal(t, 1, resp.(*fbchrony.ReplySources).NSources)

	resp, err = client.Communicate(fbchrony.NewSourceDataPacket(0))
	require.NoError(t, err)
	sd := resp.(*fbchrony.ReplySourceData)
	assert.Equal(t, "198.51.100.7", sd.IPAddr.String())
	assert.Equal(t, uint16(0o377), sd.Reachability)
	assert.Equal(t, int16(6), sd.Poll)
	assert.InDelta(t, 1.25e-4, sd.LatestMeas, 1e-10)

	_, err = client.Communicate(fbchrony.NewSourceDataPacket(5))
	assert.ErrorContains(t, err, "NOSUCHSOURCE")

	resp, err = client.Communicate(fbchrony.NewSourceStatsPacket(0))
	require.NoError(t, err)
	ss := resp.(*fbchrony.ReplySourceStats)
	assert.Equal(t, uint32(11), ss.NSamples)
	assert.Equal(t, uint32(650), ss.SpanSeconds)
	assert.InDelta(t, 1.5, ss.SkewPPM, 1e-6)

	// facebook/time sends fixed 416-byte requests: the newest reply fits.
	resp, err = client.Communicate(fbchrony.NewServerStatsPacket())
	require.NoError(t, err)
	st := resp.(*fbchrony.ReplyServerStats4)
	assert.Equal(t, uint64(1234567), st.NTPHits)
	assert.Equal(t, uint64(222), st.CMDHits)
	assert.Equal(t, uint64(17), st.NTPHwTxTimestamps)

	ip := fbchrony.IPAddr{Family: fbchrony.IPAddrInet4}
	copy(ip.IP[:], fixtureSource.AsSlice())
	resp, err = client.Communicate(fbchrony.NewNTPDataPacket(&ip))
	require.NoError(t, err)
	nd := resp.(*fbchrony.ReplyNTPData2)
	assert.Equal(t, "198.51.100.1", nd.LocalAddr.String())
	assert.Equal(t, int8(-23), nd.Precision)
	assert.Equal(t, uint32(0xCB007105), nd.RefID)
	assert.Equal(t, uint32(98), nd.TotalValidCount)
	// facebook/time's NTP_DATA2 layout has no total_good_count, so its
	// following fields read one word early: TotalKernelTXts is chrony's
	// total_good_count.
	assert.Equal(t, uint32(97), nd.TotalKernelTXts)

	resp, err = client.Communicate(fbchrony.NewSelectDataPacket(0))
	require.NoError(t, err)
	sel := resp.(*fbchrony.ReplySelectData)
	assert.Equal(t, "198.51.100.7", sel.IPAddr.String())
	assert.Equal(t, uint8('*'), sel.StateChar)
	assert.Equal(t, uint32(33), sel.LastSampleAgo)

	resp, err = client.Communicate(fbchrony.NewActivityPacket())
	require.NoError(t, err)
	assert.Equal(t, int32(5), resp.(*fbchrony.ReplyActivity).Online)

	resp, err = client.Communicate(fbchrony.NewNTPSourceNamePacket(&ip))
	require.NoError(t, err)
	assert.Equal(t, "ntp1.example.net", resp.(*fbchrony.ReplyNTPSourceName).Name)

	resp, err = client.Communicate(fbchrony.NewClientAccessesByIndexPacket(0, 8, 0))
	require.NoError(t, err)
	ca := resp.(*fbchrony.ReplyClientAccessesByIndex)
	require.Len(t, ca.Clients, 1)
	assert.Equal(t, uint32(4321), ca.Clients[0].NTPHits)
}
