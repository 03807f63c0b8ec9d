package cmdmon

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"
)

// unixEndpoint reads requests from and sends replies to the Unix command
// socket with non-blocking raw system calls made through the socket's
// RawConn. The serving goroutine still waits for requests in the runtime's
// network poller, but a request costs no entersyscall: that is what wakes
// the runtime's monitor thread every time an idle daemon gets a request,
// which made a chronyc round trip cost several thread wakeups.
type unixEndpoint struct {
	rc      syscall.RawConn
	from    syscall.RawSockaddrUnix
	fromLen uint32
	buf     [readBufLen]byte
}

// sunPathOffset is the length of an unnamed (unbound) peer's address.
const sunPathOffset = uint32(unsafe.Offsetof(syscall.RawSockaddrUnix{}.Path))

// newUnixEndpoint wraps conn.
func newUnixEndpoint(conn *net.UnixConn) (*unixEndpoint, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("command socket: %w", err)
	}
	return &unixEndpoint{rc: rc}, nil
}

// read waits for the next datagram and returns it (valid until the next
// read) and whether its sender has a name that a reply can go to.
func (e *unixEndpoint) read() (pkt []byte, named bool, err error) {
	var n int
	var opErr error
	err = e.rc.Read(func(fd uintptr) bool {
		for range 8 { // retries after EINTR
			e.fromLen = uint32(unsafe.Sizeof(e.from))
			r, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd,
				uintptr(unsafe.Pointer(&e.buf[0])), uintptr(len(e.buf)), syscall.MSG_DONTWAIT,
				uintptr(unsafe.Pointer(&e.from)), uintptr(unsafe.Pointer(&e.fromLen)))
			switch errno {
			case 0:
				n = int(r)
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait in the poller
			default:
				opErr = errno
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, false, err
	}
	if opErr != nil {
		return nil, false, fmt.Errorf("command socket read: %w", opErr)
	}
	return e.buf[:n], e.fromLen > sunPathOffset, nil
}

// errReplyDropped is a reply the kernel would not queue at once (the
// client's receive queue is full); like chronyd, the daemon does not wait.
var errReplyDropped = errors.New("reply dropped: client's queue full")

// reply sends b to the sender of the last datagram read, without waiting.
func (e *unixEndpoint) reply(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var opErr error
	err := e.rc.Control(func(fd uintptr) {
		for range 8 { // retries after EINTR
			_, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd,
				uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MSG_DONTWAIT,
				uintptr(unsafe.Pointer(&e.from)), uintptr(e.fromLen))
			switch errno {
			case 0:
				opErr = nil
				return
			case syscall.EINTR:
				opErr = errno
				continue
			case syscall.EAGAIN:
				opErr = errReplyDropped
				return
			default:
				opErr = errno
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if opErr != nil {
		return fmt.Errorf("command reply: %w", opErr)
	}
	return nil
}

// peerName returns the sender's socket path, for logs.
func (e *unixEndpoint) peerName() string {
	if e.fromLen <= sunPathOffset {
		return ""
	}
	p := e.from.Path[:e.fromLen-sunPathOffset]
	b := make([]byte, 0, len(p))
	for i, c := range p {
		if c == 0 && i > 0 {
			break
		}
		if c == 0 {
			c = '@' // abstract address
		}
		b = append(b, byte(c))
	}
	return string(b)
}
