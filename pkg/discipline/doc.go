// Package discipline holds the types shared by the clock discipline: the
// samples that time sources feed into statistics, leap status, and the
// immutable reference snapshot the engine publishes for the serving path.
// Its subpackages hold the algorithms: sourcestats (regression and runs
// test), selection (intersection, combining), reference (tracking, makestep,
// drift file, leap seconds, local reference, smoothing), manual (manual time
// input) and clock (the clock drivers).
package discipline
