package source

// Runtime modifications of a source (chronyc minpoll, maxpoll, maxdelay,
// maxdelayratio, maxdelaydevratio, minstratum, offset, polltarget). The
// caller logs chronyd's "Source ADDR new minpoll N" style messages.

// SetMinPoll changes minpoll; out-of-range values are ignored (false).
// A maxpoll below the new minpoll is raised to it.
func (s *Source) SetMinPoll(poll int) bool {
	if poll < MinPollLimit || poll > MaxPollLimit {
		return false
	}
	s.opts.MinPoll = poll
	if s.opts.MaxPoll < poll {
		s.opts.MaxPoll = poll
	}
	return true
}

// SetMaxPoll changes maxpoll; out-of-range values are ignored (false).
// A minpoll above the new maxpoll is lowered to it.
func (s *Source) SetMaxPoll(poll int) bool {
	if poll < MinPollLimit || poll > MaxPollLimit {
		return false
	}
	s.opts.MaxPoll = poll
	if s.opts.MinPoll > poll {
		s.opts.MinPoll = poll
	}
	return true
}

// SetMaxDelay changes maxdelay (clamped to 0-1000 s) and returns it.
func (s *Source) SetMaxDelay(v float64) float64 {
	s.opts.MaxDelay = clamp(0, v, maxMaxDelay)
	return s.opts.MaxDelay
}

// SetMaxDelayRatio changes maxdelayratio (clamped) and returns it.
func (s *Source) SetMaxDelayRatio(v float64) float64 {
	s.opts.MaxDelayRatio = clamp(0, v, maxMaxDelayRat)
	return s.opts.MaxDelayRatio
}

// SetMaxDelayDevRatio changes maxdelaydevratio (clamped) and returns it.
func (s *Source) SetMaxDelayDevRatio(v float64) float64 {
	s.opts.MaxDelayDevRatio = clamp(0, v, maxMaxDelayRat)
	return s.opts.MaxDelayDevRatio
}

// SetMinStratum changes minstratum.
func (s *Source) SetMinStratum(v int) { s.opts.MinStratum = v }

// SetOffset changes the offset correction (seconds, NTP sign).
func (s *Source) SetOffset(v float64) { s.opts.Offset = v }

// SetPollTarget changes polltarget (at least 1) and returns it.
func (s *Source) SetPollTarget(v int) int {
	s.opts.PollTarget = max(1, v)
	return s.opts.PollTarget
}
