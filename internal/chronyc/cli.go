package chronyc

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxLineLen is the longest command chronyc accepts from its arguments.
const maxLineLen = 2047

// Version is printed by -v and --version.
const Version = "4.8-compatible"

// CLI is the parsed command line.
type CLI struct {
	Opts     Options
	Hosts    string
	Port     uint16
	Multi    bool
	User     string
	Commands []string // the arguments after the options
	// Help or ShowVersion ask to print and exit; BadOption holds the
	// invalid option's message.
	Help, ShowVersion bool
	BadOption         string
}

// ParseArgs reads chronyc 4.8's options (-4 -6 -a -c -d -e -f FILE -h HOST
// -m -n -N -p PORT -u USER -v, --help, --version) plus -o json. Options
// end at the first argument that is not one, as with getopt's "+".
func ParseArgs(args []string) CLI {
	c := CLI{Hosts: "", Port: 323, User: "root"}
	for _, a := range args {
		switch a {
		case "--help":
			c.Help = true
			return c
		case "--version":
			c.ShowVersion = true
			return c
		}
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			opt := a[j]
			takesArg := strings.IndexByte("fhpuo", opt) >= 0
			var val string
			if takesArg {
				switch {
				case j+1 < len(a):
					val = a[j+1:]
				case i+1 < len(args):
					i++
					val = args[i]
				default:
					c.BadOption = fmt.Sprintf("option requires an argument -- '%c'", opt)
					return c
				}
				j = len(a)
			}
			switch opt {
			case '4':
				c.Opts.Family = 4
			case '6':
				c.Opts.Family = 6
			case 'a', 'd', 'f':
				// accepted for compatibility
			case 'c':
				c.Opts.CSV = true
			case 'e':
				c.Opts.EndDot = true
			case 'h':
				c.Hosts = val
			case 'm':
				c.Multi = true
			case 'n':
				c.Opts.NoDNS = true
			case 'N':
				c.Opts.SourceNames = true
			case 'p':
				p, _ := strconv.Atoi(val)
				c.Port = uint16(p)
			case 'u':
				c.User = val
			case 'o':
				if val != "json" {
					c.BadOption = fmt.Sprintf("unsupported output format -- '%s'", val)
					return c
				}
				c.Opts.JSON = true
			case 'v':
				c.ShowVersion = true
				return c
			default:
				c.BadOption = fmt.Sprintf("invalid option -- '%c'", opt)
				return c
			}
		}
	}
	c.Commands = args[i:]
	return c
}

// usage prints the option summary.
func usage(w io.Writer, prog string) {
	fmt.Fprintf(w, "Usage: %s [OPTION]... [COMMAND]...\n\n", prog)
	fmt.Fprintf(w, "Options:\n")
	for _, l := range [][2]string{
		{"-4", "Use IPv4 addresses only"},
		{"-6", "Use IPv6 addresses only"},
		{"-n", "Don't resolve hostnames"},
		{"-N", "Print original source names"},
		{"-c", "Enable CSV format"},
		{"-o json", "Print reports as JSON (raw values in SI units)"},
		{"-e", "End responses with dot"},
		{"-m", "Accept multiple commands"},
		{"-h HOST", "Specify server (" + DefaultHosts + ")"},
		{"-p PORT", "Specify UDP port (323)"},
		{"-u USER", "Specify user (root)"},
		{"-v, --version", "Print version and exit"},
		{"    --help", "Print usage and exit"},
	} {
		fmt.Fprintf(w, "  %-14s%s\n", l[0], l[1])
	}
}

// systemClock is the real clock; sleeps end early on a signal.
type systemClock struct{ stop <-chan struct{} }

func (c systemClock) Now() time.Time { return time.Now() }

func (c systemClock) Sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

// isTerminal reports whether the file descriptor is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// dropRoot switches to the named user when running as root.
func dropRoot(name string) error {
	if name == "root" || os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return argError("Could not get user/group ID of " + name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("setgroups(): %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid(%d): %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid(%d): %w", uid, err)
	}
	return nil
}

// Main runs chronygoc with the given arguments (without the program name)
// and returns the exit status: 0 when the last command succeeded.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := ParseArgs(args)
	switch {
	case c.Help:
		usage(stdout, prog)
		return 0
	case c.ShowVersion:
		fmt.Fprintf(stdout, "chronygoc (chronygo) version %s (+IPV6 -READLINE +JSON)\n", Version)
		return 0
	case c.BadOption != "":
		fmt.Fprintf(stderr, "%s: %s\n", prog, c.BadOption)
		usage(stdout, prog)
		return 1
	}
	if err := dropRoot(c.User); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	onTerminal := isTerminal(0) && isTerminal(1) && isTerminal(2)
	if onTerminal && len(c.Commands) == 0 {
		fmt.Fprintf(out, "chronygoc version %s, a chronyc-compatible client of chronygo\n\n", Version)
	}
	hosts := c.Hosts
	if hosts == "" {
		hosts = DefaultHosts
	}
	res := NetResolver{}
	tr := NewTransport(ResolveTargets(hosts, c.Port, c.Opts.Family, res), stderr)
	defer tr.Close()

	stop := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; ok {
			tr.Interrupt()
			close(stop)
		}
	}()

	if !tr.Open() {
		out.Flush()
		fmt.Fprintln(stderr, "Could not open connection to daemon")
		return 1
	}
	s := NewSession(c.Opts, tr, res, systemClock{stop: stop}, rand.Reader, out, stderr)
	ok := runCommands(s, c, stdin, out, onTerminal, stop)
	if ok {
		return 0
	}
	return 1
}

// runCommands runs the command-line commands (one, or each argument with
// -m) or, without any, the lines read from stdin.
func runCommands(s *Session, c CLI, stdin io.Reader, out *bufio.Writer, onTerminal bool, stop <-chan struct{}) bool {
	interrupted := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	if len(c.Commands) > 0 {
		lines := []string{strings.Join(c.Commands, " ")}
		if c.Multi {
			lines = c.Commands
		}
		ok := false
		for _, l := range lines {
			if len(l) >= maxLineLen {
				fmt.Fprintln(s.errw, "Command too long")
				return false
			}
			ok = s.Line(l)
			out.Flush()
			if !ok || s.Quit() || interrupted() {
				break
			}
		}
		return ok
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		in := bufio.NewScanner(stdin)
		in.Buffer(make([]byte, 0, 2048), 1<<20)
		for in.Scan() {
			select {
			case lines <- in.Text():
			case <-stop:
				return
			}
		}
	}()
	ok := true
	for {
		if onTerminal {
			fmt.Fprint(out, "chronyc> ")
		}
		out.Flush()
		var line string
		var more bool
		select {
		case line, more = <-lines:
		case <-stop:
		}
		if !more {
			if onTerminal {
				fmt.Fprintln(out)
			}
			break
		}
		ok = s.Line(line)
		out.Flush()
		if s.Quit() || interrupted() {
			break
		}
	}
	return ok
}
