//go:build linux

package server

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"golang.org/x/sys/unix"
)

// oobSize is the room for the control messages of one datagram (receive
// timestamp and packet info).
const oobSize = 256

// txRingSize is the number of sent responses whose kernel transmit
// timestamps can still be matched (a power of two).
const txRingSize = 1024

// maxErrQueueReads bounds the error queue messages read per wakeup.
const maxErrQueueReads = 256

// maxEmptyDrains is the number of error queue reads that may find nothing
// before the requested transmit timestamps still missing are given up.
const maxEmptyDrains = 8

// txRingEntry maps a transmit timestamp ID (SOF_TIMESTAMPING_OPT_ID) to
// the receive timestamp that keys the response in the TxMemory.
type txRingEntry struct {
	id uint32
	rx wire.Timestamp
}

// rxBufSize leaves room to detect datagrams longer than any valid packet.
const rxBufSize = wire.MaxPacketLen + 4

// worker owns one socket and serves it on one goroutine.
type worker struct {
	s     *Server
	conn  *net.UDPConn
	raw   syscall.RawConn
	local netip.AddrPort
	ipv4  bool
	resp  *Responder

	rxBufs  [][]byte
	rxOOB   [][]byte
	rxNames [][unix.SizeofSockaddrInet6]byte
	rxIov   []unix.Iovec
	rxHdrs  []unix.Mmsghdr
	txBufs  [][]byte
	txOOB   [][]byte
	txNames [][unix.SizeofSockaddrInet6]byte
	txIov   []unix.Iovec
	txHdrs  []unix.Mmsghdr

	txKeys []wire.Timestamp
	txRing [txRingSize]txRingEntry
	// txNext is the OPT_ID of the next timestamped datagram sent;
	// txTimestamps is true when the kernel timestamps transmissions, and
	// txPerPacket when only the datagrams that ask for it (interleaved
	// candidates) are timestamped.
	txNext       uint32
	txTimestamps bool
	txPerPacket  bool
	// txPending counts requested transmit timestamps not yet read from
	// the error queue (txPerPacket); the queue is read only when it is
	// not zero. txEmptyDrains counts reads that found nothing since the
	// last timestamp, to give up on timestamps that never come.
	txPending     int
	txEmptyDrains int
	errHdr        unix.Msghdr
	errIov        unix.Iovec
	errBuf        []byte
	errOOB        []byte

	nRecv   int
	recvErr error
	nOut    int
	sendFn  func(fd uintptr) bool
	recvFn  func(fd uintptr) bool
	closeMu sync.Once
	req     Request
}

// newWorker opens one SO_REUSEPORT socket bound to addr.
func newWorker(s *Server, addr netip.AddrPort, ipv4 bool) (*worker, error) {
	network := "udp6"
	if ipv4 {
		network = "udp4"
	}
	var sockErr error
	var ts timestamping
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		err := c.Control(func(fd uintptr) {
			sockErr = setServerSockopts(int(fd), ipv4, s.cfg.DSCP, s.cfg.BindDevice)
			if sockErr == nil {
				ts, sockErr = enableTimestamping(int(fd))
			}
		})
		if err != nil {
			return err
		}
		return sockErr
	}}
	pc, err := lc.ListenPacket(s.ctx, network, addr.String())
	if err != nil {
		return nil, err
	}
	conn := pc.(*net.UDPConn)
	raw, err := conn.SyscallConn()
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	n := s.cfg.BatchSize
	w := &worker{
		s:       s,
		conn:    conn,
		raw:     raw,
		local:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		ipv4:    ipv4,
		resp:    NewResponder(s.shared, NewRandom()),
		rxBufs:  make([][]byte, n),
		rxOOB:   make([][]byte, n),
		rxNames: make([][unix.SizeofSockaddrInet6]byte, n),
		rxIov:   make([]unix.Iovec, n),
		rxHdrs:  make([]unix.Mmsghdr, n),
		txBufs:  make([][]byte, n),
		txOOB:   make([][]byte, n),
		txNames: make([][unix.SizeofSockaddrInet6]byte, n),
		txIov:   make([]unix.Iovec, n),
		txHdrs:  make([]unix.Mmsghdr, n),
		txKeys:  make([]wire.Timestamp, n),
		errBuf:  make([]byte, 64),
		errOOB:  make([]byte, oobSize),

		txTimestamps: ts != timestampRxOnly,
		txPerPacket:  ts == timestampPerPacket,
	}
	w.errIov.Base = &w.errBuf[0]
	w.errIov.SetLen(len(w.errBuf))
	w.errHdr.Iov = &w.errIov
	w.errHdr.SetIovlen(1)
	w.errHdr.Control = &w.errOOB[0]
	for i := 0; i < n; i++ {
		w.rxBufs[i] = make([]byte, rxBufSize)
		w.rxOOB[i] = make([]byte, oobSize)
		w.txBufs[i] = make([]byte, wire.MaxPacketLen)
		w.txOOB[i] = make([]byte, oobSize)
		w.rxIov[i].Base = &w.rxBufs[i][0]
		w.rxIov[i].SetLen(rxBufSize)
		w.rxHdrs[i].Hdr.Name = &w.rxNames[i][0]
		w.rxHdrs[i].Hdr.Iov = &w.rxIov[i]
		w.rxHdrs[i].Hdr.SetIovlen(1)
		w.rxHdrs[i].Hdr.Control = &w.rxOOB[i][0]
		w.txIov[i].Base = &w.txBufs[i][0]
		w.txHdrs[i].Hdr.Name = &w.txNames[i][0]
		w.txHdrs[i].Hdr.Iov = &w.txIov[i]
		w.txHdrs[i].Hdr.SetIovlen(1)
		w.txHdrs[i].Hdr.Control = &w.txOOB[i][0]
	}
	w.recvFn = w.recv
	w.sendFn = w.send
	return w, nil
}

// setServerSockopts applies chronyd's server socket options.
func setServerSockopts(fd int, ipv4 bool, dscp int, device string) error {
	opts := []struct {
		level, opt, val int
		name            string
	}{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR"},
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"},
		{unix.IPPROTO_IP, unix.IP_FREEBIND, 1, "IP_FREEBIND"},
	}
	if ipv4 {
		opts = append(opts, struct {
			level, opt, val int
			name            string
		}{unix.IPPROTO_IP, unix.IP_PKTINFO, 1, "IP_PKTINFO"})
		if dscp > 0 {
			opts = append(opts, struct {
				level, opt, val int
				name            string
			}{unix.IPPROTO_IP, unix.IP_TOS, dscp << 2, "IP_TOS"})
		}
	} else {
		opts = append(opts, struct {
			level, opt, val int
			name            string
		}{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1, "IPV6_V6ONLY"}, struct {
			level, opt, val int
			name            string
		}{unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"})
		if dscp > 0 {
			opts = append(opts, struct {
				level, opt, val int
				name            string
			}{unix.IPPROTO_IPV6, unix.IPV6_TCLASS, dscp << 2, "IPV6_TCLASS"})
		}
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			return &net.OpError{Op: "setsockopt " + o.name, Err: err}
		}
	}
	if device != "" {
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, device); err != nil {
			return &net.OpError{Op: "setsockopt SO_BINDTODEVICE " + device, Err: err}
		}
	}
	return nil
}

func (w *worker) close() {
	w.closeMu.Do(func() { _ = w.conn.Close() })
}

// The socket calls of the serving loop never block (MSG_DONTWAIT; waiting
// is the runtime poller's job), so they are made as raw system calls:
// telling the scheduler about each one would let its monitor hand the
// processor to another thread whenever loopback delivery makes a call last
// a few tens of microseconds, and the resulting thread wakeups cost more
// than the calls themselves.

// recv is the body of one recvmmsg; it returns false to wait for data.
func (w *worker) recv(fd uintptr) bool {
	if w.txTimestamps && (!w.txPerPacket || w.txPending > 0) {
		w.drainErrQueue(fd)
	}
	for i := range w.rxHdrs {
		w.rxHdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		w.rxHdrs[i].Hdr.SetControllen(oobSize)
		w.rxHdrs[i].Hdr.Flags = 0
		w.rxHdrs[i].Len = 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&w.rxHdrs[0])),
		uintptr(len(w.rxHdrs)), unix.MSG_DONTWAIT, 0, 0)
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return false
	}
	w.nRecv, w.recvErr = 0, nil
	if errno != 0 {
		w.recvErr = errno
		return true
	}
	w.nRecv = int(n)
	return true
}

// send is the body of sendmmsg for the pending responses; it returns false
// to wait until the socket is writable.
func (w *worker) send(fd uintptr) bool {
	start := 0
	for tries := 0; start < w.nOut && tries <= w.nOut; tries++ {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.txHdrs[start])),
			uintptr(w.nOut-start), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == unix.EAGAIN:
			w.moveTx(start)
			return false
		case errno == unix.EINTR:
			continue
		case errno != 0:
			// The first message failed (e.g. no route): skip it.
			w.s.shared.Stats.SendErrors.Add(1)
			start++
		default:
			for k := start; k < start+int(n); k++ {
				w.recordSent(w.txKeys[k])
			}
			start += int(n)
		}
	}
	w.nOut = 0
	return true
}

// moveTx drops the already sent messages before first from the queue.
func (w *worker) moveTx(first int) {
	if first == 0 {
		return
	}
	for i := first; i < w.nOut; i++ {
		j := i - first
		copy(w.txBufs[j], w.txBufs[i][:w.txIov[i].Len])
		w.txIov[j].Len = w.txIov[i].Len
		w.txNames[j] = w.txNames[i]
		w.txHdrs[j].Hdr.Namelen = w.txHdrs[i].Hdr.Namelen
		copy(w.txOOB[j], w.txOOB[i])
		w.txKeys[j] = w.txKeys[i]
		w.txHdrs[j].Hdr.Controllen = w.txHdrs[i].Hdr.Controllen
		if w.txHdrs[j].Hdr.Controllen == 0 {
			w.txHdrs[j].Hdr.Control = nil
		} else {
			w.txHdrs[j].Hdr.Control = &w.txOOB[j][0]
		}
	}
	w.nOut -= first
}

// run serves the socket until it is closed.
func (w *worker) run() {
	clock := w.s.cfg.Clock
	log := w.s.cfg.Log
	var lastErr time.Time
	for {
		if err := w.raw.Read(w.recvFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// An error event alone (the error queue holds transmit
			// timestamps while the send buffer is full): read the
			// queue and pause briefly, as the poller reports the
			// error until the next event.
			if cerr := w.raw.Control(func(fd uintptr) { w.drainErrQueue(fd) }); cerr != nil {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		if w.recvErr != nil {
			// Errors such as ICMP port unreachable are transient.
			if t := clock(); t.Sub(lastErr) > time.Minute {
				log.WithError(w.recvErr).Debug("NTP server receive error")
				lastErr = t
			}
			continue
		}
		w.s.shared.Stats.Received.Add(uint64(w.nRecv))
		now := clock()
		snap := w.s.cfg.Reference.Load()
		w.nOut = 0
		for i := 0; i < w.nRecv; i++ {
			w.handleOne(i, now, snap)
		}
		if w.nOut > 0 {
			if err := w.raw.Write(w.sendFn); err != nil {
				return
			}
		}
	}
}

// handleOne serves the i-th received datagram, queueing any response.
func (w *worker) handleOne(i int, now time.Time, snap *discipline.ReferenceSnapshot) {
	h := &w.rxHdrs[i]
	length := int(h.Len)
	if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
		length = rxBufSize
	}
	from, ok := parseSockaddr(w.rxNames[i][:], int(h.Hdr.Namelen))
	if !ok {
		return
	}
	rx, src, dst, ifindex := parseControl(w.rxOOB[i][:controlLen(&h.Hdr)])
	if rx.IsZero() {
		rx, src = now, TimestampDaemon
	}
	w.req = Request{Data: w.rxBufs[i][:length], From: from, RxRaw: rx, RxSource: src}
	out := w.txBufs[w.nOut]
	n, verdict, _ := w.resp.Handle(&w.req, snap, w.s.cfg.Clock, out)
	switch verdict {
	case VerdictRespond:
		j := w.nOut
		w.txIov[j].SetLen(n)
		w.txNames[j] = w.rxNames[i]
		w.txKeys[j] = w.resp.SavedRx()
		w.txHdrs[j].Hdr.Namelen = h.Hdr.Namelen
		oob := putPktinfo(w.txOOB[j], w.ipv4, dst, ifindex)
		if w.txPerPacket && w.txKeys[j] != 0 {
			oob += putTxRequest(w.txOOB[j][oob:])
		}
		w.txHdrs[j].Hdr.SetControllen(oob)
		if w.txHdrs[j].Hdr.Controllen == 0 {
			w.txHdrs[j].Hdr.Control = nil
		} else {
			w.txHdrs[j].Hdr.Control = &w.txOOB[j][0]
		}
		w.nOut++
	case VerdictForward:
		if w.s.cfg.Peer != nil {
			w.s.cfg.Peer(w.req.Data, from, rx)
		}
	}
}

func controlLen(h *unix.Msghdr) int {
	return int(h.Controllen)
}

// parseSockaddr decodes a raw sockaddr_in or sockaddr_in6 without
// allocating.
func parseSockaddr(b []byte, n int) (netip.AddrPort, bool) {
	if n < 2 || n > len(b) {
		return netip.AddrPort{}, false
	}
	family := binary.NativeEndian.Uint16(b[0:2])
	switch {
	case family == unix.AF_INET && n >= unix.SizeofSockaddrInet4:
		port := binary.BigEndian.Uint16(b[2:4])
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), true
	case family == unix.AF_INET6 && n >= unix.SizeofSockaddrInet6:
		port := binary.BigEndian.Uint16(b[2:4])
		addr := netip.AddrFrom16([16]byte(b[8:24]))
		return netip.AddrPortFrom(addr, port), true
	}
	return netip.AddrPort{}, false
}

func cmsgAlign(n int) int { return (n + unix.SizeofPtr - 1) &^ (unix.SizeofPtr - 1) }

// parseControl extracts the kernel receive timestamp and the packet's
// destination address and interface from received control messages.
func parseControl(b []byte) (rx time.Time, src TimestampSource, dst netip.Addr, ifindex uint32) {
	forEachCmsg(b, func(level, typ int32, data []byte) {
		switch {
		case level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPING && unix.SizeofPtr == 8 && len(data) >= 16:
			// The software timestamp is the first of three.
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			if sec != 0 || nsec != 0 {
				rx, src = time.Unix(sec, nsec), TimestampKernel
			}
		case level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS:
			if unix.SizeofPtr == 8 && len(data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
				rx, src = time.Unix(sec, nsec), TimestampKernel
			} else if unix.SizeofPtr == 4 && len(data) >= 8 {
				sec := int64(int32(binary.NativeEndian.Uint32(data[0:4])))
				nsec := int64(int32(binary.NativeEndian.Uint32(data[4:8])))
				rx, src = time.Unix(sec, nsec), TimestampKernel
			}
		case level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= 12:
			ifindex = binary.NativeEndian.Uint32(data[0:4])
			dst = netip.AddrFrom4([4]byte(data[8:12]))
		case level == unix.IPPROTO_IPV6 && typ == unix.IPV6_PKTINFO && len(data) >= 20:
			dst = netip.AddrFrom16([16]byte(data[0:16]))
			ifindex = binary.NativeEndian.Uint32(data[16:20])
		}
	})
	return rx, src, dst, ifindex
}

// putPktinfo writes the control message that makes the response leave from
// the address the request was sent to, and returns its length (0 when the
// destination is unknown).
func putPktinfo(b []byte, ipv4 bool, dst netip.Addr, ifindex uint32) int {
	if !dst.IsValid() {
		return 0
	}
	dataLen := 20
	level, typ := unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	if ipv4 {
		dataLen, level, typ = 12, unix.IPPROTO_IP, unix.IP_PKTINFO
	}
	space := cmsgAlign(unix.SizeofCmsghdr) + cmsgAlign(dataLen)
	clear(b[:space])
	l := cmsgAlign(unix.SizeofCmsghdr) + dataLen
	if unix.SizeofPtr == 8 {
		binary.NativeEndian.PutUint64(b[0:8], uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b[0:4], uint32(l))
	}
	binary.NativeEndian.PutUint32(b[unix.SizeofPtr:], uint32(level))
	binary.NativeEndian.PutUint32(b[unix.SizeofPtr+4:], uint32(typ))
	data := b[cmsgAlign(unix.SizeofCmsghdr):]
	if ipv4 {
		binary.NativeEndian.PutUint32(data[0:4], ifindex)
		a := dst.Unmap().As4()
		copy(data[4:8], a[:])
	} else {
		a := dst.As16()
		copy(data[0:16], a[:])
		binary.NativeEndian.PutUint32(data[16:20], ifindex)
	}
	return space
}

// recordSent notes the transmit timestamp ID of one sent datagram and the
// key of its response in the TxMemory (0 when it needs no timestamp).
func (w *worker) recordSent(rx wire.Timestamp) {
	if !w.txTimestamps || (w.txPerPacket && rx == 0) {
		// The kernel counts only the datagrams it timestamps.
		return
	}
	id := w.txNext
	w.txNext++
	w.txRing[id&(txRingSize-1)] = txRingEntry{id: id, rx: rx}
	if w.txPerPacket {
		w.txPending++
	}
}

// drainErrQueue reads the kernel transmit timestamps from the socket's
// error queue and updates the saved transmit times of interleaved mode.
func (w *worker) drainErrQueue(fd uintptr) {
	var snap *discipline.ReferenceSnapshot
	for i := 0; i < maxErrQueueReads; i++ {
		w.errHdr.Name = nil
		w.errHdr.Namelen = 0
		w.errHdr.SetControllen(oobSize)
		w.errHdr.Flags = 0
		_, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&w.errHdr)),
			unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if errno != 0 {
			if i == 0 && w.txPending > 0 {
				w.txEmptyDrains++
				if w.txEmptyDrains > maxEmptyDrains {
					w.txPending, w.txEmptyDrains = 0, 0
				}
			}
			return
		}
		w.txEmptyDrains = 0
		ts, id, ok := parseTxTimestamp(w.errOOB[:controlLen(&w.errHdr)])
		if !ok {
			continue
		}
		if w.txPending > 0 {
			w.txPending--
		}
		e := w.txRing[id&(txRingSize-1)]
		if e.id != id || e.rx == 0 {
			continue
		}
		if snap == nil {
			snap = w.s.cfg.Reference.Load()
		}
		w.s.shared.Tx.UpdateTx(e.rx, servedKernelTx(snap, ts), TimestampKernel)
		if w.txPerPacket && w.txPending == 0 {
			return
		}
	}
}

// parseTxTimestamp extracts the software timestamp and its ID from the
// control messages of an error queue message.
func parseTxTimestamp(b []byte) (ts time.Time, id uint32, ok bool) {
	var haveTS, haveID bool
	forEachCmsg(b, func(level, typ int32, data []byte) {
		switch {
		case level == unix.SOL_SOCKET && typ == unix.SO_TIMESTAMPING && len(data) >= 16 && unix.SizeofPtr == 8:
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			if sec != 0 || nsec != 0 {
				ts, haveTS = time.Unix(sec, nsec), true
			}
		case (level == unix.IPPROTO_IP && typ == unix.IP_RECVERR) || (level == unix.IPPROTO_IPV6 && typ == unix.IPV6_RECVERR):
			if len(data) >= 16 && data[4] == unix.SO_EE_ORIGIN_TIMESTAMPING &&
				binary.NativeEndian.Uint32(data[0:4]) == uint32(unix.ENOMSG) {
				id, haveID = binary.NativeEndian.Uint32(data[12:16]), true
			}
		}
	})
	return ts, id, haveTS && haveID
}

// forEachCmsg calls fn for each control message in b.
func forEachCmsg(b []byte, fn func(level, typ int32, data []byte)) {
	hdrLen := unix.SizeofCmsghdr
	for len(b) >= hdrLen {
		var l int
		if unix.SizeofPtr == 8 {
			l = int(binary.NativeEndian.Uint64(b[0:8]))
		} else {
			l = int(binary.NativeEndian.Uint32(b[0:4]))
		}
		if l < hdrLen || l > len(b) {
			return
		}
		level := int32(binary.NativeEndian.Uint32(b[unix.SizeofPtr:]))
		typ := int32(binary.NativeEndian.Uint32(b[unix.SizeofPtr+4:]))
		fn(level, typ, b[cmsgAlign(hdrLen):l])
		next := cmsgAlign(l)
		if next >= len(b) {
			return
		}
		b = b[next:]
	}
}
