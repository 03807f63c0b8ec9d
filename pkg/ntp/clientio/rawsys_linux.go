//go:build linux

package clientio

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The request sockets are plain non-blocking descriptors that Go's
// network poller never sees. Every call on them returns at once, so they
// go through RawSyscall: an ordinary syscall.Syscall tells the scheduler
// it may block, which wakes the runtime's sysmon thread when it sleeps and
// makes it poll every 20 µs until the process is idle again, several
// thread switches per exchange for nothing. Only the wait for a late
// transmit timestamp (ppoll) may block and uses the ordinary path.

// rawErr turns a raw errno into an error (nil for 0).
func rawErr(e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// socketFamily is the address family of a request socket.
func socketFamily(v6 bool) int {
	if v6 {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

// rawSocket opens a non-blocking, close-on-exec UDP socket.
func rawSocket(v6 bool) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(socketFamily(v6)),
		unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if e != 0 {
		return -1, fmt.Errorf("socket: %w", e)
	}
	return int(fd), nil
}

// rawClose closes a descriptor, which also drops it from every epoll set.
func rawClose(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// rawSetsockoptInt sets an integer socket option.
func rawSetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), 4, 0)
	return rawErr(e)
}

// rawBindToDevice sets SO_BINDTODEVICE.
func rawBindToDevice(fd int, device string) error {
	name := append([]byte(device), 0)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE,
		uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)), 0)
	return rawErr(e)
}

// sockaddr is a socket address in the kernel's layout, for either family.
type sockaddr struct {
	any unix.RawSockaddrAny
	len uint32
}

// newSockaddr encodes ap for a socket of the given family (an IPv4
// address on an IPv6 socket is not used here: families never mix).
func newSockaddr(ap netip.AddrPort, v6 bool) *sockaddr {
	sa := &sockaddr{}
	port := ap.Port()
	if v6 {
		in6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.any))
		in6.Family = unix.AF_INET6
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&in6.Port))[:], port)
		in6.Addr = ap.Addr().As16()
		sa.len = unix.SizeofSockaddrInet6
		return sa
	}
	in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.any))
	in4.Family = unix.AF_INET
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&in4.Port))[:], port)
	if ap.Addr().IsValid() {
		in4.Addr = ap.Addr().Unmap().As4()
	}
	sa.len = unix.SizeofSockaddrInet4
	return sa
}

// addrPort decodes the address, or the zero AddrPort for another family.
func (sa *sockaddr) addrPort() netip.AddrPort {
	switch sa.any.Addr.Family {
	case unix.AF_INET:
		in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.any))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), port)
	case unix.AF_INET6:
		in6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.any))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in6.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(in6.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// rawBind binds fd to sa.
func rawBind(fd int, sa *sockaddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa.any)), uintptr(sa.len))
	return rawErr(e)
}

// rawConnect connects fd (a UDP socket: it does not block) to sa.
func rawConnect(fd int, sa *sockaddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa.any)), uintptr(sa.len))
	return rawErr(e)
}

// rawSendTo sends b on fd, to sa or, when sa is nil, to the connected
// peer.
func rawSendTo(fd int, b []byte, sa *sockaddr) error {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	var to unsafe.Pointer
	var tolen uint32
	if sa != nil {
		to, tolen = unsafe.Pointer(&sa.any), sa.len
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)),
		unix.MSG_DONTWAIT, uintptr(to), uintptr(tolen))
	return rawErr(e)
}

// rawRecvmsg reads one datagram (or, with MSG_ERRQUEUE, one error queue
// entry) without blocking; from receives the sender's address. buf and
// oob must not be empty.
func rawRecvmsg(fd int, buf, oob []byte, from *sockaddr, flags int) (n, oobn int, err error) {
	var iov unix.Iovec
	iov.Base = &buf[0]
	iov.SetLen(len(buf))
	var msg unix.Msghdr
	if from != nil {
		msg.Name = (*byte)(unsafe.Pointer(&from.any))
		msg.Namelen = unix.SizeofSockaddrAny
	}
	msg.Iov = &iov
	msg.SetIovlen(1)
	msg.Control = &oob[0]
	msg.SetControllen(len(oob))
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)),
		uintptr(flags|unix.MSG_DONTWAIT))
	if e != 0 {
		return 0, 0, e
	}
	if from != nil {
		from.len = msg.Namelen
	}
	return int(r), int(msg.Controllen), nil
}

// rawEpollCtl adds, modifies or deletes fd in the epoll set epfd.
func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd),
		uintptr(unsafe.Pointer(ev)), 0, 0)
	return rawErr(e)
}

// rawEpollPoll returns the events ready in epfd without waiting.
func rawEpollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])),
		uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
