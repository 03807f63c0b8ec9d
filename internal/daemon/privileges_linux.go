package daemon

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Capability numbers the daemon may keep after dropping root.
const (
	CapNetBindService = unix.CAP_NET_BIND_SERVICE
	CapSysTime        = unix.CAP_SYS_TIME
)

// errCgo explains why the all-thread system calls failed.
var errCgo = errors.New("this build links cgo, which prevents changing credentials on all threads; build with CGO_ENABLED=0")

// KeptCapabilities returns the capabilities the daemon keeps after dropping
// root, as chronyd does: CAP_NET_BIND_SERVICE when the NTP port is
// privileged, CAP_SYS_TIME when the clock is controlled.
func KeptCapabilities(ntpPort int, clockControl bool) []int {
	var caps []int
	if ntpPort > 0 && ntpPort < 1024 {
		caps = append(caps, CapNetBindService)
	}
	if clockControl {
		caps = append(caps, CapSysTime)
	}
	return caps
}

// allThreads runs a raw system call on every thread of the process.
func allThreads(name string, trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if errno == syscall.ENOTSUP {
		return fmt.Errorf("%s: %w", name, errCgo)
	}
	if errno != 0 {
		return fmt.Errorf("%s failed : %w", name, errno)
	}
	return nil
}

// DropRoot switches every thread of the process to uid and gid, without
// supplementary groups, keeping only caps in the permitted and effective
// sets. The sockets already open stay usable.
func DropRoot(uid, gid int, caps []int) error {
	if err := allThreads("prctl(PR_SET_KEEPCAPS)", unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
		return err
	}
	// Since Go 1.16 these apply to all threads.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups() failed : %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid(%d) failed : %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid(%d) failed : %w", uid, err)
	}
	return SetCapabilities(caps)
}

// SetCapabilities makes caps the permitted and effective capability sets of
// every thread (the inheritable set is emptied).
func SetCapabilities(caps []int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for _, c := range caps {
		data[c/32].Permitted |= 1 << (uint(c) % 32)
		data[c/32].Effective |= 1 << (uint(c) % 32)
	}
	err := allThreads("capset()", unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	return err
}

// BadPriorityError is a SCHED_FIFO priority outside 1..99.
type BadPriorityError struct{ Priority int }

func (e *BadPriorityError) Error() string {
	return fmt.Sprintf("Bad scheduler priority: %d", e.Priority)
}

// schedParam is struct sched_param.
type schedParam struct {
	priority int32
}

// SetScheduler puts every thread under SCHED_FIFO at priority, clamped to
// the policy's range. Priorities outside 1..99 are refused, as by chronyd.
func SetScheduler(priority int) error {
	if priority < 1 || priority > 99 {
		return &BadPriorityError{Priority: priority}
	}
	p := schedParam{priority: int32(priority)}
	err := allThreads("sched_setscheduler()", unix.SYS_SCHED_SETSCHEDULER, 0, uintptr(unix.SCHED_FIFO), uintptr(unsafe.Pointer(&p)))
	runtime.KeepAlive(&p)
	return err
}

// LockMemory raises RLIMIT_MEMLOCK and locks all current and future pages
// into RAM. Like chronyd it gives up when the limit cannot be raised: with
// MCL_FUTURE under a small limit, the Go runtime could not grow its heap.
func LockMemory() error {
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf); err != nil {
		return fmt.Errorf("setrlimit() failed : %w", err)
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
		return fmt.Errorf("mlockall() failed : %w", err)
	}
	return nil
}
