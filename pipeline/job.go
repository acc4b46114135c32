package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/kapstat/kapstat/measures/outcome"
	"github.com/kapstat/kapstat/pipeline/source"
)

// Job is a declared batch run (`kapstat run JOB.toml`): which files to ingest with which
// maps, the warehouse, the period, and the outputs. Relative paths are relative to the job
// file. "{quarter}" in an output path is replaced by the quarter reported.
type Job struct {
	Warehouse string `toml:"warehouse"`
	Lake      string `toml:"lake"`
	Config    string `toml:"config"`
	// Quarter is "2026Q3", or "last-complete" for the last quarter ended before the run.
	Quarter string     `toml:"quarter"`
	Inputs  []JobInput `toml:"inputs"`
	Outputs JobOutputs `toml:"outputs"`

	dir string
}

// JobInput is a glob of input files and the mapping file they need (none for the
// canonical format).
type JobInput struct {
	Files string `toml:"files"`
	Map   string `toml:"map"`
}

// JobOutputs are the files a job writes.
type JobOutputs struct {
	JSON      string        `toml:"json"`
	Workbooks []JobWorkbook `toml:"workbooks"`
	Export    *JobExport    `toml:"export"`
}

// JobWorkbook is one workbook and its audience.
type JobWorkbook struct {
	Audience string `toml:"audience"`
	Path     string `toml:"path"`
}

// JobExport is the per-patient export.
type JobExport struct {
	Dir    string `toml:"dir"`
	Format string `toml:"format"`
}

// LoadJob reads a job file; unknown keys are an error.
func LoadJob(path string) (*Job, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j Job
	md, err := toml.Decode(string(b), &j)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("job %s: unknown keys %s", path, strings.Join(keys, ", "))
	}
	j.dir = filepath.Dir(path)
	if j.Warehouse == "" {
		return nil, fmt.Errorf("job %s: warehouse is required", path)
	}
	if len(j.Inputs) == 0 {
		return nil, fmt.Errorf("job %s: no [[inputs]]", path)
	}
	for _, wb := range j.Outputs.Workbooks {
		if wb.Audience != "internal" && wb.Audience != "external" {
			return nil, fmt.Errorf("job %s: workbook %s: audience %q: want internal or external", path, wb.Path, wb.Audience)
		}
	}
	return &j, nil
}

// Path resolves a path of the job file relative to the file's directory.
func (j *Job) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(j.dir, p)
}

// OutputPath resolves an output path and fills in the quarter.
func (j *Job) OutputPath(p, quarter string) string {
	if quarter == "" {
		quarter = "all"
	}
	return j.Path(strings.ReplaceAll(p, "{quarter}", quarter))
}

// Files expands the input globs (sorted, each file once) with their maps.
func (j *Job) Files() ([]JobInput, error) {
	var out []JobInput
	seen := map[string]bool{}
	for _, in := range j.Inputs {
		matches, err := filepath.Glob(j.Path(in.Files))
		if err != nil {
			return nil, fmt.Errorf("inputs %q: %w", in.Files, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("inputs %q: no file matches", in.Files)
		}
		sort.Strings(matches)
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				out = append(out, JobInput{Files: m, Map: j.Path(in.Map)})
			}
		}
	}
	return out, nil
}

// ResolveQuarter turns the job's quarter into "2026Q3": "last-complete" is the last quarter
// that ended before now.
func (j *Job) ResolveQuarter(now time.Time) (string, error) {
	switch q := j.Quarter; q {
	case "":
		return "", nil
	case "last-complete":
		// The quarter before the current one: months 1–3 give Q4 of last year.
		y, qn := now.Year(), (int(now.Month())-1)/3
		if qn == 0 {
			y, qn = y-1, 4
		}
		return fmt.Sprintf("%dQ%d", y, qn), nil
	default:
		return outcome.NormalizeQuarter(q)
	}
}

// Check verifies everything the job declares before anything is written: the quarter, every
// input glob and its map, the export format, and that each output and the warehouse can be
// placed (no path is empty, and the nearest existing directory above each is a directory).
// quarter is the resolved quarter (ResolveQuarter), inputs the expanded files (Files).
func (j *Job) Check(quarter string, inputs []JobInput) error {
	if quarter != "" {
		if _, _, err := outcome.QuarterBounds(quarter); err != nil {
			return fmt.Errorf("quarter: %w", err)
		}
	}
	maps := map[string]bool{}
	for _, in := range inputs {
		if in.Map == "" || maps[in.Map] {
			continue
		}
		maps[in.Map] = true
		if _, err := source.LoadMap(in.Map); err != nil {
			return err
		}
	}
	paths := []string{j.Path(j.Warehouse)}
	if j.Lake != "" {
		paths = append(paths, filepath.Join(j.Path(j.Lake), "x"))
	}
	if j.Outputs.JSON != "" {
		paths = append(paths, j.OutputPath(j.Outputs.JSON, quarter))
	}
	for _, wb := range j.Outputs.Workbooks {
		if wb.Path == "" {
			return fmt.Errorf("workbook (%s): path is empty", wb.Audience)
		}
		paths = append(paths, j.OutputPath(wb.Path, quarter))
	}
	if e := j.Outputs.Export; e != nil {
		if e.Dir == "" {
			return fmt.Errorf("export: dir is empty")
		}
		if e.Format != "" && e.Format != "parquet" && e.Format != "csv" {
			return fmt.Errorf("export: format %q: want parquet or csv", e.Format)
		}
		paths = append(paths, filepath.Join(j.OutputPath(e.Dir, quarter), "x"))
	}
	for _, p := range paths {
		if err := placeable(p); err != nil {
			return err
		}
	}
	return nil
}

// placeable reports whether a file can be made at p: the nearest existing path above it must
// be a directory.
func placeable(p string) error {
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("output %s: %s is not a directory", p, d)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("output %s: %w", p, err)
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}
