package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/engine"
	"github.com/chronygo/chronygo/internal/sim"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// TestSourcesKeepConfigurationOrder checks that the sources are kept in
// the order of their directives, as chronyd keeps them (it creates a pool's
// sources when it reads the directive): a pool's members, resolved after
// the peer configured below the pool was added, still come first in the
// selection (whose order breaks ties between equal scores) and in chronyc
// sources; a server given last comes last.
func TestSourcesKeepConfigurationOrder(t *testing.T) {
	s := sim.NewSimulation(5, func(_, _ netipAddr, _ float64) sim.Path { return sim.Path{Base: 1e-4, Jitter: 1e-4, K: 1} })
	var members []netipAddr
	for i := 1; i <= 2; i++ {
		s.AddServer(sim.ServerAddr(i), 0)
		members = append(members, sim.ServerAddr(i))
	}
	s.SetName("pool.test", members...)
	s.AddServer(sim.ServerAddr(3), 0)
	peer, last := sim.ClientAddr(2), sim.ServerAddr(3)
	conf := "pool pool.test iburst maxsources 2\npeer " + peer.String() + "\nserver " + last.String() + " iburst\n"
	n, err := s.AddNode(sim.NodeConfig{Name: "c", Addr: sim.ClientAddr(1), Conf: conf})
	require.NoError(t, err)
	s.Run(30)

	var sel []netipAddr
	for _, src := range n.Engine().Selector().Sources() {
		sel = append(sel, src.Addr())
	}
	require.Len(t, sel, 4)
	assert.ElementsMatch(t, members, sel[:2], "the pool's members first")
	assert.Equal(t, []netipAddr{peer, last}, sel[2:], "then the peer and the server, in file order")

	c := engine.NewControl(n.Engine(), direct, nil)
	num, st := c.NumSources()
	require.Equal(t, candm.StatusSuccess, st)
	var listed []netipAddr
	for i := 0; i < num; i++ {
		d, st := c.SourceData(i)
		require.Equal(t, candm.StatusSuccess, st)
		listed = append(listed, d.IPAddr.IP)
	}
	assert.Equal(t, sel, listed, "chronyc sources lists them in the same order")
}
