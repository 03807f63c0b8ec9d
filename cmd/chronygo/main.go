// Command chronygo is a drop-in replacement for chronyd: it takes chronyd's
// command line and chrony.conf and serves NTP and chronyc's control
// protocol. This command only parses the command line; the process
// lifecycle lives in internal/daemon and the wiring of the configuration to
// the servers in internal/daemon/wiring.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/internal/daemon/wiring"
	"github.com/chronygo/chronygo/pkg/conf"
)

func main() {
	os.Exit(run(os.Args))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func run(argv []string) int {
	progname := argv[0]
	defaultConfig := daemon.DefaultConfigPath(fileExists)
	opts, act, err := parseArgs(progname, argv[1:], defaultConfig)
	var usage *usageError
	var badArg *argumentError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, usage.msg)
		printUsage(os.Stdout, progname, defaultConfig, conf.DefaultUser)
		return 1
	case errors.As(err, &badArg):
		fmt.Fprintf(os.Stderr, "%s %s%s\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), daemon.FatalPrefix, badArg)
		return 1
	case act == actionHelp:
		printUsage(os.Stdout, progname, defaultConfig, conf.DefaultUser)
		return 0
	case act == actionVersion:
		fmt.Println(daemon.VersionLine())
		return 0
	}

	ready := daemon.DetachedChild()
	if ready == nil {
		if opts.UserCheck && os.Getuid() != 0 {
			fmt.Fprintf(os.Stderr, "%s %sNot superuser\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), daemon.FatalPrefix)
			return 1
		}
		if !opts.NoFork {
			return daemon.Detach(argv[1:], os.Stderr)
		}
	}
	return daemon.Run(context.Background(), opts, wiring.NewLoaderFor(wiring.NewEngineFactory(wiring.EngineDeps{}), opts), daemon.Process{
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		Ready:        ready,
		NotifySocket: os.Getenv(daemon.NotifySocketEnv),
		ProgramName:  filepath.Base(progname),
	})
}
