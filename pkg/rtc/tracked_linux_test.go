//go:build linux

package rtc

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestOpenTrackedRefusesUnusableDevices(t *testing.T) {
	missing := t.TempDir() + "/rtc9"
	tests := []struct {
		name    string
		path    string
		wantMsg string
	}{
		{"missing", missing, "Could not open RTC device " + missing + " : No such file or directory"},
		{"no update interrupts", "/dev/null", "Could not enable RTC interrupt : Inappropriate ioctl for device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := OpenTracked(tc.path, true)
			assert.Nil(t, d)
			var de *DeviceError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.wantMsg, de.Error())
		})
	}
}

// updateWord is what an RTC device's read returns for an update interrupt.
func updateWord() []byte {
	return binary.NativeEndian.AppendUint64(nil, 0x100|unix.RTC_UF|unix.RTC_IRQF)
}

// TestTrackedDeviceReadings drives TrackedDevice over a pipe standing in
// for the RTC with its interrupts enabled: interrupts are written to the
// pipe, and RTC_RD_TIME fails on it, which is the last step of a reading.
func TestTrackedDeviceReadings(t *testing.T) {
	tests := []struct {
		name string
		// stale is written before the reading, fresh 100 ms into it.
		stale, fresh []byte
		want         ReadFailure
		wantMsg      string
	}{
		{"an update interrupt comes", nil, updateWord(), FailureTime, "Could not read time from rtc-pipe : Inappropriate ioctl for device"},
		{"no interrupt", nil, nil, FailureNoInterrupt, "No update interrupt from RTC device rtc-pipe"},
		{"only a stale interrupt", updateWord(), nil, FailureNoInterrupt, "No update interrupt from RTC device rtc-pipe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p [2]int
			require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
			t.Cleanup(func() { _ = unix.Close(p[1]) })
			d := &TrackedDevice{path: "rtc-pipe", fd: p[0], uieOn: true}
			t.Cleanup(func() { _ = d.Close() })
			if tc.stale != nil {
				_, err := unix.Write(p[1], tc.stale)
				require.NoError(t, err)
			}
			if tc.fresh != nil {
				timer := time.AfterFunc(100*time.Millisecond, func() { _, _ = unix.Write(p[1], tc.fresh) })
				t.Cleanup(func() { timer.Stop() })
			}
			_, _, err := d.Read(time.Now)
			var re *ReadError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.want, re.Failure)
			assert.Equal(t, tc.wantMsg, re.Msg)
			assert.False(t, d.uieOn, "a failed reading disables the interrupts")
			assert.GreaterOrEqual(t, d.fd, 0, "only a device failure closes the device")
		})
	}
}

func TestTrackedDeviceClosed(t *testing.T) {
	d := &TrackedDevice{path: "/dev/rtc", fd: -1}
	_, _, err := d.Read(time.Now)
	assert.Equal(t, FailureDevice, ReadFailureOf(err))
	assert.NoError(t, d.Close(), "closing twice is harmless")
}
