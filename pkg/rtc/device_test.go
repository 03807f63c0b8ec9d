package rtc

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
