package daemon

import (
	"bytes"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sort"

	"github.com/sirupsen/logrus"
)

// FatalPrefix starts every fatal message, as in chronyd.
const FatalPrefix = "Fatal error : "

// LogLevel maps a chronyd severity (-L, clamped to debug..fatal) to logrus.
func LogLevel(s Severity) logrus.Level {
	switch {
	case s <= SeverityDebug:
		return logrus.DebugLevel
	case s == SeverityInfo:
		return logrus.InfoLevel
	case s == SeverityWarn:
		return logrus.WarnLevel
	case s == SeverityError:
		return logrus.ErrorLevel
	default:
		return logrus.FatalLevel
	}
}

// MinSeverity is the effective threshold of the options: -d -d means debug,
// otherwise -L.
func (o Options) MinSeverity() Severity {
	if o.Debug >= 2 {
		return SeverityDebug
	}
	return o.LogSeverity
}

// TextFormatter writes log entries as chronyd does on stderr and in -l
// files: an RFC 3339 UTC timestamp, "Fatal error : " for fatal entries, the
// message, then any logrus fields as key=value.
type TextFormatter struct {
	// NoTimestamp leaves the timestamp out (syslog adds its own).
	NoTimestamp bool
}

// Format implements logrus.Formatter.
func (f *TextFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	if !f.NoTimestamp {
		b.WriteString(e.Time.UTC().Format("2006-01-02T15:04:05Z "))
	}
	b.WriteString(FormatMessage(e))
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// FormatMessage is an entry's text without timestamp: the fatal prefix, the
// message and its fields in key order.
func FormatMessage(e *logrus.Entry) string {
	var b bytes.Buffer
	if e.Level <= logrus.FatalLevel {
		b.WriteString(FatalPrefix)
	}
	b.WriteString(e.Message)
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, e.Data[k])
	}
	return b.String()
}

// syslogHook sends entries to syslog with chronyd's priorities (fatal is
// LOG_CRIT) under the daemon facility.
type syslogHook struct {
	w *syslog.Writer
}

// Levels implements logrus.Hook.
func (h *syslogHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire implements logrus.Hook.
func (h *syslogHook) Fire(e *logrus.Entry) error {
	msg := FormatMessage(e)
	switch e.Level {
	case logrus.PanicLevel, logrus.FatalLevel:
		return h.w.Crit(msg)
	case logrus.ErrorLevel:
		return h.w.Err(msg)
	case logrus.WarnLevel:
		return h.w.Warning(msg)
	case logrus.InfoLevel:
		return h.w.Info(msg)
	default:
		return h.w.Debug(msg)
	}
}

// LogTarget says where the log goes.
type LogTarget struct {
	// File, when set, receives the log (appended, created 0640).
	File string
	// Syslog sends the log to syslog when File is empty.
	Syslog bool
	// Tag names the program in syslog.
	Tag string
	// SyslogSocket, when set, is the Unix datagram socket of the syslog
	// daemon (default: the system's, /dev/log).
	SyslogSocket string
	// Stderr is used when neither File nor Syslog applies.
	Stderr io.Writer
	// Level is the minimum level logged.
	Level logrus.Level
}

// NewLogger builds the daemon's logger. The returned closer releases the
// file or syslog connection.
func NewLogger(t LogTarget) (*logrus.Logger, io.Closer, error) {
	log := logrus.New()
	log.SetLevel(t.Level)
	log.SetFormatter(&TextFormatter{})
	log.ExitFunc = func(int) {} // fatal handling belongs to the daemon
	switch {
	case t.File != "":
		f, err := os.OpenFile(t.File, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_SYNC, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("could not open log file %s : %w", t.File, err)
		}
		log.SetOutput(f)
		return log, f, nil
	case t.Syslog:
		var w *syslog.Writer
		var err error
		if t.SyslogSocket != "" {
			w, err = syslog.Dial("unixgram", t.SyslogSocket, syslog.LOG_DAEMON|syslog.LOG_INFO, t.Tag)
		} else {
			w, err = syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, t.Tag)
		}
		if err != nil {
			// No syslog daemon (containers): keep logging to stderr.
			log.SetOutput(t.Stderr)
			log.WithError(err).Warn("Could not connect to syslog, logging to stderr")
			return log, nopCloser{}, nil
		}
		log.SetOutput(io.Discard)
		log.AddHook(&syslogHook{w: w})
		return log, w, nil
	default:
		log.SetOutput(t.Stderr)
		return log, nopCloser{}, nil
	}
}

// Fatal logs a fatal message (in chronyd's "Fatal error : " shape) without
// exiting; the caller decides how to stop.
func Fatal(log *logrus.Logger, format string, args ...any) {
	log.Log(logrus.FatalLevel, fmt.Sprintf(format, args...))
}

// nopCloser is the closer of a log that needs no release.
type nopCloser struct{}

// Close implements io.Closer.
func (nopCloser) Close() error { return nil }
