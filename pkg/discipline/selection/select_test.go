package selection

import (
	"testing"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func withOpts(mod func(*Options)) Options {
	o := DefaultOptions()
	if mod != nil {
		mod(&o)
	}
	return o
}

func TestSelectScenarios(t *testing.T) {
	good := spec{offset: 1e-4, noise: 1e-6}
	tests := []struct {
		name     string
		opts     Options
		specs    []spec
		polls    int
		states   string // selectdata letters per source
		sources  string // chronyc sources S column
		selected int    // index, -1 for none
		messages []string
	}{
		{
			name:     "single source",
			opts:     DefaultOptions(),
			specs:    []spec{good},
			polls:    10,
			states:   "*",
			sources:  "*",
			selected: 0,
			messages: []string{"Selected source 203.0.113.1"},
		},
		{
			name:     "one falseticker of five",
			opts:     DefaultOptions(),
			specs:    []spec{good, good, good, good, {offset: 0.5, noise: 1e-6}},
			polls:    10,
			states:   "*+++x",
			sources:  "*+++x",
			selected: 0,
			messages: []string{"Selected source 203.0.113.1", "Detected falseticker 203.0.113.5"},
		},
		{
			name:     "two falsetickers of five",
			opts:     DefaultOptions(),
			specs:    []spec{{offset: -1, noise: 1e-6}, good, {offset: 2, noise: 1e-6}, good, good},
			polls:    10,
			states:   "x*x++",
			sources:  "x*x++",
			selected: 1,
			messages: []string{"Detected falseticker 203.0.113.1", "Detected falseticker 203.0.113.3"},
		},
		{
			name:     "no majority of two",
			opts:     DefaultOptions(),
			specs:    []spec{good, {offset: 0.5, noise: 1e-6}},
			polls:    10,
			states:   "xx",
			sources:  "xx",
			selected: -1,
			messages: []string{"Can't synchronise: no majority (no agreement among 2 sources)"},
		},
		{
			name:     "two against two",
			opts:     DefaultOptions(),
			specs:    []spec{good, good, {offset: 0.5, noise: 1e-6}, {offset: 0.5, noise: 1e-6}},
			polls:    10,
			states:   "xxxx",
			selected: -1,
			messages: []string{"Can't synchronise: no majority (only 2 of 4 sources agree)"},
		},
		{
			name:     "minsources not met",
			opts:     withOpts(func(o *Options) { o.MinSources = 3 }),
			specs:    []spec{good, good},
			polls:    10,
			states:   "WW",
			sources:  "--",
			selected: -1,
			messages: []string{"Can't synchronise: not enough selectable sources"},
		},
		{
			name:     "minsources met",
			opts:     withOpts(func(o *Options) { o.MinSources = 3 }),
			specs:    []spec{good, good, good},
			polls:    10,
			states:   "*++",
			selected: 0,
		},
		{
			name:     "required source is a falseticker",
			opts:     DefaultOptions(),
			specs:    []spec{good, good, {offset: 0.5, noise: 1e-6, opts: OptRequire}},
			polls:    10,
			states:   "WWx",
			selected: -1,
			messages: []string{"Can't synchronise: no required source in selectable sources"},
		},
		{
			name:     "required source agrees",
			opts:     DefaultOptions(),
			specs:    []spec{good, good, {offset: 1e-4, noise: 1e-6, opts: OptRequire}},
			polls:    10,
			states:   "*++",
			selected: 0,
		},
		{
			name:     "noselect",
			opts:     DefaultOptions(),
			specs:    []spec{{offset: 1e-4, noise: 1e-6, opts: OptNoSelect}, good},
			polls:    10,
			states:   "N*",
			sources:  "?*",
			selected: 1,
		},
		{
			name:     "prefer",
			opts:     DefaultOptions(),
			specs:    []spec{good, {offset: 1e-4, noise: 1e-6, rootDelay: 8e-3, opts: OptPrefer}, good},
			polls:    10,
			states:   "P*P",
			sources:  "-*-",
			selected: 1,
		},
		{
			name: "trusted sources outvote the majority",
			opts: DefaultOptions(),
			specs: []spec{
				{offset: 1e-4, noise: 1e-6, opts: OptTrust}, {offset: 1e-4, noise: 1e-6, opts: OptTrust},
				{offset: 0.1, noise: 1e-6}, {offset: 0.1, noise: 1e-6}, {offset: 0.1, noise: 1e-6},
			},
			polls:    10,
			states:   "*+xxx",
			selected: 0,
		},
		{
			name: "untrusted source not inside the trusted interval",
			opts: DefaultOptions(),
			specs: []spec{
				{offset: 1e-4, noise: 1e-6, opts: OptTrust},
				{offset: 1e-3, noise: 1e-6, rootDelay: 4e-3},
			},
			polls:    10,
			states:   "*T",
			selected: 0,
		},
		{
			name:     "jittery",
			opts:     withOpts(func(o *Options) { o.MaxJitter = 1e-4 }),
			specs:    []spec{good, {offset: 1e-4, noise: 1e-3}},
			polls:    10,
			states:   "*~",
			sources:  "*~",
			selected: 0,
		},
		{
			name:     "root distance above maxdistance",
			opts:     DefaultOptions(),
			specs:    []spec{good, {offset: 1e-4, noise: 1e-6, rootDisp: 3.5}},
			polls:    10,
			states:   "*d",
			sources:  "*?",
			selected: 0,
		},
		{
			name:     "unsynchronised source",
			opts:     DefaultOptions(),
			specs:    []spec{good, {offset: 1e-4, noise: 1e-6, leap: discipline.LeapUnsynchronised}},
			polls:    10,
			states:   "*s",
			selected: 0,
		},
		{
			name:     "too distant to combine",
			opts:     DefaultOptions(),
			specs:    []spec{good, good, {offset: 1e-4, noise: 1e-6, rootDelay: 40e-3}},
			polls:    10,
			states:   "*+D",
			sources:  "*+-",
			selected: 0,
		},
		{
			name:     "nothing reachable",
			opts:     DefaultOptions(),
			specs:    []spec{{silent: true}},
			polls:    9,
			states:   "M",
			sources:  "?",
			selected: -1,
			messages: []string{"Can't synchronise: no selectable sources (1 unreachable sources)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(tc.opts, tc.specs...)
			f.poll(tc.polls)
			assert.Equal(t, tc.states, f.states())
			if tc.sources != "" {
				assert.Equal(t, tc.sources, f.sourcesChars())
			}
			if tc.selected < 0 {
				assert.Nil(t, f.sel.Selected())
			} else {
				assert.Same(t, f.srcs[tc.selected], f.sel.Selected())
			}
			msgs := f.messages()
			for _, m := range tc.messages {
				assert.Contains(t, msgs, m)
			}
		})
	}
}

func TestSelectReferenceUpdate(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 2e-3, noise: 1e-6, stratum: 2})
	f.poll(3)
	require.NotNil(t, f.last.Update)
	u := f.last.Update
	assert.Same(t, f.srcs[0], u.Source)
	assert.Equal(t, 2, u.Stratum)
	assert.Equal(t, 1, u.Combined)
	assert.Equal(t, uint32(0xCB007101), u.RefID)
	assert.Equal(t, addrOf(0), u.Addr)
	assert.InDelta(t, 2e-3, u.Offset, 2e-6)
	assert.InDelta(t, 2e-3, u.RootDelay, 1e-12)
	assert.Equal(t, discipline.LeapNormal, u.Leap)
	td, _ := f.srcs[0].Stats().TrackingData()
	assert.Equal(t, td.RefTime, u.RefTime)
	assert.Equal(t, td.RootDispersion, u.RootDispersion)

	// A selection without a new sample does not update the reference.
	r := f.sel.Select(f.now(), nil)
	assert.Nil(t, r.Update)
}

func TestSelectWaitsForOtherSourcesStats(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-4, noise: 1e-6}, spec{offset: 1e-4, noise: 1e-6})
	// The second source replies to the first poll, but its sample is lost.
	now := f.now()
	f.pollSource(0, f.srcs[0], now)
	f.collect(f.sel.UpdateReachability(f.srcs[1], true, now))
	f.k++
	f.poll(1)
	// Third round: the first source gets its third sample while the second
	// (reach 3, one sample) has not been polled yet.
	now = f.now()
	f.pollSource(0, f.srcs[0], now)
	assert.Equal(t, "wM", f.states())
	assert.Nil(t, f.sel.Selected())
	f.pollSource(1, f.srcs[1], now)
	assert.Equal(t, "*M", f.states())
	f.k++
	// Having been unselectable while another source was selected, the
	// second source is kept out of the combination for 32 updates.
	f.poll(3)
	assert.Equal(t, "*D", f.states())
	f.poll(30)
	assert.Equal(t, "*+", f.states())
}

func TestSelectCombiningWeights(t *testing.T) {
	f := newFixture(DefaultOptions(),
		spec{offset: 1e-3, noise: 1e-6, rootDelay: 2e-3},
		spec{offset: -1e-3, noise: 2e-6, rootDelay: 6e-3})
	f.poll(10)
	require.Equal(t, "*+", f.states())
	// One more round with the selected source polled last, so that both
	// sources' newest samples are used.
	now := f.now()
	f.pollSource(1, f.srcs[1], now)
	f.pollSource(0, f.srcs[0], now)
	u := f.last.Update
	require.NotNil(t, u)
	assert.Equal(t, 2, u.Combined)

	var sumW, sumO, sumFW, sumF float64
	for _, src := range f.srcs {
		td, ok := src.Stats().TrackingData()
		require.True(t, ok)
		d := src.Stats().SelectionData(now).RootDistance
		sumW += 1 / d
		sumO += td.Offset / d
		fw := 1 / (td.FrequencySD * td.FrequencySD)
		sumFW += fw
		sumF += fw * td.Frequency
	}
	assert.InDelta(t, sumO/sumW, u.Offset, 1e-12)
	assert.InDelta(t, sumF/sumFW, u.Frequency, 1e-15)
	// The closer source pulls harder: the result is nearer +1 ms.
	assert.Greater(t, u.Offset, 0.4e-3)
	assert.Less(t, u.Offset, 0.6e-3)
	assert.Greater(t, u.OffsetSD, 0.9e-3, "the spread of the offsets is part of the SD")
}

func TestSelectHysteresis(t *testing.T) {
	tests := []struct {
		name      string
		delayB    float64
		polls     int
		switched  bool
		maxPollsB int
	}{
		// Better by less than reselectdist (0.1 ms): the score stays 1.
		{"slightly better source does not take over", 1.9e-3, 20, false, 0},
		// Distance ratio (1.0+0.1)/(0.2+0.1) per update, two updates per
		// poll: the score reaches 10 in the second poll.
		{"much better source takes over after scoring", 0.4e-3, 6, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(DefaultOptions(),
				spec{offset: 1e-4, noise: 1e-6, rootDelay: 2e-3},
				spec{offset: 1e-4, noise: 1e-6, rootDelay: tc.delayB, opts: OptNoSelect})
			f.poll(8)
			require.Same(t, f.srcs[0], f.sel.Selected())
			f.sel.ModifySelectOptions(f.srcs[1], 0, OptNoSelect)
			switchedAt := -1
			for p := 0; p < tc.polls && switchedAt < 0; p++ {
				f.poll(1)
				if f.sel.Selected() == f.srcs[1] {
					switchedAt = p + 1
				}
			}
			if !tc.switched {
				assert.Equal(t, -1, switchedAt)
				assert.Equal(t, 1.0, f.srcs[1].SelectReport().Score)
				return
			}
			require.Positive(t, switchedAt)
			assert.Equal(t, tc.maxPollsB, switchedAt)
			assert.Contains(t, f.messages(), "Selected source 203.0.113.2")
		})
	}
}

func TestSelectLeapVote(t *testing.T) {
	f := newFixture(DefaultOptions(),
		spec{offset: 1e-4, noise: 1e-6, leap: discipline.LeapInsertSecond},
		spec{offset: 1e-4, noise: 1e-6, leap: discipline.LeapInsertSecond},
		spec{offset: 1e-4, noise: 1e-6})
	f.poll(6)
	require.NotNil(t, f.all.Update)
	assert.Equal(t, discipline.LeapInsertSecond, f.all.Update.Leap)
	leap, vote := f.sel.UpdateStatus(f.srcs[0], 1, discipline.LeapNormal, false)
	assert.True(t, vote)
	assert.Equal(t, discipline.LeapNormal, leap, "only 1 of 3 still announces it")
	_, vote = f.sel.UpdateStatus(f.srcs[1], 1, discipline.LeapNormal, true)
	assert.False(t, vote, "near a leap second the status is kept")
	assert.Equal(t, discipline.LeapInsertSecond, f.srcs[1].Leap())
}

func TestSelectStaleAndBadSources(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-4, noise: 1e-6}, spec{offset: 1e-4, noise: 1e-6})
	f.poll(6)
	require.Equal(t, "*+", f.states())
	f.specs[1].silent = true
	f.srcs[1].maxUnreach = 2
	f.poll(20)
	assert.Equal(t, "*S", f.states())
	assert.Contains(t, f.all.BadSources, f.srcs[1])
	assert.NotContains(t, f.all.BadSources, f.srcs[0])
}

func TestSelectBadSourceAfterRepeatedFalseticking(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-4, noise: 1e-6}, spec{offset: 1e-4, noise: 1e-6},
		spec{offset: 0.5, noise: 1e-6})
	f.poll(10)
	assert.Equal(t, "*+x", f.states())
	assert.Contains(t, f.all.BadSources, f.srcs[2])
}

func TestSelectOrphan(t *testing.T) {
	tests := []struct {
		name       string
		localRefID uint32
		want       string
	}{
		{"orphan with smaller refid is selected", 0xCB0071FF, "*"},
		{"orphan with larger refid is not", 0x01010101, "O"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(DefaultOptions(), spec{offset: 1e-4, noise: 1e-6, stratum: 10})
			f.sel.SetOrphanStratum(10)
			f.srcs[0].SetLocalRefID(tc.localRefID)
			f.poll(6)
			assert.Equal(t, tc.want, f.states())
		})
	}
}

func TestSelectSpecialModeIsQuiet(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-4, noise: 1e-6})
	f.sel.SetSpecialMode(true)
	f.poll(4)
	assert.Same(t, f.srcs[0], f.sel.Selected())
	assert.Empty(t, f.messages())
	require.NotNil(t, f.all.Update)
}

func TestSpecialModeEnds(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{silent: true})
	f.sel.SetSpecialMode(true)
	f.poll(4)
	assert.False(t, f.all.Unsynchronised, "5 polls can still give 3 samples")
	f.poll(1)
	assert.True(t, f.all.Unsynchronised)
}

func TestAuthSelectMode(t *testing.T) {
	tests := []struct {
		mode        AuthSelectMode
		auth, plain string
	}{
		{AuthSelectMix, "--TR-", "-----"},
		{AuthSelectPrefer, "-----", "N----"},
		{AuthSelectRequire, "-----", "N----"},
		{AuthSelectIgnore, "-----", "-----"},
	}
	for _, tc := range tests {
		f := newFixture(withOpts(func(o *Options) { o.AuthSelectMode = tc.mode }),
			spec{auth: true}, spec{})
		assert.Equal(t, tc.auth, f.srcs[0].SelectReport().EffOptions.String(), "mode %d", tc.mode)
		assert.Equal(t, tc.plain, f.srcs[1].SelectReport().EffOptions.String(), "mode %d", tc.mode)
		assert.Equal(t, "-----", f.srcs[1].SelectReport().ConfOptions.String())
	}
}

func TestRemoveSelectedSource(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-4, noise: 1e-6}, spec{offset: 1e-4, noise: 1e-6})
	f.poll(6)
	require.Same(t, f.srcs[0], f.sel.Selected())
	f.sel.Remove(f.srcs[0], f.now())
	assert.Len(t, f.sel.Sources(), 1)
	f.srcs = f.srcs[1:]
	f.specs = f.specs[1:]
	f.poll(1)
	assert.Same(t, f.srcs[0], f.sel.Selected())
}

func TestResetAllAndReselect(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{offset: 1e-4, noise: 1e-6})
	f.poll(5)
	r := f.sel.ResetAll(f.now())
	assert.Equal(t, "Reset all sources", r.Events[len(r.Events)-1].Message)
	assert.Equal(t, 0, f.srcs[0].Stats().Samples())
	assert.Nil(t, f.sel.Selected())
	f.poll(4)
	assert.Same(t, f.srcs[0], f.sel.Selected())
	f.sel.Reselect(f.now())
	assert.Nil(t, f.sel.Selected(), "waits for an update of the best source")
	assert.Equal(t, "U", f.states())
	f.poll(1)
	assert.Same(t, f.srcs[0], f.sel.Selected())
}

func TestNoSources(t *testing.T) {
	sel := New(DefaultOptions())
	r := sel.Select(t0, nil)
	assert.Empty(t, r.Events, "nothing was selected, nothing to report")
}

func TestStatusLettersAndStates(t *testing.T) {
	tests := []struct {
		st     Status
		letter string
		char   byte
	}{
		{StatusNoSelect, "N", '?'}, {StatusBadStats, "M", '?'}, {StatusUnsynchronised, "s", '?'},
		{StatusBadDistance, "d", '?'}, {StatusJittery, "~", '~'}, {StatusWaitsStats, "w", '?'},
		{StatusStale, "S", '?'}, {StatusOrphan, "O", '?'}, {StatusUntrusted, "T", '?'},
		{StatusFalseticker, "x", 'x'}, {StatusWaitsSources, "W", '-'}, {StatusNonPreferred, "P", '-'},
		{StatusWaitsUpdate, "U", '-'}, {StatusDistant, "D", '-'}, {StatusOutlier, "L", '-'},
		{StatusUnselected, "+", '+'}, {StatusSelected, "*", '*'}, {StatusOK, "?", '?'},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.letter, tc.st.String())
		assert.Equal(t, string(tc.char), string(tc.st.ReportState().Char()), "status %s", tc.letter)
	}
	assert.Equal(t, ReportState(0), StatusSelected.ReportState())
	assert.Equal(t, ReportState(5), StatusDistant.ReportState())
}

func TestRefIDToString(t *testing.T) {
	assert.Equal(t, "GPS", RefIDToString(0x47505300))
	assert.Equal(t, "PPS1", RefIDToString(0x50505331))
	assert.Equal(t, "", RefIDToString(0x7F000001&0x00000001))
}

func TestSetReselectDistanceAndSelectOptions(t *testing.T) {
	f := newFixture(DefaultOptions(), spec{})
	assert.Equal(t, []Event{{Level: 4, Message: "New reselect distance 0.010000"}}, f.sel.SetReselectDistance(0.01))
	assert.Empty(t, f.sel.SetReselectDistance(0.01))
	ev := f.sel.ModifySelectOptions(f.srcs[0], OptPrefer|OptTrust, OptPrefer|OptTrust)
	require.Len(t, ev, 1)
	assert.Equal(t, "Source 203.0.113.1 selection options modified", ev[0].Message)
	assert.Equal(t, "-PT--", f.srcs[0].SelectReport().ConfOptions.String())
	assert.Empty(t, f.sel.ModifySelectOptions(f.srcs[0], OptPrefer, OptPrefer))
}
