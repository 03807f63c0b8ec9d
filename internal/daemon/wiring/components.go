package wiring

import (
	"context"
	"fmt"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/server"
)

// AccessTable builds an access table from (resolved) allow/deny rules. A
// rule whose prefix does not fit its address is chronyd's fatal "Bad
// subnet".
func AccessTable(rules []conf.AccessRule) (*access.Table, error) {
	t := access.NewTable()
	for _, r := range rules {
		rule, err := accessRule(r)
		if err != nil {
			return nil, err
		}
		if err := t.Apply(rule); err != nil {
			return nil, fmt.Errorf("Bad subnet in %s/%d : %w", r.Subnet, r.Bits, err) //lint:ignore ST1005 chronyd's wording
		}
	}
	return t, nil
}

// AccessRules converts (resolved) rules for cmdmon's policy.
func AccessRules(rules []conf.AccessRule) ([]access.Rule, error) {
	out := make([]access.Rule, 0, len(rules))
	for _, r := range rules {
		rule, err := accessRule(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rule)
	}
	return out, nil
}

func accessRule(r conf.AccessRule) (access.Rule, error) {
	rule := access.Rule{Allow: r.Allow, All: r.All}
	if r.Subnet == "" {
		rule.Any = true
		return rule, nil
	}
	if r.Host || !r.Prefix.IsValid() {
		return rule, fmt.Errorf("Bad subnet in %s/%d", r.Subnet, r.Bits) //lint:ignore ST1005 chronyd's wording
	}
	rule.Prefix = r.Prefix
	return rule, nil
}

// ServerConfig maps the configuration to the NTP server's.
func ServerConfig(cfg *conf.Config, family daemon.AddressFamily, table *access.Table) server.Config {
	rl := func(r conf.RateLimit) server.RateLimit {
		return server.RateLimit{Enabled: r.Enabled, Interval: r.Interval, Burst: r.Burst, Leak: r.Leak, KoD: r.KoD}
	}
	return server.Config{
		Port:         cfg.Port,
		BindAddress4: cfg.BindAddress4,
		BindAddress6: cfg.BindAddress6,
		BindDevice:   cfg.BindDevice,
		DisableIPv4:  family == daemon.FamilyIPv6,
		DisableIPv6:  family == daemon.FamilyIPv4,
		DSCP:         cfg.DSCP,
		Access:       table,
		ClientLog: server.ClientLogConfig{
			Disabled:   cfg.NoClientLog,
			LimitBytes: int(cfg.ClientLogLimit),
			NTP:        rl(cfg.RateLimit),
			NTSKE:      rl(cfg.NTSRateLimit),
			Cmd:        rl(cfg.CmdRateLimit),
		},
	}
}

// CmdmonConfig maps the configuration to the chronyc listeners'.
// socketAllowed false (the socket folder failed its check) disables the
// Unix socket.
func CmdmonConfig(cfg *conf.Config, r daemon.Resources, rules []access.Rule) cmdmon.Config {
	path := cfg.BindCmdPath
	if !r.CmdSocketAllowed {
		path = ""
	}
	return cmdmon.Config{
		SocketPath: path,
		Port:       cfg.CmdPort,
		BindAddr4:  cfg.BindCmdAddress4,
		BindAddr6:  cfg.BindCmdAddress6,
		BindDevice: cfg.BindCmdDevice,
		NoIPv4:     r.Options.Family == daemon.FamilyIPv6,
		NoIPv6:     r.Options.Family == daemon.FamilyIPv4,
		UID:        r.UID,
		GID:        r.GID,
		Policy: cmdmon.DispatcherConfig{
			OpenCommands: cfg.OpenCommands,
			CmdRules:     rules,
			RateLimit: cmdmon.RateLimit{
				Enabled:  cfg.CmdRateLimit.Enabled,
				Interval: cfg.CmdRateLimit.Interval,
				Burst:    cfg.CmdRateLimit.Burst,
				Leak:     cfg.CmdRateLimit.Leak,
			},
		},
		Log: r.Log,
	}
}

// ntpServer runs pkg/ntp/server as a daemon component.
type ntpServer struct {
	cfg server.Config
	srv *server.Server
}

func (n *ntpServer) Name() string { return "NTP server" }

// Start starts the NTP server. Sockets it cannot open are logged; only
// with SocketsRequired is having none at all fatal, as in chronyd.
func (n *ntpServer) Start(ctx context.Context) error {
	srv, err := server.Start(ctx, n.cfg)
	if err != nil {
		return err
	}
	n.srv = srv
	return nil
}

func (n *ntpServer) Close() error {
	if n.srv != nil {
		n.srv.Close()
	}
	return nil
}

// cmdmonUDP opens the chronyc UDP sockets (port 323 is privileged) and owns
// closing all of cmdmon's sockets.
type cmdmonUDP struct{ srv *cmdmon.Server }

func (c *cmdmonUDP) Name() string { return "command UDP sockets" }

// Start opens the UDP command sockets. As in chronyd (cmdmon.c), one that
// cannot be opened (port taken, bindcmddevice naming no interface) is
// logged by cmdmon ("Could not open command socket on ADDRESS") and the
// daemon runs on without it.
func (c *cmdmonUDP) Start(context.Context) error {
	_ = c.srv.OpenUDP()
	return nil
}
func (c *cmdmonUDP) Close() error { return c.srv.Close() }

// cmdmonUnix opens the Unix command socket after root is dropped, so that
// it belongs to the daemon's user. As in chronyd, a socket refused for its
// folder's permissions or that cannot be opened is logged by cmdmon and is
// not fatal.
type cmdmonUnix struct {
	srv *cmdmon.Server
}

func (c *cmdmonUnix) Name() string { return "command socket" }
func (c *cmdmonUnix) Start(context.Context) error {
	_ = c.srv.OpenUnix()
	return nil
}
func (c *cmdmonUnix) Close() error { return nil }

// fineSettingWait is the last component started: it holds start-up (and
// with it the readiness notification) until the engine's RTC fine setting
// of -s with rtcfile has ended, as chronyd does, while the sockets opened
// before it already serve.
type fineSettingWait struct {
	engine fineSettingAwaiter
}

// fineSettingAwaiter is an engine that may hold readiness back for the RTC.
type fineSettingAwaiter interface {
	AwaitFineSetting(ctx context.Context) error
}

func (c *fineSettingWait) Name() string { return "RTC fine setting" }
func (c *fineSettingWait) Start(ctx context.Context) error {
	return c.engine.AwaitFineSetting(ctx)
}
func (c *fineSettingWait) Close() error { return nil }
