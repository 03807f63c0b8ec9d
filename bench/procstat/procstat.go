// Package procstat reads what a process has cost: CPU time (utime + stime
// from /proc/PID/stat, which sums all the threads of the process) and
// resident memory (VmRSS from /proc/PID/status).
package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture).
const userHZ = 100

// ParseStat returns utime + stime from the text of /proc/PID/stat.
func ParseStat(text []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may contain
	// spaces or parentheses: the fields resume after the last ')'.
	end := bytes.LastIndexByte(text, ')')
	if end < 0 {
		return 0, fmt.Errorf("procstat: no command name in %q", text)
	}
	fields := strings.Fields(string(text[end+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("procstat: %d fields after the command name", len(fields))
	}
	var ticks uint64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: bad time %q: %w", f, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// CPUTime returns the CPU time the process pid has used so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	return ParseStat(b)
}

// ParseRSS returns VmRSS in bytes from the text of /proc/PID/status.
func ParseRSS(text []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("procstat: bad VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: bad VmRSS %q: %w", f[0], err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("procstat: no VmRSS line")
}

// RSS returns the resident memory of the process pid in bytes.
func RSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	return ParseRSS(b)
}

// ParseSchedstat returns the time on CPU (the first field, in
// nanoseconds) from the text of /proc/PID/task/TID/schedstat.
func ParseSchedstat(text []byte) (time.Duration, error) {
	f := strings.Fields(string(text))
	if len(f) < 1 {
		return 0, fmt.Errorf("procstat: empty schedstat")
	}
	ns, err := strconv.ParseUint(f[0], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("procstat: bad schedstat %q: %w", f[0], err)
	}
	return time.Duration(ns), nil
}

// RunTime returns the CPU time of the process pid with nanosecond
// resolution: the sum of its live threads' schedstat run times. A thread
// that has exited no longer counts, so it suits differences over periods
// in which no thread ends (an idle daemon), where utime + stime's 10 ms
// ticks are too coarse.
func RunTime(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		d, err := ParseSchedstat(b)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}
