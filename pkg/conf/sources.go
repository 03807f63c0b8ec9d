package conf

import "strings"

// SourceKind is the directive that declared an NTP source.
type SourceKind string

// Source kinds.
const (
	KindServer SourceKind = "server"
	KindPool   SourceKind = "pool"
	KindPeer   SourceKind = "peer"
)

// Family restricts the address family used for a source name.
type Family int

// Address families of the ipv4/ipv6 source options.
const (
	FamilyAny Family = iota
	FamilyIPv4
	FamilyIPv6
)

// Source is a server, pool or peer directive (or a line of a *.sources file).
type Source struct {
	Kind    SourceKind
	Name    string // host name or address as written
	Port    int    // port option, default 123
	Family  Family // ipv4/ipv6 options
	Options SourceOptions
}

// SourceOptions are the options of server/pool/peer in chrony 4.8, with
// chronyd's defaults (see DefaultSourceOptions). Sample-count options use -1
// for "not set" as chronyd does; Version 0 means "not set".
type SourceOptions struct {
	MinPoll          int     // minpoll, default 6 (any int, as chronyd)
	MaxPoll          int     // maxpoll, -32..32, default 10
	IBurst           bool    // iburst
	Burst            bool    // burst
	Key              uint32  // key, 0 = no authentication
	MaxDelay         float64 // maxdelay, seconds, default 3
	MaxDelayRatio    float64 // maxdelayratio, 0 = off
	MaxDelayDevRatio float64 // maxdelaydevratio, default 10
	MaxDelayQuant    float64 // maxdelayquant, 0 = off
	MinDelay         float64 // mindelay, seconds
	Asymmetry        float64 // asymmetry, default 1
	Offset           float64 // offset, seconds
	MinSamples       int     // minsamples, -1 = not set
	MaxSamples       int     // maxsamples, -1 = not set
	MaxUnreach       int     // maxunreach, default 100000
	Filter           int     // filter, 0 = off
	Offline          bool    // offline
	AutoOffline      bool    // auto_offline
	Prefer           bool    // prefer
	NoSelect         bool    // noselect
	Trust            bool    // trust
	Require          bool    // require
	XLeave           bool    // xleave
	PollTarget       int     // polltarget, default 8
	Presend          int     // presend, log2 seconds, default 100 (off)
	MinStratum       int     // minstratum, 0..16
	Version          int     // version 1..4, 0 = not set
	Copy             bool    // copy
	ExtFieldMonoRoot bool    // extfield F323
	ExtFieldNetCorr  bool    // extfield F324
	NTS              bool    // nts
	NTSPort          int     // ntsport, default 4460
	CertSet          uint32  // certset, default 0
	MaxSources       int     // maxsources (pool), default 4
}

// DefaultSourceOptions returns chronyd's defaults for server/pool/peer.
func DefaultSourceOptions() SourceOptions {
	return SourceOptions{
		MinPoll:          6,
		MaxPoll:          10,
		MaxDelay:         3.0,
		MaxDelayDevRatio: 10.0,
		Asymmetry:        1.0,
		MinSamples:       -1,
		MaxSamples:       -1,
		MaxUnreach:       100000,
		PollTarget:       8,
		Presend:          100,
		NTSPort:          DefaultNTSKEPort,
		MaxSources:       4,
	}
}

// sourceStatus is why a source line was refused, mirroring chronyd's
// invalid-option / invalid-value / syntax distinction.
type sourceStatus int

const (
	sourceOK sourceStatus = iota
	sourceMissingArg
	sourceInvalidOption
	sourceInvalidValue
)

// sourceFlags are the options without a value.
var sourceFlags = map[string]func(*Source){
	"auto_offline": func(s *Source) { s.Options.AutoOffline = true },
	"burst":        func(s *Source) { s.Options.Burst = true },
	"copy":         func(s *Source) { s.Options.Copy = true },
	"iburst":       func(s *Source) { s.Options.IBurst = true },
	"offline":      func(s *Source) { s.Options.Offline = true },
	"ipv4":         func(s *Source) { s.Family = FamilyIPv4 },
	"ipv6":         func(s *Source) { s.Family = FamilyIPv6 },
	"nts":          func(s *Source) { s.Options.NTS = true },
	"xleave":       func(s *Source) { s.Options.XLeave = true },
	"noselect":     func(s *Source) { s.Options.NoSelect = true },
	"prefer":       func(s *Source) { s.Options.Prefer = true },
	"require":      func(s *Source) { s.Options.Require = true },
	"trust":        func(s *Source) { s.Options.Trust = true },
}

// sourceValue reads an option's value at the start of text and stores it,
// returning the number of bytes consumed and false when the value is invalid.
type sourceValue func(s *Source, text string) (int, bool)

func intOpt(dst func(*Source) *int, lo, hi int64) sourceValue {
	return func(s *Source, text string) (int, bool) {
		v, n, ok := scanInt(text)
		if !ok || int64(v) < lo || int64(v) > hi {
			return 0, false
		}
		*dst(s) = int(v)
		return n, true
	}
}

func floatOpt(dst func(*Source) *float64) sourceValue {
	return func(s *Source, text string) (int, bool) {
		v, n, ok := scanDouble(text)
		if !ok {
			return 0, false
		}
		*dst(s) = v
		return n, true
	}
}

const intMax = 1<<31 - 1

// sourceValues are the options taking a value.
var sourceValues = map[string]sourceValue{
	"certset": func(s *Source, text string) (int, bool) {
		v, n, ok := scanUint32(text)
		if ok {
			s.Options.CertSet = v
		}
		return n, ok
	},
	"key": func(s *Source, text string) (int, bool) {
		v, n, ok := scanUint32(text)
		if !ok || v == 0 {
			return 0, false
		}
		s.Options.Key = v
		return n, true
	},
	"asymmetry": floatOpt(func(s *Source) *float64 { return &s.Options.Asymmetry }),
	"extfield": func(s *Source, text string) (int, bool) {
		v, n, ok := scanHex32(text)
		if !ok {
			return 0, false
		}
		switch v {
		case extFieldMonoRoot:
			s.Options.ExtFieldMonoRoot = true
		case extFieldNetCorrec:
			s.Options.ExtFieldNetCorr = true
		default:
			return 0, false
		}
		return n, true
	},
	"filter":           intOpt(func(s *Source) *int { return &s.Options.Filter }, 0, intMax),
	"maxdelay":         floatOpt(func(s *Source) *float64 { return &s.Options.MaxDelay }),
	"maxdelayratio":    floatOpt(func(s *Source) *float64 { return &s.Options.MaxDelayRatio }),
	"maxdelaydevratio": floatOpt(func(s *Source) *float64 { return &s.Options.MaxDelayDevRatio }),
	"maxdelayquant":    floatOpt(func(s *Source) *float64 { return &s.Options.MaxDelayQuant }),
	"maxpoll":          intOpt(func(s *Source) *int { return &s.Options.MaxPoll }, -32, 32),
	"maxsamples":       intOpt(func(s *Source) *int { return &s.Options.MaxSamples }, 0, intMax),
	"maxsources":       intOpt(func(s *Source) *int { return &s.Options.MaxSources }, 1, intMax),
	"maxunreach":       intOpt(func(s *Source) *int { return &s.Options.MaxUnreach }, 0, intMax),
	"mindelay":         floatOpt(func(s *Source) *float64 { return &s.Options.MinDelay }),
	// chronyd reads minpoll without a range check.
	"minpoll":    intOpt(func(s *Source) *int { return &s.Options.MinPoll }, -intMax-1, intMax),
	"minsamples": intOpt(func(s *Source) *int { return &s.Options.MinSamples }, 0, intMax),
	"minstratum": intOpt(func(s *Source) *int { return &s.Options.MinStratum }, 0, ntpMaxStratum),
	"ntsport":    intOpt(func(s *Source) *int { return &s.Options.NTSPort }, 0, 65535),
	"offset":     floatOpt(func(s *Source) *float64 { return &s.Options.Offset }),
	"port":       intOpt(func(s *Source) *int { return &s.Port }, 0, 65535),
	"polltarget": intOpt(func(s *Source) *int { return &s.Options.PollTarget }, 1, intMax),
	"presend":    intOpt(func(s *Source) *int { return &s.Options.Presend }, -32, 32),
	"version":    intOpt(func(s *Source) *int { return &s.Options.Version }, 1, ntpVersion),
}

// parseSourceLine parses the arguments of a server/pool/peer line (name and
// options) the way chronyd's source option parser walks them.
func parseSourceLine(kind SourceKind, args string) (Source, sourceStatus) {
	src := Source{Kind: kind, Port: DefaultNTPPort, Options: DefaultSourceOptions()}
	name, rest := splitWord(args)
	if name == "" {
		return src, sourceMissingArg
	}
	src.Name = name
	for rest != "" {
		var opt string
		opt, rest = splitWord(rest)
		key := strings.ToLower(opt)
		if set, ok := sourceFlags[key]; ok {
			set(&src)
			continue
		}
		read, ok := sourceValues[key]
		if !ok {
			return src, sourceInvalidOption
		}
		n, ok := read(&src, rest)
		if !ok {
			return src, sourceInvalidValue
		}
		rest = rest[n:]
	}
	return src, sourceOK
}
