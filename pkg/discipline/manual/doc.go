// Package manual implements chronyd's manual time input (the manual
// directive, chronyc manual and settime): the administrator types the
// true time, each entry becomes a sample of the clock's offset, and once
// there are two samples a robust line fit through them gives the clock's
// frequency error too. The package is sans-IO: the caller passes the
// current (cooked) time and applies the returned estimate to the
// reference (reference.SetManualReference).
package manual
