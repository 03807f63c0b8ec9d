package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func series(n int, f func(i int) Sample) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = f(i)
		out[i].At = time.Duration(i) * 10 * time.Second
	}
	return out
}

func TestVerdict(t *testing.T) {
	steady := func(i int) Sample {
		return Sample{FDs: 40 + i%2, Threads: 9, RSSKiB: 20000 + 300*(i%3), Served: 100, Attempted: 100}
	}
	tests := []struct {
		name    string
		samples []Sample
		flat    bool
		mention string
	}{
		{"steady", series(60, steady), true, "served"},
		{"warm-up growth is ignored", series(60, func(i int) Sample {
			s := steady(i)
			if i < 3 {
				s.RSSKiB = 5000
			}
			return s
		}), true, "rss_kib"},
		{"fd leak", series(60, func(i int) Sample { s := steady(i); s.FDs += i; return s }), false, "fds"},
		{"thread leak", series(60, func(i int) Sample { s := steady(i); s.Threads += i / 4; return s }), false, "threads"},
		{"memory leak", series(60, func(i int) Sample { s := steady(i); s.RSSKiB += 1000 * i; return s }), false, "rss_kib"},
		{"clients dropped", series(60, func(i int) Sample {
			s := steady(i)
			if i == 40 {
				s.Served = 50
			}
			return s
		}), false, "served"},
		{"too short", series(3, steady), false, "run longer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flat, report := Verdict(tc.samples, 30*time.Second, DefaultLimits())
			assert.Equal(t, tc.flat, flat, report)
			assert.Contains(t, report, tc.mention)
		})
	}
}
