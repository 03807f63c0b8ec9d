package conf

import (
	"net/netip"
	"strings"
)

// This file holds the parsers of directives with their own argument syntax.

func parseBindAddress(p *parser, args string) error {
	return parseBind(p, args, &p.cfg.BindAddress4, &p.cfg.BindAddress6)
}

func parseBindAcqAddress(p *parser, args string) error {
	return parseBind(p, args, &p.cfg.BindAcqAddress4, &p.cfg.BindAcqAddress6)
}

func parseBind(p *parser, args string, v4, v6 *netip.Addr) error {
	if err := p.checkArgs(args, 1); err != nil {
		return err
	}
	a, ok := parseIP(args)
	if !ok {
		return p.parseError()
	}
	if a.Is4() {
		*v4 = a
	} else {
		*v6 = a
	}
	return nil
}

func parseBindCmdAddress(p *parser, args string) error {
	if err := p.checkArgs(args, 1); err != nil {
		return err
	}
	if strings.HasPrefix(args, "/") {
		if args == "/" {
			p.cfg.BindCmdPath = ""
		} else {
			p.cfg.BindCmdPath = args
		}
		return nil
	}
	return parseBind(p, args, &p.cfg.BindCmdAddress4, &p.cfg.BindCmdAddress6)
}

func parsePidFile(p *parser, args string) error {
	if err := p.checkArgs(args, 1); err != nil {
		return err
	}
	if args == "/" {
		p.cfg.PidFile = ""
	} else {
		p.cfg.PidFile = args
	}
	return nil
}

func parseBroadcast(p *parser, args string) error {
	first, rest := splitWord(args)
	interval, _, ok := scanInt(first)
	if !ok {
		return p.parseError()
	}
	addrText, rest := splitWord(rest)
	addr, ok := parseIP(addrText)
	if !ok {
		return p.parseError()
	}
	b := Broadcast{Interval: int(interval), Addr: addr, Port: DefaultNTPPort}
	portText, rest := splitWord(rest)
	if portText != "" {
		port, _, ok := scanInt(portText)
		if !ok || rest != "" {
			return p.parseError()
		}
		b.Port = int(port)
	}
	p.cfg.Broadcasts = append(p.cfg.Broadcasts, b)
	return nil
}

func parseClientLogLimit(p *parser, args string) error {
	if err := p.checkArgs(args, 1); err != nil {
		return err
	}
	v, _, ok := scanULong(args)
	if !ok {
		return p.parseError()
	}
	p.cfg.ClientLogLimit = v
	return nil
}

func parseDriftFile(p *parser, args string) error {
	path, rest := splitWord(args)
	opt, rest := splitWord(rest)
	if path == "" {
		return p.parseError()
	}
	interval := p.cfg.DriftFile.Interval
	if opt != "" {
		val, after := splitWord(rest)
		v, _, ok := scanInt(val)
		if !strings.EqualFold(opt, "interval") || !ok || after != "" {
			return p.parseError()
		}
		interval = int(v)
	}
	p.cfg.DriftFile = DriftFile{Path: path, Interval: interval}
	return nil
}

// scanSeq reads space-separated conversions like sscanf("%lf %d ..."),
// where each reader gets the text left by the previous one. It returns the
// number of successful conversions.
func scanSeq(text string, readers ...func(string) (int, bool)) int {
	for i, r := range readers {
		n, ok := r(text)
		if !ok {
			return i
		}
		text = text[n:]
	}
	return len(readers)
}

func readInt(dst *int) func(string) (int, bool) {
	return func(s string) (int, bool) {
		v, n, ok := scanInt(s)
		if ok {
			*dst = int(v)
		}
		return n, ok
	}
}

func readDouble(dst *float64) func(string) (int, bool) {
	return func(s string) (int, bool) {
		v, n, ok := scanDouble(s)
		if ok {
			*dst = v
		}
		return n, ok
	}
}

func parseFallbackDrift(p *parser, args string) error {
	if err := p.checkArgs(args, 2); err != nil {
		return err
	}
	var fd FallbackDrift
	if scanSeq(args, readInt(&fd.Min), readInt(&fd.Max)) != 2 {
		return p.parseError()
	}
	p.cfg.FallbackDrift = fd
	return nil
}

func parseMakeStep(p *parser, args string) error {
	if err := p.checkArgs(args, 2); err != nil {
		return err
	}
	var m MakeStep
	if scanSeq(args, readDouble(&m.Threshold), readInt(&m.Limit)) != 2 {
		return p.parseError()
	}
	p.cfg.MakeStep = m
	return nil
}

func parseMaxChange(p *parser, args string) error {
	if err := p.checkArgs(args, 3); err != nil {
		return err
	}
	var m MaxChange
	if scanSeq(args, readDouble(&m.Offset), readInt(&m.Delay), readInt(&m.Ignore)) != 3 {
		return p.parseError()
	}
	p.cfg.MaxChange = m
	return nil
}

func parseMailOnChange(p *parser, args string) error {
	if err := p.checkArgs(args, 2); err != nil {
		return err
	}
	addr, rest := splitWord(args)
	v, _, ok := scanDouble(rest)
	if !ok {
		p.cfg.MailOnChange = MailOnChange{}
		return p.parseError()
	}
	p.cfg.MailOnChange = MailOnChange{Address: addr, Threshold: v}
	return nil
}

func parseSmoothTime(p *parser, args string) error {
	if countArgs(args) != 3 {
		if err := p.checkArgs(args, 2); err != nil {
			return err
		}
	}
	var s SmoothTime
	if scanSeq(args, readDouble(&s.MaxFreq), readDouble(&s.MaxWander)) != 2 {
		return p.parseError()
	}
	_, rest := splitWord(args)
	_, rest = splitWord(rest)
	if rest != "" {
		if !strings.EqualFold(rest, "leaponly") {
			return p.parseError()
		}
		s.LeapOnly = true
	}
	p.cfg.SmoothTime = s
	return nil
}

func parseTempComp(p *parser, args string) error {
	pointForm := countArgs(args) == 3
	if !pointForm {
		if err := p.checkArgs(args, 6); err != nil {
			return err
		}
	}
	sensor, rest := splitWord(args)
	if sensor == "" {
		return p.parseError()
	}
	t := TempComp{SensorFile: sensor}
	if pointForm {
		v, _, ok := scanDouble(rest)
		if !ok {
			return p.parseError()
		}
		t.Interval = v
		_, t.PointFile = splitWord(rest)
	} else if scanSeq(rest, readDouble(&t.Interval), readDouble(&t.T0), readDouble(&t.K0),
		readDouble(&t.K1), readDouble(&t.K2)) != 5 {
		return p.parseError()
	}
	p.cfg.TempComp = &t
	return nil
}

func parseInitStepSlew(p *parser, args string) error {
	first, rest := splitWord(args)
	v, _, ok := scanDouble(first)
	if !ok {
		return p.parseError()
	}
	p.cfg.InitStepSlew = &InitStepSlew{Threshold: v, Hosts: fields(rest)}
	return nil
}

func parseLocal(p *parser, args string) error {
	l := Local{Enabled: true, Stratum: 10, Distance: 1.0, WaitUnsynced: -1}
	rest := args
	for rest != "" {
		var opt string
		opt, rest = splitWord(rest)
		var n int
		var ok bool
		switch strings.ToLower(opt) {
		case "stratum":
			var v int32
			v, n, ok = scanInt(rest)
			ok = ok && v >= 1 && v <= ntpMaxStratum-1
			l.Stratum = int(v)
		case "orphan":
			l.Orphan, ok = true, true
		case "distance":
			n, ok = readDouble(&l.Distance)(rest)
		case "activate":
			n, ok = readDouble(&l.Activate)(rest)
		case "waitsynced":
			n, ok = readDouble(&l.WaitSynced)(rest)
		case "waitunsynced":
			n, ok = readDouble(&l.WaitUnsynced)(rest)
		default:
			return p.errorf("Invalid option in %s directive", p.command)
		}
		if !ok {
			return p.errorf("Invalid value in %s directive", p.command)
		}
		rest = rest[n:]
	}
	if l.WaitUnsynced < 0 {
		l.WaitUnsynced = 0
		if l.Orphan {
			l.WaitUnsynced = 300
		}
	}
	p.cfg.Local = l
	return nil
}

// logNames maps the log directive's names (case-sensitive) to their flags.
var logNames = map[string]func(*LogSet){
	"rawmeasurements": func(l *LogSet) { l.Measurements, l.RawMeasurements = true, true },
	"measurements":    func(l *LogSet) { l.Measurements = true },
	"selection":       func(l *LogSet) { l.Selection = true },
	"statistics":      func(l *LogSet) { l.Statistics = true },
	"tracking":        func(l *LogSet) { l.Tracking = true },
	"rtc":             func(l *LogSet) { l.RTC = true },
	"refclocks":       func(l *LogSet) { l.RefClocks = true },
	"tempcomp":        func(l *LogSet) { l.TempComp = true },
}

func parseLog(p *parser, args string) error {
	for _, name := range fields(args) {
		set, ok := logNames[name]
		if !ok {
			return p.errorf("Invalid log parameter")
		}
		set(&p.cfg.Log)
	}
	return nil
}

func parseRateLimit(p *parser, args string, rl *RateLimit, withKoD bool) error {
	r := *rl
	r.Enabled = true
	rest := args
	for rest != "" {
		var opt string
		opt, rest = splitWord(rest)
		v, n, ok := scanInt(rest)
		if !ok || v < -32 || v > 32 {
			return p.parseError()
		}
		rest = rest[n:]
		switch {
		case strings.EqualFold(opt, "interval"):
			r.Interval = int(v)
		case strings.EqualFold(opt, "burst"):
			r.Burst = int(v)
		case strings.EqualFold(opt, "leak"):
			r.Leak = int(v)
		case strings.EqualFold(opt, "kod") && withKoD:
			r.KoD = int(v)
		default:
			return p.parseError()
		}
	}
	*rl = r
	return nil
}

func parseNTSAEADs(p *parser, args string) error {
	ids := []int{}
	for _, w := range fields(args) {
		v, err := p.parseInt(w, 0, intMax)
		if err != nil {
			return err
		}
		ids = append(ids, v)
	}
	p.cfg.NTSAEADs = ids
	return nil
}

func parseNTSTrustedCerts(p *parser, args string) error {
	t := TrustedCerts{}
	if countArgs(args) == 2 {
		idText, path := splitWord(args)
		id, _, ok := scanUint32(idText)
		if !ok {
			return p.parseError()
		}
		t = TrustedCerts{SetID: id, Path: path}
	} else {
		if err := p.checkArgs(args, 1); err != nil {
			return err
		}
		t.Path = args
	}
	p.cfg.NTSTrustedCerts = append(p.cfg.NTSTrustedCerts, t)
	return nil
}

// openCommandNames are the names the opencommands directive accepts.
var openCommandNames = map[string]bool{
	"activity": true, "authdata": true, "clients": true, "manual": true,
	"ntpdata": true, "rtcdata": true, "selectdata": true, "serverstats": true,
	"smoothing": true, "sourcename": true, "sources": true, "sourcestats": true,
	"tracking": true,
}

func parseOpenCommands(p *parser, args string) error {
	cmds := []string{}
	for _, w := range fields(args) {
		name := strings.ToLower(w)
		if !openCommandNames[name] {
			return p.parseError()
		}
		dup := false
		for _, c := range cmds {
			dup = dup || c == name
		}
		if !dup {
			cmds = append(cmds, name)
		}
	}
	p.cfg.OpenCommands = cmds
	return nil
}

func parseHWTimestamp(p *parser, args string) error {
	name, rest := splitWord(args)
	if name == "" {
		return p.parseError()
	}
	h := HWTimestamp{Interface: name, MinSamples: 2, MaxSamples: 16,
		Precision: 100e-9, RxFilter: "any"}
	maxPollSet := false
	for rest != "" {
		var opt string
		opt, rest = splitWord(rest)
		var n int
		var ok bool
		switch strings.ToLower(opt) {
		case "maxsamples":
			n, ok = readIntRange(&h.MaxSamples, 0, intMax)(rest)
		case "minpoll":
			n, ok = readIntRange(&h.MinPoll, -32, 32)(rest)
		case "maxpoll":
			n, ok = readIntRange(&h.MaxPoll, -32, 32)(rest)
			maxPollSet = maxPollSet || ok
		case "minsamples":
			n, ok = readIntRange(&h.MinSamples, 0, intMax)(rest)
		case "precision":
			n, ok = readDouble(&h.Precision)(rest)
		case "rxcomp":
			n, ok = readDouble(&h.RxComp)(rest)
		case "txcomp":
			n, ok = readDouble(&h.TxComp)(rest)
		case "rxfilter":
			n, ok = readRxFilter(&h.RxFilter)(rest)
		case "nocrossts":
			h.NoCrossTS, ok = true, true
		}
		if !ok {
			return p.parseError()
		}
		rest = rest[n:]
	}
	if !maxPollSet {
		h.MaxPoll = h.MinPoll + 1
	}
	p.cfg.HWTimestamps = append(p.cfg.HWTimestamps, h)
	return nil
}

func readIntRange(dst *int, lo, hi int64) func(string) (int, bool) {
	return func(s string) (int, bool) {
		v, n, ok := scanInt(s)
		if !ok || int64(v) < lo || int64(v) > hi {
			return 0, false
		}
		*dst = int(v)
		return n, true
	}
}

// readRxFilter reads the rxfilter value like sscanf "%4s": at most four
// non-space characters.
func readRxFilter(dst *string) func(string) (int, bool) {
	return func(s string) (int, bool) {
		i := skipSpace(s)
		j := i
		for j < len(s) && j-i < 4 && !isSpace(s[j]) {
			j++
		}
		if j == i {
			return 0, false
		}
		w := strings.ToLower(s[i:j])
		switch w {
		case "none", "ntp", "ptp", "all":
			*dst = w
			return j, true
		}
		return 0, false
	}
}
