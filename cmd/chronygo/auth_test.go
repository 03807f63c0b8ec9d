package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// Key values of the authentication tests (SHA256, 32 bytes).
const (
	goodKeyHex  = "HEX:00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"
	otherKeyHex = "HEX:FFEEDDCCBBAA99887766554433221100FFEEDDCCBBAA99887766554433221100"
)

// writeKeyFile writes a keyfile with key 1 of value and returns its path.
func writeKeyFile(t *testing.T, dir, value string) string {
	t.Helper()
	path := filepath.Join(dir, "chrony.keys")
	require.NoError(t, os.WriteFile(path, []byte("1 SHA256 "+value+"\n"), 0o600))
	return path
}

// tamperRelay forwards UDP between one client and upstream, flipping the
// last byte (in the MAC) of every response. It stops at cleanup.
func tamperRelay(t *testing.T, upstream string) string {
	t.Helper()
	front, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	back, err := net.Dial("udp4", upstream)
	require.NoError(t, err)
	var (
		mu     sync.Mutex
		client net.Addr
		wg     sync.WaitGroup
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			client = from
			mu.Unlock()
			_, _ = back.Write(buf[:n])
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, err := back.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil || n == 0 {
				continue
			}
			buf[n-1] ^= 0x5a
			mu.Lock()
			to := client
			mu.Unlock()
			if to != nil {
				_, _ = front.WriteTo(buf[:n], to)
			}
		}
	}()
	t.Cleanup(func() {
		_ = front.Close()
		_ = back.Close()
		wg.Wait()
	})
	return front.LocalAddr().String()
}

// ntpdataCounter returns a numeric field of chronyc ntpdata ("Total RX").
func ntpdataCounter(out, field string) int {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(field) + `\s*: (\d+)`).FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestAuthenticatedSource runs chronygo -x with `server ... key 1` against
// a real chronyd sharing the key (on loopback): with the same key value the
// source is selected and authenticated (ntpdata, authdata); with another
// value chronyd drops the requests and the source is never selected; with
// the responses' MAC tampered in transit they are received, counted and
// rejected. The statistics and selection logs are checked on the good run.
func TestAuthenticatedSource(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	tests := []struct {
		name   string
		value  string
		tamper bool
	}{
		{"same key", goodKeyHex, false},
		{"different key", otherKeyHex, false},
		{"tampered MAC", goodKeyHex, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upDir := testutil.PrivateDir(t)
			upPort := testutil.FreeUDPPort(t, "127.0.0.1")
			up := testutil.StartChronyd(t, nil, "local stratum 1", "allow 127.0.0.1", "cmdport 0",
				"bindaddress 127.0.0.1", "port "+strconv.Itoa(upPort), "keyfile "+writeKeyFile(t, upDir, goodKeyHex))
			target := net.JoinHostPort("127.0.0.1", strconv.Itoa(upPort))
			if tt.tamper {
				target = tamperRelay(t, target)
			}
			host, port, err := net.SplitHostPort(target)
			require.NoError(t, err)

			keyDir := testutil.PrivateDir(t)
			p, out := startDaemon(t, nil, "port 0", "keyfile "+writeKeyFile(t, keyDir, tt.value),
				fmt.Sprintf("server %s port %s key 1 iburst minpoll 0 maxpoll 0", host, port),
				"log statistics selection")
			selected := regexp.MustCompile(`(?m)^\^\* 127\.0\.0\.1\s`)
			if tt.value == goodKeyHex && !tt.tamper {
				sources, ok := waitForOutput(t, p.sock, selected, syncTimeout, "-n", "sources")
				require.True(t, ok, "source not selected; chronyc:\n%s\nlog:\n%s\nupstream:\n%s", sources, out.String(), up.Log.String())
				ntpdata := chronyc(t, p.sock, "-n", "ntpdata", host)
				t.Logf("chronyc -n ntpdata:\n%s", ntpdata)
				assert.Regexp(t, `(?m)^Authenticated\s+: Yes$`, ntpdata)
				assert.Equal(t, ntpdataCounter(ntpdata, "Total RX"), ntpdataCounter(ntpdata, "Total valid RX"))
				authdata := chronyc(t, p.sock, "-n", "authdata")
				t.Logf("chronyc -n authdata:\n%s", authdata)
				// chronyc 4.3 prints the key type as chronyd's hash
				// code (3 = SHA256).
				assert.Regexp(t, `(?m)^127\.0\.0\.1\s+SK\s+1\s+3\s+256\s`, authdata)

				require.NoError(t, stopDaemon(t, p))
				for _, f := range []struct{ name, header string }{
					{"statistics.log", "IP Address    Std dev'n Est offset"},
					{"selection.log", "IP Address   S EOpts Reach Score"},
				} {
					b, err := os.ReadFile(filepath.Join(p.dir, "log", f.name))
					require.NoError(t, err, f.name)
					assert.Contains(t, string(b), f.header, f.name)
					assert.Regexp(t, `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 127\.0\.0\.1 `, string(b), f.name)
				}
				return
			}
			// Never selected: poll for a while, then check the counters.
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			<-ctx.Done()
			sources := chronyc(t, p.sock, "-n", "sources")
			assert.NotRegexp(t, selected, sources)
			ntpdata := chronyc(t, p.sock, "-n", "ntpdata", host)
			t.Logf("chronyc -n ntpdata:\n%s", ntpdata)
			assert.Regexp(t, `(?m)^127\.0\.0\.1\s+SK\s+1\s+3\s+256\s`, chronyc(t, p.sock, "-n", "authdata"))
			assert.Greater(t, ntpdataCounter(ntpdata, "Total TX"), 2)
			assert.Equal(t, 0, ntpdataCounter(ntpdata, "Total valid RX"))
			if tt.tamper {
				assert.Greater(t, ntpdataCounter(ntpdata, "Total RX"), 2, "tampered responses arrive and are counted")
			} else {
				assert.Equal(t, 0, ntpdataCounter(ntpdata, "Total RX"), "chronyd drops requests with a wrong MAC")
			}
			assert.False(t, strings.Contains(out.String(), "Selected source"), "log:\n%s", out.String())
		})
	}
}

// TestAuthenticatedPeer runs chronygo -x as a symmetric peer of a real
// chronyd (local stratum 1) with key 1 on both sides: the peer is selected
// and its packets are authenticated.
func TestAuthenticatedPeer(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	upPort, ourPort := testutil.FreeUDPPort(t, "127.0.0.1"), testutil.FreeUDPPort(t, "127.0.0.1")
	upDir := testutil.PrivateDir(t)
	up := testutil.StartChronyd(t, nil, "local stratum 1", "cmdport 0", "bindaddress 127.0.0.1",
		"port "+strconv.Itoa(upPort), "keyfile "+writeKeyFile(t, upDir, goodKeyHex),
		fmt.Sprintf("peer 127.0.0.1 port %d key 1 minpoll 0 maxpoll 0", ourPort))
	p, out := startDaemon(t, nil, "bindaddress 127.0.0.1", "port "+strconv.Itoa(ourPort),
		"keyfile "+writeKeyFile(t, testutil.PrivateDir(t), goodKeyHex),
		fmt.Sprintf("peer 127.0.0.1 port %d key 1 minpoll 0 maxpoll 0", upPort))
	selected := regexp.MustCompile(`(?m)^=\* 127\.0\.0\.1\s`)
	sources, ok := waitForOutput(t, p.sock, selected, syncTimeout, "-n", "sources")
	require.True(t, ok, "peer not selected; chronyc:\n%s\nlog:\n%s\nupstream:\n%s", sources, out.String(), up.Log.String())
	ntpdata := chronyc(t, p.sock, "-n", "ntpdata", "127.0.0.1")
	t.Logf("chronyc -n ntpdata:\n%s", ntpdata)
	assert.Contains(t, ntpdata, "Symmetric active")
	assert.Regexp(t, `(?m)^Authenticated\s+: Yes$`, ntpdata)
	assert.Positive(t, ntpdataCounter(ntpdata, "Total valid RX"))
	assertKernelTimestamping(t, ntpdata)
}

// TestRekeyAuthenticatesRunningSource starts chronygo with a keyfile
// lacking the source's key (nothing is sent), then writes the key and runs
// chronyc rekey: the running source starts authenticating and is selected.
func TestRekeyAuthenticatesRunningSource(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "chronyd")
	testutil.RequireTool(t, "chronyc")
	upPort := testutil.FreeUDPPort(t, "127.0.0.1")
	up := testutil.StartChronyd(t, nil, "local stratum 1", "allow 127.0.0.1", "cmdport 0",
		"bindaddress 127.0.0.1", "port "+strconv.Itoa(upPort), "keyfile "+writeKeyFile(t, testutil.PrivateDir(t), goodKeyHex))
	keyDir := testutil.PrivateDir(t)
	keyFile := filepath.Join(keyDir, "chrony.keys")
	require.NoError(t, os.WriteFile(keyFile, []byte("5 SHA256 "+otherKeyHex+"\n"), 0o600))
	p, out := startDaemon(t, nil, "port 0", "keyfile "+keyFile,
		fmt.Sprintf("server 127.0.0.1 port %d key 1 iburst minpoll 0 maxpoll 0", upPort))
	time.Sleep(3 * time.Second)
	ntpdata := chronyc(t, p.sock, "-n", "ntpdata", "127.0.0.1")
	assert.Equal(t, 0, ntpdataCounter(ntpdata, "Total TX"), "no request without the key:\n%s", ntpdata)

	writeKeyFile(t, keyDir, goodKeyHex)
	assert.Contains(t, chronyc(t, p.sock, "rekey"), "200 OK")
	selected := regexp.MustCompile(`(?m)^\^\* 127\.0\.0\.1\s`)
	sources, ok := waitForOutput(t, p.sock, selected, syncTimeout, "-n", "sources")
	require.True(t, ok, "source not selected after rekey; chronyc:\n%s\nlog:\n%s\nupstream:\n%s", sources, out.String(), up.Log.String())
	ntpdata = chronyc(t, p.sock, "-n", "ntpdata", "127.0.0.1")
	assert.Regexp(t, `(?m)^Authenticated\s+: Yes$`, ntpdata)
	assert.Positive(t, ntpdataCounter(ntpdata, "Total valid RX"))
}
