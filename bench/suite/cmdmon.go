package suite

import (
	"context"
	"fmt"
	"time"

	"github.com/chronygo/chronygo/bench/probe"
	"github.com/chronygo/chronygo/bench/report"
)

// cmdmon measures "tracking" round trips per second over each daemon's
// command socket, one request at a time, with the facebook/time chrony
// client.
func (r *runner) cmdmon(ctx context.Context) {
	names := [2]string{"chronygo", "chronyd"}
	bins := [2]string{r.cfg.Chronygo, r.cfg.Chronyd}
	var vals [2]*float64
	var nas []string
	for i := range names {
		v, err := r.trackingRate(ctx, names[i], bins[i])
		if err != nil {
			nas = append(nas, names[i]+": "+err.Error())
			r.cfg.logf("cmdmon %s: %v", names[i], err)
			continue
		}
		r.cfg.logf("cmdmon %s: %.0f tracking round trips/s", names[i], v)
		vals[i] = report.Value(v)
	}
	r.res.Add(report.Figure{Section: "cmdmon", Name: "tracking round trips per second", Unit: "1/s", Better: report.Higher,
		Chronygo: vals[0], Chronyd: vals[1], NA: joinNA(nas...),
		Note: fmt.Sprintf("Unix socket, one request in flight, %v each", r.cfg.CmdmonDuration)})
}

func (r *runner) trackingRate(ctx context.Context, name, bin string) (float64, error) {
	s := r.startServer(ctx, name+"-cmdmon", bin, true, nil)
	defer s.stop()
	if s.down != "" {
		return 0, fmt.Errorf("%s", s.down)
	}
	var c *probe.Cmdmon
	err := s.proc.WaitFor(5*time.Second, func() bool {
		var err error
		c, err = probe.DialCmdmon(s.proc.Socket, s.proc.Dir, time.Second)
		return err == nil
	})
	if err != nil {
		return 0, fmt.Errorf("command socket: %s", firstLine(err.Error()))
	}
	defer c.Close()
	if _, err := c.Tracking(); err != nil {
		return 0, err
	}
	n := 0
	start := time.Now()
	for time.Since(start) < r.cfg.CmdmonDuration && ctx.Err() == nil {
		if _, err := c.Tracking(); err != nil {
			return 0, fmt.Errorf("after %d round trips: %w", n, err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
