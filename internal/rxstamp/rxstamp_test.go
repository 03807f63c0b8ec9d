package rxstamp

import (
	"encoding/binary"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// controlMessage builds one control message with the given level, type and
// data, as the kernel lays it out.
func controlMessage(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func timespec(sec, nsec int64) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint64(b[0:8], uint64(sec))
	binary.NativeEndian.PutUint64(b[8:16], uint64(nsec))
	return b
}

func TestFromControl(t *testing.T) {
	stamp := timespec(1_700_000_000, 123_456_789)
	tests := []struct {
		name   string
		oob    []byte
		want   time.Time
		wantOK bool
	}{
		{"timestamp", controlMessage(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, stamp), time.Unix(1_700_000_000, 123_456_789), true},
		{"after another message",
			append(controlMessage(unix.IPPROTO_IP, unix.IP_TOS, []byte{0, 0, 0, 0}), controlMessage(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, stamp)...),
			time.Unix(1_700_000_000, 123_456_789), true},
		{"no control data", nil, time.Time{}, false},
		{"other message only", controlMessage(unix.SOL_SOCKET, unix.SCM_RIGHTS, []byte{1, 0, 0, 0}), time.Time{}, false},
		{"short timespec", controlMessage(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, stamp[:8]), time.Time{}, false},
		{"truncated header", []byte{1, 2, 3}, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromControl(tt.oob)
			assert.Equal(t, tt.wantOK, ok)
			assert.True(t, tt.want.Equal(got), "got %v want %v", got, tt.want)
		})
	}
}
