package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sample is one measurement of the daemon's resources.
type Sample struct {
	At      time.Duration // since the start of the soak
	FDs     int           // open file descriptors
	Threads int           // OS threads (goroutines are not exposed)
	RSSKiB  int           // VmRSS
	// Served and Attempted count client requests since the previous sample.
	Served, Attempted int64
}

// Limits bound how much each resource may grow between the warm-up
// baseline and the end of the soak before the run counts as leaking.
type Limits struct {
	FDs        int
	Threads    int
	RSSKiB     int
	RSSPercent float64
	// MinServed is the lowest acceptable fraction of served client requests
	// in any interval.
	MinServed float64
}

// DefaultLimits tolerates a handful of fds and threads (resolver, signal
// and GC threads come and go) and a quarter more memory plus 16 MiB.
func DefaultLimits() Limits {
	return Limits{FDs: 8, Threads: 8, RSSKiB: 16 * 1024, RSSPercent: 25, MinServed: 0.95}
}

// Verdict judges a soak: the baseline is the median of the samples taken
// after warmup in the first half, the end value the median of the last
// quarter; the run is flat when no resource grew by more than its limit
// and every interval after warm-up served enough clients.
func Verdict(samples []Sample, warmup time.Duration, lim Limits) (flat bool, report string) {
	var steady []Sample
	for _, s := range samples {
		if s.At >= warmup {
			steady = append(steady, s)
		}
	}
	if len(steady) < 4 {
		return false, fmt.Sprintf("only %d samples after the %v warm-up: run longer\n", len(steady), warmup)
	}
	first := steady[:len(steady)/2]
	last := steady[len(steady)-max(1, len(steady)/4):]
	var b strings.Builder
	flat = true
	check := func(name string, get func(Sample) int, allowed func(base int) int) {
		base, end := median(first, get), median(last, get)
		ok := end <= base+allowed(base)
		if !ok {
			flat = false
		}
		fmt.Fprintf(&b, "%-8s baseline %8d  end %8d  allowed +%d  %s\n", name, base, end, allowed(base), okWord(ok))
	}
	check("fds", func(s Sample) int { return s.FDs }, func(int) int { return lim.FDs })
	check("threads", func(s Sample) int { return s.Threads }, func(int) int { return lim.Threads })
	check("rss_kib", func(s Sample) int { return s.RSSKiB }, func(base int) int {
		return lim.RSSKiB + int(float64(base)*lim.RSSPercent/100)
	})
	worst := 1.0
	for _, s := range steady {
		if s.Attempted > 0 {
			worst = min(worst, float64(s.Served)/float64(s.Attempted))
		}
	}
	servedOK := worst >= lim.MinServed
	if !servedOK {
		flat = false
	}
	fmt.Fprintf(&b, "%-8s worst interval %.3f  required %.3f  %s\n", "served", worst, lim.MinServed, okWord(servedOK))
	return flat, b.String()
}

func median(ss []Sample, get func(Sample) int) int {
	v := make([]int, len(ss))
	for i, s := range ss {
		v[i] = get(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func okWord(ok bool) string {
	if ok {
		return "flat"
	}
	return "GROWING"
}
