package cli

import (
	"encoding/csv"
	"io"
	"strconv"

	"hangar/api"
)

// UsageCmd is `hangar admin usage`.
type UsageCmd struct {
	Month string `required:"" placeholder:"YYYY-MM" help:"Billing month (UTC), e.g. 2026-11."`
}

// Run prints the month's usage per team and machine type: a table, or with -o json the
// report, or with -o csv one line per row.
func (c *UsageCmd) Run(g *Globals, a *Admin) error {
	s, err := a.open(g, true)
	if err != nil {
		return err
	}
	rep, err := s.api.Usage(s.ctx, c.Month)
	if err != nil {
		return err
	}
	if s.format == "csv" {
		return writeUsageCSV(s.out, rep)
	}
	return s.table(rep, "TEAM\tNAME\tTYPE\tMACHINES\tHOURS\tSTORAGE HOURS\tCOST", func(w io.Writer) {
		for _, r := range rep.Rows {
			printf(w, "%s\t%s\t%s\t%d\t%.2f\t%.2f\t%s\n", r.TeamID, r.TeamName, r.MachineType, r.Machines,
				r.SecondsUsed/3600, r.StorageSecondsUsed/3600, orDash(r.Cost))
		}
	})
}

// writeUsageCSV writes a header and one record per row; seconds keep their milliseconds and
// an unknown cost is an empty field.
func writeUsageCSV(out io.Writer, rep *api.UsageReport) error {
	w := csv.NewWriter(out)
	_ = w.Write([]string{"month", "teamId", "teamName", "machineType", "machines", "secondsUsed", "storageSecondsUsed", "cost"})
	for _, r := range rep.Rows {
		cost := ""
		if r.Cost != nil {
			cost = *r.Cost
		}
		_ = w.Write([]string{rep.Month, r.TeamID, r.TeamName, r.MachineType, strconv.Itoa(r.Machines),
			strconv.FormatFloat(r.SecondsUsed, 'f', -1, 64), strconv.FormatFloat(r.StorageSecondsUsed, 'f', -1, 64), cost})
	}
	w.Flush()
	return w.Error()
}
