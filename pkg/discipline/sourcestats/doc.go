// Package sourcestats keeps the measurement history of one time source and
// estimates, by weighted linear regression, the offset and frequency of the
// local clock relative to that source, as chronyd's sourcestats module does.
//
// Units: all offsets, delays, dispersions and distances are in seconds;
// frequencies and skews are dimensionless (seconds per second) everywhere
// except in Report, which gives them in ppm as chronyc prints them. Offsets
// use chrony's sign (discipline.Sample): positive means the local clock is
// ahead of the source. Frequency is the rate at which the local clock gains
// on the source (positive: the local clock runs fast).
//
// The package is sans-IO: every function that depends on the current time
// takes it as an argument.
package sourcestats
