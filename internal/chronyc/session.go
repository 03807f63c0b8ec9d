package chronyc

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// Exchanger delivers one request to the daemon and returns its reply.
type Exchanger interface {
	// Exchange sends req (the exchanger sets its sequence number and
	// attempt counter) padded to padTo bytes, or as chronyc 4.8 pads it
	// when padTo is 0, retrying as chronyc does, and returns the reply
	// that matches it. An error means the daemon could not be reached.
	Exchange(req candm.Request, padTo int) (candm.Reply, error)
}

// Tuner is implemented by exchangers whose timeout and retries can be
// changed (chronyc's timeout and retries commands).
type Tuner interface {
	SetTimeout(initial time.Duration)
	SetRetries(n int)
}

// Clock is the session's source of time (settime, waitsync, keygen).
type Clock interface {
	Now() time.Time
	// Sleep waits for d; it returns false if the wait was interrupted.
	Sleep(d time.Duration) bool
}

// Options are the command-line switches that change output.
type Options struct {
	// CSV prints reports as comma-separated values (-c).
	CSV bool
	// JSON prints reports as JSON with raw values in SI units (-o json).
	JSON bool
	// NoDNS prints addresses instead of resolving them (-n).
	NoDNS bool
	// SourceNames prints the names sources were configured with (-N).
	SourceNames bool
	// EndDot ends every command's output with a line holding a dot (-e).
	EndDot bool
	// Family restricts name resolution to IPv4 (4) or IPv6 (6) (-4, -6).
	Family int
}

// Session runs chronyc command lines. It is not safe for concurrent use.
type Session struct {
	opts  Options
	out   io.Writer
	errw  io.Writer
	ex    Exchanger
	res   Resolver
	clock Clock
	rand  io.Reader
	quit  bool
	// handlers is the command table (built once per session).
	handlers map[string]handler
}

// NewSession returns a session printing reports to out and errors to errw.
// res may be nil (no name resolution); rand supplies keygen's key bytes.
func NewSession(opts Options, ex Exchanger, res Resolver, clock Clock, rand io.Reader, out, errw io.Writer) *Session {
	return &Session{opts: opts, out: out, errw: errw, ex: ex, res: res, clock: clock, rand: rand,
		handlers: handlerTable()}
}

// Quit reports whether quit or exit was entered.
func (s *Session) Quit() bool { return s.quit }

// Options returns the session's current options (dns may change them).
func (s *Session) Options() Options { return s.opts }

func (s *Session) printf(format string, args ...any) { fmt.Fprintf(s.out, format, args...) }

// logError prints an error message on the error stream as chronyc does.
func (s *Session) logError(msg string) { fmt.Fprintln(s.errw, msg) }

// fail prints an argument error and reports failure.
func (s *Session) fail(err error) bool {
	s.logError(err.Error())
	return false
}

// call sends a request and checks the reply as chronyc does: "506 Cannot
// talk to daemon" when unreachable; the status line when verbose or not
// successful; "508 Bad reply from daemon" for an unexpected format.
func (s *Session) call(cmd candm.Command, body candm.RequestBody, verbose bool, want ...candm.ReplyCode) (candm.Reply, bool) {
	rep, err := s.ex.Exchange(candm.Request{Command: cmd, Body: body}, 0)
	return rep, s.report(rep, err, verbose, want...)
}

// report prints the outcome of an exchange as chronyc does and reports
// whether the reply is a success of one of the wanted formats (RPY_NULL
// when none is given).
func (s *Session) report(rep candm.Reply, err error, verbose bool, want ...candm.ReplyCode) bool {
	if err != nil {
		s.printf("506 Cannot talk to daemon\n")
		return false
	}
	if verbose || rep.Status != candm.StatusSuccess {
		s.printf("%s\n", rep.Status)
	}
	switch rep.Status {
	case candm.StatusSuccess, candm.StatusAccessAllowed, candm.StatusAccessDenied:
	default:
		return false
	}
	if len(want) == 0 {
		want = []candm.ReplyCode{candm.RpyNull}
	}
	if !slices.Contains(want, rep.Code) {
		s.printf("508 Bad reply from daemon\n")
		return false
	}
	return true
}

// submit sends a command answered with a bare status and prints it.
func (s *Session) submit(cmd candm.Command, body candm.RequestBody) bool {
	_, ok := s.call(cmd, body, true)
	return ok
}

// handler runs one command with its arguments and reports success.
type handler func(s *Session, arg string) bool

// handlerTable maps chronyc's command words to their implementation.
func handlerTable() map[string]handler {
	return map[string]handler{
		"accheck":          func(s *Session, a string) bool { return s.acCheck(candm.ReqAcCheck, a) },
		"activity":         (*Session).activity,
		"add":              (*Session).addSource,
		"allow":            allowDenyHandler(candm.ReqAllow, candm.ReqAllowAll),
		"authdata":         (*Session).authData,
		"authhash":         (*Session).noAuth,
		"burst":            (*Session).burst,
		"clients":          (*Session).clients,
		"cmdaccheck":       func(s *Session, a string) bool { return s.acCheck(candm.ReqCmdAcCheck, a) },
		"cmdallow":         allowDenyHandler(candm.ReqCmdAllow, candm.ReqCmdAllowAll),
		"cmddeny":          allowDenyHandler(candm.ReqCmdDeny, candm.ReqCmdDenyAll),
		"cyclelogs":        plain(candm.ReqCycleLogs),
		"delete":           (*Session).deleteSource,
		"deny":             allowDenyHandler(candm.ReqDeny, candm.ReqDenyAll),
		"dfreq":            valueHandler(candm.ReqDFreq),
		"dns":              (*Session).dns,
		"doffset":          valueHandler(candm.ReqDOffset2),
		"dump":             plain(candm.ReqDump),
		"exit":             (*Session).exit,
		"help":             (*Session).help,
		"keygen":           (*Session).keygen,
		"local":            (*Session).local,
		"makestep":         (*Session).makestep,
		"manual":           (*Session).manual,
		"maxdelay":         sourceFloatHandler(candm.ReqModifyMaxdelay),
		"maxdelaydevratio": sourceFloatHandler(candm.ReqModifyMaxdelaydevratio),
		"maxdelayratio":    sourceFloatHandler(candm.ReqModifyMaxdelayratio),
		"maxpoll":          sourceIntHandler(candm.ReqModifyMaxpoll),
		"maxupdateskew":    (*Session).maxUpdateSkew,
		"minpoll":          sourceIntHandler(candm.ReqModifyMinpoll),
		"minstratum":       sourceIntHandler(candm.ReqModifyMinstratum),
		"ntpdata":          (*Session).ntpData,
		"offline":          maskHandler(candm.ReqOffline),
		"offset":           (*Session).offset,
		"online":           maskHandler(candm.ReqOnline),
		"onoffline":        plain(candm.ReqOnOffline),
		"password":         (*Session).noAuth,
		"polltarget":       sourceIntHandler(candm.ReqModifyPolltarget),
		"quit":             (*Session).exit,
		"refresh":          plain(candm.ReqRefresh),
		"rekey":            plain(candm.ReqRekey),
		"reload":           sourcesWordHandler(candm.ReqReloadSources, "reload"),
		"reselect":         plain(candm.ReqReselect),
		"reselectdist":     (*Session).reselectDist,
		"reset":            sourcesWordHandler(candm.ReqResetSources, "reset"),
		"retries":          (*Session).retries,
		"rtcdata":          (*Session).rtcData,
		"selectdata":       (*Session).selectData,
		"selectopts":       (*Session).selectOpts,
		"serverstats":      (*Session).serverStats,
		"settime":          (*Session).setTime,
		"shutdown":         plain(candm.ReqShutdown),
		"smoothing":        (*Session).smoothing,
		"smoothtime":       (*Session).smoothTime,
		"sourcename":       (*Session).sourceName,
		"sources":          (*Session).sources,
		"sourcestats":      (*Session).sourceStats,
		"timeout":          (*Session).timeout,
		"tracking":         (*Session).tracking,
		"trimrtc":          plain(candm.ReqTrimRTC),
		"waitsync":         (*Session).waitSync,
		"writertc":         plain(candm.ReqWriteRTC),
	}
}

// Commands returns the command words the session understands, sorted.
func Commands() []string {
	table := handlerTable()
	names := make([]string, 0, len(table))
	for k := range table {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Line runs one command line and reports whether it succeeded. Empty lines
// and comments succeed without doing anything.
func (s *Session) Line(line string) bool {
	line = normalizeLine(line)
	if line == "" {
		return true
	}
	word, arg := splitWord(line)
	h, ok := s.handlers[word]
	if !ok {
		s.logError("Unrecognized command")
		ok = false
	} else {
		ok = h(s, arg)
	}
	if s.opts.EndDot {
		s.printf(".\n")
	}
	return ok
}

func plain(cmd candm.Command) handler {
	return func(s *Session, _ string) bool { return s.submit(cmd, nil) }
}

func maskHandler(cmd candm.Command) handler {
	return func(s *Session, arg string) bool {
		mask, addr, err := s.maskAddress(arg)
		if err != nil {
			return s.fail(err)
		}
		return s.submit(cmd, candm.SourceMask{Mask: mask, Address: addr})
	}
}

func sourceIntHandler(cmd candm.Command) handler {
	return func(s *Session, arg string) bool {
		a, v, err := s.addressInt(arg)
		if err != nil {
			return s.fail(err)
		}
		return s.submit(cmd, candm.SourceIntParam{Address: a, Value: v})
	}
}

func sourceFloatHandler(cmd candm.Command) handler {
	return func(s *Session, arg string) bool {
		a, v, err := s.addressFloat(arg)
		if err != nil {
			return s.fail(err)
		}
		return s.submit(cmd, candm.SourceParam{Address: a, Value: v})
	}
}

func valueHandler(cmd candm.Command) handler {
	return func(s *Session, arg string) bool {
		v, ok := scanFloat(arg)
		if !ok {
			return s.fail(errInvalidValue)
		}
		return s.submit(cmd, candm.Value{Value: v})
	}
}

func allowDenyHandler(cmd, allCmd candm.Command) handler {
	return func(s *Session, arg string) bool {
		all, subnet, ok := s.allowDeny(arg)
		if !ok {
			return s.fail(errReadAddress)
		}
		if all {
			cmd = allCmd
		}
		return s.submit(cmd, subnet)
	}
}

func sourcesWordHandler(cmd candm.Command, name string) handler {
	return func(s *Session, arg string) bool {
		if arg != "sources" {
			return s.fail(argError("Invalid syntax for " + name + " command"))
		}
		return s.submit(cmd, nil)
	}
}

func (s *Session) acCheck(cmd candm.Command, arg string) bool {
	a, ok := s.resolveOne(arg)
	if !ok {
		return s.fail(errReadAddress)
	}
	return s.submit(cmd, candm.Address{IP: candm.AddrFrom(a)})
}

func (s *Session) addSource(arg string) bool {
	b, err := s.parseAddSource(arg)
	if err != nil {
		return s.fail(err)
	}
	return s.submit(candm.ReqAddSource, b)
}

func (s *Session) deleteSource(arg string) bool {
	host, _ := splitWord(arg)
	if host == "" {
		return s.fail(argError("Invalid syntax for address"))
	}
	a, ok := s.sourceAddress(host)
	if !ok {
		return s.fail(errHostname)
	}
	return s.submit(candm.ReqDelSource, candm.Address{IP: a})
}

func (s *Session) burst(arg string) bool {
	counts, rest := splitWord(arg)
	target, _ := splitWord(rest)
	good, total, ok := parseBurstCounts(counts)
	if !ok {
		return s.fail(argError("Invalid syntax for burst command"))
	}
	var mask, addr candm.IPAddr
	if target != "" {
		var err error
		if mask, addr, err = s.maskAddress(target); err != nil {
			return s.fail(err)
		}
	}
	return s.submit(candm.ReqBurst, candm.Burst{Mask: mask, Address: addr, GoodSamples: good, TotalSamples: total})
}

// parseBurstCounts reads GOOD/TOTAL.
func parseBurstCounts(s string) (int32, int32, bool) {
	a, b, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	good, ok1 := scanInt(a)
	total, ok2 := scanInt(b)
	if !ok1 || !ok2 || !isDecimal(strings.TrimSpace(a)) {
		return 0, 0, false
	}
	return int32(good), int32(total), true
}

func (s *Session) local(arg string) bool {
	if arg == "off" {
		return s.submitLocal(candm.Local{})
	}
	l, ok := parseLocal(arg)
	if !ok {
		return s.fail(argError("Invalid syntax for local command"))
	}
	return s.submitLocal(l)
}

// submitLocal sends LOCAL3; a daemon older than 4.6 does not know it, so
// when it answers "invalid command" and the options fit the older LOCAL2
// request (no activate or wait options), that request is sent instead.
func (s *Session) submitLocal(l candm.Local) bool {
	rep, err := s.ex.Exchange(candm.Request{Command: candm.ReqLocal3, Body: l}, 0)
	legacyDefaults := l.Activate == 0 && l.WaitSynced == 0 &&
		(l.WaitUnsynced == 0 || (l.Orphan && l.WaitUnsynced == 300))
	if err == nil && rep.Status == candm.StatusInvalid && legacyDefaults {
		l.Legacy, l.Activate, l.WaitSynced, l.WaitUnsynced = true, 0, 0, 0
		return s.submit(candm.ReqLocal2, l)
	}
	return s.report(rep, err, true)
}

func (s *Session) makestep(arg string) bool {
	if arg == "" {
		return s.submit(candm.ReqMakeStep, nil)
	}
	th, rest := splitWord(arg)
	threshold, ok1 := scanFloat(th)
	limit, ok2 := scanInt(rest)
	if !ok1 || !ok2 {
		return s.fail(argError("Bad syntax for makestep command"))
	}
	return s.submit(candm.ReqModifyMakestep, candm.Makestep{Limit: int32(limit), Threshold: threshold})
}

func (s *Session) manual(arg string) bool {
	switch {
	case strings.HasPrefix(arg, "list"):
		return s.manualList()
	case strings.HasPrefix(arg, "delete"):
		_, rest := splitWord(arg)
		idx, ok := scanInt(rest)
		if !ok {
			return s.fail(argError("Bad syntax for manual delete command"))
		}
		return s.submit(candm.ReqManualDelete, candm.Index{Index: int32(idx)})
	}
	opt := map[string]int32{"off": candm.ManualOff, "on": candm.ManualOn, "reset": candm.ManualReset}
	v, ok := opt[arg]
	if !ok {
		return s.fail(argError("Invalid syntax for manual command"))
	}
	return s.submit(candm.ReqManual, candm.Index{Index: v})
}

func (s *Session) maxUpdateSkew(arg string) bool {
	v, ok := scanFloat(arg)
	if !ok {
		return false
	}
	return s.submit(candm.ReqModifyMaxupdateskew, candm.Value{Value: v})
}

func (s *Session) reselectDist(arg string) bool {
	v, ok := scanFloat(arg)
	if !ok {
		return false
	}
	return s.submit(candm.ReqReselectDistance, candm.Value{Value: v})
}

func (s *Session) offset(arg string) bool {
	src, rest := splitWord(arg)
	a, id, ok := sourceOrRefID(src)
	v, ok2 := scanFloat(rest)
	if !ok || !ok2 {
		return s.fail(argError("Invalid syntax for offset command"))
	}
	return s.submit(candm.ReqModifyOffset, candm.ModifyOffset{Address: a, RefID: id, Offset: v})
}

func (s *Session) selectOpts(arg string) bool {
	src, rest := splitWord(arg)
	a, id, ok := sourceOrRefID(src)
	if !ok {
		return s.fail(argError("Invalid syntax for selectopts command"))
	}
	var mask, options uint32
	for rest != "" {
		var opt string
		opt, rest = splitWord(rest)
		bit := uint32(0)
		if len(opt) > 1 && (opt[0] == '+' || opt[0] == '-') {
			bit = selectOption(opt[1:])
		}
		if bit == 0 {
			return s.fail(argError("Invalid syntax for selectopts command"))
		}
		mask |= bit
		if opt[0] == '+' {
			options |= bit
		}
	}
	return s.submit(candm.ReqModifySelectOpts, candm.SelectOpts{Address: a, RefID: id, Mask: mask,
		Options: selectOptionsToAddSrc(options)})
}

func (s *Session) smoothTime(arg string) bool {
	opt := map[string]int32{"reset": candm.SmoothtimeReset, "activate": candm.SmoothtimeActivate}
	v, ok := opt[arg]
	if !ok {
		return s.fail(argError("Invalid syntax for smoothtime command"))
	}
	return s.submit(candm.ReqSmoothtime, candm.Index{Index: v})
}

func (s *Session) dns(arg string) bool {
	switch arg {
	case "-46":
		s.opts.Family = 0
	case "-4":
		s.opts.Family = 4
	case "-6":
		s.opts.Family = 6
	case "-n":
		s.opts.NoDNS = true
	case "+n":
		s.opts.NoDNS = false
	default:
		return s.fail(argError("Unrecognized dns command"))
	}
	return true
}

func (s *Session) timeout(arg string) bool {
	v, _ := scanInt(arg)
	if v < 100 {
		return s.fail(argError(fmt.Sprintf("Timeout %d is too short", v)))
	}
	if t, ok := s.ex.(Tuner); ok {
		t.SetTimeout(time.Duration(v) * time.Millisecond)
	}
	return true
}

func (s *Session) retries(arg string) bool {
	v, _ := scanInt(arg)
	if v < 0 || v > 30 {
		return s.fail(argError("Invalid maximum number of retries"))
	}
	if t, ok := s.ex.(Tuner); ok {
		t.SetRetries(int(v))
	}
	return true
}

func (s *Session) exit(string) bool {
	s.quit = true
	return true
}

func (s *Session) noAuth(string) bool {
	s.logError("Authentication is no longer supported")
	return true
}
