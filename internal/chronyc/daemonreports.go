package chronyc

import (
	"fmt"
	"strings"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

func (s *Session) activity(string) bool {
	rep, ok := s.call(candm.ReqActivity, nil, false, candm.RpyActivity)
	if !ok {
		return false
	}
	d := rep.Body.(candm.Activity)
	if s.opts.JSON {
		s.emitJSON(activityJSON(d))
		return true
	}
	s.printf("%s", RenderActivity(d, s.opts.CSV))
	return true
}

// RenderActivity renders the activity report.
func RenderActivity(d candm.Activity, csv bool) string {
	r := NewReport(csv)
	r.Text("200 OK\n")
	r.Uint(uint64(uint32(d.Online)), 0).Text(" sources online\n")
	r.Uint(uint64(uint32(d.Offline)), 0).Text(" sources offline\n")
	r.Uint(uint64(uint32(d.BurstOnline)), 0).Text(" sources doing burst (return to online)\n")
	r.Uint(uint64(uint32(d.BurstOffline)), 0).Text(" sources doing burst (return to offline)\n")
	r.Uint(uint64(uint32(d.Unresolved)), 0).Text(" sources with unknown address\n")
	return r.End().String()
}

// ClientRow is one line of the clients report.
type ClientRow struct {
	Data candm.ClientAccess
	Name string
}

// clientsQuery holds the options of the clients command.
type clientsQuery struct {
	minHits uint32
	reset   bool
	nke     bool
}

func parseClientsArgs(arg string) (clientsQuery, bool) {
	var q clientsQuery
	for rest := arg; rest != ""; {
		var opt string
		opt, rest = splitWord(rest)
		switch opt {
		case "-k":
			q.nke = true
		case "-r":
			q.reset = true
		case "-p":
			var v string
			v, rest = splitWord(rest)
			n, ok := scanUint(v)
			if !ok {
				return q, false
			}
			q.minHits = n
		}
	}
	return q, true
}

// clientsHeader is the header of the clients table (NTS-KE columns with -k).
func clientsHeader(nke bool) string {
	kind := "Cmd"
	if nke {
		kind = "NTS-KE"
	}
	return fmt.Sprintf("Hostname                      NTP   Drop Int IntL Last  %6s   Drop Int  Last", kind)
}

// maxClientPages bounds the clients loop against a misbehaving daemon.
const maxClientPages = 1 << 20

func (s *Session) clients(arg string) bool {
	q, ok := parseClientsArgs(arg)
	if !ok {
		return s.fail(argError("Invalid syntax for clients command"))
	}
	if !s.opts.JSON {
		s.printf("%s", NewReport(s.opts.CSV).Header(clientsHeader(q.nke)).String())
	}
	var rows []ClientRow
	next := uint32(0)
	for range maxClientPages {
		rep, ok := s.call(candm.ReqClientAccessesByIndex3, candm.ClientAccessesQuery{FirstIndex: next,
			NClients: candm.MaxClientAccesses, MinHits: q.minHits, Reset: q.reset}, false,
			candm.RpyClientAccessesByIndex3)
		if !ok {
			return false
		}
		page := rep.Body.(candm.ClientAccesses)
		for _, c := range page.Clients {
			if c.IP.IsUnspecified() {
				continue
			}
			row := ClientRow{Data: c, Name: s.formatName(c.IP, nameStyle{trunc: 25})}
			if s.opts.JSON {
				rows = append(rows, row)
			} else {
				s.printf("%s", RenderClientRow(row, q.nke, s.opts.CSV))
			}
		}
		next = page.NextIndex
		if next >= page.NIndices || len(page.Clients) < candm.MaxClientAccesses {
			break
		}
	}
	if s.opts.JSON {
		s.emitJSON(clientsJSON(rows))
	}
	return true
}

// RenderClientRow renders one line of the clients report (NTP columns and
// the command or, with nke, the NTS-KE columns).
func RenderClientRow(row ClientRow, nke, csv bool) string {
	c := row.Data
	hits, drops, interval, last := c.CmdHits, c.CmdDrops, c.CmdInterval, c.LastCmdHitAgo
	if nke {
		hits, drops, interval, last = c.NKEHits, c.NKEDrops, c.NKEInterval, c.LastNKEHitAgo
	}
	return NewReport(csv).Str(row.Name, -25).Text("  ").Uint(uint64(c.NTPHits), 6).Text("  ").
		Uint(uint64(c.NTPDrops), 5).Text("  ").ClientInterval(c.NTPInterval).Text("  ").
		ClientInterval(c.NTPTimeoutInterval).Text("  ").Interval(c.LastNTPHitAgo).Text("  ").
		Uint(uint64(hits), 6).Text("  ").Uint(uint64(drops), 5).Text("  ").
		ClientInterval(interval).Text("  ").Interval(last).Text("\n").End().String()
}

func (s *Session) manualList() bool {
	rep, ok := s.call(candm.ReqManualList, nil, false, candm.RpyManualList2)
	if !ok {
		return false
	}
	d := rep.Body.(candm.ManualList)
	if s.opts.JSON {
		s.emitJSON(manualListJSON(d))
		return true
	}
	s.printf("%s", RenderManualList(d, s.opts.CSV))
	return true
}

// RenderManualList renders the manual list report.
func RenderManualList(d candm.ManualList, csv bool) string {
	r := NewReport(csv)
	r.Text(fmt.Sprintf("210 n_samples = %d\n", len(d.Samples))).Header(manualListHeader)
	for i, smp := range d.Samples {
		when := smp.When
		if when.IsZero() {
			when = time.Unix(0, 0)
		}
		r.Int(int64(i), 2).Text(" ").Str(when.UTC().Format("2006-01-02 15:04:05"), 0).Text(" ").
			Float(smp.SlewedOffset, 10, 2, false).Text(" ").Float(smp.OrigOffset, 10, 2, false).Text(" ").
			Float(smp.Residual, 10, 2, false).Text("\n").End()
	}
	return r.String()
}

func (s *Session) rtcData(string) bool {
	rep, ok := s.call(candm.ReqRTCReport, nil, false, candm.RpyRTC)
	if !ok {
		return false
	}
	d := rep.Body.(candm.RTCReport)
	if s.opts.JSON {
		s.emitJSON(rtcJSON(d))
		return true
	}
	s.printf("%s", RenderRTC(d, s.opts.CSV))
	return true
}

// RenderRTC renders the rtcdata report.
func RenderRTC(d candm.RTCReport, csv bool) string {
	r := NewReport(csv)
	r.Text("RTC ref time (UTC) : ").Time(d.RefTime).Text("\n")
	r.Text("Number of samples  : ").Uint(uint64(d.NSamples), 0).Text("\n")
	r.Text("Number of runs     : ").Uint(uint64(d.NRuns), 0).Text("\n")
	r.Text("Sample span period : ").Interval(d.SpanSeconds).Text("\n")
	r.Text("RTC is fast by     : ").Float(d.RTCSecondsFast, 12, 6, false).Text(" seconds\n")
	r.Text("RTC gains time at  : ").Float(d.RTCGainRatePPM, 9, 3, false).Text(" ppm\n")
	return r.End().String()
}

func (s *Session) serverStats(string) bool {
	rep, ok := s.call(candm.ReqServerStats, nil, false, candm.RpyServerStats4, candm.RpyServerStats3,
		candm.RpyServerStats2, candm.RpyServerStats)
	if !ok {
		return false
	}
	d := rep.Body.(candm.ServerStats)
	if s.opts.JSON {
		s.emitJSON(serverStatsJSON(d, rep.Code))
		return true
	}
	s.printf("%s", RenderServerStats(d, rep.Code, s.opts.CSV))
	return true
}

// serverStatsLine is one line of serverstats.
type serverStatsLine struct {
	label string
	value func(d candm.ServerStats) uint64
}

// serverStatsLines returns the lines of serverstats in the order the
// chronyc of the daemon's generation prints them: chrony 3.x (5 lines),
// 4.0-4.1 (8), 4.2-4.3 (11), 4.4 and later (17).
func serverStatsLines(code candm.ReplyCode) []serverStatsLine {
	all := []serverStatsLine{
		{"NTP packets received       : ", func(d candm.ServerStats) uint64 { return d.NTPHits }},
		{"NTP packets dropped        : ", func(d candm.ServerStats) uint64 { return d.NTPDrops }},
		{"Command packets received   : ", func(d candm.ServerStats) uint64 { return d.CmdHits }},
		{"Command packets dropped    : ", func(d candm.ServerStats) uint64 { return d.CmdDrops }},
		{"Client log records dropped : ", func(d candm.ServerStats) uint64 { return d.LogDrops }},
		{"NTS-KE connections accepted: ", func(d candm.ServerStats) uint64 { return d.NKEHits }},
		{"NTS-KE connections dropped : ", func(d candm.ServerStats) uint64 { return d.NKEDrops }},
		{"Authenticated NTP packets  : ", func(d candm.ServerStats) uint64 { return d.NTPAuthHits }},
		{"Interleaved NTP packets    : ", func(d candm.ServerStats) uint64 { return d.NTPInterleavedHits }},
		{"NTP timestamps held        : ", func(d candm.ServerStats) uint64 { return d.NTPTimestamps }},
		{"NTP timestamp span         : ", func(d candm.ServerStats) uint64 { return d.NTPSpanSeconds }},
		{"NTP daemon RX timestamps   : ", func(d candm.ServerStats) uint64 { return d.NTPDaemonRxTimestamps }},
		{"NTP daemon TX timestamps   : ", func(d candm.ServerStats) uint64 { return d.NTPDaemonTxTimestamps }},
		{"NTP kernel RX timestamps   : ", func(d candm.ServerStats) uint64 { return d.NTPKernelRxTimestamps }},
		{"NTP kernel TX timestamps   : ", func(d candm.ServerStats) uint64 { return d.NTPKernelTxTimestamps }},
		{"NTP hardware RX timestamps : ", func(d candm.ServerStats) uint64 { return d.NTPHwRxTimestamps }},
		{"NTP hardware TX timestamps : ", func(d candm.ServerStats) uint64 { return d.NTPHwTxTimestamps }},
	}
	switch code {
	case candm.RpyServerStats:
		return all[:5]
	case candm.RpyServerStats2:
		return all[:8]
	case candm.RpyServerStats3:
		return all[:11]
	}
	return all
}

// RenderServerStats renders the serverstats report for a reply of the
// given format.
func RenderServerStats(d candm.ServerStats, code candm.ReplyCode, csv bool) string {
	r := NewReport(csv)
	for _, l := range serverStatsLines(code) {
		r.Text(l.label).Uint(l.value(d), 0).Text("\n")
	}
	return r.End().String()
}

func (s *Session) smoothing(string) bool {
	rep, ok := s.call(candm.ReqSmoothing, nil, false, candm.RpySmoothing)
	if !ok {
		return false
	}
	d := rep.Body.(candm.Smoothing)
	if s.opts.JSON {
		s.emitJSON(smoothingJSON(d))
		return true
	}
	s.printf("%s", RenderSmoothing(d, s.opts.CSV))
	return true
}

// RenderSmoothing renders the smoothing report.
func RenderSmoothing(d candm.Smoothing, csv bool) string {
	leapOnly := ""
	if d.LeapOnly {
		leapOnly = "(leap second only)"
	}
	r := NewReport(csv)
	r.Text("Active         : ").Bool(d.Active).Text(" ").Str(leapOnly, 0).Text("\n")
	r.Text("Offset         : ").Float(d.Offset, 0, 9, true).Text(" seconds\n")
	r.Text("Frequency      : ").Float(d.FreqPPM, 0, 6, true).Text(" ppm\n")
	r.Text("Wander         : ").Float(d.WanderPPM, 0, 6, true).Text(" ppm per second\n")
	r.Text("Last update    : ").Float(d.LastUpdateAgo, 0, 1, false).Text(" seconds ago\n")
	r.Text("Remaining time : ").Float(d.RemainingTime, 0, 1, false).Text(" seconds\n")
	return r.End().String()
}

func (s *Session) sourceName(arg string) bool {
	a, ok := s.sourceAddress(arg)
	if !ok {
		return s.fail(errReadAddress)
	}
	name, ok := s.configuredName(a)
	if !ok {
		return false
	}
	if s.opts.JSON {
		s.emitJSON(map[string]string{"address": a.String(), "name": name})
		return true
	}
	s.printf("%s", NewReport(s.opts.CSV).Str(name, 0).Text("\n").End().String())
	return true
}

func (s *Session) setTime(arg string) bool {
	t, ok := ParseDate(arg, s.clock.Now())
	if !ok {
		s.printf("510 - Could not parse date string\n")
		return false
	}
	rep, ok := s.call(candm.ReqSettime, candm.SetTime{Time: t}, true, candm.RpyManualTimestamp2)
	if !ok {
		return false
	}
	d := rep.Body.(candm.ManualTimestamp)
	s.printf("Clock was %.2f seconds fast.  Frequency change = %.2fppm, new frequency = %.2fppm\n",
		d.Offset, d.DFreqPPM, d.NewAFreqPPM)
	return true
}

// waitsync limits: the shortest interval between tries.
const minWaitSyncInterval = 100 * time.Millisecond

// localRefID is the reference ID of the local reference (127.127.1.1).
const localRefID = 0x7f7f0101

func (s *Session) waitSync(arg string) bool {
	var maxTries int64
	var maxCorr, maxSkew float64
	interval := 10.0
	words := strings.Fields(arg)
	if len(words) > 0 {
		maxTries, _ = scanInt(words[0])
	}
	if len(words) > 1 {
		maxCorr, _ = scanFloat(words[1])
	}
	if len(words) > 2 {
		maxSkew, _ = scanFloat(words[2])
	}
	if len(words) > 3 {
		interval, _ = scanFloat(words[3])
	}
	wait := max(time.Duration(interval*float64(time.Second)), minWaitSyncInterval)
	for try := int64(1); ; try++ {
		synced := false
		if rep, ok := s.call(candm.ReqTracking, nil, false, candm.RpyTracking); ok {
			d := rep.Body.(candm.Tracking)
			corr := abs(d.CurrentCorrection)
			s.printf("%s", NewReport(s.opts.CSV).Text("try: ").Int(try, 0).Text(", refid: ").RefID(d.RefID).
				Text(", correction: ").Float(corr, 0, 9, false).Text(", skew: ").
				Float(d.SkewPPM, 0, 3, false).Text("\n").End().String())
			synced = (!d.IPAddr.IsUnspecified() || (d.RefID != 0 && d.RefID != localRefID)) &&
				(maxCorr == 0 || corr <= maxCorr) && (maxSkew == 0 || d.SkewPPM <= maxSkew)
		}
		if synced {
			return true
		}
		if (maxTries != 0 && try >= maxTries) || s.quit || !s.clock.Sleep(wait) {
			return false
		}
	}
}
