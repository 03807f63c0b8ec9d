package source

import "math/rand/v2"

// Parameters of chronyd's delay quantile estimation (maxdelayquant).
const (
	delayQuantQ         = 100
	delayQuantRepeat    = 7
	delayQuantLargeStep = 100
)

// quantileEstimator tracks one quantile of the delay with several
// repeated stochastic estimates whose median is used, as chronyd's
// quantiles.c does for a single quantile.
type quantileEstimator struct {
	est          [delayQuantRepeat]float64
	step         [delayQuantRepeat]float64
	sign         [delayQuantRepeat]int
	p            float64
	minStep      float64
	negStepLimit float64
	nSet         int
	rng          *rand.Rand
}

func newQuantileEstimator(k int, minStep float64, rng *rand.Rand) *quantileEstimator {
	q := &quantileEstimator{
		p:            float64(k) / delayQuantQ,
		minStep:      minStep,
		negStepLimit: -delayQuantLargeStep * minStep,
		rng:          rng,
	}
	q.reset()
	return q
}

func (q *quantileEstimator) reset() {
	q.nSet = 0
	for i := range q.est {
		q.est[i], q.step[i], q.sign[i] = 0, q.minStep, 1
	}
}

// accumulate adds a delay; the first value initialises all estimates.
func (q *quantileEstimator) accumulate(v float64) {
	if q.nSet == 0 {
		for i := range q.est {
			q.est[i] = v
		}
		q.nSet = 1
		return
	}
	for i := range q.est {
		q.update(i, v, q.rng.Float64())
	}
}

func (q *quantileEstimator) update(i int, v, r float64) {
	ms := q.minStep
	if v >= q.est[i] {
		if r < 1-q.p {
			return
		}
		if q.sign[i] > 0 {
			q.step[i] += ms
		} else {
			q.step[i] -= ms
		}
		q.est[i] += max(q.step[i], ms)
		if q.est[i] > v {
			q.step[i] += v - q.est[i]
			q.est[i] = v + ms/4
		}
		if q.sign[i] < 0 && q.step[i] > ms {
			q.step[i] = ms
		}
		q.sign[i] = 1
	} else {
		if r < q.p {
			return
		}
		if q.sign[i] < 0 {
			q.step[i] += ms
		} else {
			q.step[i] -= ms
		}
		q.est[i] -= max(q.step[i], ms)
		if q.est[i] < v {
			q.step[i] += q.est[i] - v
			q.est[i] = v - ms/4
		}
		if q.sign[i] > 0 && q.step[i] > ms {
			q.step[i] = ms
		}
		q.sign[i] = -1
	}
	if q.step[i] < q.negStepLimit {
		q.step[i] = q.negStepLimit
	}
}

// quantile is the median of the repeated estimates.
func (q *quantileEstimator) quantile() float64 {
	s := q.est
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1] > s[j]; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
	return s[len(s)/2]
}
