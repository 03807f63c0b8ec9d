package source

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestActivity(t *testing.T) {
	tests := []struct {
		name   string
		iburst bool
		// run drives the harness after Start.
		run  func(h *harness)
		want Activity
	}{
		{name: "online without iburst", run: func(*harness) {}, want: ActivityOnline},
		{name: "iburst at start", iburst: true, run: func(*harness) {}, want: ActivityBurstOnline},
		{name: "iburst over after four good samples", iburst: true, run: func(h *harness) {
			for range 4 {
				h.step()
			}
		}, want: ActivityOnline},
		{name: "offline", run: func(h *harness) { h.apply(h.src.SetConnectivity(h.now, false)) }, want: ActivityOffline},
		{name: "back online with iburst starts a burst", iburst: true, run: func(h *harness) {
			for range 4 {
				h.step()
			}
			h.apply(h.src.SetConnectivity(h.now, false))
			h.apply(h.src.SetConnectivity(h.now, true))
		}, want: ActivityBurstOnline},
		{name: "back online without iburst", run: func(h *harness) {
			h.apply(h.src.SetConnectivity(h.now, false))
			h.apply(h.src.SetConnectivity(h.now, true))
		}, want: ActivityOnline},
		{name: "burst while offline", run: func(h *harness) {
			h.apply(h.src.SetConnectivity(h.now, false))
			h.apply(h.src.Burst(h.now, 1, 2))
		}, want: ActivityBurstOffline},
		{name: "offline during a burst", iburst: true, run: func(h *harness) {
			h.apply(h.src.SetConnectivity(h.now, false))
		}, want: ActivityBurstOffline},
		{name: "chronyc burst while online", run: func(h *harness) {
			h.apply(h.src.Burst(h.now, 1, 2))
		}, want: ActivityBurstOnline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions(ModeClient)
			opts.IBurst = tt.iburst
			h := newHarness(t, opts, env())
			tt.run(h)
			assert.Equal(t, tt.want, h.src.Activity(), "got %s", h.src.Activity())
		})
	}
}
