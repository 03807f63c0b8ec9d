package clock

import (
	"errors"
	"time"
)

// noControlUpdateInterval is how long the frequency may run before the
// offset register is brought up to date (chronyd's null driver).
const noControlUpdateInterval = 1000.0

// NoControl is chronyd -x: it never touches the system clock and instead
// keeps the frequency and offset corrections to cook raw readings.
type NoControl struct {
	*Local
	null *nullDriver
}

var _ Clock = (*NoControl)(nil)

// NewNoControl returns a clock that reads raw time with readRaw and keeps
// every correction internal. Steps are refused (the reference then slews
// instead) and there is no kernel leap or sync status.
func NewNoControl(readRaw func() time.Time, opts Options) *NoControl {
	n := &nullDriver{read: readRaw}
	n.lastUpdate = readRaw()
	c := &NoControl{Local: newLocal(opts), null: n}
	c.attach(n)
	c.log.Infof("Disabled control of system clock")
	return c
}

// errNoControl is returned for steps without clock control.
var errNoControl = errors.New("clock control disabled")

type nullDriver struct {
	read           func() time.Time
	freq           float64 // ppm
	offsetRegister float64 // s
	lastUpdate     time.Time
}

func (n *nullDriver) updateOffset() {
	now := n.read()
	n.offsetRegister += 1e-6 * n.freq * diffSeconds(now, n.lastUpdate)
	n.lastUpdate = now
}

func (n *nullDriver) readRaw() time.Time     { return n.read() }
func (n *nullDriver) readFrequency() float64 { return n.freq }

func (n *nullDriver) setFrequency(ppm float64) float64 {
	n.updateOffset()
	n.freq = ppm
	return n.freq
}

func (n *nullDriver) accrueOffset(offset, _ float64) { n.offsetRegister += offset }
func (n *nullDriver) applyStep(float64) error        { return errNoControl }
func (n *nullDriver) stepped(float64)                {}

func (n *nullDriver) offsetCorrection(raw time.Time) (float64, float64) {
	d := diffSeconds(raw, n.lastUpdate)
	if d > noControlUpdateInterval {
		n.updateOffset()
		d = diffSeconds(raw, n.lastUpdate)
	}
	return -1e-6*n.freq*d - n.offsetRegister, 0
}

func (n *nullDriver) correction() Correction {
	return Correction{Base: n.lastUpdate, Offset: -n.offsetRegister, Freq: -1e-6 * n.freq}
}

func (n *nullDriver) canLeap() bool                        { return false }
func (n *nullDriver) setLeap(int, int)                     {}
func (n *nullDriver) setSyncStatus(bool, float64, float64) {}
func (n *nullDriver) nextTimeout() (time.Time, bool)       { return time.Time{}, false }
func (n *nullDriver) handleTimeout()                       {}
func (n *nullDriver) close()                               {}
