package conf

import "fmt"

// Error is a configuration error. Its text has the shape chronyd prints after
// "Fatal error : ", e.g. "Invalid directive foo at line 2 in file bad.conf".
type Error struct {
	// File is the file being read, empty for directives given on the command
	// line (chronyd then omits the " in file ..." part).
	File string
	// Line is the 1-based line number (for command-line directives the
	// position of the argument), 0 when the error is not tied to a line.
	Line int
	// Msg is the message without the location, e.g. "Invalid directive foo".
	Msg string
	// Err is an underlying error (for example from opening a file), if any.
	Err error
}

// Error returns the message in chronyd's wording and location format.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	s := fmt.Sprintf("%s at line %d", e.Msg, e.Line)
	if e.File != "" {
		s += " in file " + e.File
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// lineError builds the error of the line being processed.
func (p *parser) errorf(format string, args ...any) *Error {
	return &Error{File: p.file, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// parseError is chronyd's generic "Could not parse X directive".
func (p *parser) parseError() *Error {
	return p.errorf("Could not parse %s directive", p.command)
}
