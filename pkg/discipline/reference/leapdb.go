package reference

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/facebook/time/leapsectz"
)

// LeapSource tells whether a leap second happens at the end of the UTC day
// containing when, and the TAI-UTC offset in force on that day (0 unknown).
type LeapSource interface {
	Leap(when time.Time) (discipline.LeapStatus, int)
}

// Seconds between the NTP epoch (1900) used by leap-seconds.list and 1970.
const ntpEpochOffset = 2208988800

// LeapEntry is one line of a leap second table: from Start (UTC) on, TAI-UTC
// is TAIOffset seconds.
type LeapEntry struct {
	Start     time.Time
	TAIOffset int
}

// LeapTable is a parsed leap second table; it implements LeapSource.
type LeapTable struct {
	Entries []LeapEntry
	// Updated and Expires are the #$ and #@ times of a leap-seconds.list
	// (zero for a time zone).
	Updated time.Time
	Expires time.Time
}

// ErrBadLeapList is returned for a malformed leap-seconds.list.
var ErrBadLeapList = errors.New("malformed leap seconds list")

// ParseLeapSecondsList parses the IERS/NIST leap-seconds.list format: "#$"
// update time, "#@" expiry, and lines of NTP-epoch seconds and TAI-UTC.
func ParseLeapSecondsList(r io.Reader) (*LeapTable, error) {
	t := &LeapTable{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "#") {
			var dst *time.Time
			switch {
			case strings.HasPrefix(text, "#$"):
				dst = &t.Updated
			case strings.HasPrefix(text, "#@"):
				dst = &t.Expires
			default:
				continue
			}
			fields := strings.Fields(text[2:])
			if len(fields) == 0 {
				return nil, fmt.Errorf("line %d: %w", line, ErrBadLeapList)
			}
			v, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, ErrBadLeapList)
			}
			*dst = time.Unix(v-ntpEpochOffset, 0).UTC()
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: %w", line, ErrBadLeapList)
		}
		when, err1 := strconv.ParseInt(fields[0], 10, 64)
		off, err2 := strconv.Atoi(fields[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("line %d: %w", line, ErrBadLeapList)
		}
		t.Entries = append(t.Entries, LeapEntry{Start: time.Unix(when-ntpEpochOffset, 0).UTC(), TAIOffset: off})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading leap seconds list: %w", err)
	}
	if t.Updated.IsZero() || t.Expires.IsZero() {
		return nil, fmt.Errorf("missing update or expiry time: %w", ErrBadLeapList)
	}
	return t, nil
}

// LoadLeapSecondsList reads and parses a leap-seconds.list file.
func LoadLeapSecondsList(path string) (*LeapTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("leap seconds list %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	t, err := ParseLeapSecondsList(f)
	if err != nil {
		return nil, fmt.Errorf("leap seconds list %s: %w", path, err)
	}
	return t, nil
}

// LoadLeapTimezone reads the leap seconds of a "right/" time zone (TZif
// file), e.g. right/UTC under /usr/share/zoneinfo. A relative name is looked
// up under zoneinfoDir.
func LoadLeapTimezone(name, zoneinfoDir string) (*LeapTable, error) {
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(zoneinfoDir, name)
	}
	ls, err := leapsectz.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("leapsectz %s: %w", name, err)
	}
	t := &LeapTable{Entries: []LeapEntry{{Start: time.Unix(63072000, 0).UTC(), TAIOffset: 10}}}
	for _, l := range ls {
		t.Entries = append(t.Entries, LeapEntry{Start: l.Time().UTC(), TAIOffset: 10 + int(l.Nleap)})
	}
	return t, nil
}

// Leap implements LeapSource with chronyd's reading of the table: the day's
// end (next UTC midnight) is compared with the entries.
func (t *LeapTable) Leap(when time.Time) (discipline.LeapStatus, int) {
	end := (when.Unix()/86400 + 1) * 86400
	leap := discipline.LeapNormal
	tai := 0
	prev := 10
	for _, e := range t.Entries {
		s := e.Start.Unix()
		switch {
		case s == end:
			if e.TAIOffset > prev {
				leap = discipline.LeapInsertSecond
			} else if e.TAIOffset < prev {
				leap = discipline.LeapDeleteSecond
			}
			tai = prev
		case end > s:
			tai = e.TAIOffset
		}
		prev = e.TAIOffset
	}
	return leap, tai
}

// Expired reports whether the list needs an update at when.
func (t *LeapTable) Expired(when time.Time) bool {
	return !t.Expires.IsZero() && !when.Before(t.Expires)
}

// CheckLeapSource verifies a source with chronyd's test: a leap second at
// the end of 30 June 2012 with TAI-UTC 34, none at the end of 2012 with 35.
func CheckLeapSource(s LeapSource) bool {
	l1, t1 := s.Leap(time.Unix(1341014400, 0))
	l2, t2 := s.Leap(time.Unix(1356912000, 0))
	return l1 == discipline.LeapInsertSecond && t1 == 34 && l2 == discipline.LeapNormal && t2 == 35
}

// leapCache asks the source at most twice a day (per 12-hour slot).
type leapCache struct {
	src   LeapSource
	slot  int64
	valid bool
	leap  discipline.LeapStatus
	tai   int
}

func (c *leapCache) get(when time.Time) (discipline.LeapStatus, int) {
	if c.src == nil {
		return discipline.LeapNormal, 0
	}
	slot := when.Unix() / (12 * 3600) * (12 * 3600)
	if !c.valid || slot != c.slot {
		c.slot, c.valid = slot, true
		c.leap, c.tai = c.src.Leap(time.Unix(slot, 0))
	}
	return c.leap, c.tai
}

// LoadLeapSource opens the leap second database as chronyd does at start:
// leapseclist (listPath) is preferred to leapsectz (tzName, looked up under
// zoneinfoDir); a source failing CheckLeapSource is ignored with a warning.
// It returns nil when neither is configured or usable.
func LoadLeapSource(tzName, listPath, zoneinfoDir string, log Logger) LeapSource {
	if log == nil {
		log = discardLogger{}
	}
	var tz, list *LeapTable
	if tzName != "" {
		t, err := LoadLeapTimezone(tzName, zoneinfoDir)
		if err != nil || !CheckLeapSource(t) {
			log.Warnf("Timezone %s failed leap second check, ignoring", tzName)
		} else {
			tz = t
		}
	}
	if listPath != "" {
		t, err := LoadLeapSecondsList(listPath)
		if err != nil || !CheckLeapSource(t) {
			log.Warnf("Leap second list %s failed check, ignoring", listPath)
		} else {
			list = t
		}
	}
	switch {
	case list != nil:
		log.Infof("Using leap second list %s", listPath)
		return list
	case tz != nil:
		log.Infof("Using %s timezone to obtain leap second data", tzName)
		return tz
	}
	return nil
}
