package reference

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
)

// Constants of chronyd's reference module.
const (
	minSkew                       = 1e-12
	localRefUpdateInterval        = 64.0 // s
	leapSecondClose               = 5    // s
	maxStratum                    = 16
	refIDUnsync            uint32 = 0
	// ManualRefID is the reference ID of manual input ("MANU").
	ManualRefID uint32 = 0x4D414E55
)

// Update is one combined result of source selection, handed to
// SetReference. Offset and frequency use chrony's signs and units.
type Update struct {
	// Stratum of the selected source (the reference's will be one more).
	Stratum int
	// Leap is the combined leap indicator; LeapUnsynchronised marks a manual
	// reference.
	Leap discipline.LeapStatus
	// CombinedSources is how many sources were combined.
	CombinedSources int
	RefID           uint32
	// RefIP is the source's address (invalid for reference clocks).
	RefIP netip.Addr
	// RefTime is the cooked local time the estimate refers to.
	RefTime time.Time
	// Offset (s, positive = local clock ahead) at RefTime and its SD.
	Offset, OffsetSD float64
	// Frequency (s/s, gradient of offset vs local time), its SD and skew.
	Frequency, FrequencySD, Skew float64
	// RootDelay and RootDispersion (s) of the combined reference.
	RootDelay, RootDispersion float64
}

// Result tells the engine what SetReference or SetUnsynchronised did.
type Result struct {
	// Accepted is false when maxchange rejected the update.
	Accepted bool
	// Step is the step applied (s, chrony sign: positive moved the clock
	// back), zero when the offset was slewed.
	Step float64
	// ModeEnded is set when a special mode (-q, -Q, initstepslew) or
	// maxchange ended the normal operation; ModeOK is its success.
	ModeEnded bool
	ModeOK    bool
	// Offset is the offset (s, chrony sign) of an accepted update.
	Offset float64
	// MailChange asks the shell to mail the mailonchange user about Offset.
	MailChange bool
}

// Reference is chronyd's reference module. It is owned by one goroutine.
type Reference struct {
	opts  Options
	clk   clock.Clock
	log   Logger
	rand  func() float64
	mode  Mode
	leaps leapCache

	synchronised   bool
	localEnabled   bool
	local          LocalOptions
	localActivated bool
	localRefTime   time.Time

	leap       discipline.LeapStatus
	leapSec    int
	taiOffset  int
	leapWhen   int64 // Unix seconds of the UTC midnight of the leap, 0 none
	leapActive bool  // leap in progress
	leapTimer  time.Time
	leapEnd    bool // leapTimer is the end-of-leap timer

	stratum        int
	refID          uint32
	refIP          netip.Addr
	refTime        time.Time
	unsyncSince    time.Time
	skew           float64
	residualFreq   float64
	rootDelay      float64
	rootDispersion float64
	offsetSD       float64
	frequencySD    float64
	maxUpdateSkew  float64

	lastOffset    float64
	avg2Offset    float64
	avg2Moving    bool
	lastSysOffset float64

	makeStepLimit     int
	makeStepThreshold float64
	maxChangeDelay    int
	maxChangeIgnore   int

	driftAge float64

	fbDrifts    []fbDrift
	nextFbDrift int
	fbTimer     time.Time // cooked time of the fallback drift timer, zero none

	lastRefUpdate         time.Time
	lastRefUpdateInterval float64

	// smooth is smoothtime, nil when not configured (smooth.go).
	smooth *Smoother
}

type fbDrift struct {
	freq float64
	secs float64
}

// New creates the reference, reads the drift file into the clock's frequency
// and records the unsynchronised state. now is the engine's event time.
func New(now time.Time, clk clock.Clock, opts Options) *Reference {
	opts = opts.withDefaults()
	r := &Reference{
		opts:              opts,
		clk:               clk,
		log:               opts.Logger,
		rand:              opts.Rand,
		leaps:             leapCache{src: opts.Leap},
		leap:              discipline.LeapUnsynchronised,
		rootDispersion:    1,
		rootDelay:         1,
		skew:              1,
		maxUpdateSkew:     math.Abs(opts.MaxUpdateSkew) * 1e-6,
		unsyncSince:       now,
		makeStepLimit:     opts.MakeStepLimit,
		makeStepThreshold: opts.MakeStepThreshold,
		maxChangeDelay:    -1,
	}
	if r.log == nil {
		r.log = discardLogger{}
	}
	if r.rand == nil {
		r.rand = rand.Float64
	}
	if opts.MaxChange != nil {
		r.maxChangeDelay = opts.MaxChange.Delay
		r.maxChangeIgnore = opts.MaxChange.Ignore
	}
	if opts.Local != nil {
		r.localEnabled = true
		r.local = *opts.Local
	}
	if r.opts.LeapMode == LeapModeSystem && !clk.CanSystemLeap() {
		r.opts.LeapMode = LeapModeStep
	}
	if opts.FallbackDriftMin > 0 && opts.FallbackDriftMax >= opts.FallbackDriftMin {
		r.fbDrifts = make([]fbDrift, opts.FallbackDriftMax-opts.FallbackDriftMin+1)
	}

	freq := 0.0
	if opts.Drift != nil {
		f, s, err := opts.Drift.Load()
		switch {
		case err == nil:
			freq = f
			r.skew = math.Max(1e-6*s, minSkew)
			r.log.Infof("Frequency %.3f +/- %.3f ppm read from %s", f, s, driftName(opts.Drift))
			clk.SetFrequency(freq)
		case isBadDrift(err):
			r.log.Warnf("Could not read valid frequency and skew from driftfile %s", driftName(opts.Drift))
		}
	}
	if freq == 0 {
		if f := clk.Frequency(); f != 0 {
			r.log.Infof("Initial frequency %.3f ppm", f)
		}
	}
	clk.AddChangeHandler(r.handleClockChange)
	if sm := opts.Smooth; sm != nil {
		if r.smooth = NewSmoother(sm.MaxFreqPPM, sm.MaxWanderPPM, sm.LeapOnly, r.Skew, r.log); r.smooth != nil {
			clk.AddChangeHandler(r.smooth.HandleChange)
		}
	}
	r.SetUnsynchronised(now)
	return r
}

// Mode returns the operating mode.
func (r *Reference) Mode() Mode { return r.mode }

// SetMode switches the operating mode (-q, -Q, initstepslew).
func (r *Reference) SetMode(m Mode) { r.mode = m }

// LeapMode returns the effective leapsecmode (system falls back to step
// without kernel support).
func (r *Reference) LeapMode() LeapMode { return r.opts.LeapMode }

// Close writes the drift file (chronyd does at exit) and disarms the
// kernel's leap second.
func (r *Reference) Close() error {
	r.updateLeapStatus(discipline.LeapUnsynchronised, time.Time{}, false)
	if r.opts.Drift != nil {
		return r.opts.Drift.Save(r.clk.Frequency(), 1e6*r.skew)
	}
	return nil
}

func (r *Reference) now() (raw, cooked time.Time, correction float64) {
	raw = r.clk.ReadRaw()
	correction, _ = r.clk.OffsetCorrection(raw)
	return raw, addSeconds(raw, correction), correction
}

// handleClockChange keeps the reference time in step with clock changes.
func (r *Reference) handleClockChange(c clock.Change) {
	if !r.refTime.IsZero() {
		elapsed := r.refTime.Sub(c.Cooked).Seconds()
		r.refTime = addSeconds(r.refTime, elapsed*c.DFreq-c.DOffset)
	}
	if c.Type == clock.ChangeUnknownStep {
		r.lastRefUpdate = time.Time{}
		r.SetUnsynchronised(time.Time{})
	}
	if c.Type != clock.ChangeAdjust && r.leapSec != 0 && !r.leapActive {
		r.updateLeapStatus(r.leap, c.Raw, true)
	}
}

func (r *Reference) rootDispersionAt(cooked time.Time) float64 {
	if r.refTime.IsZero() {
		return 1
	}
	return r.rootDispersion + math.Abs(cooked.Sub(r.refTime).Seconds())*
		(r.skew+math.Abs(r.residualFreq)+r.clk.MaxClockError())
}

func (r *Reference) updateSyncStatus(cooked time.Time) {
	elapsed := math.Abs(cooked.Sub(r.refTime).Seconds())
	r.clk.SetSyncStatus(r.synchronised, r.offsetSD+elapsed*r.frequencySD,
		r.rootDelay/2+r.rootDispersionAt(cooked))
}

// clockEstimates folds a measured frequency and skew into the current ones.
func (r *Reference) clockEstimates(manual bool, measFreq, measSkew float64) (freq, skew, resid float64) {
	expFreq, expSkew := 0.0, r.skew
	var gain float64
	switch {
	case manual:
		gain = 1
	case math.Abs(measSkew) > r.maxUpdateSkew:
		gain = 0
	default:
		gain = 3 * expSkew * expSkew / (3*expSkew*expSkew + measSkew*measSkew)
	}
	gain = math.Max(0, math.Min(gain, 1))
	freq = expFreq + gain*(measFreq-expFreq)
	resid = measFreq - freq
	extra := math.Sqrt((expFreq-freq)*(expFreq-freq)*(1-gain) + (measFreq-freq)*(measFreq-freq)*gain)
	skew = expSkew + gain*(measSkew-expSkew) + extra
	return freq, skew, resid
}

func (r *Reference) correctionRate(offsetSD, interval float64) float64 {
	return r.opts.CorrTimeRatio * 0.5 * offsetSD * interval
}

func (r *Reference) stepLimitReached(offset, correction float64) bool {
	if r.makeStepLimit == 0 {
		return false
	}
	if r.makeStepLimit > 0 {
		r.makeStepLimit--
	}
	return math.Abs(offset-correction) > r.makeStepThreshold
}

// offsetOK applies maxchange; it may end the normal mode.
func (r *Reference) offsetOK(offset float64, res *Result) bool {
	if r.maxChangeDelay < 0 {
		return true
	}
	if r.maxChangeDelay > 0 {
		r.maxChangeDelay--
		return true
	}
	limit := r.opts.MaxChange.Offset
	if math.Abs(offset) <= limit {
		return true
	}
	what := "ignored"
	if r.maxChangeIgnore == 0 {
		what = "exiting"
	}
	r.log.Warnf("Adjustment of %.3f seconds exceeds the allowed maximum of %.3f seconds (%s) ", -offset, limit, what)
	switch {
	case r.maxChangeIgnore == 0:
		r.endMode(false, res)
	case r.maxChangeIgnore > 0:
		r.maxChangeIgnore--
	}
	return false
}

func (r *Reference) endMode(ok bool, res *Result) {
	r.mode = ModeIgnore
	res.ModeEnded, res.ModeOK = true, ok
}

// specialModeSync handles -q, -Q and initstepslew.
func (r *Reference) specialModeSync(valid bool, offset float64) Result {
	var res Result
	switch r.mode {
	case ModeInitStepSlew:
		if !valid {
			r.log.Warnf("No suitable source for initstepslew")
			r.endMode(false, &res)
			break
		}
		step := math.Abs(offset) >= r.opts.InitStepThreshold
		dir, how := "slow", "slew"
		if offset >= 0 {
			dir = "fast"
		}
		if step {
			how = "step"
		}
		r.log.Infof("System's initial offset : %.6f seconds %s of true (%s)", math.Abs(offset), dir, how)
		if step {
			if r.clk.ApplyStep(offset) == nil {
				res.Step = offset
			}
		} else {
			_ = r.clk.AccumulateOffset(offset, 0)
		}
		res.Accepted = true
		r.endMode(true, &res)
	case ModeUpdateOnce, ModePrintOnce:
		if !valid {
			r.log.Warnf("No suitable source for synchronisation")
			r.endMode(false, &res)
			break
		}
		step := r.mode == ModeUpdateOnce
		how := "ignored"
		if step {
			how = "step"
		}
		r.log.Infof("System clock wrong by %.6f seconds (%s)", -offset, how)
		if step && r.clk.ApplyStep(offset) == nil {
			res.Step = offset
		}
		res.Accepted = true
		r.endMode(true, &res)
	}
	return res
}

// SetReference applies a new combined estimate at the engine time now.
func (r *Reference) SetReference(now time.Time, u Update) Result {
	if r.mode != ModeNormal {
		return r.specialModeSync(true, u.Offset)
	}
	res := Result{}
	manual := u.Leap == discipline.LeapUnsynchronised
	raw, cooked, uncorrected := r.now()
	offset := u.Offset + cooked.Sub(u.RefTime).Seconds()*u.Frequency

	interval := 0.0
	if !r.lastRefUpdate.IsZero() {
		interval = now.Sub(r.lastRefUpdate).Seconds()
	}
	freq, skew, resid := r.clockEstimates(manual, u.Frequency, u.Skew)
	if !r.offsetOK(offset, &res) {
		return res
	}
	res.Accepted = true
	res.Offset = offset
	res.MailChange = r.opts.MailOnChange && math.Abs(offset) > r.opts.MailChangeThreshold
	origRootDistance := r.rootDelay/2 + r.rootDispersionAt(cooked)

	r.synchronised = !manual
	r.stratum = u.Stratum + 1
	r.refID = u.RefID
	r.refIP = u.RefIP
	r.refTime = u.RefTime
	r.skew = skew
	r.residualFreq = resid
	r.rootDelay = u.RootDelay
	r.rootDispersion = u.RootDispersion
	r.frequencySD = u.FrequencySD
	r.offsetSD = u.OffsetSD
	r.lastRefUpdate = now
	r.lastRefUpdateInterval = interval
	r.lastOffset = offset

	accumulate, step := offset, 0.0
	if r.stepLimitReached(offset, uncorrected) {
		accumulate = uncorrected
		step = offset - uncorrected
	}
	_ = r.clk.AccumulateFrequencyAndOffset(freq, accumulate, r.correctionRate(u.OffsetSD, interval))

	if math.Abs(offset) > r.opts.LogChange {
		r.log.Warnf("System clock wrong by %.6f seconds", -offset)
	}
	if step != 0 {
		if err := r.clk.ApplyStep(step); err == nil {
			r.log.Warnf("System clock was stepped by %.6f seconds", -step)
			res.Step = step
		} else {
			_ = r.clk.AccumulateOffset(step, 0)
		}
	}

	r.updateLeapStatus(u.Leap, raw, false)
	r.updateSyncStatus(cooked)
	r.refTime = addSeconds(r.refTime, -r.rand())

	absFreq := r.clk.Frequency()
	r.writeLog(cooked, u.CombinedSources, absFreq, offset, u.OffsetSD, uncorrected, origRootDistance)

	if r.opts.Drift != nil {
		r.driftAge += interval
		if r.driftAge >= r.opts.DriftInterval {
			if err := r.opts.Drift.Save(absFreq, 1e6*r.skew); err != nil {
				r.log.Warnf("Could not update driftfile: %v", err)
			}
			r.driftAge = 0
		}
	}
	if r.fbDrifts != nil && r.synchronised {
		r.updateFbDrifts(absFreq, interval)
		r.scheduleFbDrift(now, cooked)
	}

	if r.avg2Moving {
		r.avg2Offset += 0.1 * (offset*offset - r.avg2Offset)
	} else {
		if r.avg2Offset > 0 && r.avg2Offset < offset*offset {
			r.avg2Moving = true
		}
		r.avg2Offset = offset * offset
	}
	return res
}

// SetManualReference applies a manual (or local) estimate, logged as MANU.
func (r *Reference) SetManualReference(now, refTime time.Time, offset, frequency, skew float64) Result {
	return r.SetReference(now, Update{
		Leap: discipline.LeapUnsynchronised, CombinedSources: 1, RefID: ManualRefID,
		RefTime: refTime, Offset: offset, Frequency: frequency, FrequencySD: skew, Skew: skew,
	})
}

// SetUnsynchronised records that no source is selectable. A zero now keeps
// the time of losing synchronisation unchanged.
func (r *Reference) SetUnsynchronised(now time.Time) Result {
	if r.mode != ModeNormal {
		return r.specialModeSync(false, 0)
	}
	_, cooked, uncorrected := r.now()
	if r.fbDrifts != nil {
		r.scheduleFbDrift(now, cooked)
	}
	r.updateLeapStatus(discipline.LeapUnsynchronised, time.Time{}, false)
	r.refIP = netip.IPv4Unspecified()
	r.stratum = 0
	if r.synchronised && !now.IsZero() {
		r.unsyncSince = now
	}
	r.synchronised = false
	r.clk.SetSyncStatus(false, 0, 0)
	r.writeLog(cooked, 0, r.clk.Frequency(), 0, 0, uncorrected, r.rootDelay/2+r.rootDispersionAt(cooked))
	return Result{Accepted: true}
}

// UpdateLeapStatus takes a new leap indicator between full updates.
func (r *Reference) UpdateLeapStatus(leap discipline.LeapStatus) {
	if !r.synchronised {
		return
	}
	raw, cooked, _ := r.now()
	r.updateLeapStatus(leap, raw, false)
	r.updateSyncStatus(cooked)
}

// Skew returns the current skew (s/s).
func (r *Reference) Skew() float64 { return r.skew }

// Synchronised reports whether a source is the reference.
func (r *Reference) Synchronised() bool { return r.synchronised }

// OrphanStratum returns the local stratum in orphan mode, else 16.
func (r *Reference) OrphanStratum() int {
	if !r.localEnabled || !r.local.Orphan || r.mode != ModeNormal {
		return maxStratum
	}
	return r.local.Stratum
}

// ModifyMaxUpdateSkew changes maxupdateskew (ppm), for chronyc.
func (r *Reference) ModifyMaxUpdateSkew(ppm float64) {
	r.maxUpdateSkew = ppm * 1e-6
	r.log.Infof("New maxupdateskew %f ppm", ppm)
}

// ModifyMakestep changes makestep, for chronyc.
func (r *Reference) ModifyMakestep(limit int, threshold float64) {
	r.makeStepLimit, r.makeStepThreshold = limit, threshold
	r.log.Infof("New makestep %f %d", threshold, limit)
}

// EnableLocal turns the local reference on (chronyc local).
func (r *Reference) EnableLocal(l LocalOptions) {
	r.localEnabled = true
	r.local = *Options{Local: &l}.withDefaults().Local
	r.log.Infof("Enabled local reference mode")
}

// DisableLocal turns the local reference off (chronyc local off).
func (r *Reference) DisableLocal() {
	r.localEnabled = false
	r.log.Infof("Disabled local reference mode")
}

// driftName names a drift store in messages (its path for a DriftFile).
func driftName(d DriftStore) string {
	if s, ok := d.(fmt.Stringer); ok {
		return s.String()
	}
	return "driftfile"
}

func addSeconds(t time.Time, s float64) time.Time {
	return t.Add(time.Duration(math.Round(s * 1e9)))
}

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}
