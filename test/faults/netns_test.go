package faults

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// listenIn opens a UDP socket bound to addr ("203.0.113.1:123") inside the
// named network namespace. The socket stays in that namespace for its
// whole life, so the test process can serve and query from inside the
// test network without a helper process. The switch happens on a locked
// thread that returns to its own namespace afterwards; if it cannot, the
// thread stays locked and is discarded, so no other goroutine ever runs in
// the test namespace (and "ip netns pids" never finds the test process
// there, which its cleanup would kill).
func listenIn(nsName, network, addr string) (net.PacketConn, error) {
	type result struct {
		conn net.PacketConn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{nil, fmt.Errorf("opening this thread's namespace: %w", err)}
			return
		}
		defer home.Close()
		conn, err := listenOnThisThread(nsName, network, addr)
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}

// listenOnThisThread moves the current (locked) thread into the namespace
// and opens the socket there.
func listenOnThisThread(nsName, network, addr string) (net.PacketConn, error) {
	f, err := os.Open(filepath.Join("/run/netns", nsName))
	if err != nil {
		return nil, fmt.Errorf("opening namespace %s: %w", nsName, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("entering namespace %s: %w", nsName, err)
	}
	conn, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s %s in namespace %s: %w", network, addr, nsName, err)
	}
	return conn, nil
}
