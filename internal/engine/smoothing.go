package engine

import (
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
)

// smoothOptions maps the smoothtime directive onto the reference's
// option, nil when smoothing is off (either limit not positive).
func smoothOptions(c *conf.Config) *reference.SmoothOptions {
	st := c.SmoothTime
	if !(st.MaxFreq > 0) || !(st.MaxWander > 0) {
		return nil
	}
	return &reference.SmoothOptions{MaxFreqPPM: st.MaxFreq, MaxWanderPPM: st.MaxWander, LeapOnly: st.LeapOnly}
}

// Smoothing answers chronyc smoothing from the reference's smoother at
// the engine's time; NOTENABLED without smoothtime, as chronyd.
func (c *Control) Smoothing() (candm.Smoothing, candm.Status) {
	return queryReport(c, func() (candm.Smoothing, candm.Status) {
		sm := c.e.ref.Smoother()
		if sm == nil {
			return candm.Smoothing{}, candm.StatusNotEnabled
		}
		r := sm.Report(c.e.now())
		return candm.Smoothing{
			Active:        r.Active,
			LeapOnly:      r.LeapOnly,
			Offset:        r.Offset,
			FreqPPM:       r.FreqPPM,
			WanderPPM:     r.WanderPPM,
			LastUpdateAgo: r.LastUpdateAgo,
			RemainingTime: r.RemainingTime,
		}, candm.StatusSuccess
	})
}

// SmoothTime answers chronyc smoothtime activate (activate true) and
// smoothtime reset; NOTENABLED without smoothtime. The new state is
// published at once, so served time follows.
func (c *Control) SmoothTime(activate bool) candm.Status {
	return c.run(func() candm.Status {
		sm := c.e.ref.Smoother()
		if sm == nil {
			return candm.StatusNotEnabled
		}
		now := c.e.now()
		if activate {
			sm.Activate(now)
		} else {
			sm.Reset(now)
		}
		c.e.after()
		return candm.StatusSuccess
	})
}
