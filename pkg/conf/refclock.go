package conf

import "strings"

// RefClock is a refclock directive: a driver (PPS, SHM, SOCK, PHC, RTC), its
// parameter (device, segment, path, with driver options after ':') and the
// options of chrony 4.8 with chronyd's defaults.
type RefClock struct {
	Driver        string
	Parameter     string
	Poll          int     // poll, log2 seconds, default 4
	DriverPoll    int     // dpoll, log2 seconds, default 0
	Filter        int     // filter length, default 64
	Local         bool    // local
	PPSForced     bool    // pps
	Rate          int     // rate (pulses per second), 0 = not set
	MinSamples    int     // minsamples, -1 = not set
	MaxSamples    int     // maxsamples, -1 = not set
	MaxUnreach    int     // maxunreach, default 100000
	MaxLockAge    int     // maxlockage, default 2
	Offset        float64 // offset, seconds
	Delay         float64 // delay, seconds, default 1e-9
	Precision     float64 // precision, seconds, 0 = driver's
	MaxDispersion float64 // maxdispersion, seconds, 0 = default
	Width         float64 // width, seconds
	RefID         uint32  // refid (up to 4 characters), 0 = not set
	Lock          uint32  // lock: refid of the PPS lock source, 0 = none
	Stratum       int     // stratum 0..15
	TAI           bool    // tai
	Prefer        bool
	NoSelect      bool
	Trust         bool
	Require       bool
}

// parseRefID reads a reference ID of 1 to 4 characters up to white space,
// returning the bytes consumed (0 when invalid).
func parseRefID(s string) (uint32, int) {
	var id uint32
	i := 0
	for ; i < len(s) && !isSpace(s[i]); i++ {
		if i >= 4 {
			return 0, 0
		}
		id |= uint32(s[i]) << (24 - 8*i)
	}
	return id, i
}

// refclockValue reads an option value at the start of text.
type refclockValue func(r *RefClock, text string) (int, bool)

func refInt(dst func(*RefClock) *int, lo, hi int64) refclockValue {
	return func(r *RefClock, text string) (int, bool) {
		v, n, ok := scanInt(text)
		if !ok || int64(v) < lo || int64(v) > hi {
			return 0, false
		}
		*dst(r) = int(v)
		return n, true
	}
}

func refFloat(dst func(*RefClock) *float64) refclockValue {
	return func(r *RefClock, text string) (int, bool) {
		v, n, ok := scanDouble(text)
		if ok {
			*dst(r) = v
		}
		return n, ok
	}
}

func refID(dst func(*RefClock) *uint32) refclockValue {
	return func(r *RefClock, text string) (int, bool) {
		v, n := parseRefID(text)
		if n > 0 {
			*dst(r) = v
		}
		return n, n > 0
	}
}

var refclockFlags = map[string]func(*RefClock){
	"local":    func(r *RefClock) { r.Local = true },
	"pps":      func(r *RefClock) { r.PPSForced = true },
	"tai":      func(r *RefClock) { r.TAI = true },
	"noselect": func(r *RefClock) { r.NoSelect = true },
	"prefer":   func(r *RefClock) { r.Prefer = true },
	"require":  func(r *RefClock) { r.Require = true },
	"trust":    func(r *RefClock) { r.Trust = true },
}

var refclockValues = map[string]refclockValue{
	"refid":         refID(func(r *RefClock) *uint32 { return &r.RefID }),
	"lock":          refID(func(r *RefClock) *uint32 { return &r.Lock }),
	"poll":          refInt(func(r *RefClock) *int { return &r.Poll }, -32, 32),
	"dpoll":         refInt(func(r *RefClock) *int { return &r.DriverPoll }, -32, 32),
	"filter":        refInt(func(r *RefClock) *int { return &r.Filter }, 0, intMax),
	"rate":          refInt(func(r *RefClock) *int { return &r.Rate }, 1, intMax),
	"minsamples":    refInt(func(r *RefClock) *int { return &r.MinSamples }, 0, intMax),
	"maxlockage":    refInt(func(r *RefClock) *int { return &r.MaxLockAge }, 0, intMax),
	"maxsamples":    refInt(func(r *RefClock) *int { return &r.MaxSamples }, 0, intMax),
	"maxunreach":    refInt(func(r *RefClock) *int { return &r.MaxUnreach }, 0, intMax),
	"offset":        refFloat(func(r *RefClock) *float64 { return &r.Offset }),
	"delay":         refFloat(func(r *RefClock) *float64 { return &r.Delay }),
	"precision":     refFloat(func(r *RefClock) *float64 { return &r.Precision }),
	"maxdispersion": refFloat(func(r *RefClock) *float64 { return &r.MaxDispersion }),
	"stratum":       refInt(func(r *RefClock) *int { return &r.Stratum }, 0, ntpMaxStratum-1),
	"width":         refFloat(func(r *RefClock) *float64 { return &r.Width }),
}

func parseRefClock(p *parser, args string) error {
	r := RefClock{Poll: 4, Filter: 64, MinSamples: -1, MaxSamples: -1,
		MaxUnreach: 100000, MaxLockAge: 2, Delay: 1e-9}
	name, rest := splitWord(args)
	if name == "" || rest == "" {
		return p.parseError()
	}
	r.Driver = name
	r.Parameter, rest = splitWord(rest)
	for rest != "" {
		var opt string
		opt, rest = splitWord(rest)
		key := strings.ToLower(opt)
		if set, ok := refclockFlags[key]; ok {
			set(&r)
			continue
		}
		read, ok := refclockValues[key]
		if !ok {
			return p.errorf("Invalid option in %s directive", p.command)
		}
		n, ok := read(&r, rest)
		if !ok {
			return p.errorf("Invalid value in %s directive", p.command)
		}
		rest = rest[n:]
	}
	p.cfg.RefClocks = append(p.cfg.RefClocks, r)
	return nil
}
