package cmdmon

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/access"
)

// DispatcherConfig is the access policy of the command channels.
type DispatcherConfig struct {
	// OpenCommands is the opencommands list (nil: DefaultOpenCommands).
	OpenCommands []string
	// CmdRules are the cmdallow/cmddeny directives in order. Localhost
	// (127.0.0.1 and ::1) is always admitted.
	CmdRules []access.Rule
	// RateLimit is cmdratelimit.
	RateLimit RateLimit
	// CommandLog, when set, records the UDP requests in the client log
	// and applies its rate limit instead of RateLimit.
	CommandLog CommandLog
	// Log receives chronyd's messages (nil: the standard logger).
	Log logrus.FieldLogger
}

// Dispatcher applies chronyd's policy to one request datagram at a time and
// calls the Handler. It is sans-IO (the time is an input) and safe for
// concurrent use by several channels.
type Dispatcher struct {
	h         Handler
	open      OpenCommandSet
	cmdAccess *access.Table
	log       logrus.FieldLogger

	mu      sync.Mutex // guards limiter
	limiter *rateLimiter
	cmdLog  CommandLog

	hits, drops atomic.Uint64
}

// NewDispatcher builds a Dispatcher answering with h.
func NewDispatcher(h Handler, cfg DispatcherConfig) (*Dispatcher, error) {
	names := cfg.OpenCommands
	if names == nil {
		names = DefaultOpenCommands
	}
	open, err := ParseOpenCommands(names)
	if err != nil {
		return nil, err
	}
	table := access.NewTable()
	for _, r := range cfg.CmdRules {
		if err := table.Apply(r); err != nil {
			return nil, fmt.Errorf("cmdallow/cmddeny: %w", err)
		}
	}
	log := cfg.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	return &Dispatcher{h: h, open: open, cmdAccess: table, log: log,
		limiter: newRateLimiter(cfg.RateLimit), cmdLog: cfg.CommandLog}, nil
}

// CommandStats returns the number of command requests accepted for
// processing and of those dropped by the rate limit, for serverstats.
func (d *Dispatcher) CommandStats() (hits, drops uint64) {
	return d.hits.Load(), d.drops.Load()
}

// CommandAllowed reports whether a UDP client may send commands (cmdallow,
// cmddeny and localhost).
func (d *Dispatcher) CommandAllowed(a netip.Addr) bool {
	a = a.Unmap()
	return isLocalhost(a) || d.cmdAccess.Allowed(a)
}

// Handle processes one datagram received on ch at time now and returns the
// reply to send, or nil to send nothing (as chronyd drops unauthorised
// hosts, malformed datagrams and rate-limited requests). The reply is never
// longer than pkt.
func (d *Dispatcher) Handle(pkt []byte, ch Channel, now time.Time) []byte {
	local := ch.Unix
	if !ch.Unix {
		ch.Addr = ch.Addr.Unmap()
		local = isLocalhost(ch.Addr)
		if !local && !d.cmdAccess.Allowed(ch.Addr) {
			d.log.WithField("addr", ch.Addr).Debug("Unauthorised host")
			return nil
		}
	}
	req, verdict, status := candm.ParseRequest(pkt)
	if verdict == candm.Drop {
		return nil
	}
	d.hits.Add(1)
	if !ch.Unix && !d.admit(ch.Addr, local, now) {
		d.drops.Add(1)
		return nil
	}
	reply := candm.Reply{Command: req.Command, Sequence: req.Sequence, Status: status}
	if verdict == candm.Dispatch {
		if permitted(req.Command, ch, d.open) {
			reply.Body, reply.Status = d.call(req)
		} else {
			reply.Status = candm.StatusUnauth
		}
	}
	out, err := reply.Encode(len(pkt))
	if err != nil {
		// Only a handler report whose every version is longer than the
		// request can get here; chronyd likewise sends nothing.
		d.log.WithError(err).WithField("command", req.Command).Debug("Response longer than request")
		return nil
	}
	return out
}

// errNoBody marks a body of the wrong type (a codec bug).
var errNoBody = errors.New("request without the expected data")

// call runs one permitted request on the Handler.
func (d *Dispatcher) call(req candm.Request) (candm.ReplyBody, candm.Status) {
	body, status, err := d.route(req)
	if err != nil {
		d.log.WithError(err).WithField("command", req.Command).Error("Bad command request")
		return nil, candm.StatusInvalid
	}
	if status != candm.StatusSuccess {
		return nil, status
	}
	return body, status
}

// report wraps a Handler's (report, status) pair.
func report[T candm.ReplyBody](v T, s candm.Status) (candm.ReplyBody, candm.Status, error) {
	return v, s, nil
}

// only wraps a status-only answer.
func only(s candm.Status) (candm.ReplyBody, candm.Status, error) { return nil, s, nil }

func (d *Dispatcher) route(req candm.Request) (candm.ReplyBody, candm.Status, error) {
	h := d.h
	switch req.Command {
	case candm.ReqTracking:
		return report(h.Tracking())
	case candm.ReqNSources:
		n, s := h.NumSources()
		return report(candm.NSources{N: uint32(max(n, 0))}, s)
	case candm.ReqSourceData:
		return withBody(req, func(b candm.Index) (candm.ReplyBody, candm.Status, error) {
			return report(h.SourceData(int(b.Index)))
		})
	case candm.ReqSourceStats:
		return withBody(req, func(b candm.Index) (candm.ReplyBody, candm.Status, error) {
			return report(h.SourceStats(int(uint32(b.Index))))
		})
	case candm.ReqSelectData:
		return withBody(req, func(b candm.Index) (candm.ReplyBody, candm.Status, error) {
			return report(h.SelectData(int(uint32(b.Index))))
		})
	case candm.ReqNTPData:
		return withBody(req, func(b candm.Address) (candm.ReplyBody, candm.Status, error) {
			return report(h.NTPData(b.IP))
		})
	case candm.ReqNTPSourceName:
		return withBody(req, func(b candm.Address) (candm.ReplyBody, candm.Status, error) {
			name, s := h.SourceName(b.IP)
			return report(candm.SourceName{Name: name}, s)
		})
	case candm.ReqAuthData:
		return withBody(req, func(b candm.Address) (candm.ReplyBody, candm.Status, error) {
			return report(h.AuthData(b.IP))
		})
	case candm.ReqActivity:
		return report(h.Activity())
	case candm.ReqServerStats:
		return report(h.ServerStats())
	case candm.ReqClientAccessesByIndex3:
		return withBody(req, func(b candm.ClientAccessesQuery) (candm.ReplyBody, candm.Status, error) {
			b.NClients = min(b.NClients, candm.MaxClientAccesses)
			return report(h.ClientAccesses(b))
		})
	case candm.ReqRTCReport:
		return report(h.RTCData())
	case candm.ReqSmoothing:
		return report(h.Smoothing())
	case candm.ReqManualList:
		return report(h.ManualList())
	case candm.ReqAcCheck:
		return withBody(req, func(b candm.Address) (candm.ReplyBody, candm.Status, error) {
			return only(h.NTPAccessCheck(b.IP))
		})
	case candm.ReqCmdAcCheck:
		return withBody(req, func(b candm.Address) (candm.ReplyBody, candm.Status, error) {
			a := addrOf(b.IP)
			if a.IsValid() && d.cmdAccess.Allowed(a) {
				return only(candm.StatusAccessAllowed)
			}
			return only(candm.StatusAccessDenied)
		})
	case candm.ReqAllow, candm.ReqAllowAll, candm.ReqDeny, candm.ReqDenyAll:
		return withBody(req, func(b candm.Subnet) (candm.ReplyBody, candm.Status, error) {
			rule, ok := SubnetRule(req.Command == candm.ReqAllow || req.Command == candm.ReqAllowAll,
				req.Command == candm.ReqAllowAll || req.Command == candm.ReqDenyAll, b)
			if !ok {
				return only(candm.StatusBadSubnet)
			}
			return only(h.NTPAccess(rule))
		})
	case candm.ReqCmdAllow, candm.ReqCmdAllowAll, candm.ReqCmdDeny, candm.ReqCmdDenyAll:
		return withBody(req, func(b candm.Subnet) (candm.ReplyBody, candm.Status, error) {
			return only(d.applyCmdRule(req.Command, b))
		})
	}
	return d.routeControl(req)
}

func (d *Dispatcher) routeControl(req candm.Request) (candm.ReplyBody, candm.Status, error) {
	h := d.h
	if a, ok := actionOf[req.Command]; ok {
		return only(h.Run(a))
	}
	if p, ok := sourceParamOf[req.Command]; ok {
		switch b := req.Body.(type) {
		case candm.SourceIntParam:
			return only(h.ModifySource(SourceModification{Param: p, Address: b.Address, Value: float64(b.Value)}))
		case candm.SourceParam:
			return only(h.ModifySource(SourceModification{Param: p, Address: b.Address, Value: b.Value}))
		}
		return nil, 0, errNoBody
	}
	if p, ok := tuneParamOf[req.Command]; ok {
		return withBody(req, func(b candm.Value) (candm.ReplyBody, candm.Status, error) {
			return only(h.Tune(Tuning{Param: p, Value: b.Value}))
		})
	}
	switch req.Command {
	case candm.ReqOnline, candm.ReqOffline:
		return withBody(req, func(b candm.SourceMask) (candm.ReplyBody, candm.Status, error) {
			return only(h.SetConnectivity(Connectivity{Online: req.Command == candm.ReqOnline,
				Mask: b.Mask, Address: b.Address}))
		})
	case candm.ReqBurst:
		return withBody(req, func(b candm.Burst) (candm.ReplyBody, candm.Status, error) {
			return only(h.Burst(b))
		})
	case candm.ReqModifySelectOpts:
		return withBody(req, func(b candm.SelectOpts) (candm.ReplyBody, candm.Status, error) {
			return only(h.ModifySelectOpts(SelectOptsChange{Address: b.Address, RefID: b.RefID,
				Mask: b.Mask, Options: b.EffectiveOptions()}))
		})
	case candm.ReqModifyOffset:
		return withBody(req, func(b candm.ModifyOffset) (candm.ReplyBody, candm.Status, error) {
			return only(h.ModifyOffset(b))
		})
	case candm.ReqAddSource:
		return withBody(req, func(b candm.AddSource) (candm.ReplyBody, candm.Status, error) {
			if b.Type < candm.SourceTypeServer || b.Type > candm.SourceTypePool {
				return only(candm.StatusInvalid)
			}
			if !b.NameTerminated {
				return only(candm.StatusInvalidName)
			}
			return only(h.AddSource(b))
		})
	case candm.ReqDelSource:
		return withBody(req, func(b candm.Address) (candm.ReplyBody, candm.Status, error) {
			return only(h.DeleteSource(b.IP))
		})
	case candm.ReqDOffset:
		return withBody(req, func(b candm.DOffsetLegacy) (candm.ReplyBody, candm.Status, error) {
			return only(h.Tune(Tuning{Param: TuneDOffset, Value: float64(b.Sec) + 1e-6*float64(b.Usec)}))
		})
	case candm.ReqModifyMakestep:
		return withBody(req, func(b candm.Makestep) (candm.ReplyBody, candm.Status, error) {
			return only(h.ModifyMakestep(b))
		})
	case candm.ReqLocal2, candm.ReqLocal3:
		return withBody(req, func(b candm.Local) (candm.ReplyBody, candm.Status, error) {
			return only(h.Local(b))
		})
	case candm.ReqManual:
		return withBody(req, func(b candm.Index) (candm.ReplyBody, candm.Status, error) {
			switch b.Index {
			case candm.ManualOff, candm.ManualOn, candm.ManualReset:
				return only(h.Manual(ManualOp(b.Index)))
			}
			return only(candm.StatusInvalid)
		})
	case candm.ReqSettime:
		return withBody(req, func(b candm.SetTime) (candm.ReplyBody, candm.Status, error) {
			return report(h.SetTime(b.Time))
		})
	case candm.ReqManualDelete:
		return withBody(req, func(b candm.Index) (candm.ReplyBody, candm.Status, error) {
			return only(h.ManualDelete(int(b.Index)))
		})
	case candm.ReqSmoothtime:
		return withBody(req, func(b candm.Index) (candm.ReplyBody, candm.Status, error) {
			switch b.Index {
			case candm.SmoothtimeReset, candm.SmoothtimeActivate:
				return only(h.SmoothTime(b.Index == candm.SmoothtimeActivate))
			}
			return only(candm.StatusInvalid)
		})
	}
	return nil, 0, fmt.Errorf("no route for %v", req.Command)
}

// withBody type-asserts the request's body for f.
func withBody[T candm.RequestBody](req candm.Request, f func(T) (candm.ReplyBody, candm.Status, error)) (candm.ReplyBody, candm.Status, error) {
	b, ok := req.Body.(T)
	if !ok {
		return nil, 0, errNoBody
	}
	return f(b)
}

// applyCmdRule applies chronyc cmdallow/cmddeny to the command access table.
func (d *Dispatcher) applyCmdRule(cmd candm.Command, s candm.Subnet) candm.Status {
	allow := cmd == candm.ReqCmdAllow || cmd == candm.ReqCmdAllowAll
	all := cmd == candm.ReqCmdAllowAll || cmd == candm.ReqCmdDenyAll
	rule, ok := SubnetRule(allow, all, s)
	if !ok {
		return candm.StatusBadSubnet
	}
	if err := d.cmdAccess.Apply(rule); err != nil {
		return candm.StatusBadSubnet
	}
	verb := "Denied"
	if allow {
		verb = "Allowed"
	}
	if all {
		verb += " all"
	}
	subnet := "any address"
	if !rule.Any {
		subnet = rule.Prefix.String()
	}
	d.log.Infof("%s command access from %s", verb, subnet)
	return candm.StatusSuccess
}

var actionOf = map[candm.Command]Action{
	candm.ReqDump: ActionDump, candm.ReqRekey: ActionRekey, candm.ReqCycleLogs: ActionCycleLogs,
	candm.ReqShutdown: ActionShutdown, candm.ReqMakeStep: ActionMakeStep,
	candm.ReqReselect: ActionReselect, candm.ReqRefresh: ActionRefresh,
	candm.ReqReloadSources: ActionReloadSources, candm.ReqResetSources: ActionResetSources,
	candm.ReqOnOffline: ActionOnOffline, candm.ReqTrimRTC: ActionTrimRTC,
	candm.ReqWriteRTC: ActionWriteRTC,
}

var sourceParamOf = map[candm.Command]SourceParam{
	candm.ReqModifyMinpoll: ParamMinpoll, candm.ReqModifyMaxpoll: ParamMaxpoll,
	candm.ReqModifyMaxdelay: ParamMaxDelay, candm.ReqModifyMaxdelayratio: ParamMaxDelayRatio,
	candm.ReqModifyMaxdelaydevratio: ParamMaxDelayDevRatio,
	candm.ReqModifyMinstratum:       ParamMinStratum, candm.ReqModifyPolltarget: ParamPollTarget,
}

var tuneParamOf = map[candm.Command]TuneParam{
	candm.ReqModifyMaxupdateskew: TuneMaxUpdateSkew, candm.ReqReselectDistance: TuneReselectDistance,
	candm.ReqDFreq: TuneDFreq, candm.ReqDOffset2: TuneDOffset,
}
