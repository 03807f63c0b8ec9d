package faults

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/facebook/time/ntp/protocol"

	"github.com/chronygo/chronygo/internal/testutil"
)

// ntpReply is what a test checks of an NTP server's answer.
type ntpReply struct {
	leap, mode, stratum uint8
	refID               uint32
}

func (r ntpReply) String() string {
	return fmt.Sprintf("leap %d mode %d stratum %d refid %08X", r.leap, r.mode, r.stratum, r.refID)
}

// exchange sends a version-4 client request to server over conn and waits
// up to 2 s for the matching reply.
func exchange(conn net.PacketConn, server net.Addr) (ntpReply, error) {
	req := protocol.Packet{Settings: 0x23, Poll: 6}
	var random [8]byte
	_, _ = rand.Read(random[:])
	req.TxTimeSec, req.TxTimeFrac = binary.BigEndian.Uint32(random[:4]), binary.BigEndian.Uint32(random[4:])
	out, err := req.Bytes()
	if err != nil {
		return ntpReply{}, fmt.Errorf("encoding a request: %w", err)
	}
	if _, err := conn.WriteTo(out, server); err != nil {
		return ntpReply{}, fmt.Errorf("sending to %s: %w", server, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	buf := make([]byte, 1024)
	for i := 0; i < 10; i++ {
		_ = conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return ntpReply{}, fmt.Errorf("no answer from %s: %w", server, err)
		}
		p, err := protocol.BytesToPacket(buf[:n])
		if err != nil || p.OrigTimeSec != req.TxTimeSec || p.OrigTimeFrac != req.TxTimeFrac {
			continue
		}
		return ntpReply{leap: p.Settings >> 6, mode: p.Settings & 7, stratum: p.Stratum, refID: p.ReferenceID}, nil
	}
	return ntpReply{}, fmt.Errorf("no matching answer from %s", server)
}

// sourceRow is one line of "chronyc -c -n sources".
type sourceRow = testutil.SourceRow

// sources reads p's sources, by address.
func sources(p *proc) (map[string]sourceRow, error) {
	out, err := chronyc(p, 5*time.Second, "-c", "-n", "sources")
	if err != nil {
		return nil, err
	}
	list, err := testutil.ParseSources(out)
	if err != nil {
		return nil, err
	}
	rows := make(map[string]sourceRow, len(list))
	for _, r := range list {
		rows[r.Addr] = r
	}
	return rows, nil
}

// sampleCounts reads p's number of samples per source.
func sampleCounts(p *proc) (map[string]int, error) {
	out, err := chronyc(p, 5*time.Second, "-c", "-n", "sourcestats")
	if err != nil {
		return nil, err
	}
	list, err := testutil.ParseSourcestats(out)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int, len(list))
	for _, r := range list {
		counts[r.Addr] = r.NP
	}
	return counts, nil
}

// steps returns the lines of log telling of a decision to step the
// clock: "System clock was stepped", or, under -x where the driver refuses
// steps (chronyd's null driver, chronygo's no-control driver), "Could not
// step system clock".
func steps(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "System clock was stepped") || strings.Contains(line, "Could not step system clock") {
			out = append(out, line)
		}
	}
	return out
}

// linesWith returns the lines of log containing s.
func linesWith(log, s string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}
