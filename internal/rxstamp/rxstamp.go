// Package rxstamp reads the kernel receive timestamp (SO_TIMESTAMPNS) out of
// the control messages of a received UDP datagram.
package rxstamp

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

// timespecSize is the size of struct timespec on 64-bit Linux: two native
// int64s.
const timespecSize = 16

// FromControl returns the SCM_TIMESTAMPNS time in oob, the control data of
// a recvmsg, and whether there was one.
func FromControl(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= timespecSize {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}
