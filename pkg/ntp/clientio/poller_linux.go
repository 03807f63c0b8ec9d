//go:build linux

package clientio

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxEvents bounds the events taken from the epoll set at once.
const maxEvents = 32

// poller is an epoll set of request sockets that is itself watched by Go's
// network poller: the goroutine that serves it sleeps in the runtime's own
// epoll wait, with no thread of its own, no per-socket registration with
// the runtime and no deadline timer, so that a reply costs one wakeup.
// Sockets are added edge-triggered and must be read until EAGAIN.
type poller struct {
	epfd int
	file *os.File
	raw  syscall.RawConn
}

// newPoller creates the epoll set and registers it with the runtime.
func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	// os.NewFile hands a non-blocking descriptor to the network poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll set non-blocking: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "clientio-epoll")
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("epoll set: %w", err)
	}
	return &poller{epfd: epfd, file: file, raw: raw}, nil
}

// add watches fd for datagrams and errors; id comes back with its events.
func (p *poller) add(fd int, id uint32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(fd), Pad: int32(id)}
	if err := rawEpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// watch switches the events of fd in the set on or off (a socket whose
// events are off wakes nobody, not even for its error queue).
func (p *poller) watch(fd int, id uint32, on bool) {
	ev := unix.EpollEvent{Fd: int32(fd), Pad: int32(id)}
	if on {
		ev.Events = unix.EPOLLIN | unix.EPOLLET
	}
	_ = rawEpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// run waits for events and passes each batch to handle, until the poller
// is closed or waiting fails; it returns the error that ended it.
func (p *poller) run(handle func([]unix.EpollEvent)) error {
	events := make([]unix.EpollEvent, maxEvents)
	for {
		var n int
		var perr error
		err := p.raw.Read(func(fd uintptr) bool {
			n, perr = rawEpollPoll(int(fd), events)
			if errors.Is(perr, unix.EINTR) {
				perr = nil
			}
			return perr != nil || n > 0
		})
		if err != nil {
			return fmt.Errorf("waiting for client sockets: %w", err)
		}
		if perr != nil {
			return fmt.Errorf("epoll_pwait: %w", perr)
		}
		handle(events[:n])
	}
}

// close closes the epoll set, which ends run.
func (p *poller) close() error { return p.file.Close() }
