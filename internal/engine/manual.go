package engine

import (
	"errors"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/discipline/clock"
	"github.com/chronygo/chronygo/pkg/discipline/manual"
)

// manualInput returns the manual time input, enabled at start by the
// manual directive. It is made on first use, on the loop, and from then on
// follows the clock's corrections as chronyd's manual samples do.
func (e *Engine) manualInput() *manual.Input {
	if e.manual == nil {
		e.manual = manual.New(e.cfg.Manual)
		m := e.manual
		e.clk.AddChangeHandler(func(c clock.Change) {
			if c.Type == clock.ChangeUnknownStep {
				m.Reset()
				return
			}
			m.Slew(c.Cooked, c.DFreq, c.DOffset)
		})
	}
	return e.manual
}

// applyManual sets the reference from a manual estimate, as chronyd's
// manual module does, and logs it with chronyd's words.
func (e *Engine) applyManual(now time.Time, est manual.Estimate) {
	if est.Fitted {
		e.log.Infof("Making a frequency change of %.3f ppm and a slew of %.6f", 1e6*est.Frequency, est.Slew)
	} else {
		e.log.Infof("Making a slew of %.6f", est.Slew)
	}
	e.handleModeEnd(e.ref.SetManualReference(now, now, est.Slew, est.Frequency, manual.Skew))
	e.after()
}

// Manual answers chronyc manual on, off and reset.
func (c *Control) Manual(op cmdmon.ManualOp) candm.Status {
	return c.run(func() candm.Status {
		m := c.e.manualInput()
		switch op {
		case cmdmon.ManualOn:
			m.SetEnabled(true)
		case cmdmon.ManualOff:
			m.SetEnabled(false)
		case cmdmon.ManualReset:
			m.Reset()
		default:
			return candm.StatusInvalid
		}
		return candm.StatusSuccess
	})
}

// SetTime answers chronyc settime: NOTENABLED unless manual input is on,
// FAILED for a time too close to the previous entry or implausible; else
// the clock is corrected and the reply tells by how much.
func (c *Control) SetTime(t time.Time) (candm.ManualTimestamp, candm.Status) {
	var r candm.ManualTimestamp
	st, ok := c.query(func() candm.Status {
		now := c.e.now()
		est, err := c.e.manualInput().Accept(now, t)
		switch {
		case errors.Is(err, manual.ErrDisabled):
			return candm.StatusNotEnabled
		case err != nil:
			return candm.StatusFailed
		}
		c.e.applyManual(now, est)
		r = candm.ManualTimestamp{Offset: est.Offset, DFreqPPM: 1e6 * est.Frequency, NewAFreqPPM: c.e.clk.Frequency()}
		return candm.StatusSuccess
	})
	if !ok {
		return candm.ManualTimestamp{}, st
	}
	return r, st
}

// ManualDelete answers chronyc manual delete: BADSAMPLE for an index out
// of range, else the clock is corrected from the samples left.
func (c *Control) ManualDelete(index int) candm.Status {
	return c.run(func() candm.Status {
		est, err := c.e.manualInput().Delete(index)
		if err != nil {
			return candm.StatusBadSample
		}
		c.e.applyManual(c.e.now(), est)
		return candm.StatusSuccess
	})
}

// ManualList answers chronyc manual list.
func (c *Control) ManualList() (candm.ManualList, candm.Status) {
	var l candm.ManualList
	st, ok := c.query(func() candm.Status {
		for i, s := range c.e.manualInput().Samples() {
			if i == candm.MaxManualSamples {
				break
			}
			l.Samples = append(l.Samples, candm.ManualSample{
				When: s.When, SlewedOffset: s.Offset, OrigOffset: s.OrigOffset, Residual: s.Residual,
			})
		}
		return candm.StatusSuccess
	})
	if !ok {
		return candm.ManualList{}, st
	}
	return l, st
}
