package source

// Activity is what a source is doing, as chronyc activity counts it.
type Activity int

// Activities of a source.
const (
	// ActivityOffline: not polling (chronyc offline, or configured offline).
	ActivityOffline Activity = iota
	// ActivityOnline: polling at its normal interval.
	ActivityOnline
	// ActivityBurstOnline: in a burst, returning to online afterwards.
	ActivityBurstOnline
	// ActivityBurstOffline: in a burst, returning to offline afterwards.
	ActivityBurstOffline
)

// String returns the activity as chronyc words it.
func (a Activity) String() string {
	switch a {
	case ActivityOnline:
		return "online"
	case ActivityBurstOnline:
		return "doing burst (return to online)"
	case ActivityBurstOffline:
		return "doing burst (return to offline)"
	}
	return "offline"
}

// Activity returns the source's operating state for chronyc activity.
func (s *Source) Activity() Activity {
	switch s.op {
	case opOnline:
		return ActivityOnline
	case opBurstWasOnline:
		return ActivityBurstOnline
	case opBurstWasOffline:
		return ActivityBurstOffline
	}
	return ActivityOffline
}
