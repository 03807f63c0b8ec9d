package cmdmon

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

const chronydPath = "/usr/sbin/chronyd"

// startChronyd runs a real chronyd without clock control (-x), NTP port or
// command port, with its socket in a private folder; it is killed at the
// end of the test.
func startChronyd(t *testing.T) string {
	t.Helper()
	requireTool(t, chronydPath)
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root on CI")
		}
		t.Skip("chronyd -u root needs root")
	}
	dir := filepath.Join(t.TempDir(), "run")
	require.NoError(t, os.Mkdir(dir, 0o700))
	sock := filepath.Join(dir, "chronyd.sock")
	conf := filepath.Join(dir, "chrony.conf")
	require.NoError(t, os.WriteFile(conf, []byte("bindcmdaddress "+sock+"\ncmdport 0\nport 0\npidfile "+
		filepath.Join(dir, "chronyd.pid")+"\n"), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, chronydPath, "-x", "-u", "root", "-d", "-f", conf)
	var logBuf strings.Builder
	cmd.Stderr = &logBuf
	cmd.Stdout = &logBuf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	for range 100 {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	_ = cmd.Wait()
	t.Fatalf("chronyd did not open its socket: %s", logBuf.String())
	return ""
}

// TestUnsyncedHandlerMatchesChronyd compares chronyc's output against a real
// chronyd with no sources and against UnsyncedHandler, command by command.
func TestUnsyncedHandlerMatchesChronyd(t *testing.T) {
	requireTool(t, chronycPath)
	real := startChronyd(t)
	_, ours, _ := testServer(t, &UnsyncedHandler{}, DispatcherConfig{})
	commands := [][]string{
		{"tracking"}, {"sources"}, {"sources", "-v"}, {"sourcestats"}, {"selectdata"}, {"authdata"},
		{"ntpdata"}, {"activity"}, {"rtcdata"}, {"smoothing"}, {"manual", "list"}, {"clients"},
		{"accheck", "198.51.100.1"}, {"cmdaccheck", "127.0.0.1"}, {"settime", "10:00"},
		{"trimrtc"}, {"writertc"}, {"makestep"}, {"burst", "1/2"}, {"online"}, {"offline", "198.51.100.1"},
		{"onoffline"}, {"manual", "delete", "0"}, {"smoothtime", "reset"},
		{"minpoll", "198.51.100.1", "4"}, {"maxdelay", "198.51.100.1", "0.1"},
		{"delete", "198.51.100.1"}, {"sourcename", "198.51.100.1"}, {"ntpdata", "198.51.100.1"},
		{"dump"}, {"reselect"}, {"refresh"}, {"waitsync", "1"},
	}
	for _, c := range commands {
		t.Run(strings.Join(c, "_"), func(t *testing.T) {
			want, wantCode := runChronyc(t, append([]string{"-n", "-h", real}, c...)...)
			got, gotCode := runChronyc(t, append([]string{"-n", "-h", ours}, c...)...)
			assert.Equal(t, wantCode, gotCode)
			assert.Equal(t, want, got)
		})
	}
}

// exchangeRaw sends one datagram to a Unix command socket from a bound
// client socket and returns the reply (nil after a short wait for none).
func exchangeRaw(t *testing.T, sock string, pkt []byte) []byte {
	t.Helper()
	local := filepath.Join(filepath.Dir(sock), "raw.sock")
	_ = os.Remove(local)
	conn, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"},
		&net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer func() {
		conn.Close()
		os.Remove(local)
	}()
	_, err = conn.Write(pkt)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// TestRawRepliesMatchChronyd sends the same datagrams, well-formed and
// malformed, to a real chronyd and to a Server with UnsyncedHandler, and
// compares the reply bytes (or the silence). Left out: NULL and LOGON, which
// chronyd 4.3 answers (SUCCESS, FAILED) and 4.8, followed here, rejects as
// INVALID; and clients, whose n_indices is the size of chronyd's own hash
// table.
func TestRawRepliesMatchChronyd(t *testing.T) {
	real := startChronyd(t)
	_, ours, _ := testServer(t, &UnsyncedHandler{}, DispatcherConfig{})
	req := func(c candm.Command, body candm.RequestBody) []byte {
		pkt, err := candm.Request{Command: c, Sequence: 0xA1B2C3D4, Body: body}.Encode()
		require.NoError(t, err)
		return pkt
	}
	set := func(pkt []byte, i int, v byte) []byte {
		b := append([]byte(nil), pkt...)
		b[i] = v
		return b
	}
	tracking := req(candm.ReqTracking, nil)
	cases := map[string][]byte{
		"tracking":            tracking,
		"tracking long":       append(append([]byte(nil), tracking...), 0, 0, 0, 0),
		"tracking short":      tracking[:len(tracking)-1],
		"header only":         tracking[:candm.ReplyHeaderLen],
		"below reply header":  tracking[:candm.ReplyHeaderLen-1],
		"over-long":           append(append([]byte(nil), tracking...), make([]byte, candm.MaxRequestLen)...),
		"version 5":           set(tracking, 0, 5),
		"version 4":           set(tracking, 0, 4),
		"version 7":           set(tracking, 0, 7),
		"reply type":          set(tracking, 1, candm.PktTypeReply),
		"res1":                set(tracking, 2, 1),
		"res2":                set(tracking, 3, 1),
		"command 200":         set(tracking, 5, 200),
		"n_sources":           req(candm.ReqNSources, nil),
		"source_data":         req(candm.ReqSourceData, candm.Index{Index: 0}),
		"sourcestats":         req(candm.ReqSourceStats, candm.Index{Index: 0}),
		"rtcreport":           req(candm.ReqRTCReport, nil),
		"smoothing":           req(candm.ReqSmoothing, nil),
		"manual list":         req(candm.ReqManualList, nil),
		"activity":            req(candm.ReqActivity, nil),
		"accheck":             req(candm.ReqAcCheck, candm.Address{IP: candm.AddrFrom(fixtureSource)}),
		"cmdaccheck":          req(candm.ReqCmdAcCheck, candm.Address{IP: candm.AddrFrom(fixtureSource)}),
		"cmdallow bad subnet": req(candm.ReqCmdAllow, candm.Subnet{IP: candm.AddrFrom(fixtureSource), Bits: 40}),
		"smoothtime":          req(candm.ReqSmoothtime, candm.Index{Index: 1}),
		"manual delete":       req(candm.ReqManualDelete, candm.Index{Index: 0}),
		"ntp_data":            req(candm.ReqNTPData, candm.Address{IP: candm.AddrFrom(fixtureSource)}),
		"sourcename":          req(candm.ReqNTPSourceName, candm.Address{IP: candm.AddrFrom(fixtureSource)}),
		"del_source":          req(candm.ReqDelSource, candm.Address{IP: candm.AddrFrom(fixtureSource)}),
		"settime":             req(candm.ReqSettime, candm.SetTime{Time: time.Unix(1e9, 0)}),
		"add_source bad type": req(candm.ReqAddSource, candm.AddSource{Type: 7, Name: "x"}),
		"writertc":            req(candm.ReqWriteRTC, nil),
		"makestep":            req(candm.ReqMakeStep, nil),
		"onoffline":           req(candm.ReqOnOffline, nil),
		"selectdata":          req(candm.ReqSelectData, candm.Index{Index: 0}),
		"authdata":            req(candm.ReqAuthData, candm.Address{IP: candm.AddrFrom(fixtureSource)}),
	}
	for name, pkt := range cases {
		t.Run(name, func(t *testing.T) {
			want := exchangeRaw(t, real, pkt)
			got := exchangeRaw(t, ours, pkt)
			assert.Equal(t, want, got)
		})
	}
}
