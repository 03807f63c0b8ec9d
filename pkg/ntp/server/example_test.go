//go:build linux

package server_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/chronygo/chronygo/pkg/discipline"
	"github.com/chronygo/chronygo/pkg/ntp/access"
	"github.com/chronygo/chronygo/pkg/ntp/server"
)

// A standalone server answering localhost with a local stratum-10
// reference, as "local stratum 10" and "allow 127.0.0.1" would.
func ExampleStart() {
	tab := access.NewTable()
	_ = tab.Apply(access.Rule{Allow: true, Prefix: netip.MustParsePrefix("127.0.0.1/32")})
	srv, err := server.Start(context.Background(), server.Config{
		Port:    -1, // any free port; 123 in production
		Workers: 1,
		Access:  tab,
		Reference: server.StaticReference(discipline.ReferenceSnapshot{
			Synchronised: true, Stratum: 10, RefID: discipline.LocalRefID, Precision: -20,
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	fmt.Println(len(srv.LocalAddrs()))
	// Output: 1
}
