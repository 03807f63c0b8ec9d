package rtc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestFromRTCTime(t *testing.T) {
	r := unix.RTCTime{Sec: 5, Min: 4, Hour: 3, Mday: 2, Mon: 0, Year: 124}
	assert.Equal(t, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), FromRTCTime(r, true))
	assert.Equal(t, time.Local, FromRTCTime(r, false).Location())
}

// TestLinuxDeviceReadOnly reads the real RTC when there is one; it never
// writes it.
func TestLinuxDeviceReadOnly(t *testing.T) {
	if _, err := os.Stat(DefaultDevice); err != nil {
		assert.False(t, Usable(DefaultDevice))
		t.Skipf("no %s on this machine", DefaultDevice)
	}
	if !Usable(DefaultDevice) {
		t.Skipf("%s not readable", DefaultDevice)
	}
	rtcTime, sys, err := LinuxDevice{Path: DefaultDevice, OnUTC: true}.Read(time.Now)
	if err != nil {
		t.Skipf("RTC not readable: %v", err)
	}
	assert.False(t, rtcTime.IsZero())
	assert.WithinDuration(t, time.Now(), sys, 5*time.Second)
}

func TestToRTCTimeRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		t     time.Time
		onUTC bool
	}{
		{"UTC", time.Date(2026, 11, 25, 21, 33, 14, 0, time.UTC), true},
		{"leap day", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), true},
		{"local time", time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ToRTCTime(tc.t.Add(400*time.Millisecond), tc.onUTC)
			assert.True(t, tc.t.Equal(FromRTCTime(r, tc.onUTC)), "whole seconds survive")
		})
	}
	r := ToRTCTime(time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), true)
	assert.Equal(t, unix.RTCTime{Sec: 59, Min: 59, Hour: 23, Mday: 29, Mon: 1, Year: 124, Wday: 4, Yday: 59}, r)
}

func TestOpenTrackedMissingDevice(t *testing.T) {
	path := t.TempDir() + "/rtc9"
	_, err := OpenTracked(path, true)
	var de *DeviceError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "Could not open RTC device "+path+" : No such file or directory", de.Error())
	assert.ErrorIs(t, err, unix.ENOENT)
}

// TestLinuxDeviceReadFailures checks how failed readings are classified
// and worded, on devices that are not RTCs (nothing is written).
func TestLinuxDeviceReadFailures(t *testing.T) {
	missing := t.TempDir() + "/rtc9"
	tests := []struct {
		name    string
		path    string
		want    ReadFailure
		wantMsg string
	}{
		{"device gone", missing, FailureDevice, "Could not open RTC device " + missing + " : No such file or directory"},
		{"no update interrupts", "/dev/null", FailureInterrupt, "Could not enable RTC interrupt : Inappropriate ioctl for device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := LinuxDevice{Path: tc.path, OnUTC: true}.Read(time.Now)
			var re *ReadError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.want, re.Failure)
			assert.Equal(t, tc.want, ReadFailureOf(err))
			assert.Equal(t, tc.wantMsg, err.Error())
		})
	}
}

func TestReadFailureOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ReadFailure
	}{
		{"plain error: retried", errors.New("EIO"), FailureTime},
		{"wrapped device failure", fmt.Errorf("reading: %w", &ReadError{Failure: FailureDevice}), FailureDevice},
		{"missing interrupt", &ReadError{Failure: FailureNoInterrupt}, FailureNoInterrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ReadFailureOf(tc.err))
		})
	}
}

func TestInterruptFlags(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		update bool
	}{
		{"64-bit update interrupt", binary.NativeEndian.AppendUint64(nil, 0x100|unix.RTC_UF|unix.RTC_IRQF), true},
		{"32-bit update interrupt", binary.NativeEndian.AppendUint32(nil, 0x100|unix.RTC_UF|unix.RTC_IRQF), true},
		{"alarm interrupt", binary.NativeEndian.AppendUint64(nil, 0x100|unix.RTC_AF|unix.RTC_IRQF), false},
		{"short read", []byte{unix.RTC_UF}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.update, interruptFlags(tc.data)&unix.RTC_UF != 0)
		})
	}
}
