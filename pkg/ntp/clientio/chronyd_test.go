package clientio

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/source"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// requireTool skips (or fails under CI=true) when a prerequisite is missing.
func requireTool(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("prerequisite missing: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	require.NoErrorf(t, err, "%s: %s", strings.Join(args, " "), out)
}

// netnsPair creates two network namespaces joined by a veth pair, the
// client side with 198.51.100.1 and 2001:db8:5::1, the server side with
// .2 and ::2. Everything is removed in Cleanup.
func netnsPair(t *testing.T) (client, server string) {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	client, server = "sr-c"+suffix, "sr-s"+suffix
	vc, vs := "src"+suffix, "srs"+suffix
	run(t, "ip", "netns", "add", client)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", client).Run() })
	run(t, "ip", "netns", "add", server)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", server).Run() })
	run(t, "ip", "-n", client, "link", "add", vc, "type", "veth", "peer", "name", vs, "netns", server)
	for _, side := range []struct{ ns, dev, v4, v6 string }{
		{client, vc, "198.51.100.1/24", "2001:db8:5::1/64"},
		{server, vs, "198.51.100.2/24", "2001:db8:5::2/64"},
	} {
		run(t, "ip", "-n", side.ns, "addr", "add", side.v4, "dev", side.dev)
		run(t, "ip", "-n", side.ns, "-6", "addr", "add", side.v6, "dev", side.dev, "nodad")
		run(t, "ip", "-n", side.ns, "link", "set", side.dev, "up")
		run(t, "ip", "-n", side.ns, "link", "set", "lo", "up")
	}
	return client, server
}

// startChronyd runs chronyd -x as a stratum-1 local server in netns ns.
func startChronyd(t *testing.T, ns string, keys string, extra ...string) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	keyfile := filepath.Join(dir, "chrony.keys")
	require.NoError(t, os.WriteFile(keyfile, []byte(keys), 0o600))
	conf := fmt.Sprintf(`local stratum 1
allow all
bindcmdaddress %s/chronyd.sock
cmdport 0
pidfile %s/chronyd.pid
keyfile %s
%s
`, dir, dir, keyfile, strings.Join(extra, "\n"))
	confPath := filepath.Join(dir, "chrony.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o600))
	cmd := exec.Command("ip", "netns", "exec", ns, "/usr/sbin/chronyd", "-x", "-u", "root", "-d", "-f", confPath)
	logf, err := os.Create(filepath.Join(dir, "chronyd.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("chronyd log:\n%s", out)
		}
	})
}

// inNetns runs f on an OS thread switched into netns ns; sockets created
// there belong to that namespace. The thread is discarded afterwards.
func inNetns(t *testing.T, ns string, f func()) {
	done := make(chan struct{})
	var ferr any
	go func() {
		defer close(done)
		defer func() { ferr = recover() }()
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			panic(err)
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			panic(err)
		}
		f()
	}()
	<-done
	if ferr != nil {
		t.Fatalf("in netns %s: %v", ns, ferr)
	}
}

// TestAgainstChronyd polls a real chronyd 4.3 server in a network
// namespace over IPv4 and IPv6, unauthenticated and with symmetric keys.
func TestAgainstChronyd(t *testing.T) {
	_, err := exec.LookPath("ip")
	requireTool(t, err == nil, "iproute2 not installed")
	_, err = os.Stat("/usr/sbin/chronyd")
	requireTool(t, err == nil, "chronyd not installed")
	requireTool(t, os.Geteuid() == 0, "needs root for network namespaces")

	client, server := netnsPair(t)
	keys := "1 MD5 HEX:00112233445566778899AABBCCDDEEFF\n2 AES128 HEX:2b7e151628aed2a6abf7158809cf4f3c\n3 SHA1 ASCII:sr-test-key-3\n"
	startChronyd(t, server, keys)
	ks, warnings, err := auth.ParseKeyFile(strings.NewReader(keys), "test")
	require.NoError(t, err)
	require.Empty(t, warnings)

	cases := []struct {
		name   string
		addr   string
		key    uint32
		xleave bool
		ef     uint32
	}{
		{"ipv4", "198.51.100.2", 0, false, 0},
		{"ipv6", "2001:db8:5::2", 0, false, 0},
		{"ipv4 md5", "198.51.100.2", 1, false, 0},
		{"ipv6 aes128 cmac", "2001:db8:5::2", 2, false, 0},
		{"ipv4 sha1", "198.51.100.2", 3, false, 0},
		{"ipv4 interleaved", "198.51.100.2", 0, true, 0},
		{"ipv6 interleaved md5", "2001:db8:5::2", 1, true, 0},
		{"ipv4 extfield F323 sha1", "198.51.100.2", 3, false, source.ExtFieldMonoRoot},
	}
	inNetns(t, client, func() {
		sh := New(Config{KernelTxTimestamps: true})
		defer sh.Close()
		for _, tc := range cases {
			opts := source.DefaultOptions(source.ModeClient)
			opts.Key = tc.key
			opts.XLeave = tc.xleave
			opts.ExtFields = tc.ef
			src, err := source.New(netip.MustParseAddr(tc.addr), opts, source.Env{Precision: 1e-7, Keys: ks})
			require.NoError(t, err)
			src.Start(time.Now())
			good, longest := 0, 0
			deadline := time.Now().Add(20 * time.Second)
			for good < 3 && time.Now().Before(deadline) {
				var tx *source.Transmit
				for _, a := range src.HandleTimer(time.Now()) {
					if v, ok := a.(source.Transmit); ok {
						tx = &v
					}
				}
				if tx == nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				info, err := sh.Send(*tx)
				require.NoError(t, err)
				src.HandleTxTimestamp(info)
				select {
				case pkt := <-sh.Received():
					longest = max(longest, len(pkt.Data))
					for _, a := range src.HandleIncoming(pkt.Data, pkt.Remote, pkt.Info) {
						if ds, ok := a.(source.DeliverSample); ok {
							good++
							require.Less(t, abs(ds.Sample.Offset), 0.05, "%s offset", tc.name)
							require.Less(t, ds.Sample.PeerDelay, 0.5, "%s delay", tc.name)
						}
					}
				case <-time.After(2 * time.Second):
				}
				if good < 3 {
					time.Sleep(200 * time.Millisecond)
				}
			}
			r := src.NTPReport()
			require.GreaterOrEqualf(t, good, 3, "%s: good samples (tests %010b, valid %d, auth failed %d)",
				tc.name, r.Tests.Bits(), r.TotalValid, src.Counters().AuthFailed)
			require.Equal(t, 1, r.Stratum, tc.name)
			require.Equal(t, tc.key != 0, r.Authenticated)
			require.Equal(t, source.TimestampKernel, r.RxTimestamp)
			require.Equal(t, uint32(0x7F7F0101), r.RefID, "local reference")
			require.Equal(t, tc.xleave, r.Interleaved, "%s interleaved", tc.name)
			if tc.ef != 0 {
				require.Equal(t, 48+28+24, longest, "response with F323 and a SHA1 MAC")
			}
		}
	})
}

// TestPeerAgainstChronyd runs a symmetric association between our state
// machine (sending from port 123) and a real chronyd configured with
// `peer` towards us.
func TestPeerAgainstChronyd(t *testing.T) {
	_, err := exec.LookPath("ip")
	requireTool(t, err == nil, "iproute2 not installed")
	_, err = os.Stat("/usr/sbin/chronyd")
	requireTool(t, err == nil, "chronyd not installed")
	requireTool(t, os.Geteuid() == 0, "needs root for network namespaces")

	client, server := netnsPair(t)
	startChronyd(t, server, "", "peer 198.51.100.1 minpoll 0 maxpoll 0")
	inNetns(t, client, func() {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 123})
		require.NoError(t, err)
		defer conn.Close()
		opts := source.DefaultOptions(source.ModePeer)
		opts.MinPoll, opts.MaxPoll = 0, 0
		peerAddr := netip.MustParseAddr("198.51.100.2")
		src, err := source.New(peerAddr, opts, source.Env{Precision: 1e-7})
		require.NoError(t, err)
		timer := time.Now()
		for _, a := range src.Start(time.Now()) {
			if st, ok := a.(source.SetTimer); ok {
				timer = st.At
			}
		}
		good := 0
		buf := make([]byte, 1500)
		deadline := time.Now().Add(25 * time.Second)
		for good < 3 && time.Now().Before(deadline) {
			_ = conn.SetReadDeadline(timer)
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			var acts []source.Action
			if err == nil {
				acts = src.HandleIncoming(append([]byte(nil), buf[:n]...), from,
					source.RxInfo{Time: time.Now(), Source: source.TimestampDaemon})
			} else {
				acts = src.HandleTimer(time.Now())
			}
			for _, a := range acts {
				switch a := a.(type) {
				case source.SetTimer:
					timer = a.At
				case source.Transmit:
					require.True(t, a.Peer)
					_, err := conn.WriteToUDPAddrPort(a.Packet, a.To)
					require.NoError(t, err)
				case source.DeliverSample:
					good++
					require.Less(t, abs(a.Sample.Offset), 0.05)
				}
			}
		}
		r := src.NTPReport()
		require.GreaterOrEqualf(t, good, 3, "good samples from the chronyd peer (tests %010b, valid %d, rx %d)",
			r.Tests.Bits(), r.TotalValid, r.TotalRx)
		require.Equal(t, 1, r.Mode, "chronyd answers in symmetric active mode")
	})
}
