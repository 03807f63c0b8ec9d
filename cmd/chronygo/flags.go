package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/chronygo/chronygo/internal/daemon"
)

// action is what the command line asks for.
type action int

const (
	actionRun action = iota
	actionHelp
	actionVersion
)

// usageError is a bad option: getopt's message is printed on stderr, the
// usage on stdout, and the exit status is 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// argumentError is a bad numeric argument: chronyd reports it as a fatal
// error ("Invalid argument X") and exits 1.
type argumentError struct{ arg string }

func (e *argumentError) Error() string { return "Invalid argument " + e.arg }

// optionsWithArgument are the short options that take an argument.
const optionsWithArgument = "fFlLPtu"

// optionsWithoutArgument are the short options that take none.
const optionsWithoutArgument = "46dhmnpqQrRsUvx"

// parseArgs parses chronyd's command line (without the program name) the
// way chronyd does with GNU getopt: "--help" and "--version" anywhere win,
// short options may be grouped and may come after directives, an option's
// argument may be attached or be the next word, "--" ends the options, and
// the remaining words are configuration lines.
func parseArgs(progname string, args []string, defaultConfig string) (daemon.Options, action, error) {
	opts := daemon.DefaultOptions(defaultConfig)
	for _, a := range args {
		switch a {
		case "--help":
			return opts, actionHelp, nil
		case "--version":
			return opts, actionVersion, nil
		}
	}
	var lines []string
	for i := 0; i < len(args); i++ {
		word := args[i]
		if word == "--" {
			lines = append(lines, args[i+1:]...)
			break
		}
		if len(word) < 2 || word[0] != '-' {
			lines = append(lines, word)
			continue
		}
		for j := 1; j < len(word); j++ {
			c := word[j]
			switch {
			case strings.IndexByte(optionsWithArgument, c) >= 0:
				value := word[j+1:]
				if value == "" {
					if i+1 >= len(args) {
						return opts, actionRun, &usageError{fmt.Sprintf("%s: option requires an argument -- '%c'", progname, c)}
					}
					i++
					value = args[i]
				}
				if err := applyWithArgument(&opts, c, value); err != nil {
					return opts, actionRun, err
				}
				j = len(word)
			case strings.IndexByte(optionsWithoutArgument, c) >= 0:
				switch c {
				case 'h':
					return opts, actionHelp, nil
				case 'v':
					return opts, actionVersion, nil
				}
				applyFlag(&opts, c)
			default:
				return opts, actionRun, &usageError{fmt.Sprintf("%s: invalid option -- '%c'", progname, c)}
			}
		}
	}
	opts.ConfigLines = lines
	return opts, actionRun, nil
}

// applyFlag applies an option without argument, with chronyd's side effects.
func applyFlag(o *daemon.Options, c byte) {
	switch c {
	case '4':
		o.Family = daemon.FamilyIPv4
	case '6':
		o.Family = daemon.FamilyIPv6
	case 'd':
		o.Debug++
		o.NoFork = true
		o.SystemLog = false
	case 'm':
		o.LockMemory = true
	case 'n':
		o.NoFork = true
	case 'p':
		o.PrintConfig = true
		o.UserCheck = false
		o.NoFork = true
		o.SystemLog = false
		o.LogSeverity = daemon.SeverityWarn
	case 'q':
		o.Mode = daemon.RefModeUpdateOnce
		o.NoFork = true
		o.ClientOnly = false
		o.SystemLog = false
	case 'Q':
		o.Mode = daemon.RefModePrintOnce
		o.NoFork = true
		o.ClientOnly = true
		o.UserCheck = false
		o.ClockControl = false
		o.SystemLog = false
	case 'r':
		o.Reload = true
	case 'R':
		o.Restarted = true
	case 's':
		o.InitFromRTC = true
	case 'U':
		o.UserCheck = false
	case 'x':
		o.ClockControl = false
	}
}

// applyWithArgument applies an option that takes an argument.
func applyWithArgument(o *daemon.Options, c byte, value string) error {
	switch c {
	case 'f':
		o.ConfigFile = value
		return nil
	case 'l':
		o.LogFile = value
		return nil
	case 'u':
		o.User = value
		return nil
	}
	n, err := scanInt(value)
	if err != nil {
		return err
	}
	switch c {
	case 'F':
		o.FilterLevel = n
	case 'L':
		o.LogSeverity = daemon.Severity(n)
	case 'P':
		o.SchedPriority = n
	case 't':
		o.Timeout = n
	}
	return nil
}

// scanInt reads a decimal integer the way sscanf("%d") does: leading
// white space and a sign are allowed and anything after the digits is
// ignored, but at least one digit is required.
func scanInt(s string) (int, error) {
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	end := 0
	if end < len(t) && (t[end] == '+' || t[end] == '-') {
		end++
	}
	digits := end
	for end < len(t) && t[end] >= '0' && t[end] <= '9' {
		end++
	}
	if end == digits {
		return 0, &argumentError{s}
	}
	n, err := strconv.ParseInt(t[:end], 10, 32)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			// sscanf's overflow is undefined; saturate like strtol does.
			if t[0] == '-' {
				return -1 << 31, nil
			}
			return 1<<31 - 1, nil
		}
		return 0, &argumentError{s}
	}
	return int(n), nil
}

// printUsage writes chronyd's usage text, naming chronygo's defaults.
func printUsage(w io.Writer, progname, defaultConfig, defaultUser string) {
	fmt.Fprintf(w, `Usage: %s [OPTION]... [DIRECTIVE]...

Options:
  -4		Use IPv4 addresses only
  -6		Use IPv6 addresses only
  -f FILE	Specify configuration file (%s)
  -n		Don't run as daemon
  -d		Don't run as daemon and log to stderr
  -d -d		Enable debug messages
  -l FILE	Log to file
  -L LEVEL	Set logging threshold (0)
  -p		Print configuration and exit
  -q		Set clock and exit
  -Q		Log offset and exit
  -r		Reload dump files
  -R		Adapt configuration for restart
  -s		Set clock from RTC
  -t SECONDS	Exit after elapsed time
  -u USER	Specify user (%s)
  -U		Don't check for root
  -F LEVEL	Set system call filter level (0)
  -P PRIORITY	Set process priority (0)
  -m		Lock memory
  -x		Don't control clock
  -v, --version	Print version and exit
  -h, --help	Print usage and exit
`, progname, defaultConfig, defaultUser)
}
