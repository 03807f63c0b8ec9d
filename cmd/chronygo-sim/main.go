// Command chronygo-sim runs chronygo's engine through the accuracy
// scenarios of chrony's simulation suite on virtual time and prints, for
// each scenario, the mean and worst of the sync time and of the time and
// frequency errors over several seeds beside chronyd 4.8's figures.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/chronygo/chronygo/internal/sim"
)

func main() {
	seeds := flag.Int("n", 10, "number of seeds per scenario")
	first := flag.Uint64("seed", 1, "first seed")
	match := flag.String("run", "", "only scenarios whose name matches this regular expression")
	flag.Parse()
	if err := run(os.Stdout, *seeds, *first, *match); err != nil {
		fmt.Fprintln(os.Stderr, "chronygo-sim:", err)
		os.Exit(1)
	}
}

// run prints the table of the scenarios matching match to w; it fails when
// a run broke chrony's limits.
func run(w io.Writer, seeds int, first uint64, match string) error {
	re, err := regexp.Compile(match)
	if err != nil {
		return fmt.Errorf("bad -run pattern: %w", err)
	}
	var sums []sim.Summary
	failed := 0
	for _, sc := range sim.Catalogue() {
		if !re.MatchString(sc.Name) {
			continue
		}
		s, err := sim.Summarise(sc, first, seeds)
		if err != nil {
			return err
		}
		failed += s.Failed
		sums = append(sums, s)
	}
	if len(sums) == 0 {
		return fmt.Errorf("no scenario matches %q", match)
	}
	if err := sim.WriteTable(w, sums); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d runs broke chrony's limits", failed)
	}
	return nil
}
