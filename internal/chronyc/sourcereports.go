package chronyc

import (
	"math"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// Legends printed above tables by the -v option of sources, sourcestats,
// selectdata and authdata (chronyc 4.8's wording and layout).
const (
	sourcesLegend = `
  .-- Source mode  '^' = server, '=' = peer, '#' = local clock.
 / .- Source state '*' = current best, '+' = combined, '-' = not combined,
| /             'x' = may be in error, '~' = too variable, '?' = unusable.
||                                                 .- xxxx [ yyyy ] +/- zzzz
||      Reachability register (octal) -.           |  xxxx = adjusted offset,
||      Log2(Polling interval) --.      |          |  yyyy = measured offset,
||                                \     |          |  zzzz = estimated error.
||                                 |    |           \
`
	sourceStatsLegend = `                             .- Number of sample points in measurement set.
                            /    .- Number of residual runs with same sign.
                           |    /    .- Length of measurement set (time).
                           |   |    /      .- Est. clock freq error (ppm).
                           |   |   |      /           .- Est. error in freq.
                           |   |   |     |           /         .- Est. offset.
                           |   |   |     |          |          |   On the -.
                           |   |   |     |          |          |   samples. \
                           |   |   |     |          |          |             |
`
	selectDataLegend = `  . State: N - noselect, s - unsynchronised, M - missing samples,
 /         d/D - large distance, ~ - jittery, w/W - waits for others,
|          S - stale, O - orphan, T - not trusted, P - not preferred,
|          U - waits for update,, x - falseticker, + - combined, * - best.
|   Effective options   ---------.  (N - noselect, P - prefer
|   Configured options  ----.     \  T - trust, R - require)
|   Auth. enabled (Y/N) -.   \     \     Offset interval --.
|                        |    |     |                       |
`
	authDataLegend = `                             .- Auth. mechanism (NTS, SK - symmetric key)
                            |   Key length -.  Cookie length (bytes) -.
                            |       (bits)  |  Num. of cookies --.    |
                            |               |  Key est. attempts  |   |
                            |               |           |         |   |
`
)

// Table headers.
const (
	sourcesHeader     = "MS Name/IP address         Stratum Poll Reach LastRx Last sample               "
	sourceStatsHeader = "Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev"
	selectDataHeader  = "S Name/IP Address        Auth COpts EOpts Last Score     Interval  Leap"
	authDataHeader    = "Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen"
	manualListHeader  = "#    Date     Time(UTC)    Slewed   Original   Residual"
)

// listOptions reads -a (all sources, also unresolved ones) and -v (legend,
// ignored in CSV mode).
func (s *Session) listOptions(arg string) (all, verbose bool) {
	for rest := arg; rest != ""; {
		var w string
		w, rest = splitWord(rest)
		switch w {
		case "-a":
			all = true
		case "-v":
			verbose = !s.opts.CSV
		}
	}
	return all, verbose
}

// nSources asks how many sources the daemon has.
func (s *Session) nSources() (uint32, bool) {
	rep, ok := s.call(candm.ReqNSources, nil, false, candm.RpyNSources)
	if !ok {
		return 0, false
	}
	return rep.Body.(candm.NSources).N, true
}

// SourceRow is one line of the sources report.
type SourceRow struct {
	Data candm.SourceData
	Name string
}

// sourceModeChar and sourceStateChar are the first two columns of sources.
func sourceModeChar(mode uint16) byte {
	switch mode {
	case candm.SourceModeClient:
		return '^'
	case candm.SourceModePeer:
		return '='
	case candm.SourceModeRef:
		return '#'
	}
	return ' '
}

func sourceStateChar(state uint16) byte {
	chars := [...]byte{candm.SourceStateSelected: '*', candm.SourceStateNonselectable: '?',
		candm.SourceStateFalseticker: 'x', candm.SourceStateJittery: '~',
		candm.SourceStateUnselected: '+', candm.SourceStateSelectable: '-'}
	if int(state) < len(chars) {
		return chars[state]
	}
	return ' '
}

// listReport prints a table of one row per source index: the legend and
// header once the number of sources is known, then each row as it is
// fetched (so that an error appears after the rows before it, as in
// chronyc). In JSON mode the rows are collected and printed at the end.
// fetch returns the row, whether to skip it, and false on failure.
func listReport[T any](s *Session, arg string, legend, header string,
	fetch func(i int32, all bool) (T, bool, bool), render func(T, bool) string, toJSON func([]T) any) bool {
	all, verbose := s.listOptions(arg)
	n, ok := s.nSources()
	if !ok {
		return false
	}
	if !s.opts.JSON {
		s.printf("%s", renderTableTop(legend, header, verbose, s.opts.CSV))
	}
	var rows []T
	for i := range n {
		row, skip, ok := fetch(int32(i), all)
		if !ok {
			return false
		}
		if skip {
			continue
		}
		if s.opts.JSON {
			rows = append(rows, row)
			continue
		}
		s.printf("%s", render(row, s.opts.CSV))
	}
	if s.opts.JSON {
		s.emitJSON(toJSON(rows))
	}
	return true
}

// renderTableTop renders the optional legend and the header of a table.
func renderTableTop(legend, header string, verbose, csv bool) string {
	r := NewReport(csv)
	if verbose {
		r.Text(legend)
	}
	return r.Header(header).String()
}

func (s *Session) sources(arg string) bool {
	return listReport(s, arg, sourcesLegend, sourcesHeader, func(i int32, all bool) (SourceRow, bool, bool) {
		rep, ok := s.call(candm.ReqSourceData, candm.Index{Index: i}, false, candm.RpySourceData)
		if !ok {
			return SourceRow{}, false, false
		}
		d := rep.Body.(candm.SourceData)
		if !all && d.IPAddr.Family() == candm.FamilyID {
			return SourceRow{}, true, true
		}
		ref := d.Mode == candm.SourceModeRef && d.IPAddr.Family() == candm.FamilyInet4
		st := nameStyle{trunc: 25, ref: ref, source: true}
		if ref {
			st.refID = AddrRefID(d.IPAddr)
		}
		return SourceRow{Data: d, Name: s.formatName(d.IPAddr, st)}, false, true
	}, RenderSourceRow, sourcesJSON)
}

// RenderSources renders the sources report.
func RenderSources(rows []SourceRow, verbose, csv bool) string {
	out := renderTableTop(sourcesLegend, sourcesHeader, verbose, csv)
	for _, row := range rows {
		out += RenderSourceRow(row, csv)
	}
	return out
}

// RenderSourceRow renders one line of the sources report.
func RenderSourceRow(row SourceRow, csv bool) string {
	d := row.Data
	return NewReport(csv).Char(sourceModeChar(d.Mode)).Char(sourceStateChar(d.State)).Text(" ").
		Str(row.Name, -27).Text("  ").Int(int64(d.Stratum), 2).Text("  ").
		Int(int64(d.Poll), 2).Text("   ").Octal(uint64(d.Reachability), 3).Text("  ").
		Interval(d.SinceSample).Text("  ").Duration(d.LatestMeas, true).Text("[").
		Duration(d.OrigLatestMeas, true).Text("] +/- ").Duration(d.LatestMeasErr, false).
		Text("\n").End().String()
}

// SourceStatsRow is one line of the sourcestats report.
type SourceStatsRow struct {
	Data candm.SourceStats
	Name string
}

func (s *Session) sourceStats(arg string) bool {
	return listReport(s, arg, sourceStatsLegend, sourceStatsHeader, func(i int32, all bool) (SourceStatsRow, bool, bool) {
		rep, ok := s.call(candm.ReqSourceStats, candm.Index{Index: i}, false, candm.RpySourceStats)
		if !ok {
			return SourceStatsRow{}, false, false
		}
		d := rep.Body.(candm.SourceStats)
		if !all && d.IPAddr.Family() == candm.FamilyID {
			return SourceStatsRow{}, true, true
		}
		st := nameStyle{trunc: 25, ref: d.IPAddr.IsUnspecified(), refID: d.RefID, source: true}
		return SourceStatsRow{Data: d, Name: s.formatName(d.IPAddr, st)}, false, true
	}, RenderSourceStatsRow, sourceStatsJSON)
}

// RenderSourceStatsRow renders one line of the sourcestats report.
func RenderSourceStatsRow(row SourceStatsRow, csv bool) string {
	d := row.Data
	return NewReport(csv).Str(row.Name, -25).Text(" ").Uint(uint64(d.NSamples), 3).Text(" ").
		Uint(uint64(d.NRuns), 3).Text("  ").Interval(d.SpanSeconds).Text(" ").
		Freq(d.ResidFreqPPM, true).Text(" ").Freq(d.SkewPPM, false).Text("  ").
		Duration(d.EstOffset, true).Text("  ").Duration(d.SD, false).Text("\n").End().String()
}

// SelectRow is one line of the selectdata report.
type SelectRow struct {
	Data candm.SelectData
	Name string
}

func (s *Session) selectData(arg string) bool {
	return listReport(s, arg, selectDataLegend, selectDataHeader, func(i int32, all bool) (SelectRow, bool, bool) {
		rep, ok := s.call(candm.ReqSelectData, candm.Index{Index: i}, false, candm.RpySelectData)
		if !ok {
			return SelectRow{}, false, false
		}
		d := rep.Body.(candm.SelectData)
		if !all && d.IPAddr.Family() == candm.FamilyID {
			return SelectRow{}, true, true
		}
		st := nameStyle{trunc: 25, ref: d.IPAddr.IsUnspecified(), refID: d.RefID, source: true}
		return SelectRow{Data: d, Name: s.formatName(d.IPAddr, st)}, false, true
	}, RenderSelectRow, selectDataJSON)
}

// optionChars appends the four selection option columns and a dash.
func optionChars(r *Report, o uint16) {
	flags := [...]struct {
		bit uint16
		c   byte
	}{{candm.SelectOptionNoselect, 'N'}, {candm.SelectOptionPrefer, 'P'},
		{candm.SelectOptionTrust, 'T'}, {candm.SelectOptionRequire, 'R'}}
	for _, f := range flags {
		if o&f.bit != 0 {
			r.Char(f.c)
		} else {
			r.Char('-')
		}
	}
	r.Char('-')
}

// RenderSelectRow renders one line of the selectdata report.
func RenderSelectRow(row SelectRow, csv bool) string {
	d := row.Data
	auth := byte('N')
	if d.Authentication != 0 {
		auth = 'Y'
	}
	r := NewReport(csv)
	r.Char(d.StateChar).Text(" ").Str(row.Name, -25).Text(" ").Char(auth).Text(" ")
	optionChars(r, d.ConfOptions)
	r.Text(" ")
	optionChars(r, d.EffOptions)
	return r.Text(" ").Interval(d.LastSampleAgo).Text(" ").Float(d.Score, 5, 1, false).Text(" ").
		Duration(d.LoLimit, true).Text(" ").Duration(d.HiLimit, true).Text("  ").
		Leap(int(d.Leap), true).Text("\n").End().String()
}

// AuthRow is one line of the authdata report.
type AuthRow struct {
	Data candm.AuthData
	Name string
}

func (s *Session) authData(arg string) bool {
	return listReport(s, arg, authDataLegend, authDataHeader, func(i int32, all bool) (AuthRow, bool, bool) {
		rep, ok := s.call(candm.ReqSourceData, candm.Index{Index: i}, false, candm.RpySourceData)
		if !ok {
			return AuthRow{}, false, false
		}
		d := rep.Body.(candm.SourceData)
		if d.Mode != candm.SourceModeClient && d.Mode != candm.SourceModePeer {
			return AuthRow{}, true, true
		}
		if !all && d.IPAddr.Family() == candm.FamilyID {
			return AuthRow{}, true, true
		}
		rep, ok = s.call(candm.ReqAuthData, candm.Address{IP: d.IPAddr}, false, candm.RpyAuthData)
		if !ok {
			return AuthRow{}, false, false
		}
		return AuthRow{Data: rep.Body.(candm.AuthData),
			Name: s.formatName(d.IPAddr, nameStyle{trunc: 25, source: true})}, false, true
	}, RenderAuthRow, authDataJSON)
}

// authModeName is the Mode column of authdata.
func authModeName(mode uint16) string {
	switch mode {
	case candm.AuthModeNone:
		return "-"
	case candm.AuthModeSymmetric:
		return "SK"
	case candm.AuthModeNTS:
		return "NTS"
	}
	return "?"
}

// RenderAuthRow renders one line of the authdata report.
func RenderAuthRow(row AuthRow, csv bool) string {
	d := row.Data
	return NewReport(csv).Str(row.Name, -27).Text(" ").Str(authModeName(d.Mode), 4).Text(" ").
		Uint(uint64(d.KeyID), 5).Text(" ").Int(int64(d.KeyType), 4).Text(" ").
		Int(int64(d.KeyLength), 4).Text(" ").Interval(d.LastKEAgo).Text(" ").
		Int(int64(d.KEAttempts), 4).Text(" ").Int(int64(d.NAK), 4).Text(" ").
		Int(int64(d.Cookies), 4).Text(" ").Int(int64(d.CookieLength), 4).Text("\n").End().String()
}

// TrackingView is the tracking report with the reference's display name.
type TrackingView struct {
	Data candm.Tracking
	Name string
}

func (s *Session) tracking(string) bool {
	rep, ok := s.call(candm.ReqTracking, nil, false, candm.RpyTracking)
	if !ok {
		return false
	}
	d := rep.Body.(candm.Tracking)
	v := TrackingView{Data: d, Name: s.formatName(d.IPAddr,
		nameStyle{ref: d.IPAddr.IsUnspecified(), refID: d.RefID, source: true})}
	if s.opts.JSON {
		s.emitJSON(trackingJSON(v))
		return true
	}
	s.printf("%s", RenderTracking(v, s.opts.CSV))
	return true
}

// RenderTracking renders the tracking report.
func RenderTracking(v TrackingView, csv bool) string {
	d := v.Data
	r := NewReport(csv)
	r.Text("Reference ID    : ").RefID(d.RefID).Text(" (").Str(v.Name, 0).Text(")\n")
	r.Text("Stratum         : ").Uint(uint64(d.Stratum), 0).Text("\n")
	r.Text("Ref time (UTC)  : ").Time(d.RefTime).Text("\n")
	r.Text("System time     : ").OffsetFastSlow(d.CurrentCorrection, 9).Text(" of NTP time\n")
	r.Text("Last offset     : ").Float(d.LastOffset, 0, 9, true).Text(" seconds\n")
	r.Text("RMS offset      : ").Float(d.RMSOffset, 0, 9, false).Text(" seconds\n")
	r.Text("Frequency       : ").FreqFastSlow(d.FreqPPM, 3).Text("\n")
	r.Text("Residual freq   : ").Float(d.ResidFreqPPM, 0, 3, true).Text(" ppm\n")
	r.Text("Skew            : ").Float(d.SkewPPM, 0, 3, false).Text(" ppm\n")
	r.Text("Root delay      : ").Float(d.RootDelay, 0, 9, false).Text(" seconds\n")
	r.Text("Root dispersion : ").Float(d.RootDispersion, 0, 9, false).Text(" seconds\n")
	r.Text("Update interval : ").Float(d.LastUpdateInterval, 0, 1, false).Text(" seconds\n")
	r.Text("Leap status     : ").Leap(int(d.LeapStatus), false).Text("\n").End()
	return r.String()
}

// log2Seconds is 2^l seconds with l clamped to ±31, as ntpdata shows polls
// and precisions.
func log2Seconds(l int) float64 {
	l = max(-31, min(31, l))
	return math.Ldexp(1, l)
}

func (s *Session) ntpData(arg string) bool {
	var targets []candm.IPAddr
	specified := arg != ""
	if specified {
		a, ok := s.sourceAddress(arg)
		if !ok {
			return s.fail(errHostname)
		}
		targets = append(targets, a)
	}
	var n uint32 = 1
	if !specified {
		var ok bool
		if n, ok = s.nSources(); !ok {
			return false
		}
	}
	var views []candm.NTPData
	for i := range n {
		target := candm.IPAddr{}
		if specified {
			target = targets[0]
		} else {
			rep, ok := s.call(candm.ReqSourceData, candm.Index{Index: int32(i)}, false, candm.RpySourceData)
			if !ok {
				return false
			}
			d := rep.Body.(candm.SourceData)
			if d.Mode != candm.SourceModeClient && d.Mode != candm.SourceModePeer {
				continue
			}
			if f := d.IPAddr.Family(); f != candm.FamilyInet4 && f != candm.FamilyInet6 {
				continue
			}
			target = d.IPAddr
		}
		rep, ok := s.call(candm.ReqNTPData, candm.Address{IP: target}, false, candm.RpyNTPData2, candm.RpyNTPData)
		if !ok {
			return false
		}
		d := rep.Body.(candm.NTPData)
		if s.opts.JSON {
			views = append(views, d)
			continue
		}
		if !specified && !s.opts.CSV {
			s.printf("\n")
		}
		s.printf("%s", RenderNTPData(d, rep.Code == candm.RpyNTPData2, s.opts.CSV))
	}
	if s.opts.JSON {
		s.emitJSON(ntpDataJSON(views))
	}
	return true
}

// RenderNTPData renders one source of the ntpdata report; withCounters adds
// the timestamping counters of chrony 4.6 and later (NTP_DATA2 replies).
func RenderNTPData(d candm.NTPData, withCounters, csv bool) string {
	r := NewReport(csv)
	refText := ""
	if d.Stratum <= 1 {
		refText = RefIDText(d.RefID)
	}
	r.Text("Remote address  : ").Str(d.RemoteAddr.String(), 0).Text(" (").RefID(AddrRefID(d.RemoteAddr)).Text(")\n")
	r.Text("Remote port     : ").Uint(uint64(d.RemotePort), 0).Text("\n")
	r.Text("Local address   : ").Str(d.LocalAddr.String(), 0).Text(" (").RefID(AddrRefID(d.LocalAddr)).Text(")\n")
	r.Text("Leap status     : ").Leap(int(d.Leap), false).Text("\n")
	r.Text("Version         : ").Uint(uint64(d.Version), 0).Text("\n")
	r.Text("Mode            : ").Str(ModeName(int(d.Mode)), 0).Text("\n")
	r.Text("Stratum         : ").Uint(uint64(d.Stratum), 0).Text("\n")
	r.Text("Poll interval   : ").Int(int64(d.Poll), 0).Text(" (").Float(log2Seconds(int(d.Poll)), 0, 0, false).Text(" seconds)\n")
	r.Text("Precision       : ").Int(int64(d.Precision), 0).Text(" (").Float(log2Seconds(int(d.Precision)), 0, 9, false).Text(" seconds)\n")
	r.Text("Root delay      : ").Float(d.RootDelay, 0, 6, false).Text(" seconds\n")
	r.Text("Root dispersion : ").Float(d.RootDispersion, 0, 6, false).Text(" seconds\n")
	r.Text("Reference ID    : ").RefID(d.RefID).Text(" (").Str(refText, 0).Text(")\n")
	r.Text("Reference time  : ").Time(d.RefTime).Text("\n")
	r.Text("Offset          : ").Float(d.Offset, 0, 9, true).Text(" seconds\n")
	r.Text("Peer delay      : ").Float(d.PeerDelay, 0, 9, false).Text(" seconds\n")
	r.Text("Peer dispersion : ").Float(d.PeerDispersion, 0, 9, false).Text(" seconds\n")
	r.Text("Response time   : ").Float(d.ResponseTime, 0, 9, false).Text(" seconds\n")
	r.Text("Jitter asymmetry: ").Float(d.JitterAsymmetry, 0, 2, true).Text("\n")
	r.Text("NTP tests       : ").Bits(uint64(d.Flags>>7), 3).Text(" ").Bits(uint64(d.Flags>>4), 3).
		Text(" ").Bits(uint64(d.Flags), 4).Text("\n")
	r.Text("Interleaved     : ").Bool(d.Flags&candm.NTPFlagInterleaved != 0).Text("\n")
	r.Text("Authenticated   : ").Bool(d.Flags&candm.NTPFlagAuthenticated != 0).Text("\n")
	r.Text("TX timestamping : ").Str(TimestampSourceName(d.TxTssChar), 0).Text("\n")
	r.Text("RX timestamping : ").Str(TimestampSourceName(d.RxTssChar), 0).Text("\n")
	r.Text("Total TX        : ").Uint(uint64(d.TotalTxCount), 0).Text("\n")
	r.Text("Total RX        : ").Uint(uint64(d.TotalRxCount), 0).Text("\n")
	r.Text("Total valid RX  : ").Uint(uint64(d.TotalValidCount), 0).Text("\n")
	r.Text("Total good RX   : ").Uint(uint64(d.TotalGoodCount), 0).Text("\n")
	if !withCounters {
		return r.End().String()
	}
	r.Text("Total kernel TX : ").Uint(uint64(d.TotalKernelTxTS), 0).Text("\n")
	r.Text("Total kernel RX : ").Uint(uint64(d.TotalKernelRxTS), 0).Text("\n")
	r.Text("Total HW TX     : ").Uint(uint64(d.TotalHWTxTS), 0).Text("\n")
	r.Text("Total HW RX     : ").Uint(uint64(d.TotalHWRxTS), 0).Text("\n")
	return r.End().String()
}
