package conf

import (
	"fmt"
	"strings"
)

// directive is one entry of the directive table.
type directive struct {
	parse func(p *parser, args string) error
}

// directiveTable returns the table mapping each lower-case directive name of
// chrony 4.8 to its parser.
func directiveTable() map[string]directive {
	return map[string]directive{
		"acquisitionport":   intDirective(func(c *Config) *int { return &c.AcquisitionPort }, 0, 65535),
		"allow":             {func(p *parser, a string) error { return parseAccess(p, a, &p.cfg.Allow, true) }},
		"authselectmode":    keywordDirective(func(c *Config) *string { return &c.AuthSelectMode }, "require", "prefer", "mix", "ignore"),
		"bindacqaddress":    {parseBindAcqAddress},
		"bindacqdevice":     stringDirective(func(c *Config) *string { return &c.BindAcqDevice }),
		"bindaddress":       {parseBindAddress},
		"bindcmdaddress":    {parseBindCmdAddress},
		"bindcmddevice":     stringDirective(func(c *Config) *string { return &c.BindCmdDevice }),
		"binddevice":        stringDirective(func(c *Config) *string { return &c.BindDevice }),
		"broadcast":         {parseBroadcast},
		"clientloglimit":    {parseClientLogLimit},
		"clockprecision":    doubleDirective(func(c *Config) *float64 { return &c.ClockPrecision }),
		"cmdallow":          {func(p *parser, a string) error { return parseAccess(p, a, &p.cfg.CmdAllow, true) }},
		"cmddeny":           {func(p *parser, a string) error { return parseAccess(p, a, &p.cfg.CmdAllow, false) }},
		"cmdport":           intDirective(func(c *Config) *int { return &c.CmdPort }, 0, 65535),
		"cmdratelimit":      {func(p *parser, a string) error { return parseRateLimit(p, a, &p.cfg.CmdRateLimit, false) }},
		"combinelimit":      doubleDirective(func(c *Config) *float64 { return &c.CombineLimit }),
		"confdir":           {parseConfDir},
		"corrtimeratio":     doubleDirective(func(c *Config) *float64 { return &c.CorrTimeRatio }),
		"deny":              {func(p *parser, a string) error { return parseAccess(p, a, &p.cfg.Allow, false) }},
		"driftfile":         {parseDriftFile},
		"dscp":              intDirective(func(c *Config) *int { return &c.DSCP }, 0, 63),
		"dumpdir":           stringDirective(func(c *Config) *string { return &c.DumpDir }),
		"dumponexit":        {func(*parser, string) error { return nil }}, // silently ignored
		"fallbackdrift":     {parseFallbackDrift},
		"hwclockfile":       stringDirective(func(c *Config) *string { return &c.HWClockFile }),
		"hwtimestamp":       {parseHWTimestamp},
		"hwtstimeout":       doubleDirective(func(c *Config) *float64 { return &c.HWTSTimeout }),
		"include":           {parseInclude},
		"initstepslew":      {parseInitStepSlew},
		"keyfile":           stringDirective(func(c *Config) *string { return &c.KeyFile }),
		"leapsecmode":       keywordDirective(func(c *Config) *string { return &c.LeapSecMode }, "system", "slew", "step", "ignore"),
		"leapsectz":         stringDirective(func(c *Config) *string { return &c.LeapSecTZ }),
		"leapseclist":       stringDirective(func(c *Config) *string { return &c.LeapSecList }),
		"local":             {parseLocal},
		"lock_all":          nullDirective(func(c *Config) *bool { return &c.LockAll }),
		"log":               {parseLog},
		"logbanner":         intDirective(func(c *Config) *int { return &c.LogBanner }, 0, intMax),
		"logchange":         doubleDirective(func(c *Config) *float64 { return &c.LogChange }),
		"logdir":            stringDirective(func(c *Config) *string { return &c.LogDir }),
		"mailonchange":      {parseMailOnChange},
		"makestep":          {parseMakeStep},
		"manual":            nullDirective(func(c *Config) *bool { return &c.Manual }),
		"maxchange":         {parseMaxChange},
		"maxclockerror":     doubleDirective(func(c *Config) *float64 { return &c.MaxClockError }),
		"maxdistance":       doubleDirective(func(c *Config) *float64 { return &c.MaxDistance }),
		"maxdrift":          doubleDirective(func(c *Config) *float64 { return &c.MaxDrift }),
		"maxjitter":         doubleDirective(func(c *Config) *float64 { return &c.MaxJitter }),
		"maxntsconnections": intDirective(func(c *Config) *int { return &c.MaxNTSConnections }, 1, intMax),
		"maxsamples":        intDirective(func(c *Config) *int { return &c.MaxSamples }, 0, intMax),
		"maxslewrate":       doubleDirective(func(c *Config) *float64 { return &c.MaxSlewRate }),
		"maxupdateskew":     doubleDirective(func(c *Config) *float64 { return &c.MaxUpdateSkew }),
		"minsamples":        intDirective(func(c *Config) *int { return &c.MinSamples }, 0, intMax),
		"minsources":        intDirective(func(c *Config) *int { return &c.MinSources }, 1, intMax),
		"nocerttimecheck":   intDirective(func(c *Config) *int { return &c.NoCertTimeCheck }, 0, intMax),
		"noclientlog":       nullDirective(func(c *Config) *bool { return &c.NoClientLog }),
		"nosystemcert":      nullDirective(func(c *Config) *bool { return &c.NoSystemCert }),
		"ntpsigndsocket":    stringDirective(func(c *Config) *string { return &c.NTPSigndSocket }),
		"ntsaeads":          {parseNTSAEADs},
		"ntsratelimit":      {func(p *parser, a string) error { return parseRateLimit(p, a, &p.cfg.NTSRateLimit, false) }},
		"ntscachedir":       stringDirective(func(c *Config) *string { return &c.NTSDumpDir }),
		"ntsdumpdir":        stringDirective(func(c *Config) *string { return &c.NTSDumpDir }),
		"ntsntpserver":      stringDirective(func(c *Config) *string { return &c.NTSNTPServer }),
		"ntsport":           intDirective(func(c *Config) *int { return &c.NTSPort }, 0, 65535),
		"ntsprocesses":      intDirective(func(c *Config) *int { return &c.NTSProcesses }, 0, 1000),
		"ntsrefresh":        intDirective(func(c *Config) *int { return &c.NTSRefresh }, 0, intMax),
		"ntsrotate":         intDirective(func(c *Config) *int { return &c.NTSRotate }, 0, intMax),
		"ntsservercert":     appendStringDirective(func(c *Config) *[]string { return &c.NTSServerCerts }),
		"ntsserverkey":      appendStringDirective(func(c *Config) *[]string { return &c.NTSServerKeys }),
		"ntstrustedcerts":   {parseNTSTrustedCerts},
		"opencommands":      {parseOpenCommands},
		"peer":              sourceDirective(KindPeer),
		"pidfile":           {parsePidFile},
		"pool":              sourceDirective(KindPool),
		"port":              intDirective(func(c *Config) *int { return &c.Port }, 0, 65535),
		"ptpdomain":         intDirective(func(c *Config) *int { return &c.PTPDomain }, 0, 255),
		"ptpport":           intDirective(func(c *Config) *int { return &c.PTPPort }, 0, 65535),
		"ratelimit":         {func(p *parser, a string) error { return parseRateLimit(p, a, &p.cfg.RateLimit, true) }},
		"refclock":          {parseRefClock},
		"refresh":           intDirective(func(c *Config) *int { return &c.Refresh }, 0, intMax),
		"reselectdist":      doubleDirective(func(c *Config) *float64 { return &c.ReselectDist }),
		"rtcautotrim":       doubleDirective(func(c *Config) *float64 { return &c.RTCAutoTrim }),
		"rtcdevice":         stringDirective(func(c *Config) *string { return &c.RTCDevice }),
		"rtcfile":           stringDirective(func(c *Config) *string { return &c.RTCFile }),
		"rtconutc":          nullDirective(func(c *Config) *bool { return &c.RTCOnUTC }),
		"rtcsync":           nullDirective(func(c *Config) *bool { return &c.RTCSync }),
		"sched_priority":    intDirective(func(c *Config) *int { return &c.SchedPriority }, 0, 100),
		"server":            sourceDirective(KindServer),
		"smoothtime":        {parseSmoothTime},
		"sourcedir":         {parseSourceDir},
		"stratumweight":     doubleDirective(func(c *Config) *float64 { return &c.StratumWeight }),
		"tempcomp":          {parseTempComp},
		"user":              stringDirective(func(c *Config) *string { return &c.User }),

		// Accepted with a warning, as chronyd does.
		"commandkey":         obsoleteDirective(),
		"generatecommandkey": obsoleteDirective(),
		"linux_freq_scale":   obsoleteDirective(),
		"linux_hz":           obsoleteDirective(),
	}
}

// checkArgs is chronyd's check of the number of arguments.
func (p *parser) checkArgs(args string, want int) error {
	n := countArgs(args)
	switch {
	case n < want:
		return p.errorf("Missing arguments for %s directive", p.command)
	case n > want:
		return p.errorf("Too many arguments for %s directive", p.command)
	}
	return nil
}

// parseInt reads one integer argument with chronyd 4.8's checks: the whole
// word must be a number, then the range is checked.
func (p *parser) parseInt(args string, lo, hi int64) (int, error) {
	if err := p.checkArgs(args, 1); err != nil {
		return 0, err
	}
	v, ok := strtolWhole(args)
	if !ok {
		return 0, p.parseError()
	}
	if v < lo || v > hi {
		return 0, p.errorf("Invalid value %d in %s directive (min %d, max %d)", v, p.command, lo, hi)
	}
	return int(v), nil
}

// parseDouble reads one floating-point argument (sscanf %lf).
func (p *parser) parseDouble(args string) (float64, error) {
	if err := p.checkArgs(args, 1); err != nil {
		return 0, err
	}
	v, _, ok := scanDouble(args)
	if !ok {
		return 0, p.parseError()
	}
	return v, nil
}

func intDirective(field func(*Config) *int, lo, hi int64) directive {
	return directive{func(p *parser, args string) error {
		v, err := p.parseInt(args, lo, hi)
		if err == nil {
			*field(p.cfg) = v
		}
		return err
	}}
}

func doubleDirective(field func(*Config) *float64) directive {
	return directive{func(p *parser, args string) error {
		v, err := p.parseDouble(args)
		if err == nil {
			*field(p.cfg) = v
		}
		return err
	}}
}

func stringDirective(field func(*Config) *string) directive {
	return directive{func(p *parser, args string) error {
		if err := p.checkArgs(args, 1); err != nil {
			return err
		}
		*field(p.cfg) = args
		return nil
	}}
}

func appendStringDirective(field func(*Config) *[]string) directive {
	return directive{func(p *parser, args string) error {
		if err := p.checkArgs(args, 1); err != nil {
			return err
		}
		*field(p.cfg) = append(*field(p.cfg), args)
		return nil
	}}
}

func nullDirective(field func(*Config) *bool) directive {
	return directive{func(p *parser, args string) error {
		if err := p.checkArgs(args, 0); err != nil {
			return err
		}
		*field(p.cfg) = true
		return nil
	}}
}

// keywordDirective takes the whole argument text as one of the keywords
// (case-insensitive), stored in lower case.
func keywordDirective(field func(*Config) *string, words ...string) directive {
	return directive{func(p *parser, args string) error {
		for _, w := range words {
			if strings.EqualFold(args, w) {
				*field(p.cfg) = w
				return nil
			}
		}
		return p.parseError()
	}}
}

func obsoleteDirective() directive {
	return directive{func(p *parser, _ string) error {
		p.cfg.Warnings = append(p.cfg.Warnings, fmt.Sprintf("%s directive is no longer supported", p.command))
		return nil
	}}
}

func sourceDirective(kind SourceKind) directive {
	return directive{func(p *parser, args string) error {
		src, st := parseSourceLine(kind, args)
		switch st {
		case sourceInvalidOption:
			return p.errorf("Invalid option in %s directive", p.command)
		case sourceInvalidValue:
			return p.errorf("Invalid value in %s directive", p.command)
		case sourceMissingArg:
			return p.errorf("Invalid syntax for %s directive", p.command)
		}
		p.cfg.Sources = append(p.cfg.Sources, src)
		return nil
	}}
}
