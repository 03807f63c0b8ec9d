package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
)

func TestParseArgsFlags(t *testing.T) {
	def := daemon.DefaultOptions("/etc/chrony.conf")
	with := func(f func(o *daemon.Options)) daemon.Options {
		o := def
		f(&o)
		return o
	}
	tests := []struct {
		name string
		args []string
		want daemon.Options
	}{
		{"none", nil, def},
		{"-4", []string{"-4"}, with(func(o *daemon.Options) { o.Family = daemon.FamilyIPv4 })},
		{"-6", []string{"-6"}, with(func(o *daemon.Options) { o.Family = daemon.FamilyIPv6 })},
		{"-4 then -6 keeps last", []string{"-4", "-6"}, with(func(o *daemon.Options) { o.Family = daemon.FamilyIPv6 })},
		{"-d", []string{"-d"}, with(func(o *daemon.Options) { o.Debug, o.NoFork, o.SystemLog = 1, true, false })},
		{"-d -d", []string{"-d", "-d"}, with(func(o *daemon.Options) { o.Debug, o.NoFork, o.SystemLog = 2, true, false })},
		{"-dd grouped", []string{"-dd"}, with(func(o *daemon.Options) { o.Debug, o.NoFork, o.SystemLog = 2, true, false })},
		{"-f FILE", []string{"-f", "/x.conf"}, with(func(o *daemon.Options) { o.ConfigFile = "/x.conf" })},
		{"-fFILE attached", []string{"-f/x.conf"}, with(func(o *daemon.Options) { o.ConfigFile = "/x.conf" })},
		{"-l FILE", []string{"-l", "/log"}, with(func(o *daemon.Options) { o.LogFile = "/log" })},
		{"-L 2", []string{"-L", "2"}, with(func(o *daemon.Options) { o.LogSeverity = daemon.SeverityError })},
		{"-L -1", []string{"-L", "-1"}, with(func(o *daemon.Options) { o.LogSeverity = daemon.SeverityDebug })},
		{"-L 1x like sscanf", []string{"-L", "1x"}, with(func(o *daemon.Options) { o.LogSeverity = daemon.SeverityWarn })},
		{"-m", []string{"-m"}, with(func(o *daemon.Options) { o.LockMemory = true })},
		{"-n", []string{"-n"}, with(func(o *daemon.Options) { o.NoFork = true })},
		{"-p", []string{"-p"}, with(func(o *daemon.Options) {
			o.PrintConfig, o.UserCheck, o.NoFork, o.SystemLog, o.LogSeverity = true, false, true, false, daemon.SeverityWarn
		})},
		{"-p then -L 0", []string{"-p", "-L", "0"}, with(func(o *daemon.Options) {
			o.PrintConfig, o.UserCheck, o.NoFork, o.SystemLog, o.LogSeverity = true, false, true, false, daemon.SeverityInfo
		})},
		{"-P 50", []string{"-P", "50"}, with(func(o *daemon.Options) { o.SchedPriority = 50 })},
		{"-q", []string{"-q"}, with(func(o *daemon.Options) { o.Mode, o.NoFork, o.SystemLog = daemon.RefModeUpdateOnce, true, false })},
		{"-Q", []string{"-Q"}, with(func(o *daemon.Options) {
			o.Mode, o.NoFork, o.ClientOnly, o.UserCheck, o.ClockControl, o.SystemLog = daemon.RefModePrintOnce, true, true, false, false, false
		})},
		{"-r", []string{"-r"}, with(func(o *daemon.Options) { o.Reload = true })},
		{"-R", []string{"-R"}, with(func(o *daemon.Options) { o.Restarted = true })},
		{"-s", []string{"-s"}, with(func(o *daemon.Options) { o.InitFromRTC = true })},
		{"-t 10", []string{"-t", "10"}, with(func(o *daemon.Options) { o.Timeout = 10 })},
		{"-u USER", []string{"-u", "nobody"}, with(func(o *daemon.Options) { o.User = "nobody" })},
		{"-U", []string{"-U"}, with(func(o *daemon.Options) { o.UserCheck = false })},
		{"-F 1", []string{"-F", "1"}, with(func(o *daemon.Options) { o.FilterLevel = 1 })},
		{"-x", []string{"-x"}, with(func(o *daemon.Options) { o.ClockControl = false })},
		{"grouped -nxm", []string{"-nxm"}, with(func(o *daemon.Options) { o.NoFork, o.ClockControl, o.LockMemory = true, false, true })},
		{"group ending in an option with argument", []string{"-xt", "5"}, with(func(o *daemon.Options) { o.ClockControl, o.Timeout = false, 5 })},
		{"directives", []string{"-x", "server 198.51.100.1 iburst", "local stratum 3"}, with(func(o *daemon.Options) {
			o.ClockControl = false
			o.ConfigLines = []string{"server 198.51.100.1 iburst", "local stratum 3"}
		})},
		{"options after a directive (GNU getopt permutes)", []string{"local", "-n"}, with(func(o *daemon.Options) {
			o.NoFork = true
			o.ConfigLines = []string{"local"}
		})},
		{"-- ends options", []string{"--", "-n"}, with(func(o *daemon.Options) { o.ConfigLines = []string{"-n"} })},
		{"lone dash is a directive", []string{"-"}, with(func(o *daemon.Options) { o.ConfigLines = []string{"-"} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, act, err := parseArgs("chronygo", tt.args, "/etc/chrony.conf")
			require.NoError(t, err)
			assert.Equal(t, actionRun, act)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseArgsActionsAndErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		act     action
		wantErr string
	}{
		{"-h", []string{"-h"}, actionHelp, ""},
		{"--help", []string{"--help"}, actionHelp, ""},
		{"--help anywhere wins", []string{"-z", "--help"}, actionHelp, ""},
		{"-v", []string{"-v"}, actionVersion, ""},
		{"--version", []string{"-n", "--version"}, actionVersion, ""},
		{"unknown option", []string{"-z"}, actionRun, "chronygo: invalid option -- 'z'"},
		{"unknown long option", []string{"--foo"}, actionRun, "chronygo: invalid option -- '-'"},
		{"unknown in group", []string{"-nk"}, actionRun, "chronygo: invalid option -- 'k'"},
		{"missing -f argument", []string{"-f"}, actionRun, "chronygo: option requires an argument -- 'f'"},
		{"missing -t argument", []string{"-n", "-t"}, actionRun, "chronygo: option requires an argument -- 't'"},
		{"bad -L", []string{"-L", "x"}, actionRun, "Invalid argument x"},
		{"bad -P", []string{"-P", ""}, actionRun, "Invalid argument "},
		{"bad -t", []string{"-t", "-"}, actionRun, "Invalid argument -"},
		{"bad -F", []string{"-Fabc"}, actionRun, "Invalid argument abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, act, err := parseArgs("chronygo", tt.args, "/etc/chrony.conf")
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.act, act)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.wantErr, err.Error())
		})
	}
}

func TestScanInt(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {" 7", 7, true}, {"+3", 3, true}, {"-2", -2, true},
		{"12abc", 12, true}, {"99999999999", 1<<31 - 1, true}, {"-99999999999", -1 << 31, true},
		{"", 0, false}, {"x", 0, false}, {"-", 0, false}, {"+", 0, false}, {" ", 0, false},
	}
	for _, tt := range tests {
		got, err := scanInt(tt.in)
		if !tt.ok {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestPrintUsageNamesDefaults(t *testing.T) {
	var b bytes.Buffer
	printUsage(&b, "chronygo", "/etc/chrony/chrony.conf", "_chrony")
	out := b.String()
	assert.Contains(t, out, "Usage: chronygo [OPTION]... [DIRECTIVE]...\n")
	assert.Contains(t, out, "-f FILE\tSpecify configuration file (/etc/chrony/chrony.conf)\n")
	assert.Contains(t, out, "-u USER\tSpecify user (_chrony)\n")
	for _, opt := range []string{"-4", "-6", "-n", "-d", "-l", "-L", "-p", "-q", "-Q", "-r", "-R", "-s", "-t", "-U", "-F", "-P", "-m", "-x", "-v, --version", "-h, --help"} {
		assert.Contains(t, out, "  "+opt, opt)
	}
}
