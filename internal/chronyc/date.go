package chronyc

import (
	"strings"
	"time"
)

// dateLayouts returns the date forms settime accepts, tried in order; a
// form without a date means today.
func dateLayouts() []struct {
	layout  string
	hasDate bool
} {
	return []struct {
		layout  string
		hasDate bool
	}{
		{"Jan 2, 2006 15:04:05", true},
		{"Jan 2 2006 15:04:05", true},
		{"2 Jan 2006 15:04:05", true},
		{"January 2, 2006 15:04:05", true},
		{"2006-01-02 15:04:05", true},
		{"2006-01-02T15:04:05", true},
		{"2006-01-02 15:04", true},
		{"Jan 2, 2006 15:04", true},
		{"2006-01-02", true},
		{"Jan 2, 2006", true},
		{"15:04:05", false},
		{"15:04", false},
	}
}

// ParseDate reads the argument of settime in the local time zone (or in UTC
// when it ends with "UTC" or "GMT"), relative to now for a bare time of
// day. It returns false when the text is not a date chronyc would accept.
func ParseDate(text string, now time.Time) (time.Time, bool) {
	text = strings.Join(strings.Fields(text), " ")
	loc := now.Location()
	for _, zone := range []string{" UTC", " GMT", " Z"} {
		if strings.HasSuffix(text, zone) {
			text, loc = strings.TrimSuffix(text, zone), time.UTC
		}
	}
	for _, l := range dateLayouts() {
		t, err := time.ParseInLocation(l.layout, text, loc)
		if err != nil {
			continue
		}
		if !l.hasDate {
			y, m, d := now.In(loc).Date()
			t = time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, loc)
		}
		return t, true
	}
	return time.Time{}, false
}
