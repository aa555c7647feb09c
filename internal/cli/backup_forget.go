package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backup"
)

// forgetOptions are the flags of "ferry backup forget".
type forgetOptions struct {
	repo      repoFlags
	policy    backup.Policy
	olderThan string
	groupBy   string
	prune     bool
	pruneOpts pruneFlags
	dryRun    bool
}

func newBackupForgetCommand(g *globals) *cobra.Command {
	var o forgetOptions
	cmd := &cobra.Command{
		Use:   "forget REMOTE:path --keep-... N [--older-than T] [--prune]",
		Short: "Remove snapshots by a retention policy",
		Long: `Remove the snapshots a policy does not keep. The snapshots are grouped by
host and source paths (--group-by), and the policy applies to each group
on its own, as restic's forget does:

  --keep-last N      the N newest snapshots
  --keep-hourly N    the newest snapshot of each of the N newest hours that have one
  --keep-daily N     ... days, --keep-weekly N ISO weeks, --keep-monthly N
                     months, --keep-yearly N years (in local time)
  --older-than T     duplicity's remove-older-than: the snapshots taken before T
                     are removed unless a --keep rule keeps them

A count of -1 means no limit. A rule with counts left after its oldest
bucket also keeps the group's oldest snapshot. The newest snapshot of a
group is always kept. T takes ` + backup.TimeFormats + `.

    ferry backup forget mega:backups --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --prune
    ferry backup forget mega:backups --older-than 6M

forget removes only snapshot objects; --prune then runs "backup prune"
(with its --grace and --max-unused) to free the space. --dry-run lists
what would be removed and changes nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupExit(runBackupForget(cmd.Context(), g, o, args[0]))
		},
	}
	f := cmd.Flags()
	addRepoFlags(f, &o.repo)
	f.IntVar(&o.policy.Last, "keep-last", 0, "keep the N newest snapshots")
	f.IntVar(&o.policy.Hourly, "keep-hourly", 0, "keep the newest snapshot of each of the N newest hours")
	f.IntVar(&o.policy.Daily, "keep-daily", 0, "keep the newest snapshot of each of the N newest days")
	f.IntVar(&o.policy.Weekly, "keep-weekly", 0, "keep the newest snapshot of each of the N newest ISO weeks")
	f.IntVar(&o.policy.Monthly, "keep-monthly", 0, "keep the newest snapshot of each of the N newest months")
	f.IntVar(&o.policy.Yearly, "keep-yearly", 0, "keep the newest snapshot of each of the N newest years")
	f.StringVar(&o.olderThan, "older-than", "", `remove the snapshots taken before this time unless a --keep rule keeps them (e.g. "30D", "2026-01-01")`)
	f.StringVar(&o.groupBy, "group-by", "host,paths", `apply the policy to each group of snapshots with equal host, paths, tags (comma separated; "" for one group)`)
	f.BoolVar(&o.prune, "prune", false, "run prune afterwards to free the space")
	addPruneFlags(f, &o.pruneOpts)
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "list what would be removed; change nothing")
	return cmd
}

// forgetJSON is the --json document of forget.
type forgetJSON struct {
	DryRun bool              `json:"dry_run,omitempty"`
	Groups []forgetGroupJSON `json:"groups"`
	Prune  *pruneJSON        `json:"prune,omitempty"`
}

type forgetGroupJSON struct {
	Key    string           `json:"key"`
	Keep   []forgetSnapJSON `json:"keep"`
	Remove []forgetSnapJSON `json:"remove"`
}

type forgetSnapJSON struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Reasons []string  `json:"reasons,omitempty"`
}

func runBackupForget(ctx context.Context, g *globals, o forgetOptions, arg string) error {
	p := o.policy
	if o.olderThan != "" {
		t, err := backup.ParseTime(o.olderThan, time.Now(), time.Local)
		if err != nil {
			return usagef("--older-than: %v", err)
		}
		p.OlderThan = t
	}
	if p.Empty() {
		return usagef("forget needs a policy: --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly or --older-than")
	}
	if err := p.Validate(); err != nil {
		return usageError{err}
	}
	var groupBy []string
	for _, s := range strings.Split(o.groupBy, ",") {
		if s = strings.TrimSpace(s); s != "" {
			groupBy = append(groupBy, s)
		}
	}
	po, err := o.pruneOpts.options(o.dryRun)
	if err != nil {
		return err
	}
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	groups, err := backup.PlanForget(snaps, p, groupBy)
	if err != nil {
		return usageError{err}
	}
	doc := forgetJSON{DryRun: o.dryRun, Groups: []forgetGroupJSON{}}
	tw := tabwriter.NewWriter(g.stdio.Out, 0, 4, 2, ' ', 0)
	var removed int
	for _, gr := range groups {
		gj := forgetGroupJSON{Key: gr.Key, Keep: []forgetSnapJSON{}, Remove: []forgetSnapJSON{}}
		if !o.repo.json {
			fmt.Fprintf(tw, "%s: keep %d, remove %d\n", orAll(gr.Key), len(gr.Keep), len(gr.Remove))
		}
		for _, s := range gr.Keep {
			gj.Keep = append(gj.Keep, forgetSnapJSON{s.ID.String(), s.Time, gr.Reasons[s.ID]})
			if !o.repo.json {
				fmt.Fprintf(tw, "  keep\t%s\t%s\t%s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), strings.Join(gr.Reasons[s.ID], ", "))
			}
		}
		for _, s := range gr.Remove {
			gj.Remove = append(gj.Remove, forgetSnapJSON{ID: s.ID.String(), Time: s.Time})
			if !o.repo.json {
				fmt.Fprintf(tw, "  remove\t%s\t%s\t\n", s.ID.Short(), s.Time.Local().Format(time.DateTime))
			}
		}
		doc.Groups = append(doc.Groups, gj)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !o.dryRun {
		for _, gr := range groups {
			for _, s := range gr.Remove {
				if err := r.RemoveSnapshot(ctx, s.ID); err != nil {
					return fmt.Errorf("forget: %d snapshots removed, then: %w", removed, err)
				}
				removed++
			}
		}
	}
	if !o.repo.json {
		if o.dryRun {
			fmt.Fprintln(g.stdio.Out, "dry run: no snapshot removed")
		} else {
			fmt.Fprintf(g.stdio.Out, "removed %d snapshots\n", removed)
		}
	}
	if o.prune {
		po.Logger = g.logger()
		st, err := backup.Prune(ctx, r.Repository, po)
		if err != nil {
			return err
		}
		if o.repo.json {
			pj := pruneJSONDoc(st, o.dryRun, r)
			doc.Prune = &pj
		} else {
			writePruneStats(g.stdio.Out, st, o.dryRun, max(po.Grace, 0))
		}
	}
	if o.repo.json {
		return writeJSON(g.stdio.Out, doc)
	}
	return nil
}

// orAll names the one group of an ungrouped forget.
func orAll(key string) string {
	if key == "" {
		return "all snapshots"
	}
	return key
}
