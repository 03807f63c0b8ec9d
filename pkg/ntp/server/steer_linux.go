//go:build linux

package server

import (
	"fmt"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// netOff returns the classic BPF offset of byte off of the packet's
// network (IP) header: SKF_NET_OFF (-0x100000) + off, as the kernel's
// unsigned 32-bit field holds it.
func netOff(off int32) uint32 { return uint32(int32(-0x100000) + off) }

// steeringProgram returns a classic BPF program for SO_ATTACH_REUSEPORT_CBPF
// that hands every datagram from one source address to the same socket of
// a group of n: a busy client's client log record and counters then stay
// with one worker (and its CPU cache) instead of bouncing between workers.
func steeringProgram(ipv4 bool, n int) ([]bpf.RawInstruction, error) {
	var prog []bpf.Instruction
	if ipv4 {
		// The IPv4 source address.
		prog = []bpf.Instruction{bpf.LoadAbsolute{Off: netOff(12), Size: 4}}
	} else {
		// The IPv6 source address, its four words XORed.
		for i, off := range []int32{8, 12, 16, 20} {
			prog = append(prog, bpf.LoadAbsolute{Off: netOff(off), Size: 4})
			if i > 0 {
				prog = append(prog, bpf.ALUOpX{Op: bpf.ALUOpXor})
			}
			if i < 3 {
				prog = append(prog, bpf.TAX{})
			}
		}
	}
	prog = append(prog, bpf.ALUOpConstant{Op: bpf.ALUOpMod, Val: uint32(n)}, bpf.RetA{})
	return bpf.Assemble(prog)
}

// attachSteering installs the steering program on a socket of a reuseport
// group of n sockets.
func attachSteering(fd int, ipv4 bool, n int) error {
	raw, err := steeringProgram(ipv4, n)
	if err != nil {
		return fmt.Errorf("assemble steering program: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: (*unix.SockFilter)(unsafe.Pointer(&filter[0]))}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog); err != nil {
		return fmt.Errorf("setsockopt SO_ATTACH_REUSEPORT_CBPF: %w", err)
	}
	return nil
}
