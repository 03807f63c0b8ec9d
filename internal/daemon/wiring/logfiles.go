package wiring

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline/reference"
	"github.com/chronygo/chronygo/pkg/discipline/selection"
	"github.com/chronygo/chronygo/pkg/discipline/sourcestats"
	"github.com/chronygo/chronygo/pkg/ntp/source"
	"github.com/chronygo/chronygo/pkg/rtc"
)

// logFile is one of chronyd's log files under logdir (tracking.log,
// measurements.log): lines appended, with the column banner repeated every
// logbanner lines as chronyd does.
type logFile struct {
	mu     sync.Mutex
	f      *os.File
	banner string
	every  int
	writes int
}

// openLogFile opens name in dir for appending.
func openLogFile(dir, name, header string, every int) (*logFile, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("could not open log file %s: %w", path, err)
	}
	return &logFile{f: f, banner: source.LogBanner(header), every: every}, nil
}

// write appends one line.
func (l *logFile) write(line string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	if l.every > 0 && l.writes%l.every == 0 {
		b.WriteString(l.banner)
	}
	l.writes++
	b.WriteString(strings.TrimRight(line, "\n"))
	b.WriteByte('\n')
	_, _ = l.f.WriteString(b.String())
}

func (l *logFile) close() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}

// logFiles are the log files the `log` directive asks for that the engine
// feeds (tracking, measurements, rawmeasurements).
type logFiles struct {
	trackingFile, measurementsFile *logFile
	statisticsFile, selectionFile  *logFile
	rtcFile                        *logFile
	raw                            bool
	// tracking, measurement, statistics and selection are the engine's
	// hooks (nil when off).
	tracking    func(string)
	measurement func(source.Measurement)
	statistics  func(string)
	selection   func(string)
	// rtc receives rtc.log lines from the RTC driver (nil when off).
	rtc func(string)
}

// openLogFiles opens the log files of the configuration under logdir.
func openLogFiles(cfg *conf.Config) (*logFiles, error) {
	l := &logFiles{}
	if cfg.LogDir == "" {
		return l, nil
	}
	var err error
	if cfg.Log.Tracking {
		if l.trackingFile, err = openLogFile(cfg.LogDir, "tracking.log", reference.TrackingLogHeader, cfg.LogBanner); err != nil {
			return nil, err
		}
		l.tracking = l.trackingFile.write
	}
	if cfg.Log.Measurements || cfg.Log.RawMeasurements {
		if l.measurementsFile, err = openLogFile(cfg.LogDir, "measurements.log", source.MeasurementsHeader, cfg.LogBanner); err != nil {
			l.Close()
			return nil, err
		}
		l.raw = cfg.Log.RawMeasurements
		l.measurement = l.measured
	}
	if cfg.Log.Statistics {
		if l.statisticsFile, err = openLogFile(cfg.LogDir, "statistics.log", sourcestats.StatisticsLogHeader, cfg.LogBanner); err != nil {
			l.Close()
			return nil, err
		}
		l.statistics = l.statisticsFile.write
	}
	if cfg.Log.Selection {
		if l.selectionFile, err = openLogFile(cfg.LogDir, "selection.log", selection.SelectionLogHeader, cfg.LogBanner); err != nil {
			l.Close()
			return nil, err
		}
		l.selection = l.selectionFile.write
	}
	return l, nil
}

// openRTCLog opens rtc.log for `log rtc` once the RTC driver runs (no
// file without it).
func (l *logFiles) openRTCLog(cfg *conf.Config) error {
	if cfg.LogDir == "" || !cfg.Log.RTC {
		return nil
	}
	f, err := openLogFile(cfg.LogDir, "rtc.log", rtc.LogHeader, cfg.LogBanner)
	if err != nil {
		return err
	}
	l.rtcFile, l.rtc = f, f.write
	return nil
}

// measured logs one processed response: every one with rawmeasurements,
// only those that passed the tests with measurements.
func (l *logFiles) measured(m source.Measurement) {
	if !m.Synced && !l.raw {
		return
	}
	l.measurementsFile.write(source.FormatMeasurement(m.Record))
}

// Close closes the files.
func (l *logFiles) Close() error {
	return errors.Join(l.trackingFile.close(), l.measurementsFile.close(),
		l.statisticsFile.close(), l.selectionFile.close(), l.rtcFile.close())
}
